"""secondme/web/internals.py: what the page changes in Gradio's internals."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A fresh interpreter: the app launched as `python app.py` launches it, a streamed reply through gradio_client,
# and a finder first on sys.meta_path that counts every search for matplotlib meanwhile.
SCRIPT = textwrap.dedent("""
    import sys
    from gradio_client import Client
    from secondme.server import LocalInstance, ServerThread, create_app
    from secondme.web import Settings, build_app
    from secondme.web.launch import launch_options

    searches = []

    class Counting:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name.split(".")[0] == "matplotlib":
                searches.append(name)
            return None

    with ServerThread(create_app([LocalInstance("demo", chunks_per_second=200)])) as upstream:
        app = build_app(Settings(base_url=upstream.url, instance_id="demo"))
        app.launch(prevent_thread_lock=True, quiet=True, **launch_options(app))
        sys.meta_path.insert(0, Counting)
        job = Client(app.local_url, verbose=False).submit("Hello", [], "demo", "", 0.7, 200, False, "", "chat",
                                                          api_name="/send")
        updates = len(list(job))
        app.close()
    print(updates, len(searches))
""")


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is not None, reason="matplotlib is installed here")
def test_no_event_step_searches_for_an_absent_matplotlib() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    updates, searches = map(int, done.stdout.split()[-2:])
    assert updates > 5  # the reply streamed in many steps…
    assert searches == 0  # …and none of them looked for matplotlib on sys.path (two searches a step before)


def test_the_queue_stream_does_not_poll_for_the_disconnect_its_response_listens_for() -> None:
    # The app still notices a closed stream at once: test_app_hostile's closed-stream test.
    import asyncio

    from starlette.requests import Request

    from secondme.web.internals import skip_disconnect_polls

    skip_disconnect_polls()

    async def ask(path: str, spec: str) -> tuple[bool, int]:
        received = []

        async def receive() -> dict[str, str]:
            received.append(path)
            return {"type": "http.disconnect"}

        scope = {"type": "http", "path": path, "asgi": {"spec_version": spec}, "headers": []}
        return await Request(scope, receive).is_disconnected(), len(received)

    assert asyncio.run(ask("/gradio_api/queue/data", "2.3")) == (False, 0)
    assert asyncio.run(ask("/gradio_api/queue/data", "2.4")) == (True, 1)  # nothing listens there: asked
    assert asyncio.run(ask("/gradio_api/queue/join", "2.3")) == (True, 1)
