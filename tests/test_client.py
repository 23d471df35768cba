"""Both clients against the fault server: every stream shape and every failure."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import socket
import time
from typing import Any

import pytest

from secondme import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncSecondMeClient,
    InstanceNotFoundError,
    InstanceUnavailableError,
    InvalidRequestError,
    RateLimitError,
    SecondMeClient,
    StreamError,
)

from .faults import CUT, FaultServer, OneByte, chunk, data, http_body, http_head, reply

HELLO = [{"role": "user", "content": "Hello"}]
TRICKY = ["Héllo", " 世界", " 🎉", " ok"]


def test_streams_every_shape_of_chunk(fault_server: FaultServer, collect: Any) -> None:
    body = (
        b": initial heartbeat\n\n"
        + data(chunk(role="assistant"))
        + b": heartbeat #1\n\n"
        + data({"id": "x", "choices": [{"index": 0, "delta": {"content": None}, "finish_reason": None}]})
        + data({"id": "x", "object": "chat.completion.chunk"})  # no choices at all
        + data(chunk("Hello"))
        + data({"id": "x", "choices": [{"index": 0, "delta": {}, "finish_reason": None}]})
        + data(chunk(" world!"))
        + data(chunk(finish="stop"))
        + data("[DONE]")
    )
    fault_server.script("/api/chat/abc", [http_head(), body])
    deltas, error = collect(fault_server.url, "abc", HELLO)
    assert error is None
    assert deltas == ["Hello", " world!"]
    sent = fault_server.requests_to("/api/chat/abc")[0]
    assert sent.method == "POST"
    assert sent.json() == {"messages": HELLO, "temperature": 0.7, "max_tokens": 2000, "stream": True}
    assert "metadata" not in sent.json()


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("chunked", [False, True])
def test_one_byte_per_write_with_every_line_end(fault_server: FaultServer, collect: Any, eol: str,
                                                chunked: bool) -> None:
    body = reply(*TRICKY, eol=eol)
    if chunked:  # a chunked body whose chunks split UTF-8 characters and line ends
        pieces = [body[i:i + 3] for i in range(0, len(body), 3)]
        steps = [http_head(chunked=True)] + [OneByte(b"%x\r\n" % len(p) + p + b"\r\n") for p in pieces] + [b"0\r\n\r\n"]
    else:
        steps = [http_head(), OneByte(body)]
    fault_server.script("/api/chat/abc", steps)
    deltas, error = collect(fault_server.url, "abc", HELLO)
    assert error is None
    assert "".join(deltas) == "".join(TRICKY)


def test_a_single_one_mebibyte_chunk(fault_server: FaultServer, collect: Any) -> None:
    big = ("0123456789abcdéf" * 70000)[: 1024 * 1024]
    fault_server.script("/api/chat/abc", [http_head(), reply(big)])
    deltas, error = collect(fault_server.url, "abc", HELLO)
    assert error is None
    assert deltas == [big]


def test_finish_reason_then_end_without_done_is_complete(fault_server: FaultServer, collect: Any) -> None:
    fault_server.script("/api/chat/abc", [http_head(), reply("cut by", " max_tokens", finish="length", done=False)])
    deltas, error = collect(fault_server.url, "abc", HELLO)
    assert error is None
    assert "".join(deltas) == "cut by max_tokens"


@pytest.mark.parametrize("ending", ["no chunked terminator", "reset", "no done, chunked"])
def test_a_reply_whose_finish_reason_arrived_is_complete_however_the_connection_ends(
        fault_server: FaultServer, collect: Any, ending: str) -> None:
    body = reply("all", " of it", finish="stop", done=ending == "reset")
    steps: list[Any] = [http_head(chunked=True), b"%x\r\n%s\r\n" % (len(body), body)]
    if ending == "reset":
        steps += [0.05, CUT]
    elif ending == "no done, chunked":
        steps.append(b"0\r\n\r\n")
    fault_server.script("/api/chat/abc", steps)
    deltas, error = collect(fault_server.url, "abc", HELLO)
    assert error is None
    assert "".join(deltas) == "all of it"


def test_end_before_any_finish_reason_is_broken_and_keeps_the_partial(fault_server: FaultServer,
                                                                      collect: Any) -> None:
    fault_server.script("/api/chat/abc", [http_head(), reply("half a ", "rep", finish=None, done=False)])
    deltas, error = collect(fault_server.url, "abc", HELLO)
    assert isinstance(error, StreamError)
    assert error.partial == "half a rep" == "".join(deltas)
    assert "cut off" in str(error)


def test_connection_reset_mid_stream_is_a_stream_error(fault_server: FaultServer, collect: Any) -> None:
    whole, half = data(chunk("partial")), data(chunk(" and more"))[:25]
    steps = [http_head(chunked=True), b"%x\r\n%s\r\n" % (len(whole), whole), b"%x\r\n%s" % (len(half) + 9, half),
             0.05, CUT]
    fault_server.script("/api/chat/abc", steps)
    deltas, error = collect(fault_server.url, "abc", HELLO)
    assert isinstance(error, StreamError)
    assert error.partial == "partial" == "".join(deltas)


@pytest.mark.parametrize("error_body", [
    {"error": {"message": "LLama server is not running", "type": "server_error", "code": "service_unavailable"}},
    {"error": "LLama server is not running"},
])
def test_error_chunk_inside_a_200_stream(fault_server: FaultServer, collect: Any, error_body: Any) -> None:
    fault_server.script("/api/chat/abc", [http_head(), data(chunk("Thinking")) + data(error_body) + data("[DONE]")])
    deltas, error = collect(fault_server.url, "abc", HELLO)
    assert isinstance(error, StreamError)
    assert str(error) == "The Second Me reported an error: LLama server is not running"
    assert error.partial == "Thinking" == "".join(deltas)


def test_a_stall_is_a_timeout(fault_server: FaultServer, collect: Any) -> None:
    fault_server.script("/api/chat/abc", [http_head(), data(chunk("first")), 3.0])
    started = time.monotonic()
    deltas, error = collect(fault_server.url, "abc", HELLO, client_options={"timeout": 0.5})
    assert isinstance(error, APITimeoutError)
    assert error.partial == "first" == "".join(deltas)
    assert "nothing arrived for 0.5 s" in str(error)
    assert time.monotonic() - started < 2.5


def test_no_headers_at_all_is_a_timeout(fault_server: FaultServer, collect: Any) -> None:
    fault_server.script("/api/chat/abc", [3.0])
    deltas, error = collect(fault_server.url, "abc", HELLO, client_options={"timeout": 0.5})
    assert isinstance(error, APITimeoutError) and deltas == []


def test_html_502_from_a_proxy_is_one_line(fault_server: FaultServer, collect: Any) -> None:
    page = ("<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body{x}</style></head>"
            "<body>\n<h1>Bad Gateway</h1>\n<p>nginx</p>\n" + "<div>filler</div>\n" * 500 + "</body></html>")
    fault_server.script("/api/chat/abc", http_body("502 Bad Gateway", "text/html", page))
    deltas, error = collect(fault_server.url, "abc", HELLO)
    assert isinstance(error, APIStatusError) and error.status_code == 502
    assert str(error) == "The Second Me service had a problem: 502 Bad Gateway (502). Try again shortly."
    assert "<" not in str(error) and "\n" not in str(error)


@pytest.mark.parametrize("retry_after, expected", [("7", 7.0), ("Wed, 21 Oct 2099 07:28:00 GMT", None)])
def test_429_with_retry_after(fault_server: FaultServer, collect: Any, retry_after: str,
                              expected: float | None) -> None:
    fault_server.script("/api/chat/abc", http_body("429 Too Many Requests", "application/json",
                                                   '{"detail":"slow down"}', {"Retry-After": retry_after}))
    deltas, error = collect(fault_server.url, "abc", HELLO)
    assert isinstance(error, RateLimitError) and error.status_code == 429
    if expected is None:
        assert error.retry_after is not None and error.retry_after > 1e6
    else:
        assert error.retry_after == expected
        assert "Try again in 7 s" in str(error)


@pytest.mark.parametrize("status, body, kind, message", [
    ("404 Not Found", '{"detail":"Instance not found"}', InstanceNotFoundError,
     "No Second Me was found with the instance ID “abc”. Check the ID (404)."),
    ("503 Service Unavailable", '{"detail":"Instance abc is not connected"}', InstanceUnavailableError,
     "This Second Me is offline right now: its owner's instance is not connected (503)."),
    ("422 Unprocessable Entity",
     '{"detail":[{"loc":["body","temperature"],"msg":"Input should be less than or equal to 1","type":"x"}]}',
     InvalidRequestError,
     "The Second Me service rejected the request as invalid: temperature: Input should be less than or "
     "equal to 1 (422)."),
    ("500 Internal Server Error", '{"message":"boom"}', APIStatusError,
     "The Second Me service had a problem: boom (500). Try again shortly."),
    ("418 I'm a teapot", "short and stout", APIStatusError,
     "The Second Me service answered with an error: short and stout (418)."),
])
def test_status_errors(fault_server: FaultServer, collect: Any, status: str, body: str, kind: type,
                       message: str) -> None:
    fault_server.script("/api/chat/abc", http_body(status, "application/json", body))
    deltas, error = collect(fault_server.url, "abc", HELLO)
    assert type(error) is kind
    assert str(error) == message
    assert deltas == []


def test_whole_json_reply_is_accepted(fault_server: FaultServer, collect: Any) -> None:
    completion = {"id": "x", "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "All at once."}, "finish_reason": "stop"}]}
    fault_server.script("/api/chat/abc", http_body("200 OK", "application/json", json.dumps(completion)))
    deltas, error = collect(fault_server.url, "abc", HELLO)
    assert error is None and deltas == ["All at once."]


def test_cannot_connect(collect: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    deltas, error = collect(f"http://127.0.0.1:{port}", "abc", HELLO)
    assert isinstance(error, APIConnectionError) and not isinstance(error, APITimeoutError)
    assert str(error).startswith("Could not reach the Second Me service.")
    assert "127.0.0.1" not in str(error)  # visitors of a page never see the server's addresses
    assert error.url == f"http://127.0.0.1:{port}"  # the operator's log and terminal still can


def test_credentials_in_the_base_url_never_reach_an_error(collect: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    deltas, error = collect(f"http://user:s3cret@127.0.0.1:{port}", "abc", HELLO)
    assert isinstance(error, APIConnectionError)
    assert "s3cret" not in str(error) and "user" not in str(error)
    assert error.url == f"http://127.0.0.1:{port}"


def test_timeout_errors_name_no_address() -> None:
    from secondme.client import ClientOptions

    options = ClientOptions.resolve("http://u:pw@10.0.0.7:8000", endpoint="chat", timeout=5,
                                    connect_timeout=2, api_key=None)
    for error in (options.timeout_error(connecting=True), options.timeout_error(partial="so far")):
        assert isinstance(error, APITimeoutError)
        assert "pw" not in str(error) and "10.0.0.7" not in str(error)
        assert error.url == "http://10.0.0.7:8000"


def test_chat_completions_endpoint_and_metadata(fault_server: FaultServer, collect: Any) -> None:
    fault_server.script("/api/chat/abc/chat/completions", [http_head(), reply("ok")])
    metadata = {"enable_l0_retrieval": True, "role_id": "r1", "enable_l1_retrieval": False}
    deltas, error = collect(fault_server.url, "abc", HELLO, client_options={"endpoint": "chat/completions"},
                            temperature=0.2, max_tokens=5, metadata=metadata)
    assert error is None and deltas == ["ok"]
    assert fault_server.seen[0].json() == {"messages": HELLO, "temperature": 0.2, "max_tokens": 5,
                                           "stream": True, "metadata": metadata}


@pytest.mark.parametrize("instance_id, messages, kwargs, words", [
    ("", HELLO, {}, "Enter the instance ID"),
    ("../admin", HELLO, {}, "letters, digits"),
    ("a b", HELLO, {}, "letters, digits"),
    ("x" * 129, HELLO, {}, "at most 128"),
    ("abc", [], {}, "no message"),
    ("abc", [{"role": "robot", "content": "hi"}], {}, "role 'robot'"),
    ("abc", [{"role": "user", "content": 5}], {}, "text content"),
    ("abc", ["hi"], {}, "must be a dict"),
    ("abc", HELLO, {"temperature": 1.5}, "Temperature must be"),
    ("abc", HELLO, {"temperature": float("nan")}, "Temperature must be"),
    ("abc", HELLO, {"temperature": "hot"}, "Temperature must be"),
    ("abc", HELLO, {"max_tokens": 0}, "Max tokens"),
    ("abc", HELLO, {"max_tokens": 2.5}, "Max tokens"),
    ("abc", HELLO, {"metadata": []}, "metadata must be a dict"),
    ("abc", HELLO, {"metadata": {"enable_l0_retrieval": "yes"}}, "enable_l0_retrieval"),
    ("abc", HELLO, {"metadata": {"role_id": 3}}, "role_id"),
])
def test_bad_input_is_refused_before_sending(fault_server: FaultServer, instance_id: str, messages: Any,
                                             kwargs: dict[str, Any], words: str) -> None:
    client = SecondMeClient(fault_server.url)
    with pytest.raises(InvalidRequestError, match=words.replace("(", r"\(")):
        client.stream_chat(instance_id, messages, **kwargs)
    with pytest.raises(InvalidRequestError, match=words.replace("(", r"\(")):
        AsyncSecondMeClient(fault_server.url).stream_chat(instance_id, messages, **kwargs)
    assert fault_server.seen == []


def test_deltas_arrive_as_sent(fault_server: FaultServer) -> None:
    steps: list[Any] = [http_head(chunked=True)]
    for n in range(5):
        event = data(chunk(f"part{n} ")) if n < 4 else data(chunk("end", finish="stop")) + data("[DONE]")
        steps += [b"%x\r\n" % len(event) + event + b"\r\n", 0.2]
    steps.append(b"0\r\n\r\n")
    fault_server.script("/api/chat/abc", steps)
    arrivals: list[float] = []
    client = SecondMeClient(fault_server.url)
    started = time.monotonic()
    for _ in client.stream_chat("abc", HELLO):
        arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 5
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert arrivals[0] < 0.15, arrivals
    assert all(0.12 < gap < 0.35 for gap in gaps), gaps

    async def async_arrivals() -> list[float]:
        times: list[float] = []
        async with AsyncSecondMeClient(fault_server.url) as aclient:
            t0 = time.monotonic()
            async for _ in aclient.stream_chat("abc", HELLO):
                times.append(time.monotonic() - t0)
        return times

    times = asyncio.run(async_arrivals())
    assert times[0] < 0.15 and all(0.12 < b - a < 0.35 for a, b in itertools.pairwise(times)), times


def test_closing_early_closes_the_connection(fault_server: FaultServer) -> None:
    steps: list[Any] = [http_head()]
    for n in range(100):
        steps += [data(chunk(f"{n} ")), 0.05]
    fault_server.script("/api/chat/abc", steps)
    client = SecondMeClient(fault_server.url)
    for _ in client.stream_chat("abc", HELLO):
        break  # the stream is dropped here, and with it the connection
    closed_at = time.monotonic()
    deadline = closed_at + 2
    while fault_server.seen[0].client_closed_at is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fault_server.seen[0].client_closed_at is not None
    assert fault_server.seen[0].client_closed_at - closed_at < 1.0

    async def async_close() -> float:
        async with AsyncSecondMeClient(fault_server.url) as aclient:
            async with aclient.stream_chat("abc", HELLO) as stream:
                async for _ in stream:
                    break
            return time.monotonic()

    closed_at = asyncio.run(async_close())
    deadline = closed_at + 2
    while fault_server.seen[1].client_closed_at is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fault_server.seen[1].client_closed_at is not None
    assert fault_server.seen[1].client_closed_at - closed_at < 1.0


def test_api_key_from_the_environment_is_sent_and_never_logged(
        fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SECONDME_API_KEY", "sk-very-secret")
    monkeypatch.setenv("SECONDME_BASE_URL", fault_server.url)
    fault_server.script("/api/chat/abc", [http_head(), reply("ok")])
    caplog.set_level(logging.DEBUG)
    client = SecondMeClient()  # both settings come from the environment, read now
    monkeypatch.setenv("SECONDME_BASE_URL", "http://127.0.0.1:9")
    assert client.chat("abc", [{"role": "user", "content": "my secret message"}]) == "ok"
    assert fault_server.seen[0].headers["authorization"] == "Bearer sk-very-secret"
    assert "sk-very-secret" not in caplog.text and "my secret message" not in caplog.text


def test_no_key_sends_no_authorization(fault_server: FaultServer) -> None:
    fault_server.script("/api/chat/abc", [http_head(), reply("ok")])
    assert SecondMeClient(fault_server.url).chat("abc", HELLO) == "ok"
    assert "authorization" not in fault_server.seen[0].headers


def test_default_base_url_is_the_hosted_service() -> None:
    assert SecondMeClient().base_url == "https://app.secondme.io"
    assert AsyncSecondMeClient().base_url == "https://app.secondme.io"
