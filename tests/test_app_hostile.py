"""The web app probed as a hostile visitor and a flaky network would: huge and malformed inputs,
wrong types, abandoned streams, and what reaches the server's log."""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from secondme.web import Settings
from secondme.web.checks import MAX_ROLE_ID_CHARS, MAX_SYSTEM_PROMPT_CHARS

from .conftest import free_port, launched_app, start_process
from .faults import CUT, FaultServer, Repeat, chunk, data, http_body, http_head, reply

SYSTEM = "You are a helpful assistant."
ROOT = Path(__file__).resolve().parents[1]
LIMITS = {"max_message_chars": 1_000, "max_conversation_chars": 5_000}


class Page:
    """The app launched on the fault server, with small limits, and a raw HTTP client for the
    requests gradio_client would never make."""

    def __init__(self, faults: FaultServer, **settings: Any) -> None:
        self._launched = launched_app(Settings(base_url=faults.url, timeout=30.0, **{**LIMITS, **settings}))
        self.app, self.url = self._launched.__enter__()
        self.client = Client(self.url, verbose=False)
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def fn_index(self, api_name: str) -> int:
        return next(i for i, fn in self.app.fns.items() if fn.api_name == api_name)

    def join(self, api_name: str, values: list[Any], session: str = "hostile", **extra: Any) -> httpx.Response:
        """One queue/join, exactly as a browser sends it."""
        body = {"data": values, "fn_index": self.fn_index(api_name), "session_hash": session,
                "event_data": None, "trigger_id": None, **extra}
        return self.http.post("/gradio_api/queue/join", content=json.dumps(body),
                              headers={"content-type": "application/json"})

    def events(self, session: str, timeout: float = 10) -> list[dict[str, Any]]:
        """The session's queue/data messages until its stream closes."""
        messages = []
        with self.http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session},
                              timeout=timeout) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    messages.append(json.loads(line[6:]))
                    if messages[-1].get("msg") in ("close_stream", "unexpected_error"):
                        break
        return messages

    def close(self) -> None:
        self.http.close()
        self.client.close()
        self._launched.__exit__(None, None, None)


@pytest.fixture(scope="module")
def page(faults: FaultServer) -> Iterator[Page]:
    launched = Page(faults)
    yield launched
    launched.close()



def send_args(message: Any = "Hi", history: Any = None, instance: Any = "abc", system: Any = SYSTEM,
              temperature: Any = 0.7, max_tokens: Any = 100, l0: Any = False, role_id: Any = "",
              endpoint: Any = "chat") -> list[Any]:
    return [message, [] if history is None else history, instance, system, temperature, max_tokens, l0, role_id,
            endpoint]


# -- 1. size limits -----------------------------------------------------------------------

@pytest.mark.parametrize("field, args, words", [
    ("message", send_args(message="z" * 1_001), "message is too long: 1,001 characters, at most 1,000"),
    ("system_prompt", send_args(system="s" * (MAX_SYSTEM_PROMPT_CHARS + 1)), "system prompt is too long"),
    ("role_id", send_args(role_id="r" * (MAX_ROLE_ID_CHARS + 1)), "role ID is too long"),
    ("history", send_args(history=[{"role": "user", "content": [{"type": "text", "text": "h" * 3_000}]},
                                   {"role": "assistant", "content": [{"type": "text", "text": "a" * 2_500}]}]),
     "conversation is too long to continue (5,500 characters, at most 5,000)"),
])
def test_too_much_is_refused_next_to_its_field_and_sends_nothing(faults: FaultServer, page: Page, field: str,
                                                                 args: list[Any], words: str) -> None:
    before = len(faults.seen)
    with pytest.raises(Exception, match=re.escape(words)) as info:
        page.client.predict(*args, api_name="/send")
    assert field in str(info.value)
    assert len(faults.seen) == before


def test_the_api_refuses_a_long_message_too(faults: FaultServer, page: Page) -> None:
    before = len(faults.seen)
    with pytest.raises(Exception, match="message is too long"):
        page.client.predict("z" * 1_001, "abc", SYSTEM, 0.7, 100, api_name="/chat")
    assert len(faults.seen) == before


@pytest.fixture(scope="module")
def app_process(faults: FaultServer) -> Iterator[tuple[psutil.Process, str]]:
    """``python app.py`` as a Space runs it, in a process of its own, so its memory is its own."""
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "SECONDME_BASE_URL": faults.url,
           "SECONDME_MAX_MESSAGE_CHARS": "1000", "SECONDME_MAX_CONVERSATION_CHARS": "5000",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    url = f"http://127.0.0.1:{port}"
    with start_process([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, ready_url=url + "/gradio_api/info") as process:
        yield psutil.Process(process.pid), url


def _post_huge(url: str, fn_index: int, size: int) -> int | str:
    body = json.dumps({"data": ["z" * size, "abc", SYSTEM, 0.7, 5], "fn_index": fn_index, "session_hash": "huge",
                       "event_data": None, "trigger_id": None}).encode()
    try:
        answer = httpx.post(url + "/gradio_api/queue/join", content=body,
                            headers={"content-type": "application/json"}, timeout=30)
    except httpx.TransportError as exc:  # the app refused and closed before the body was all sent
        return type(exc).__name__
    assert "too large" in answer.json()["detail"] and "1,000 characters" in answer.json()["detail"]
    return answer.status_code


def test_a_huge_request_is_refused_before_it_is_read_and_memory_stays_flat(
        faults: FaultServer, app_process: tuple[psutil.Process, str]) -> None:
    process, url = app_process
    fn_index = next(d["id"] for d in httpx.get(url + "/config").json()["dependencies"] if d.get("api_name") == "chat")
    before_seen = len(faults.seen)
    rss_before = process.memory_info().rss
    peak = rss_before
    outcomes = []
    for size in [100 << 20] * 3 + [20 << 20] * 5:
        outcomes.append(_post_huge(url, fn_index, size))
        peak = max(peak, process.memory_info().rss)
    assert 413 in outcomes and set(outcomes) <= {413, "WriteError", "RemoteProtocolError", "ReadError"}, outcomes
    grown = peak - rss_before
    print(f"app RSS {rss_before >> 20} MiB before, peak {peak >> 20} MiB after 3 x 100 MiB + 5 x 20 MiB")
    assert grown < 20 << 20, f"the app grew by {grown >> 20} MiB"
    assert len(faults.seen) == before_seen


def test_the_api_says_clearly_when_a_request_is_too_large(faults: FaultServer, page: Page) -> None:
    before = len(faults.seen)
    # gradio_client shows the status line alone; a raw caller also gets the sentence.
    with pytest.raises(httpx.HTTPStatusError, match="413 Request Entity Too Large"):
        page.client.predict("z" * (3 << 20), "abc", SYSTEM, 0.7, 5, api_name="/chat")
    raw = page.join("chat", ["z" * (3 << 20), "abc", SYSTEM, 0.7, 5])
    assert raw.status_code == 413
    assert raw.json()["detail"] == ("The request is too large. A message can have at most 1,000 characters and a "
                                    "conversation 5,000.")
    # Under the cap, the validator names the field and the limit.
    with pytest.raises(Exception, match="message is too long: 2,000 characters, at most 1,000"):
        page.client.predict("z" * 2_000, "abc", SYSTEM, 0.7, 5, api_name="/chat")
    assert len(faults.seen) == before


# -- 5. the API keeps everything that arrived --------------------------------------------

@pytest.mark.parametrize("ending", ["cut", "error chunk"])
def test_the_api_caller_gets_all_the_text_before_the_error(faults: FaultServer, page: Page, ending: str) -> None:
    words = [f"w{n} " for n in range(40)]
    steps: list[Any] = [http_head(chunked=True)]
    for w in words:
        piece = data(chunk(w))
        steps.append(b"%x\r\n%s\r\n" % (len(piece), piece))
    if ending == "cut":
        steps += [0.05, CUT]
    else:
        piece = data({"error": "model crashed"})
        steps += [b"%x\r\n%s\r\n" % (len(piece), piece), b"0\r\n\r\n"]
    path = f"/api/chat/apiall{ending.replace(' ', '')}"
    faults.script(path, steps)
    job = page.client.submit("Hi", path.rsplit("/", 1)[1], SYSTEM, 0.7, 100, api_name="/chat")
    with pytest.raises(AppError, match="cut off" if ending == "cut" else "model crashed"):
        job.result()
    assert job.outputs()[-1] == "".join(words)


def test_a_finished_reply_cut_before_done_reaches_the_api_whole(faults: FaultServer, page: Page) -> None:
    body = reply("The", " whole", " answer", done=False)
    faults.script("/api/chat/finishedcut", [http_head(chunked=True), b"%x\r\n%s\r\n" % (len(body), body), 0.05, CUT])
    assert page.client.predict("Hi", "finishedcut", SYSTEM, 0.7, 100, api_name="/chat") == "The whole answer"


# -- 6. a visitor who leaves releases the upstream ---------------------------------------

def test_a_closed_stream_releases_a_silent_upstream_within_a_second(faults: FaultServer, page: Page) -> None:
    faults.script("/api/chat/silent", [http_head(), data(chunk("Let me think")), 20.0, reply("late")])
    session = "leaver"
    assert page.join("send", send_args(instance="silent"), session=session).status_code == 200
    with page.http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if '"process_generating"' in line and "Let me think" in line:
                break
    left = time.monotonic()  # the stream is closed: the visitor has gone
    seen = faults.requests_to("/api/chat/silent")[-1]
    deadline = left + 5
    while seen.client_closed_at is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert seen.client_closed_at is not None, "the upstream was held after the visitor left"
    assert seen.client_closed_at - left < 1.0
    queue = page.app._queue.event_queue_per_concurrency_id["secondme-reply"]
    deadline = time.monotonic() + 2
    while queue.current_concurrency and time.monotonic() < deadline:
        time.sleep(0.02)
    assert queue.current_concurrency == 0  # the slot is free again


# -- 7. every input is checked; nothing is coerced ----------------------------------------

@pytest.mark.parametrize("field, args, words", [
    ("system_prompt", send_args(system=42), "system prompt must be text"),
    ("system_prompt", send_args(system=["a"]), "system prompt must be text"),
    ("role_id", send_args(role_id={"x": 1}), "role ID must be text"),
    ("role_id", send_args(role_id=7), "role ID must be text"),
    ("l0", send_args(l0="yes"), "L0 retrieval must be true or false"),
    ("message", send_args(message=123), "message must be text"),
    ("message", send_args(message="broken \ud83d here"), "broken character"),
    ("system_prompt", send_args(system="\udc00"), "broken character"),
    ("temperature", send_args(temperature="0.5"), "from 0 to 1"),
    ("max_tokens", send_args(max_tokens=True), "whole number"),
])
def test_wrong_types_are_refused_by_name_and_send_nothing(faults: FaultServer, page: Page, field: str,
                                                          args: list[Any], words: str) -> None:
    before = len(faults.seen)
    answer = page.join("send", args, session=f"types-{field}")
    assert answer.status_code == 422
    problems = {item.get("message") for item in answer.json()["detail"] if not item.get("is_valid")}
    assert any(words in (p or "") for p in problems), answer.json()
    names = [c for c in ("message", "history", "instance_id", "system_prompt", "temperature", "max_tokens", "l0",
                         "role_id", "endpoint")]
    assert not answer.json()["detail"][names.index(field)]["is_valid"]
    assert len(faults.seen) == before


def test_a_cancel_that_names_no_event_stops_the_sessions_reply(faults: FaultServer, page: Page) -> None:
    """What the page sends when Stop is clicked before its join was answered (secondme.web.stops)."""
    faults.script("/api/chat/early", [http_head(), *[data(chunk(f"word{n} ")) for n in range(3)], 20.0,
                                      reply("late")])
    session = "early-stop"
    assert page.join("send", send_args(instance="early"), session=session).status_code == 200
    deadline = time.monotonic() + 10
    while not faults.requests_to("/api/chat/early") and time.monotonic() < deadline:
        time.sleep(0.02)
    seen = faults.requests_to("/api/chat/early")[-1]
    body = {"session_hash": session, "fn_index": page.fn_index("send"), "event_id": None}
    stopped = time.monotonic()
    answer = page.http.post("/gradio_api/cancel", json=body)
    assert answer.status_code == 200, answer.text
    while seen.client_closed_at is None and time.monotonic() < stopped + 5:
        time.sleep(0.02)
    assert seen.client_closed_at is not None and seen.client_closed_at - stopped < 1.0, "the reply went on"


def test_a_cancel_that_comes_while_its_join_is_still_arriving_stops_that_reply(faults: FaultServer,
                                                                              page: Page) -> None:
    """The join's head reached the app before the cancel, its body after (a long conversation on a slow line): the
    cancel waits for it to be queued and stops it (the queue may have started it a moment before)."""
    faults.script("/api/chat/slowjoin", [http_head(), *[data(chunk(f"word{n} ")) for n in range(3)], 20.0,
                                         reply("late")])
    session = "slow-join"
    body = json.dumps({"data": send_args(instance="slowjoin"), "fn_index": page.fn_index("send"),
                       "session_hash": session, "event_data": None, "trigger_id": None}).encode()
    host, port = page.url.split("//")[1].strip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as join:
        join.sendall(b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % (host.encode(), len(body)) + body[:10])
        time.sleep(0.2)  # the head is in the app
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            cancel = pool.submit(page.http.post, "/gradio_api/cancel",
                                 json={"session_hash": session, "fn_index": page.fn_index("send"), "event_id": None})
            time.sleep(0.3)  # the cancel is in the app, waiting
            join.sendall(body[10:])
            assert cancel.result(timeout=10).status_code == 200
        assert b"200 OK" in join.recv(65536)
    stopped = time.monotonic()
    time.sleep(1.0)
    for seen in faults.requests_to("/api/chat/slowjoin"):  # asked for, it was let go at once
        assert seen.client_closed_at is not None and seen.client_closed_at - stopped < 1.0, "the reply went on"


def test_a_cancel_leaves_alone_a_join_that_comes_after_it(faults: FaultServer, page: Page) -> None:
    """A cancel that found nothing (its reply had ended, or its join was refused) stops no later message."""
    faults.script("/api/chat/after", [http_head(), reply("ok")])
    session = "cancel-then-send"
    started = time.monotonic()
    answer = page.http.post("/gradio_api/cancel",
                            json={"session_hash": session, "fn_index": page.fn_index("send"), "event_id": None})
    assert answer.status_code == 422 and time.monotonic() - started < 1.0  # nothing was joining: no wait
    assert page.join("send", send_args(instance="after"), session=session).status_code == 200
    completed = [e for e in page.events(session) if e.get("msg") == "process_completed"]
    assert completed and completed[-1]["success"], completed
    assert len(faults.requests_to("/api/chat/after")) == 1


@pytest.mark.parametrize("body", [
    {"session_hash": "nobody-here", "fn_index": 0, "event_id": None},
    {"session_hash": "nobody-here", "fn_index": "0", "event_id": None},
    {"session_hash": None, "fn_index": 0, "event_id": None},
    {"session_hash": "x" * 2_000, "fn_index": 0, "event_id": None},
    ["not", "an", "object"],
])
def test_a_cancel_that_finds_no_event_is_answered_at_once_as_gradio_answers_it(page: Page, body: Any) -> None:
    """With no join in the app, a cancel has nothing to wait for: forty at once are each answered at once."""
    with concurrent.futures.ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(lambda _: page.http.post("/gradio_api/cancel", json=body), range(40)))
    assert {answer.status_code for answer in answers} == {422}
    assert max(answer.elapsed.total_seconds() for answer in answers) < 1.0  # none waited (stops.WAIT is 2 s)


@pytest.mark.parametrize("depth", [100_000, 300])
def test_a_deeply_nested_cancel_is_refused_as_gradio_refuses_it(page: Page, depth: int) -> None:
    answer = page.http.post("/gradio_api/cancel", content=b"[" * depth + b"]" * depth,
                            headers={"content-type": "application/json"})
    assert answer.status_code in (400, 422), answer.text


@pytest.mark.parametrize("history", [
    [{"role": "wizard", "content": [{"type": "text", "text": "PRIVATE-TEXT"}]}],
    ["PRIVATE-TEXT"],
    [{"role": "user", "content": "PRIVATE-TEXT"}],
    [{"role": "user", "content": [{"type": "text", "text": "PRIVATE-TEXT"}], "metadata": "PRIVATE-TEXT"}],
    {"role": "user", "content": "PRIVATE-TEXT"},
], ids=["role", "string", "plain-content", "metadata", "not-a-list"])
def test_a_malformed_conversation_is_refused_without_echoing_it(faults: FaultServer, page: Page, history: Any,
                                                                capfd: pytest.CaptureFixture[str]) -> None:
    before = len(faults.seen)
    capfd.readouterr()
    answer = page.join("send", send_args(history=history), session="malformed")
    assert answer.status_code in (400, 422)
    assert "conversation could not be read" in answer.text
    out, err = capfd.readouterr()
    assert "PRIVATE-TEXT" not in answer.text + out + err
    assert len(faults.seen) == before


def test_a_null_conversation_is_an_empty_one(faults: FaultServer, page: Page) -> None:
    """Gradio's data model reads a null Chatbot value as []: the message goes alone, nothing crashes."""
    faults.script("/api/chat/nullhistory", [http_head(), reply("ok")])
    assert page.join("send", send_args(history=None, instance="nullhistory"), session="null").status_code == 200
    completed = [e for e in page.events("null") if e.get("msg") == "process_completed"][-1]
    assert completed["success"]
    assert faults.requests_to("/api/chat/nullhistory")[-1].json()["messages"] == [
        {"role": "system", "content": SYSTEM}, {"role": "user", "content": "Hi"}]


def test_a_lone_surrogate_does_not_break_the_sessions_stream(faults: FaultServer, page: Page) -> None:
    faults.script("/api/chat/afterbroken", [http_head(), reply("still fine")])
    body = ('{"data": ["oops \\ud800", [], "abc", "x", 0.7, 100, false, "", "chat"], "fn_index": '
            + str(page.fn_index("send")) + ', "session_hash": "surrogate", "event_data": null, "trigger_id": null}')
    answer = page.http.post("/gradio_api/queue/join", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422 and "broken character" in answer.text
    assert page.join("send", send_args(message="And now?", instance="afterbroken"),
                     session="surrogate").status_code == 200
    events = page.events("surrogate")
    assert events[-1]["msg"] == "close_stream"
    completed = [e for e in events if e.get("msg") == "process_completed"]
    assert completed and completed[-1]["success"]


def test_retry_on_an_empty_conversation_sends_nothing(faults: FaultServer, page: Page) -> None:
    before = len(faults.seen)
    retry = next(i for i, fn in page.app.fns.items() if fn.name == "retry")
    body = {"data": [[], "abc", SYSTEM, 0.7, 100, False, "", "chat"], "fn_index": retry, "session_hash": "retry0",
            "event_data": None, "trigger_id": None}
    answer = page.http.post("/gradio_api/queue/join", json=body)
    assert answer.status_code == 422 and "no message of yours to answer again" in answer.text
    assert len(faults.seen) == before


@pytest.mark.parametrize("event_data, words", [
    ({"index": 0, "value": "Edited"}, None),  # no previous_value: still fine
    ({"index": 0}, "could not be read"),
    ({"index": 0, "value": None}, "message must be text"),
    ({"index": 1, "value": "x"}, "Only a message of yours"),
    ({"index": 5, "value": "x"}, "Only a message of yours"),
    (None, "could not be read"),
])
def test_edit_events_are_checked(faults: FaultServer, page: Page, event_data: Any, words: str | None) -> None:
    faults.script("/api/chat/edited", [http_head(), reply("Edited reply")])
    before = len(faults.requests_to("/api/chat/edited"))
    edit = next(i for i, fn in page.app.fns.items() if fn.name == "edit")
    history = [{"role": "user", "content": [{"type": "text", "text": "Original"}]},
               {"role": "assistant", "content": [{"type": "text", "text": "Reply"}]}]
    session = f"edit-{abs(hash(json.dumps(event_data)))}"
    body = {"data": [history, "edited", SYSTEM, 0.7, 100, False, "", "chat"], "fn_index": edit,
            "session_hash": session, "event_data": event_data, "trigger_id": None}
    assert page.http.post("/gradio_api/queue/join", json=body).status_code == 200
    completed = [e for e in page.events(session) if e.get("msg") == "process_completed"][-1]
    sent = faults.requests_to("/api/chat/edited")[before:]
    if words is None:
        assert completed["success"]
        assert sent and sent[0].json()["messages"][-1] == {"role": "user", "content": "Edited"}
    else:
        assert not completed["success"] and words in json.dumps(completed["output"])
        assert not sent
        assert "None" not in json.dumps([s.json() for s in sent])


def test_a_refused_edit_is_said_in_the_visitors_language(faults: FaultServer, page: Page) -> None:
    edit = next(i for i, fn in page.app.fns.items() if fn.name == "edit")
    history = [{"role": "user", "content": [{"type": "text", "text": "Original"}]},
               {"role": "assistant", "content": [{"type": "text", "text": "Reply"}]}]
    body = {"data": [history, "edited", SYSTEM, 0.7, 100, False, "", "chat"], "fn_index": edit,
            "session_hash": "edit-zh", "event_data": {"index": 1, "value": "x"}, "trigger_id": None}
    joined = page.http.post("/gradio_api/queue/join", json=body, headers={"Cookie": "secondme-lang=zh-CN"})
    assert joined.status_code == 200
    completed = [e for e in page.events("edit-zh") if e.get("msg") == "process_completed"][-1]
    said = json.dumps(completed["output"], ensure_ascii=False)
    assert not completed["success"] and "只能编辑这段对话中你自己的消息。" in said and "编辑未发送" in said, said


# -- 8. no message text in the log --------------------------------------------------------

def test_wrong_number_of_inputs_puts_no_text_in_the_log(page: Page, capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    marker = "SECRET-WORDS-" * 1000
    for n in range(3):
        answer = page.join("send", [marker, []], session=f"short-{n}")
        if answer.status_code == 200:
            page.events(f"short-{n}")
    out, err = capfd.readouterr()
    assert "SECRET-WORDS" not in out + err
    assert len(out + err) < 10_000


def test_one_log_line_per_reply_without_text_or_keys(faults: FaultServer, page: Page,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    faults.script("/api/chat/logged", [http_head(), reply("private", " reply")])
    with caplog.at_level("INFO", logger="secondme"):
        page.client.predict("my private message", "logged", "secret system", 0.7, 100, api_name="/chat")
    lines = [r.getMessage() for r in caplog.records if r.name == "secondme.web"]
    assert len(lines) == 1, lines
    line = lines[0]
    assert "instance=logged" in line and "endpoint=chat" in line and "outcome=stop" in line
    assert "chunks=2" in line and "ttft=" in line and "duration=" in line
    assert "private" not in line and "secret" not in line



# -- 9. a hostile upstream: endless replies, odd finish reasons, odd waits (issue 17) ------

@pytest.fixture
def limited(faults: FaultServer) -> Iterator[Page]:
    launched = Page(faults, max_reply_chars=5_000, max_reply_seconds=3)
    yield launched
    launched.close()


def _closed_by_the_app(faults: FaultServer, path: str, within: float = 5) -> None:
    seen = faults.requests_to(path)[-1]
    deadline = time.monotonic() + within
    while seen.client_closed_at is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert seen.client_closed_at is not None, "the app kept reading the upstream"


def _text(message: dict[str, Any]) -> str:
    return "".join(part["text"] for part in message["content"])


def test_a_reply_past_its_length_limit_is_cut_with_a_notice_and_kept(faults: FaultServer, limited: Page) -> None:
    # Endless: more than any socket buffer holds, so the fault server sees when the app lets go.
    faults.script("/api/chat/endless", [http_head(), Repeat(data(chunk("x" * 100)), 200_000)])
    history = limited.client.predict(*send_args(instance="endless"), api_name="/send")
    _closed_by_the_app(faults, "/api/chat/endless")
    assert history[1]["role"] == "assistant" and _text(history[1]) == "x" * 5_000
    assert "cut at this page's limit" in history[2]["metadata"]["title"]
    assert history[-1]["metadata"]["title"].endswith("The reply was cut")
    assert "longer than this page allows (5,000 characters)" in _text(history[-1])
    # The API caller gets the text that arrived, then the same words.
    job = limited.client.submit("Hi", "endless", SYSTEM, 0.7, 100, api_name="/chat")
    with pytest.raises(AppError, match=re.escape("longer than this page allows (5,000 characters)")):
        job.result()
    assert job.outputs()[-1] == "x" * 5_000


def test_a_reply_past_its_time_limit_ends_with_a_notice_and_closes_the_upstream(faults: FaultServer,
                                                                               limited: Page) -> None:
    faults.script("/api/chat/forever", [http_head(), data(chunk("Kept")), Repeat(b": heartbeat\n\n", 200, 0.1)])
    started = time.monotonic()
    job = limited.client.submit("Hi", "forever", SYSTEM, 0.7, 100, api_name="/chat")
    with pytest.raises(AppError, match=re.escape("took longer than this page allows (3 s)")):
        job.result(timeout=20)
    assert time.monotonic() - started < 10
    assert job.outputs()[-1] == "Kept"
    _closed_by_the_app(faults, "/api/chat/forever", within=2)


def _call_chat(base: str, instance: str, timeout: float = 60) -> tuple[int, list[tuple[str, Any]]]:
    """One reply through ``/call/chat`` as curl would ask for it: the bytes received, and the events."""
    with httpx.Client(base_url=base, timeout=timeout) as http:
        event_id = http.post("/gradio_api/call/chat", json={"data": ["Hi", instance, SYSTEM, 0.7, 100]}).json()[
            "event_id"]
        received, events, name = 0, [], ""
        with http.stream("GET", f"/gradio_api/call/chat/{event_id}") as stream:
            for line in stream.iter_lines():
                received += len(line) + 1
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    events.append((name, json.loads(line[6:])))
                    if name in ("complete", "error"):
                        break
    return received, events


def test_an_api_caller_is_not_sent_the_whole_text_at_every_update(faults: FaultServer, page: Page) -> None:
    faults.script("/api/chat/long", [http_head(), Repeat(data(chunk("y" * 500)), 200, 0.01), reply("!")])
    received, events = _call_chat(page.url, "long")
    assert events[-1] == ("complete", ["y" * 100_000 + "!"])
    updates = sum(1 for name, _ in events if name == "generating")
    print(f"{received:,} bytes in {updates} updates for a reply of 100,001 characters")
    assert updates >= 5  # it still streams
    assert received < 6 * 100_001


def test_a_20_mib_reply_leaves_the_app_small(faults: FaultServer, app_process: tuple[psutil.Process, str]) -> None:
    """The default limit (200,000 characters) cuts a hostile 20 MiB reply sent in 1 KiB chunks."""
    import threading

    process, url = app_process
    faults.script("/api/chat/huge", [http_head(), Repeat(data(chunk("z" * 1000)), 20 * 1024), reply("end")])
    rss_before = peak = process.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        received, events = _call_chat(url, "huge", timeout=60)
    finally:
        done.set()
        sampler.join()
    print(f"app RSS {rss_before >> 20} MiB before, peak {peak >> 20} MiB; {received:,} bytes to the caller")
    assert events[-1][0] == "error" and "longer than this page allows (200,000 characters)" in str(events[-1][1])
    assert [data for name, data in events if name == "generating"][-1] == ["z" * 200_000]
    assert received < 6 * 200_000
    assert peak - rss_before < 60 << 20
    _closed_by_the_app(faults, "/api/chat/huge")


ODD_FINISHES = ["eos", "x" * 100_000, "stop\nreply instance=forged outcome=done", "<b>bold</b>",
                *(f"odd-{n}" for n in range(20))]


def test_an_odd_finish_reason_is_other_in_metrics_the_log_and_the_stats_line(
        faults: FaultServer, page: Page, caplog: pytest.LogCaptureFixture) -> None:
    for n, finish in enumerate(ODD_FINISHES):
        faults.script(f"/api/chat/odd{n}", [http_head(), reply("fine", finish=finish)])
    with caplog.at_level("INFO", logger="secondme"):
        for n in range(len(ODD_FINISHES)):
            assert page.client.predict("Hi", f"odd{n}", SYSTEM, 0.7, 100, api_name="/chat") == "fine"
    lines = [r.getMessage() for r in caplog.records if r.name == "secondme.web"]
    assert len(lines) == len(ODD_FINISHES) and all("outcome=other " in line for line in lines), lines[:3]
    assert not any("\n" in line or "forged" in line for line in lines)
    metrics = page.http.get("/metrics").text
    outcomes = set(re.findall(r'secondme_replies_total\{outcome="([^"]*)"\}', metrics))
    assert "other" in outcomes and not any("odd" in o or "forged" in o or "xxx" in o for o in outcomes), outcomes
    assert len(metrics) < 50_000
    history = page.client.predict(*send_args(instance="odd3"), api_name="/send")
    stats = history[-1]
    assert stats["metadata"]["title"].endswith("· other") and "<b>" not in json.dumps(history)
    assert "(other)" in _text(stats)


def test_a_log_line_escapes_what_it_is_given() -> None:
    from secondme.engine.reply import loggable as _loggable

    assert _loggable("error StreamError at http://h/\nreply instance=x") == \
        "error StreamError at http://h/\\nreply instance=x"
    assert _loggable("stop") == "stop" and len(_loggable("y" * 10_000)) == 200


@pytest.mark.parametrize("retry_after", ["inf", "1e300", "Wed, 21 Oct 9999 07:28:00 GMT"])
def test_an_endless_retry_after_is_a_clear_error_for_the_api(faults: FaultServer, page: Page, retry_after: str,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    faults.script("/api/chat/later", http_body("429 Too Many Requests", "application/json", '{"detail":"no"}',
                                               {"Retry-After": retry_after}))
    with caplog.at_level("INFO", logger="secondme"), pytest.raises(AppError) as info:
        page.client.predict("Hi", "later", SYSTEM, 0.7, 100, api_name="/chat")
    assert "Too many requests" in str(info.value) and "Try again later." in str(info.value)
    lines = [r.getMessage() for r in caplog.records if r.name == "secondme.web"]
    assert "outcome=error RateLimitError" in lines[-1]


@pytest.mark.parametrize("said", [["<think>", "Pondering", " still"], []], ids=["unclosed think", "nothing"])
def test_a_reply_without_an_answer_is_a_clear_api_error(faults: FaultServer, page: Page, said: list[str]) -> None:
    faults.script("/api/chat/noanswer", [http_head(), reply(*said)])
    with pytest.raises(AppError, match="The Second Me finished without an answer"):
        page.client.predict("Hi", "noanswer", SYSTEM, 0.7, 100, api_name="/chat")


def test_the_limit_notice_says_which_limit_in_both_languages() -> None:
    from secondme.engine.conversation import error_notice
    from secondme.errors import ReplyLimitError

    for limit, amount, en, zh in (("chars", 200_000, "(200,000 characters)", "（200,000 个字符）"),
                                  ("seconds", 600, "(600 s)", "（600 秒）")):
        exc = ReplyLimitError("-", limit=limit, amount=amount)
        assert en in _text(error_notice(exc, "en")) and zh in _text(error_notice(exc, "zh-CN"))
        assert error_notice(exc, "zh-CN")["metadata"]["title"].endswith("回复被截断了")
