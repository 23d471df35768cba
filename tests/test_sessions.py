"""internals.py's lazy sessions: a new session builds no component's config until one is asked for, keeps
none of the values its events carried (a thousand sessions with long conversations leave no copy of them),
and gives what Gradio's own SessionState gives."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from gradio.state_holder import SessionState

from secondme.web import Settings, build_app
from secondme.web.internals import LazySessionState, LazyStateHolder, lighten

from .conftest import free_port, wait_until_serving
from .faults import FaultServer, http_head, reply
from .test_app import Launched, local_app, respond, texts  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parents[1]


def test_a_lazy_session_builds_nothing_until_asked_and_then_the_same_as_gradio_but_the_values(
        monkeypatch: Any) -> None:
    app = build_app(Settings())
    built: list[int] = []
    original = type(app.default_config).config_for_block  # a staticmethod

    def counting(key: int, *args: Any) -> Any:
        built.append(key)
        return original(key, *args)

    monkeypatch.setattr(type(app.default_config), "config_for_block", staticmethod(counting))
    lazy = LazySessionState(app)
    assert built == []  # Gradio's builds all ~90 here
    message, history = app.chat_page["message"]._id, app.chat_page["history"]._id
    conversation = [{"role": "user", "content": [{"type": "text", "text": "x" * 1000}]}]
    lazy._update_value_in_config(message, "typed")  # as an event's input does
    lazy._update_value_in_config(history, conversation)  # and its output
    assert built == []  # the values are kept aside: no config is built for them
    eager = SessionState(app)
    eager._update_value_in_config(message, "typed")
    eager._update_value_in_config(history, conversation)
    assert eager.config_values[history]["props"]["value"] == conversation  # Gradio's own keeps it
    # While the event runs, a deep link would see the values, as with Gradio's own.
    assert {c["id"]: c for c in lazy.components} == {c["id"]: c for c in eager.components}
    lazy._update_value_in_config(history, [])  # a later value of a built config goes in it
    assert lazy.config_values[history]["props"]["value"] == []
    send = next(fn for fn in app.fns.values() if fn.api_name == "send")
    lazy.forget_values(send)  # the event has ended (ChatBlocks.process_api)
    assert all("value" not in lazy.config_values[key]["props"] for key in (message, history))  # no copy outlives it
    again = LazySessionState(app)
    again._update_value_in_config(history, conversation)
    again.forget_values(send)  # ended before anything built a config: nothing is kept aside either
    assert again._values == {}
    fresh = {c["id"]: c for c in SessionState(app).components}
    seen = {c["id"]: c for c in lazy.components}
    for block in (*send.inputs, *send.outputs):  # a deep link sees the page as served, but the values the event
        fresh[block._id]["props"].pop("value", None)  # carried
    assert seen == fresh


def test_the_launched_app_starts_its_sessions_lazily_and_still_answers(local_app: Launched) -> None:  # noqa: F811
    holder = local_app.app.state_holder
    assert isinstance(holder, LazyStateHolder)
    final = respond(local_app, "Hello", [], "demo")[-1]
    assert texts(final)[0] == ("user", "", "Hello")
    assert any(isinstance(s, LazySessionState) for s in holder.session_data.values())
    lighten(holder)  # twice is once
    assert type(holder) is LazyStateHolder


# -- each session's memory: none of it is a copy of its conversation ----------------------------

SESSIONS = 1_000
CONVERSATION = [{"role": "user", "content": [{"type": "text", "text": "u" * 95_000}]},  # 190,000 characters
                {"role": "assistant", "content": [{"type": "text", "text": "a" * 95_000}]}]


@pytest.fixture
def app_process(fault_server: FaultServer) -> Iterator[tuple[psutil.Process, str, FaultServer]]:
    """``python app.py`` in a process of its own (its memory is its own), on the fault server."""
    fault_server.script("/api/chat/abc", [http_head() + reply("ok")])
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "SECONDME_BASE_URL": fault_server.url,
           "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url + "/gradio_api/info")
        yield psutil.Process(process.pid), url, fault_server
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _one_session(http: httpx.AsyncClient, fn_index: int, session: str) -> None:
    """A new session sends the long conversation and a message, as the page does, and reads the reply to its end."""
    body = {"data": ["Hi", CONVERSATION, "abc", "", 0.7, 100, False, "", "chat"], "fn_index": fn_index,
            "session_hash": session, "event_data": None, "trigger_id": None}
    joined = await http.post("/gradio_api/queue/join", content=json.dumps(body),
                             headers={"content-type": "application/json"})
    assert joined.status_code == 200, joined.text[:200]
    async with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
        async for line in stream.aiter_lines():
            message = json.loads(line[6:]) if line.startswith("data: ") else {}
            if message.get("msg") == "process_completed":
                assert message.get("success"), str(message)[:300]
            if message.get("msg") in ("close_stream", "unexpected_error"):
                break


@pytest.mark.timeout(400)
def test_a_thousand_sessions_with_long_conversations_leave_no_copy_of_them(
        app_process: tuple[psutil.Process, str, FaultServer]) -> None:
    process, url, upstream = app_process
    fn_index = next(d["id"] for d in httpx.get(url + "/config").json()["dependencies"] if d.get("api_name") == "send")

    async def sessions(names: list[str]) -> None:
        limit = asyncio.Semaphore(8)

        async def one(http: httpx.AsyncClient, name: str) -> None:
            async with limit:
                await _one_session(http, fn_index, name)

        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            await asyncio.wait_for(asyncio.gather(*(one(http, name) for name in names)), timeout=300)

    asyncio.run(sessions([f"warm-up-{n}" for n in range(16)]))  # what the first events allocate once
    before = process.memory_info().rss
    asyncio.run(sessions([f"visitor-{n}" for n in range(SESSIONS)]))
    grown = process.memory_info().rss - before
    assert len(upstream.requests_to("/api/chat/abc")) == SESSIONS + 16  # each session had its reply
    print(f"app RSS {before >> 20} MiB before, grown {grown >> 10} KiB after {SESSIONS:,} sessions: "
          f"{grown / SESSIONS / 1024:.1f} KiB a session")
    # Kept, each conversation cost its session about 240 KiB (230 MiB in all); a session itself costs about 20.
    assert grown < 80 << 20, f"the app grew by {grown >> 20} MiB for {SESSIONS:,} sessions"


def test_a_reply_whose_visitor_left_mid_stream_leaves_no_copy_of_its_conversation(local_server: Any) -> None:
    """Gradio stops calling an event whose stream to the browser is gone, so it has no last step; the session
    forgets what the event carried when the queue is done with it all the same."""
    import time
    import uuid

    from .conftest import launched_app

    with launched_app(Settings(base_url=local_server.url, instance_id="slow")) as (app, url):
        send = next(i for i, fn in app.fns.items() if fn.api_name == "send")
        session = uuid.uuid4().hex[:11]

        async def leave_mid_reply() -> None:
            body = {"data": ["y" * 5_000, CONVERSATION, "slow", "", 0.7, 100, False, "", "chat"], "fn_index": send,
                    "session_hash": session, "event_data": None, "trigger_id": None}
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                assert (await http.post("/gradio_api/queue/join", json=body)).status_code == 200
                async with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
                    async for line in stream.aiter_lines():
                        if line.startswith("data: ") and '"assistant"' in line:
                            return  # the reply has begun: the visitor closes the tab

        asyncio.run(leave_mid_reply())
        deadline = time.monotonic() + 15
        while any(job is not None for job in app._queue.active_jobs) and time.monotonic() < deadline:
            time.sleep(0.05)  # the queue notices the visitor left and ends the event
        assert all(job is None for job in app._queue.active_jobs)
        state = app.state_holder.session_data[session]
        fn = app.fns[send]
        assert state._values == {}
        assert all("value" not in (state.config_values.get(block._id) or {}).get("props", {})
                   for block in (*fn.inputs, *fn.outputs))
