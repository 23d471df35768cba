"""The web app probed as a hostile visitor and a flaky network would: huge and malformed inputs,
wrong types, abandoned streams, and what reaches the server's log."""

from __future__ import annotations

import json
import os
import re
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
from .faults import CUT, FaultServer, chunk, data, http_head, reply

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

