"""secondme/web/internals.py: what the page changes in Gradio's internals."""

from __future__ import annotations

import gc
import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

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


# -- what Gradio does per event or request that the page does not need (internals/costs.py) ----------------

def test_the_monitoring_summary_is_off_and_not_rebuilt_after_each_event(monkeypatch: pytest.MonkeyPatch) -> None:
    from gradio import queueing

    from secondme.server import LocalInstance, ServerThread, create_app
    from secondme.web import Settings

    from .conftest import launched_app
    from .test_app import Launched, respond

    rebuilt: list[int] = []
    build = queueing.Queue._get_df
    def counted(records: Any) -> Any:
        rebuilt.append(1)
        return build(records)

    monkeypatch.setattr(queueing.Queue, "_get_df", staticmethod(counted))
    with ServerThread(create_app([LocalInstance("demo", chunks_per_second=400)])) as upstream:
        launched = Launched.__new__(Launched)
        with launched_app(Settings(base_url=upstream.url, instance_id="demo")) as (app, url):
            from gradio_client import Client

            launched.app, launched.url, launched.client = app, url, Client(url, verbose=False)
            for _ in range(3):
                assert respond(launched, "Hello", [], "demo")[-1]  # three replies, each to its end
            summary = httpx_get(f"{url}monitoring/summary")
            assert summary.status_code == 403  # no dashboard: its summary was open to anyone
            assert len(app._queue.event_analytics) <= 1  # one record kept, not the last 10,000
            launched.client.close()
    assert rebuilt == []  # the summary was rebuilt with pandas after every event


def test_a_functions_type_hints_are_evaluated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import typing

    from gradio import utils

    from secondme.web.internals import cache_type_hints

    cache_type_hints()
    cache_type_hints()  # twice is once
    asked: list[object] = []
    evaluate = typing.get_type_hints
    def counted(fn: Any) -> Any:
        asked.append(fn)
        return evaluate(fn)

    monkeypatch.setattr(typing, "get_type_hints", counted)

    class Handler:
        async def respond(self, message: str, request: Any) -> None:  # as the page's handlers are (strings)
            return None

    first, second = Handler(), Handler()
    hints = [utils.get_type_hints(h.respond) for h in (first, second, first)]
    assert hints[0] == {"message": str, "request": Any, "return": type(None)}
    assert hints[0] == hints[1] == hints[2] and hints[0] is not hints[2]  # each caller has its own copy
    assert len(asked) == 1  # evaluated once for the function, whichever object it is bound to
    assert utils.get_type_hints(len) == {} and utils.get_type_hints(len) == {}  # nothing to keep: asked each time


def test_a_functions_signature_is_worked_out_once_for_gradios_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    import functools
    import inspect

    from gradio import helpers

    from secondme.web.internals import cache_signatures

    cache_signatures()
    cache_signatures()  # twice is once
    asked: list[object] = []
    work_out = inspect.signature
    def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(fn)
        return work_out(fn, *args, **kwargs)

    monkeypatch.setattr(inspect, "signature", counted)

    class Handler:
        async def respond(self, message: str, request: Any = None) -> None:
            return None

    def plain(a: int, b: int = 2) -> int:
        return a + b

    first, second = Handler(), Handler()
    got = [helpers.inspect.signature(h.respond) for h in (first, second, first)]
    assert [list(s.parameters) for s in got] == [["message", "request"]] * 3  # bound: without self
    assert len(asked) == 1  # worked out once for the function, whichever object it is bound to
    assert list(helpers.inspect.signature(Handler.respond).parameters) == ["self", "message", "request"]
    assert list(helpers.inspect.signature(plain).parameters) == ["a", "b"] and len(asked) == 3
    helpers.inspect.signature(plain)
    assert len(asked) == 3  # kept
    half = functools.partial(plain, 1)
    assert list(helpers.inspect.signature(half).parameters) == ["b"]
    with pytest.raises(ValueError):
        helpers.inspect.signature(max)  # no signature: raised as before (special_args expects it), not kept
    with pytest.raises(ValueError):
        helpers.inspect.signature(max)
    assert asked.count(max) == 2
    assert helpers.inspect.isclass(Handler) and inspect.signature is counted  # the rest is inspect's; only helpers'
    # inspect is changed
    assert helpers.special_args(plain, [1, 2])[0] == [1, 2]


def test_login_check_runs_in_no_worker_thread_and_still_refuses_whom_auth_refuses(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.dependencies import utils as fastapi_utils

    from secondme.web import Settings, build_app
    from secondme.web.launch import launch_options

    in_threads: list[str] = []
    run_in_threadpool = fastapi_utils.run_in_threadpool

    async def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
        in_threads.append(getattr(fn, "__name__", repr(fn)))
        return await run_in_threadpool(fn, *args, **kwargs)

    monkeypatch.setattr(fastapi_utils, "run_in_threadpool", counting)  # how FastAPI runs a plain dependency
    app = build_app(Settings())
    _, url, _ = app.launch(prevent_thread_lock=True, quiet=True, auth=("ada", "secret"), **launch_options(app))
    try:
        join = f"{url}gradio_api/queue/join"
        # Not logged in: refused, as Gradio's own check refuses, on the app's routes and the included router's.
        assert httpx_get(f"{url}config").status_code == 401
        assert httpx_get(f"{url}gradio_api/info").status_code == 401
        assert httpx_get(f"{url}gradio_api/queue/data?session_hash=abc").status_code == 401
        with httpx_client() as http:
            assert http.post(join, json={}).status_code == 401
            assert http.post(f"{url}login", data={"username": "ada", "password": "wrong"}).status_code == 400
            assert http.get(f"{url}config").status_code == 401
            assert http.post(f"{url}login", data={"username": "ada", "password": "secret"}).status_code == 200
            assert http.get(f"{url}config").status_code == 200  # logged in: let through
            assert http.get(f"{url}gradio_api/info").status_code == 200
            assert http.post(join, json={}).status_code == 422  # past the check, to the body's own
        assert "login_check" not in in_threads, in_threads  # every check ran on the event loop
    finally:
        app.close()


def test_those_waiting_are_told_their_place_once_a_second_not_at_every_start() -> None:
    """Gradio's "auto" status updates tell every visitor still waiting each time an event starts: N sent at once
    cost N²/2 messages, and each visitor's reply queued behind its share of them."""
    import asyncio
    import json
    import time
    import uuid

    from secondme.server import LocalInstance, ServerThread, create_app
    from secondme.web import Settings

    from .conftest import launched_app

    n = 20

    async def session(http: Any, url: str, send: int) -> tuple[int, float]:
        """How many times this visitor was told its place, and how long it waited for its reply to start."""
        session_hash = uuid.uuid4().hex[:11]
        body = {"data": ["Hello", [], "demo", "", 0.7, 3, False, "", "chat"], "fn_index": send,
                "session_hash": session_hash, "event_data": None, "trigger_id": None}
        joined = time.monotonic()
        assert (await http.post(f"{url}gradio_api/queue/join", json=body)).status_code == 200
        told, waited = 0, 0.0
        async with http.stream("GET", f"{url}gradio_api/queue/data", params={"session_hash": session_hash}) as r:
            async for line in r.aiter_lines():
                if line.startswith("data:"):
                    msg = json.loads(line[5:])
                    told += msg.get("msg") == "estimation"
                    if msg.get("msg") == "process_starts":
                        waited = time.monotonic() - joined
                    if msg.get("msg") == "process_completed":
                        assert msg["success"]
                        return told, waited
        raise AssertionError("the stream ended before the reply")

    async def all_at_once(url: str, send: int) -> list[tuple[int, float]]:
        import httpx

        async with httpx.AsyncClient(timeout=60) as http:
            return list(await asyncio.gather(*(session(http, url, send) for _ in range(n))))

    with ServerThread(create_app([LocalInstance("demo", chunks_per_second=400)])) as upstream, \
            launched_app(Settings(base_url=upstream.url, instance_id="demo", concurrency=1)) as (app, url):
        send = next(i for i, fn in app.fns.items() if fn.api_name == "send")
        seen = asyncio.run(all_at_once(url, send))  # one reply at a time: the others wait in the queue
    assert max(waited for _, waited in seen) > 0.2, seen  # they did wait (else this test shows nothing)
    for told, waited in seen:  # at joining, then at most once a second while waiting (and once more at its end)
        assert told <= 2 + waited, seen
    # with "auto", the visitor 20th in the queue is told 20 times, however short its wait


def httpx_get(url: str) -> Any:
    import httpx

    return httpx.get(url, timeout=10)


def httpx_client() -> Any:
    import httpx

    return httpx.Client(timeout=10)


def test_what_the_served_app_made_to_start_is_not_walked_by_each_full_collection() -> None:
    """``python app.py`` freezes what it made to start (gc.freeze) before it serves: each full collection walked
    those ~300,000 objects again (a pause of 0.1-0.25 s every few seconds while many replies streamed). Then the
    young generation is collected less often (about a thousand collections for a hundred replies)."""
    script = textwrap.dedent("""
        import gc
        import gradio as gr
        from secondme.web import Settings, build_app
        from secondme.web.launch import launch_options

        # serve no further
        gr.Blocks.block_thread = lambda self: print("frozen", gc.get_freeze_count(), *gc.get_threshold())
        app = build_app(Settings())
        app.launch(quiet=True, **launch_options(app))
        app.close()
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    frozen = [[int(n) for n in line.split()[1:]] for line in done.stdout.splitlines() if line.startswith("frozen")]
    assert frozen and frozen[0][0] > 100_000  # frozen before serving
    # and young collections every 10,000 objects made, not every 700; the older generations' thresholds as they were
    assert frozen[0][1:] == [10_000, *gc.get_threshold()[1:]]


def test_a_reply_starts_without_a_worker_thread() -> None:
    """Gradio ran each reply's async generator function in a worker thread only to create the generator; anyio's
    ``run_sync`` now creates it inline (what it runs in worker threads is counted below, from the start)."""
    script = textwrap.dedent("""
        import json

        import anyio.to_thread
        from gradio_client import Client
        from secondme.server import LocalInstance, ServerThread, create_app
        from secondme.web import Settings, build_app
        from secondme.web.launch import launch_options

        in_threads = []
        run_sync = anyio.to_thread.run_sync

        async def counting(func, *args, **kwargs):
            in_threads.append(getattr(func, "__name__", repr(func)))
            return await run_sync(func, *args, **kwargs)

        anyio.to_thread.run_sync = counting
        with ServerThread(create_app([LocalInstance("demo", chunks_per_second=200)])) as upstream:
            app = build_app(Settings(base_url=upstream.url, instance_id="demo"))
            app.launch(prevent_thread_lock=True, quiet=True, **launch_options(app))
            job = Client(app.local_url, verbose=False).submit("Hello", [], "demo", "", 0.7, 200, False, "", "chat",
                                                              api_name="/send")
            updates = len(list(job))
            app.close()
        print("UPDATES", updates)
        print("THREADS", json.dumps(in_threads))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    said = dict(line.split(" ", 1) for line in done.stdout.splitlines() if line.startswith(("UPDATES", "THREADS")))
    in_threads = json.loads(said["THREADS"])
    assert int(said["UPDATES"]) > 3  # the reply streamed…
    assert "respond" not in in_threads, in_threads  # …and its generator was not made in a worker thread
