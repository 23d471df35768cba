"""The web app, launched, through gradio_client: what a Space's users and API callers get."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from secondme.demo import demo_text
from secondme.server import Delta, LocalInstance, ServerThread, create_app
from secondme.web import Settings

from .conftest import launched_app
from .faults import CUT, FaultServer, OneByte, chunk, data, http_body, http_head, reply

SYSTEM = "You are a helpful assistant."


class Launched:
    """The app launched, and a gradio_client connected to it."""

    def __init__(self, settings: Settings) -> None:
        self._stack = ExitStack()
        self.app, self.url = self._stack.enter_context(launched_app(settings))
        self.client = Client(self.url, verbose=False)

    def close(self) -> None:
        self.client.close()
        self._stack.close()


@pytest.fixture(scope="module")
def fault_app(faults: FaultServer) -> Iterator[Launched]:
    launched = Launched(Settings(base_url=faults.url, timeout=1.0))
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def local_app(local_server: ServerThread) -> Iterator[Launched]:
    launched = Launched(Settings(base_url=local_server.url, instance_id="demo", demo=True))
    yield launched
    launched.close()


def respond(app: Launched, message: str, history: list[dict[str, Any]], instance_id: str, *,
            temperature: float = 0.7, max_tokens: int = 2000, l0: bool = False, role_id: str = "",
            endpoint: str = "chat", system: str = SYSTEM) -> list[list[dict[str, Any]]]:
    """Every conversation state the page is sent while one reply streams."""
    history = [{**m, "content": [{"type": "text", "text": m["content"]}]} if isinstance(m["content"], str) else m
               for m in history]  # as the browser sends it
    job = app.client.submit(message, history, instance_id, system, temperature, max_tokens, l0, role_id, endpoint,
                            api_name="/send")
    states = list(job)
    states.append(job.result())
    return states


def texts(conversation: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(role, title of a notice or "", text) for each message but the replies' stats lines (stats_lines)."""
    return [(m["role"], (m.get("metadata") or {}).get("title", ""),
             "".join(part["text"] for part in m["content"])) for m in conversation
            if (m.get("metadata") or {}).get("id") != "stats"]


def stats_lines(conversation: list[dict[str, Any]]) -> list[str]:
    """The stats line under each reply, in order."""
    return [m["metadata"]["title"] for m in conversation if (m.get("metadata") or {}).get("id") == "stats"]


def test_api_streams_the_reply_in_order_and_complete(local_app: Launched) -> None:
    job = local_app.client.submit("Tell me about you", api_name="/chat")  # instance_id: the prefilled one
    outputs = list(job)
    final = job.result()
    from secondme.server import ChatBody
    body = ChatBody.model_validate({"messages": [{"role": "system", "content": SYSTEM},
                                                 {"role": "user", "content": "Tell me about you"}]})
    expected = demo_text(body, LocalInstance("demo", name="Local demo Second Me"))
    assert final == expected
    assert len(outputs) > 3
    assert all(b.startswith(a) and len(b) > len(a) for a, b in zip(outputs, outputs[1:], strict=False))


def test_page_streams_and_keeps_the_conversation(local_app: Launched) -> None:
    states = respond(local_app, "Hello", [], "demo")
    assert len(states) > 3
    final = texts(states[-1])
    assert final[0] == ("user", "", "Hello")
    assert final[1][0] == "assistant" and "You said: “Hello”." in final[1][2]
    # Second turn: the history the page holds goes back upstream, in order.
    states = respond(local_app, "And again", states[-1], "demo")
    assert "This is turn 2 of our conversation; I got 4 messages" in texts(states[-1])[-1][2]


def test_multi_turn_history_is_sent_upstream_as_plain_messages(faults: FaultServer, fault_app: Launched) -> None:
    faults.script("/api/chat/history/chat/completions", [http_head(), reply("Fine", ", thanks.")])
    history: list[dict[str, Any]] = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Are you there?"},
        {"role": "assistant", "content": "Timed out", "metadata": {"title": "⚠️ Timed out"}},
        {"role": "user", "content": "Still there?"},
        {"role": "assistant", "content": "Yes"},
        {"role": "assistant", "content": "You stopped it", "metadata": {"title": "⏹ Stopped"}},
    ]
    states = respond(fault_app, "How are you?", history, "history", temperature=0.3, max_tokens=64, l0=True,
                     role_id="friend", endpoint="chat/completions", system="Be brief.")
    assert texts(states[-1])[-1] == ("assistant", "", "Fine, thanks.")
    sent = faults.requests_to("/api/chat/history/chat/completions")[0].json()
    assert sent == {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Are you there?"},
            {"role": "user", "content": "Still there?"},
            {"role": "assistant", "content": "Yes"},
            {"role": "user", "content": "How are you?"},
        ],
        "temperature": 0.3, "max_tokens": 64, "stream": True,
        "metadata": {"enable_l0_retrieval": True, "role_id": "friend"},
    }


def test_empty_system_prompt_and_role_id_are_not_sent(faults: FaultServer, fault_app: Launched) -> None:
    faults.script("/api/chat/plain", [http_head(), reply("ok")])
    respond(fault_app, "Hi", [], "plain", system="  ", role_id="  ")
    sent = faults.requests_to("/api/chat/plain")[0].json()
    assert sent["messages"] == [{"role": "user", "content": "Hi"}] and "metadata" not in sent


ERRORS = [
    ("offline", http_body("503 Service Unavailable", "application/json", '{"detail":"not connected"}'),
     "⚠️ This Second Me is offline", "This Second Me is offline right now", ""),
    ("unknown", http_body("404 Not Found", "application/json", '{"detail":"Instance not found"}'),
     "⚠️ Unknown instance", "No Second Me was found with the instance ID “unknown”", ""),
    ("limited", http_body("429 Too Many Requests", "application/json", "{}", {"Retry-After": "30"}),
     "⚠️ Too many requests", "Try again in 30 s", ""),
    ("refused", http_body("422 Unprocessable Entity", "application/json", '{"detail":"bad temperature"}'),
     "⚠️ Invalid settings", "rejected the request as invalid: bad temperature", ""),
    ("brokenchunk", [http_head(), data(chunk("I was saying")) + data({"error": {"message": "LLama server is not "
                                                                                 "running"}}) + data("[DONE]")],
     "⚠️ The reply broke off", "The Second Me reported an error: LLama server is not running", "I was saying"),
    ("cut", [http_head(chunked=True), OneByte(b"%x\r\n%s\r\n" % (len(data(chunk("Half"))), data(chunk("Half")))),
             0.05, CUT], "⚠️ The reply broke off", "cut off", "Half"),
    ("stall", [http_head(), data(chunk("Before the stall")), 3.0], "⚠️ Timed out", "nothing arrived for 1 s",
     "Before the stall"),
    ("proxy", http_body("502 Bad Gateway", "text/html", "<html><title>Bad Gateway</title></html>"),
     "⚠️ Service error", "had a problem: Bad Gateway (502)", ""),
]


@pytest.mark.parametrize("instance_id, script, title, words, partial", ERRORS, ids=[e[0] for e in ERRORS])
def test_each_error_is_a_notice_in_the_conversation(faults: FaultServer, fault_app: Launched, instance_id: str,
                                                    script: list[Any], title: str, words: str,
                                                    partial: str) -> None:
    faults.script(f"/api/chat/{instance_id}", script)
    final = texts(respond(fault_app, "Are you there?", [], instance_id)[-1])
    assert final[0] == ("user", "", "Are you there?")  # kept, so Retry works
    if partial:
        assert final[1] == ("assistant", "", partial)
    assert final[-1][:2] == ("assistant", title) and words in final[-1][2]
    assert len(final) == (3 if partial else 2)


def test_connection_failure_is_a_notice_that_shows_no_address(caplog: pytest.LogCaptureFixture) -> None:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    launched = Launched(Settings(base_url=f"http://admin:hunter2@127.0.0.1:{port}"))
    try:
        with caplog.at_level("INFO", logger="secondme"):
            final = texts(respond(launched, "Hi", [], "anyone")[-1])
    finally:
        launched.close()
    assert final[-1][1] == "⚠️ Connection failed"
    assert final[-1][2].startswith("Could not reach the Second Me service.")
    assert "hunter2" not in final[-1][2] and "127.0.0.1" not in final[-1][2]
    logged = [r.getMessage() for r in caplog.records if r.name == "secondme.web"]
    assert any(f"at http://127.0.0.1:{port}" in line for line in logged), logged
    assert not any("hunter2" in line or "admin" in line for line in logged)


def test_api_error_keeps_the_partial_and_says_why(faults: FaultServer, fault_app: Launched) -> None:
    faults.script("/api/chat/apibroken", [http_head(), data(chunk("So far")) + data({"error": "model crashed"})])
    job = fault_app.client.submit("Hi", "apibroken", SYSTEM, 0.7, 100, api_name="/chat")
    with pytest.raises(AppError, match="The Second Me reported an error: model crashed"):
        job.result()
    assert job.outputs()[-1] == "So far"


@pytest.mark.parametrize("args, field, words", [
    (("Hi", [], "", SYSTEM, 0.7, 100, False, "", "chat"), "instance_id", "Enter the instance ID"),
    (("Hi", [], "../../admin", SYSTEM, 0.7, 100, False, "", "chat"), "instance_id", "letters, digits"),
    (("   ", [], "abc", SYSTEM, 0.7, 100, False, "", "chat"), "message", "Type a message first"),
    (("Hi", [], "abc", SYSTEM, 0.7, 2.5, False, "", "chat"), "max_tokens", "whole number"),
    (("Hi", [], "abc", SYSTEM, 1.5, 100, False, "", "chat"), "temperature", "from 0 to 1"),
    (("Hi", [], "abc", SYSTEM, -0.1, 100, False, "", "chat"), "temperature", "from 0 to 1"),
    (("Hi", [], "abc", SYSTEM, 0.7, 0, False, "", "chat"), "max_tokens", "at least 1"),
    (("Hi", [], "abc", SYSTEM, 0.7, 9000, False, "", "chat"), "max_tokens", "at most 8192"),
    (("Hi", [], "abc", SYSTEM, 0.7, 100, False, "", "other"), "endpoint", "must be 'chat' or"),
])
def test_invalid_controls_are_reported_and_send_nothing(faults: FaultServer, fault_app: Launched,
                                                        args: tuple[Any, ...], field: str, words: str) -> None:
    before = len(faults.seen)
    with pytest.raises(Exception, match=words) as info:
        fault_app.client.predict(*args, api_name="/send")
    assert field in str(info.value)
    api_args = (args[0], args[2], args[3], args[4], args[5])
    if field != "endpoint":
        with pytest.raises(Exception, match=words):
            fault_app.client.predict(*api_args, api_name="/chat")
    assert len(faults.seen) == before


def test_cancelling_closes_the_upstream_connection(faults: FaultServer, fault_app: Launched) -> None:
    steps: list[Any] = [http_head()]
    for n in range(200):
        steps += [data(chunk(f"word{n} ")), 0.05]
    faults.script("/api/chat/endless", steps)
    job = fault_app.client.submit("Talk forever", "endless", SYSTEM, 0.7, 2000, api_name="/chat")
    deadline = time.monotonic() + 10
    while len(job.outputs()) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(job.outputs()) >= 3
    job.cancel()
    cancelled_at = time.monotonic()
    seen = faults.requests_to("/api/chat/endless")[0]
    while seen.client_closed_at is None and time.monotonic() < cancelled_at + 3:
        time.sleep(0.02)
    assert seen.client_closed_at is not None, "the upstream stream was never closed"
    assert seen.client_closed_at - cancelled_at < 1.0


def test_a_locked_space_talks_only_to_its_instance(faults: FaultServer) -> None:
    faults.script("/api/chat/owner", [http_head(), reply("It's me")])
    launched = Launched(Settings(base_url=faults.url, instance_id="owner", lock_instance=True))
    try:
        # The API offers no instance ID at all.
        assert launched.client.predict("Hi", SYSTEM, 0.7, 100, api_name="/chat") == "It's me"
        api = launched.client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/chat"]
        assert [p["parameter_name"] for p in api["parameters"]] == ["message", "system_prompt", "temperature",
                                                                    "max_tokens"]
        # The page's own events go to the owner whatever instance the browser sends.
        history = [{"role": "user", "content": "Earlier"}, {"role": "assistant", "content": "Yes"}]
        sent = respond(launched, "Hi", [], "someone-else")
        assert texts(sent[-1])[-1] == ("assistant", "", "It's me")
        as_browser = [{**m, "content": [{"type": "text", "text": m["content"]}]} for m in history]
        launched.client.predict(as_browser, "someone-else", SYSTEM, 0.7, 100, False, "", "chat", api_name="/retry")
        edit = next(i for i, fn in launched.app.fns.items() if fn.name == "edit")
        body = {"data": [as_browser, "someone-else", SYSTEM, 0.7, 100, False, "", "chat"], "fn_index": edit,
                "session_hash": "locked-edit", "event_data": {"index": 0, "value": "Edited"}, "trigger_id": None}
        assert httpx.post(launched.url + "gradio_api/queue/join", json=body, timeout=10).status_code == 200
        with httpx.stream("GET", launched.url + "gradio_api/queue/data", params={"session_hash": "locked-edit"},
                          timeout=10) as stream:
            assert any("close_stream" in line for line in stream.iter_lines())
        config = launched.app.config
        field = next(c for c in config["components"] if c.get("props", {}).get("elem_id") == "instance-id")
        assert field["props"]["visible"] is False
    finally:
        launched.close()
    assert len(faults.requests_to("/api/chat/owner")) == 4
    assert not faults.requests_to("/api/chat/someone-else")


def test_lock_without_an_instance_warns_and_keeps_the_field(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="secondme"):
        launched = Launched(Settings(base_url="http://127.0.0.1:9", lock_instance=True))
    try:
        field = next(c for c in launched.app.config["components"] if c.get("props", {}).get("elem_id") == "instance-id")
        assert field["props"]["visible"] is True
        assert any("SECONDME_LOCK_INSTANCE is set but SECONDME_INSTANCE_ID is empty" in r.getMessage()
                   for r in caplog.records)
    finally:
        launched.close()


def test_many_streams_run_at_once() -> None:
    """Twenty API callers stream at the same time instead of waiting for each other."""
    open_streams, most = 0, 0
    lock = threading.Lock()
    release = threading.Event()

    async def gate(body: Any, instance: LocalInstance) -> Any:
        nonlocal open_streams, most
        with lock:
            open_streams += 1
            most = max(most, open_streams)
        try:
            yield Delta("started ")
            while not release.is_set() and most < 20:
                import asyncio
                await asyncio.sleep(0.01)
            yield Delta("done")
            yield Delta(finish_reason="stop")
        finally:
            with lock:
                open_streams -= 1

    with ServerThread(create_app([LocalInstance("gate")], responder=gate)) as upstream:
        launched = Launched(Settings(base_url=upstream.url, instance_id="gate"))
        try:
            jobs = [launched.client.submit(f"caller {n}", api_name="/chat") for n in range(20)]
            timer = threading.Timer(30, release.set)
            timer.start()
            results = [job.result(timeout=60) for job in jobs]
            timer.cancel()
        finally:
            launched.close()
    assert results == ["started done"] * 20
    assert most == 20


def test_the_page_is_configured_for_many_users(local_app: Launched) -> None:
    streaming = [fn for fn in local_app.app.fns.values() if fn.concurrency_id == "secondme-reply"]
    # Send, retry, edit, the chat API, each side of Compare's send and retry, and the roundtable's Start and API
    # share one limit.
    assert len(streaming) == 10
    assert {fn.concurrency_limit for fn in streaming} == {256}
    assert local_app.app._queue.max_size == 1024
    # Gradio runs at most max_threads events at once, whatever the limits above say.
    assert local_app.app._queue.max_thread_count > 256


def test_settings_from_the_environment() -> None:
    env = {"SECONDME_BASE_URL": "http://127.0.0.1:1/", "SECONDME_INSTANCE_ID": " me ", "SECONDME_LOCK_INSTANCE": "1",
           "SECONDME_TITLE": "Ann's Second Me", "SECONDME_CONCURRENCY": "50", "SECONDME_QUEUE_SIZE": "80"}
    settings = Settings.from_env(env)
    assert settings == Settings(base_url="http://127.0.0.1:1", instance_id="me", lock_instance=True,
                                title="Ann's Second Me", concurrency=50, queue_size=80)
    assert Settings.from_env({}).base_url == "https://app.secondme.io"
    with pytest.raises(ValueError, match="SECONDME_CONCURRENCY must be a whole number"):
        Settings.from_env({"SECONDME_CONCURRENCY": "many"})


def header_text(app: Any, lang: str = "en") -> str:
    """The page's header as a visitor in ``lang`` reads it (the component holds its I18n key)."""
    header = next(c for c in app.config["components"] if c.get("props", {}).get("elem_id") == "header")
    assert '"key": "header"' in header["props"]["value"]
    return str(app.i18n.translations_dict[lang]["header"])


def test_title_and_demo_banner(local_app: Launched) -> None:
    assert local_app.app.title == "Second Me Chat"
    header = header_text(local_app.app)
    assert header.startswith("# Second Me Chat") and "Local demo" in header
    # What the page is for, with the API's link, at the foot of the conversations' drawer.
    assert "Chat Completion API" in str(local_app.app.i18n.translations_dict["en"]["about"])
    assert "本地演示" in header_text(local_app.app, "zh-CN")


def test_an_overloaded_space_says_it_is_busy() -> None:
    """With the queue bounded, a caller past the limit is told to try again, not queued forever."""
    release = threading.Event()

    async def held(body: Any, instance: LocalInstance) -> Any:
        import asyncio
        yield Delta("held ")
        while not release.is_set():
            await asyncio.sleep(0.01)
        yield Delta(finish_reason="stop")

    with ServerThread(create_app([LocalInstance("held")], responder=held)) as upstream:
        launched = Launched(Settings(base_url=upstream.url, instance_id="held", concurrency=1, queue_size=1))
        try:
            from gradio_client.utils import Status
            jobs: list[Any] = []
            for expected in (Status.ITERATING, Status.IN_QUEUE):  # one streaming, one waiting
                jobs.append(launched.client.submit(f"caller {len(jobs)}", api_name="/chat"))
                deadline = time.monotonic() + 10
                while jobs[-1].status().code != expected and time.monotonic() < deadline:
                    time.sleep(0.02)
                assert jobs[-1].status().code == expected
            extra = launched.client.submit("one too many", api_name="/chat")
            with pytest.raises(Exception) as info:
                extra.result(timeout=20)
            errors = [f"{type(info.value).__name__}: {info.value}"]
            release.set()
            assert [job.result(timeout=20) for job in jobs] == ["held "] * 2
        finally:
            release.set()
            launched.close()
    assert errors and all("queue is full" in e.lower() for e in errors), errors


def test_the_first_readme_command_chats_with_the_local_demo() -> None:
    """``python app.py --demo``, as README says to run it: a page that chats at once and says it is the demo."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from .conftest import free_port, start_process

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "python -m pip install -r requirements.txt && python app.py --demo" in readme
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    url = f"http://127.0.0.1:{port}/"
    with start_process([sys.executable, "app.py", "--demo"], cwd=Path(__file__).resolve().parents[1], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       ready_url=url + "gradio_api/info") as process:
        client = Client(url, verbose=False)
        reply_text = client.predict("Hello, demo", api_name="/chat")
        client.close()
        header = httpx.get(url + "config").json()["i18n_translations"]["en"]["header"]  # as a browser in English
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert "You said: “Hello, demo”." in reply_text and "I am a demo" in reply_text
    assert "Local demo" in header
    assert "Local demo Second Me on http://127.0.0.1:" in out
    assert "reply instance=demo endpoint=chat outcome=stop" in out  # the one log line per reply
    assert "Hello, demo" not in out  # and no message text in it


def _as_browser(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**m, "content": [{"type": "text", "text": m["content"]}]} if isinstance(m["content"], str) else m
            for m in history]


def test_an_empty_reply_is_a_notice_not_a_blank_bubble(faults: FaultServer, fault_app: Launched) -> None:
    faults.script("/api/chat/silentreply", [http_head(), reply(finish="stop")])
    final = texts(respond(fault_app, "Say something", [], "silentreply")[-1])
    assert final == [("user", "", "Say something"),
                     ("assistant", "⚠️ Empty reply",
                      "The Second Me finished without saying anything. Press ↻ to try again.")]


def test_retry_after_an_error_answers_the_kept_message(faults: FaultServer, fault_app: Launched) -> None:
    faults.script("/api/chat/flaky", http_body("503 Service Unavailable", "application/json", "{}"))
    failed = respond(fault_app, "Are you back?", [], "flaky")[-1]
    assert texts(failed)[-1][1] == "⚠️ This Second Me is offline"
    faults.script("/api/chat/flaky", [http_head(), reply("Back now.")])
    retried = fault_app.client.predict(failed, "flaky", SYSTEM, 0.7, 100, False, "", "chat", api_name="/retry")
    assert texts(retried) == [("user", "", "Are you back?"), ("assistant", "", "Back now.")]
    sent = faults.requests_to("/api/chat/flaky")[-1].json()["messages"]
    assert sent[-1] == {"role": "user", "content": "Are you back?"}


def test_an_error_during_retry_keeps_the_message_and_says_why(faults: FaultServer, fault_app: Launched) -> None:
    faults.script("/api/chat/retryfails", [http_head(), reply("First answer.")])
    first = respond(fault_app, "Question", [], "retryfails")[-1]
    faults.script("/api/chat/retryfails", [http_head(), data(chunk("Second ans")) + data({"error": "model died"})])
    retried = fault_app.client.predict(first, "retryfails", SYSTEM, 0.7, 100, False, "", "chat", api_name="/retry")
    assert texts(retried) == [("user", "", "Question"), ("assistant", "", "Second ans"),
                              ("assistant", "⚠️ The reply broke off", "The Second Me reported an error: model died")]


def test_an_error_during_edit_keeps_the_edited_message_and_says_why(faults: FaultServer,
                                                                    fault_app: Launched) -> None:
    faults.script("/api/chat/editfails", http_body("404 Not Found", "application/json", "{}"))
    history = _as_browser([{"role": "user", "content": "Original"}, {"role": "assistant", "content": "Reply"}])
    edit = next(i for i, fn in fault_app.app.fns.items() if fn.name == "edit")
    body = {"data": [history, "editfails", SYSTEM, 0.7, 100, False, "", "chat"], "fn_index": edit,
            "session_hash": "edit-error", "event_data": {"index": 0, "value": "Edited"}, "trigger_id": None}
    assert httpx.post(fault_app.url + "gradio_api/queue/join", json=body, timeout=10).status_code == 200
    import json
    completed = None
    with httpx.stream("GET", fault_app.url + "gradio_api/queue/data", params={"session_hash": "edit-error"},
                      timeout=10) as stream:
        for line in stream.iter_lines():
            if '"process_completed"' in line:
                completed = json.loads(line[6:])
                break
    assert completed is not None and completed["success"]
    assert texts(completed["output"]["data"][0]) == [
        ("user", "", "Edited"), ("assistant", "⚠️ Unknown instance",
                                 "No Second Me was found with the instance ID “editfails”. Check the ID (404).")]


def test_the_api_page_names_what_it_takes_and_gives(local_app: Launched) -> None:
    api = local_app.client.view_api(print_info=False, return_format="dict")
    assert list(api["named_endpoints"]) == ["/chat", "/roundtable"]  # nothing else of the page is offered
    chat = api["named_endpoints"]["/chat"]
    assert [p["parameter_name"] for p in chat["parameters"]] == ["message", "instance_id", "system_prompt",
                                                                  "temperature", "max_tokens"]
    assert chat["parameters"][-1]["type"] == {"type": "integer"}
    assert [r["label"] for r in chat["returns"]] == ["reply"]


def test_a_long_conversation_sends_the_recent_turns_and_says_so_quietly(faults: FaultServer) -> None:
    faults.script("/api/chat/longtalk", [http_head(), reply("Noted.")])
    launched = Launched(Settings(base_url=faults.url, max_context_chars=200))
    history = [{"role": "user", "content": "old question " * 10}, {"role": "assistant", "content": "old answer " * 10},
               {"role": "user", "content": "Recent?"}, {"role": "assistant", "content": "Recent."}]
    try:
        final = respond(launched, "And now?", history, "longtalk", system="Be brief.")[-1]
    finally:
        launched.close()
    sent = faults.requests_to("/api/chat/longtalk")[-1].json()["messages"]
    assert sent == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Recent?"},
                    {"role": "assistant", "content": "Recent."}, {"role": "user", "content": "And now?"}]
    assert texts(final)[-2] == ("assistant", "", "Noted.")
    assert texts(final)[-1][1] == "ℹ️ 2 older messages not sent"
    assert final[-1]["metadata"]["status"] == "done"  # quiet: shown collapsed
    assert Settings.from_env({"SECONDME_MAX_CONTEXT_CHARS": "5000"}).max_context_chars == 5000
