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

from .faults import CUT, FaultServer, OneByte, Repeat, chunk, data, http_body, http_head, reply

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


PACE = 0.4


def test_deltas_arrive_as_sent(fault_server: FaultServer) -> None:
    """Each delta is handed over as it arrives, not when the next or the last does. The server writes one every
    PACE seconds: slow enough that connecting, on a loaded machine running tests in parallel, is not mistaken
    for buffering (at 0.2 s, the first delta was once 0.18 s late while the gaps were exact)."""
    steps: list[Any] = [http_head(chunked=True)]
    for n in range(5):
        event = data(chunk(f"part{n} ")) if n < 4 else data(chunk("end", finish="stop")) + data("[DONE]")
        steps += [b"%x\r\n" % len(event) + event + b"\r\n", PACE]
    steps.append(b"0\r\n\r\n")
    fault_server.script("/api/chat/abc", steps)
    arrivals: list[float] = []
    client = SecondMeClient(fault_server.url)
    started = time.monotonic()
    for _ in client.stream_chat("abc", HELLO):
        arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 5
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert arrivals[0] < 0.75 * PACE, arrivals
    assert all(0.6 * PACE < gap < 1.5 * PACE for gap in gaps), gaps

    async def async_arrivals() -> list[float]:
        times: list[float] = []
        async with AsyncSecondMeClient(fault_server.url) as aclient:
            t0 = time.monotonic()
            async for _ in aclient.stream_chat("abc", HELLO):
                times.append(time.monotonic() - t0)
        return times

    times = asyncio.run(async_arrivals())
    assert times[0] < 0.75 * PACE and all(0.6 * PACE < b - a < 1.5 * PACE for a, b in itertools.pairwise(times)), times


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


def test_the_async_client_keeps_no_cookie_the_upstream_sets(fault_server: FaultServer) -> None:
    """The app's one AsyncSecondMeClient serves every visitor: a cookie set in one visitor's reply must not go out
    with the next visitor's request."""
    set_cookie = {"Set-Cookie": "visitor=alice; Path=/"}
    fault_server.script("/api/chat/abc", [http_head(extra=set_cookie), reply("ok")])

    async def two_replies() -> list[str]:
        async with AsyncSecondMeClient(fault_server.url) as aclient:
            return [await aclient.chat("abc", HELLO), await aclient.chat("abc", HELLO)]

    assert asyncio.run(two_replies()) == ["ok", "ok"]
    first, second = fault_server.requests_to("/api/chat/abc")
    assert "cookie" not in first.headers and "cookie" not in second.headers


def test_no_key_sends_no_authorization(fault_server: FaultServer) -> None:
    fault_server.script("/api/chat/abc", [http_head(), reply("ok")])
    assert SecondMeClient(fault_server.url).chat("abc", HELLO) == "ok"
    assert "authorization" not in fault_server.seen[0].headers


def test_default_base_url_is_the_hosted_service() -> None:
    assert SecondMeClient().base_url == "https://app.secondme.io"
    assert AsyncSecondMeClient().base_url == "https://app.secondme.io"


# -- hostile upstreams (issue 17) -------------------------------------------------------------

def _peak_while(run: Any) -> tuple[Any, int]:
    """``run()``'s result, and the most memory Python held while it ran (bytes, above where it started)."""
    import tracemalloc

    tracemalloc.start()
    try:
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_huge_json_answer_is_refused_without_reading_it_whole(fault_server: FaultServer, collect: Any) -> None:
    from secondme.protocol import MAX_JSON_BYTES

    piece = b'{"pad": "' + b"x" * (1 << 20) + b'", '
    fault_server.script("/api/chat/hugejson", [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n", Repeat(piece, 40)])
    (deltas, error), peak = _peak_while(lambda: collect(fault_server.url, "hugejson", HELLO))
    assert isinstance(error, StreamError) and "larger than this client reads (8 MiB)" in str(error), error
    assert deltas == []
    print(f"{collect.kind}: peak {peak >> 20} MiB for a 40 MiB JSON answer")
    assert peak < 3 * MAX_JSON_BYTES


@pytest.mark.parametrize("shape", ["one endless line", "an event that never ends"])
def test_an_endless_sse_line_or_event_is_cut_and_not_buffered(fault_server: FaultServer, collect: Any,
                                                              shape: str) -> None:
    endless = Repeat(b"x" * 65536, 160) if shape == "one endless line" else Repeat(b"data: x\n" * 8192, 160)
    fault_server.script("/api/chat/endless", [http_head(), data(chunk("Kept")), b"data: ", endless])
    (deltas, error), peak = _peak_while(lambda: collect(fault_server.url, "endless", HELLO))
    assert isinstance(error, StreamError) and "event larger than this client reads (2 MiB)" in str(error), error
    assert deltas == ["Kept"] and error.partial == "Kept"
    print(f"{collect.kind}: peak {peak >> 20} MiB for a 10 MiB event")
    assert peak < 8 << 20
    seen = fault_server.requests_to("/api/chat/endless")[-1]
    deadline = time.monotonic() + 5
    while seen.client_closed_at is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert seen.client_closed_at is not None, "the client kept reading"


KEY = "sk-live-0123456789abcdef"


@pytest.mark.parametrize("where", ["401 body", "error chunk"])
def test_the_key_is_never_shown_back(fault_server: FaultServer, collect: Any, where: str) -> None:
    echoed = f"Invalid header Authorization: Bearer {KEY} (and x-api-key {KEY}); also Bearer other-token-123"
    if where == "401 body":
        fault_server.script("/api/chat/echo", http_body("401 Unauthorized", "application/json",
                                                        json.dumps({"detail": echoed})))
    else:
        fault_server.script("/api/chat/echo", [http_head(), data({"error": {"message": echoed}}), data("[DONE]")])
    deltas, error = collect(fault_server.url, "echo", HELLO, client_options={"api_key": KEY})
    assert error is not None
    assert fault_server.requests_to("/api/chat/echo")[-1].headers["authorization"] == f"Bearer {KEY}"
    said = str(error) + getattr(error, "detail", "")
    assert "Invalid header Authorization: Bearer [redacted]" in said
    assert KEY not in said and "other-token-123" not in said and "sk-live" not in said


@pytest.mark.parametrize("retry_after, words", [
    ("inf", "Try again later."), ("1e300", "Try again later."), ("Wed, 21 Oct 9999 07:28:00 GMT", "Try again later."),
    ("nan", "Try again in a moment."), ("-1", "Try again in a moment."), ("garbage", "Try again in a moment."),
    ("9" * 400, "Try again later."),
])
def test_any_retry_after_is_said_readably(fault_server: FaultServer, collect: Any, retry_after: str,
                                          words: str) -> None:
    fault_server.script("/api/chat/busy", http_body("429 Too Many Requests", "application/json",
                                                    '{"detail":"slow down"}', {"Retry-After": retry_after}))
    deltas, error = collect(fault_server.url, "busy", HELLO)
    assert isinstance(error, RateLimitError)
    assert str(error) == f"Too many requests: the Second Me service asked us to slow down. {words} (429)"


def test_waits_past_a_month_or_not_a_number_are_later() -> None:
    from secondme.errors import wait_amount, wait_in_words

    for seconds in (float("inf"), float("nan"), 1e300, 40 * 86400):
        assert wait_amount(seconds) == (0, "later") and wait_in_words(seconds) == "later"
    assert wait_in_words(29 * 86400) == "about 29 days"


def test_the_api_key_wins_over_credentials_in_the_base_url(fault_server: FaultServer, collect: Any) -> None:
    fault_server.script("/api/chat/creds", [http_head(), reply("ok")])
    base = fault_server.url.replace("http://", "http://user:pa55word@")
    deltas, error = collect(base, "creds", HELLO, client_options={"api_key": "sk-the-key"})
    assert error is None and deltas == ["ok"]
    assert fault_server.requests_to("/api/chat/creds")[-1].headers["authorization"] == "Bearer sk-the-key"
    # Without a key, the URL's credentials are what the HTTP library sends.
    deltas, error = collect(base, "creds", HELLO)
    assert error is None
    assert fault_server.requests_to("/api/chat/creds")[-1].headers["authorization"].startswith("Basic ")


@pytest.mark.parametrize("sent, read", [
    ("stop", "stop"), ("length", "length"), ("content_filter", "content_filter"), ("eos", "other"),
    ("x" * (1 << 20), "other"), ("stop\nreply instance=forged outcome=done", "other"),
])
def test_a_finish_reason_is_one_of_a_fixed_set(sent: str, read: str) -> None:
    from secondme.protocol import FINISH_REASONS, decode_chunk

    assert decode_chunk(json.dumps(chunk(finish=sent))).finish_reason == read
    assert read in FINISH_REASONS


def test_the_relay_reads_a_few_kib_of_an_upstream_error_and_never_says_its_key(fault_server: FaultServer) -> None:
    from secondme.relay import UpstreamResponder
    from secondme.server import LocalInstance, ServerThread, create_app

    echoed = json.dumps({"error": {"message": f"bad header: Authorization: Bearer {KEY}"}}).encode()
    fault_server.script("/v1/chat/completions", [
        b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + echoed,
        Repeat(b" " * 65536, 1600)])  # 100 MiB more
    upstream = UpstreamResponder(fault_server.url + "/v1", api_key=KEY)
    with ServerThread(create_app([LocalInstance("mine")], responder=upstream)) as relay:
        started = time.monotonic()
        with pytest.raises(StreamError) as info:
            SecondMeClient(relay.url).chat("mine", HELLO)
    assert "answered 401: bad header: Authorization: Bearer [redacted]" in str(info.value)
    assert KEY not in str(info.value)
    seen = fault_server.requests_to("/v1/chat/completions")[-1]
    assert seen.client_closed_at is not None and seen.client_closed_at - started < 5, "the relay read it all"


@pytest.mark.parametrize("upstream_says, relayed", [("length", "length"), (None, None)])
def test_the_relay_passes_the_upstreams_own_finish_reason(fault_server: FaultServer, upstream_says: str | None,
                                                          relayed: str | None) -> None:
    from secondme.relay import UpstreamResponder
    from secondme.server import LocalInstance, ServerThread, create_app

    fault_server.script("/v1/chat/completions", [http_head(), reply("cut", " here", finish=upstream_says)])
    upstream = UpstreamResponder(fault_server.url + "/v1")

    async def finish() -> str | None:
        async with AsyncSecondMeClient(relay.url) as client:
            stream = client.stream_chat("mine", HELLO)
            assert [d async for d in stream] == ["cut", " here"]
            return stream.reply.finish_reason

    with ServerThread(create_app([LocalInstance("mine")], responder=upstream)) as relay:
        assert asyncio.run(finish()) == relayed


def test_the_relay_keeps_no_cookie_the_upstream_sets(fault_server: FaultServer) -> None:
    """``secondme serve --upstream`` relays every caller's requests through one client: a cookie the model server
    set in one caller's reply must not go out with the next caller's request."""
    from secondme.relay import UpstreamResponder
    from secondme.server import LocalInstance, ServerThread, create_app

    set_cookie = {"Set-Cookie": "caller=alice; Path=/"}
    fault_server.script("/v1/chat/completions", [http_head(extra=set_cookie), reply("ok")])
    upstream = UpstreamResponder(fault_server.url + "/v1")
    with ServerThread(create_app([LocalInstance("mine")], responder=upstream)) as relay:
        assert [SecondMeClient(relay.url).chat("mine", HELLO) for _ in range(2)] == ["ok", "ok"]
    first, second = fault_server.requests_to("/v1/chat/completions")
    assert "cookie" not in first.headers and "cookie" not in second.headers


@pytest.mark.parametrize("stream", [True, False])
def test_the_local_instance_says_back_a_lone_surrogate_without_breaking(local_server: Any, stream: bool) -> None:
    """Another client may send one (JSON can escape it); the demo says it back, and the reply still ends."""
    import requests

    body: dict[str, Any] = {"messages": [{"role": "user", "content": "oops \ud800 here"}], "stream": stream}
    answer = requests.post(local_server.url + "/api/chat/demo", json=body, timeout=30)
    assert answer.status_code == 200
    if stream:
        assert answer.text.rstrip().endswith("data: [DONE]") and '"finish_reason": "stop"' in answer.text
        chunks = [json.loads(line[6:]) for line in answer.text.splitlines() if line.startswith("data: {")]
        said = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
        assert "You said: “oops \ud800 here”." in said
    else:
        assert "You said: “oops \ud800 here”." in answer.json()["choices"][0]["message"]["content"]


def test_a_broken_character_is_refused_before_anything_is_sent(fault_server: FaultServer, collect: Any) -> None:
    deltas, error = collect(fault_server.url, "abc", [{"role": "user", "content": "oops \ud800"}])
    assert isinstance(error, InvalidRequestError) and "Message 1 contains a broken character" in str(error)
    assert fault_server.seen == []


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_huge_directory_answer_is_refused_without_reading_it_whole(fault_server: FaultServer, kind: str) -> None:
    from secondme import SecondMeError

    piece = b'{"pad": "' + b"x" * (1 << 20) + b'", '
    fault_server.script("/api/upload/list", [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n", Repeat(piece, 40)])

    def run() -> Any:
        try:
            if kind == "sync":
                with SecondMeClient(fault_server.url) as client:
                    return client.list_instances()

            async def main() -> Any:
                async with AsyncSecondMeClient(fault_server.url) as client:
                    return await client.list_instances()

            return asyncio.run(main())
        except SecondMeError as exc:
            return exc

    error, peak = _peak_while(run)
    assert isinstance(error, SecondMeError) and "larger than this client reads (8 MiB)" in str(error), error
    print(f"{kind}: peak {peak >> 20} MiB for a 40 MiB directory answer")
    assert peak < 3 * (8 << 20)
