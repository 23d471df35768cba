"""Changes a mutation audit found no test noticed (issue 19): each test here fails with its mutation applied.

Tested through what a caller sees (the page's API, MCP, HTTP, raw sockets, HAProxy), so that they survive a
refactor of the code behind it."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

from secondme.client import SecondMeClient
from secondme.errors import InvalidRequestError, StreamError
from secondme.protocol import ReplyAssembler, check_max_tokens, decode_completion
from secondme.relay import UpstreamResponder
from secondme.server import LocalInstance, ServerThread, create_app
from secondme.web import Settings
from secondme.web.ratelimit import LOOPBACK_HEADER, Limiter, Rate, RateLimit
from secondme.web.visitors import Visitors

from .conftest import free_port, launched_app, start_process
from .faults import FaultServer, chunk, data, http_head, reply
from .test_mcp import with_mcp

ROOT = Path(__file__).resolve().parents[1]
SYSTEM = "You are a helpful assistant."
HELLO: Any = [{"role": "user", "content": "Hello"}]


@contextmanager
def client_of(url: str, **options: Any) -> Iterator[Client]:
    client = Client(url, verbose=False, **options)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def page(faults: FaultServer) -> Iterator[str]:
    """The app on the fault server, with the MCP tool: its URL."""
    with launched_app(Settings(base_url=faults.url, timeout=30.0, mcp=True)) as (_, url):
        yield url


def _chunked(*pieces: bytes | float) -> list[Any]:
    """A chunked 200 SSE answer, each bytes piece sent as it comes (a float: a pause of that many seconds)."""
    steps: list[Any] = [http_head(chunked=True)]
    for piece in pieces:
        steps.append(piece if isinstance(piece, float) else b"%x\r\n%s\r\n" % (len(piece), piece))
    return [*steps, b"0\r\n\r\n"]


# -- 1. the API and the MCP tool return the answer alone ---------------------------------------------------

THINKING = _chunked(data(chunk(role="assistant")), data(chunk("<think>Weighing")), data(chunk(" tea and coffee")),
                    0.4, data(chunk("</think>\n\n")), 0.4, data(chunk("Tea")), data(chunk(", of course.")),
                    data(chunk(finish="stop")) + data("[DONE]"))
REASONING_CONTENT = _chunked(
    data(chunk(role="assistant")),
    data({"choices": [{"index": 0, "delta": {"reasoning_content": "Weighing tea and coffee"}, "finish_reason": None}]}),
    0.4, data(chunk("Tea")), data(chunk(", of course.")), data(chunk(finish="stop")) + data("[DONE]"))


@pytest.mark.parametrize("steps", [THINKING, REASONING_CONTENT], ids=["<think>", "reasoning_content"])
def test_the_api_streams_the_answer_alone_never_the_reasoning(faults: FaultServer, page: str,
                                                              steps: list[Any]) -> None:
    path = faults.script(f"/api/chat/thinks{len(steps)}", steps)
    with client_of(page) as client:
        job = client.submit("Tea or coffee?", path.rsplit("/", 1)[1], SYSTEM, 0.7, 100, api_name="/chat")
        assert job.result(timeout=60) == "Tea, of course."
        outputs = job.outputs()
    assert outputs and all("Tea, of course.".startswith(text) for text in outputs), outputs


@pytest.mark.parametrize("steps", [THINKING, REASONING_CONTENT], ids=["<think>", "reasoning_content"])
def test_the_mcp_tool_returns_the_answer_alone(faults: FaultServer, page: str, steps: list[Any]) -> None:
    path = faults.script(f"/api/chat/mcpthinks{len(steps)}", steps)
    _, result = with_mcp(page, ("ask_a_second_me", {"message": "Tea or coffee?",
                                                    "instance_id": path.rsplit("/", 1)[1]}))
    assert not result.isError and [c.text for c in result.content] == ["Tea, of course."]


def test_an_answer_cut_after_its_reasoning_reaches_the_api_without_the_reasoning(faults: FaultServer,
                                                                                 page: str) -> None:
    body = reply("<think>Weighing it</think>", "Tea", done=False, finish=None)
    faults.script("/api/chat/thinkcut", [http_head(chunked=True), b"%x\r\n%s\r\n" % (len(body), body), 0.05,
                                         b"not a chunk size\r\n"])
    with client_of(page) as client:
        job = client.submit("Tea or coffee?", "thinkcut", SYSTEM, 0.7, 100, api_name="/chat")
        with pytest.raises(AppError, match="cut off"):
            job.result(timeout=60)
        outputs = job.outputs()
    assert outputs and outputs[-1] == "Tea" and not any("Weighing" in text for text in outputs), outputs


# -- 4. Accept-Language, by weight ----------------------------------------------------------------------

@pytest.mark.parametrize("accept, words", [
    ("zh-CN;q=0.1, en;q=0.9", "The instance ID can only contain"),
    ("en;q=0.1, zh;q=0.8", "实例 ID"),
    ("fr, zh;q=0", "The instance ID can only contain"),  # q=0: "not Chinese"
    ("zh;level=1;q=0.1, en;q=0.5", "The instance ID can only contain"),  # q need not be the first parameter
    ("zh;Q=0.2, en;q=0.3", "The instance ID can only contain"),  # nor in lower case
    ("zh;q=nan, en;q=0.2", "The instance ID can only contain"),  # a weight that cannot be one: not acceptable
    ("en;q=0.5, zh-CN", "实例 ID"),
])
def test_the_page_speaks_the_browsers_language_by_weight(faults: FaultServer, page: str, accept: str,
                                                         words: str) -> None:
    with client_of(page, headers={"Accept-Language": accept}) as client, \
            pytest.raises(Exception) as refused:  # noqa: PT011 - gradio_client's ValidationError
        client.predict("Hi", [], "../x", SYSTEM, 0.7, 100, False, "", "chat", api_name="/send")
    assert words in str(refused.value), str(refused.value)



# -- 2. the relay passes the upstream's own finish reason ----------------------------------------------

def _sdk(base: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base}/api/chat/mine", api_key="not-needed", max_retries=0)


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_the_relay_says_length_when_the_upstream_cut_the_reply(fault_server: FaultServer, stream: bool) -> None:
    fault_server.script("/v1/chat/completions", [http_head(), reply("Cut", " here", finish="length")])
    with ServerThread(create_app([LocalInstance("mine")], responder=UpstreamResponder(fault_server.url + "/v1"))) \
            as relay:
        answer: Any = _sdk(relay.url).chat.completions.create(model="any", messages=HELLO, stream=stream)
        if stream:
            events = list(answer)
            text = "".join(e.choices[0].delta.content or "" for e in events if e.choices)
            finish = [e.choices[0].finish_reason for e in events if e.choices and e.choices[0].finish_reason]
        else:
            text, finish = answer.choices[0].message.content, [answer.choices[0].finish_reason]
    assert text == "Cut here" and finish == ["length"]


# -- 3. max_completion_tokens counts over max_tokens -----------------------------------------------------

def test_max_completion_tokens_wins_over_max_tokens(fault_server: FaultServer) -> None:
    """OpenAI's newer name, as vLLM reads both: the local instance writes 5 words, and the relay asks its
    upstream for 5 tokens."""
    with ServerThread(create_app([LocalInstance("mine", chunks_per_second=0)])) as local:
        whole = _sdk(local.url).chat.completions.create(model="any", messages=HELLO, stream=False, max_tokens=2000,
                                                        max_completion_tokens=5)
    assert whole.choices[0].finish_reason == "length" and len((whole.choices[0].message.content or "").split()) == 5
    fault_server.script("/v1/chat/completions", [http_head(), reply("Short.")])
    with ServerThread(create_app([LocalInstance("mine")], responder=UpstreamResponder(fault_server.url + "/v1"))) \
            as relay:
        list(_sdk(relay.url).chat.completions.create(model="any", messages=HELLO, stream=True, max_tokens=2000,
                                                     max_completion_tokens=7))
        sent = fault_server.requests_to("/v1/chat/completions")[-1].json()
    assert sent["max_tokens"] == 7


# -- 5. a connection that sends nothing is closed at the header deadline ---------------------------------

def _closed_within(conn: socket.socket, seconds: float) -> float | None:
    """How long until the server closes ``conn`` (None if it is still open after ``seconds``)."""
    started = time.monotonic()
    conn.settimeout(seconds)
    try:
        while conn.recv(65536):
            pass
    except TimeoutError:
        return None
    except ConnectionError:
        pass
    return time.monotonic() - started


def test_a_client_that_connects_and_sends_nothing_is_dropped_at_the_header_deadline() -> None:
    with ServerThread(create_app(), header_timeout=0.5) as server:
        with socket.create_connection((server.host, server.port), timeout=5) as silent:
            closed = _closed_within(silent, 5)
        assert closed is not None and closed < 3
        # A kept-alive connection, its request answered, waits for the next one as long as keep-alive allows.
        with socket.create_connection((server.host, server.port), timeout=5) as kept:
            kept.sendall(b"GET /api/upload/list HTTP/1.1\r\nHost: x\r\n\r\n")
            assert kept.recv(65536).startswith(b"HTTP/1.1 200")
            assert _closed_within(kept, 1.5) is None


# -- 6. a queue/data stream that ends by itself is not a visitor leaving ---------------------------------

def _visited_app() -> Starlette:
    """Gradio's two sides of a session, served by uvicorn behind ``Visitors``: ``queue/data`` (a stream that ends
    with close_stream, or with ``?forever`` never), and a reply of the session that waits, watched, for its
    visitor to leave (it says ``watching``, then ``left`` or ``stayed`` after ``wait`` seconds)."""
    visitors = Visitors()

    async def queue_data(request: Request) -> StreamingResponse:
        async def stream() -> AsyncIterator[str]:
            yield 'data: {"msg": "process_completed"}\n\n'
            while "forever" in request.query_params:
                await asyncio.sleep(0.05)
                yield ": heartbeat\n\n"
            yield 'data: {"msg": "close_stream"}\n\n'
        return StreamingResponse(stream(), media_type="text/event-stream")

    async def a_reply(request: Request) -> StreamingResponse:
        session, wait = request.query_params["session_hash"], float(request.query_params["wait"])

        async def outcome() -> AsyncIterator[str]:
            left = visitors.watch(session)
            try:
                yield "watching\n"
                done, _ = await asyncio.wait({left}, timeout=wait)
                yield "left\n" if done else "stayed\n"
            finally:
                visitors.unwatch(session, left)
        return StreamingResponse(outcome(), media_type="text/plain")

    return Starlette(routes=[Route("/gradio_api/queue/data", queue_data), Route("/reply", a_reply)],
                     middleware=[Middleware(visitors.middleware)])


def test_a_stream_that_ends_by_itself_stops_no_reply_of_its_session() -> None:
    with ServerThread(_visited_app()) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        def reply_while(session: str, wait: float, stream_params: dict[str, str], lines: int | None) -> str:
            with http.stream("GET", "/reply", params={"session_hash": session, "wait": str(wait)}) as reply_:
                said = reply_.iter_lines()
                assert next(said) == "watching"
                with httpx.Client(base_url=server.url, timeout=10) as other, \
                        other.stream("GET", "/gradio_api/queue/data",
                                     params={"session_hash": session, **stream_params}) as stream:
                    read = stream.iter_lines()
                    for _ in range(lines) if lines is not None else iter(int, 1):
                        if next(read, None) is None:
                            break
                return next(said)

        # The visitor's stream ended as Gradio ends it (all its events done): the reply goes on.
        assert reply_while("done", 1.5, {}, None) == "stayed"
        # The visitor closed its stream midway: the reply learns of it at once.
        assert reply_while("gone", 10, {"forever": "1"}, 2) == "left"


# -- 7. only the app's own MCP call, with this process's secret, is not counted again ---------------------

@pytest.mark.parametrize("secret", ["", "the-secret"], ids=["no secret set", "a secret set"])
def test_a_join_marked_without_the_secret_is_still_limited(secret: str) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    limit = RateLimit(app, limiter=Limiter(Rate(1, 3600)), events={0: 1}, api_names={"chat"}, loopback_secret=secret)

    async def statuses() -> list[int]:
        transport = httpx.ASGITransport(app=limit, client=("127.0.0.1", 9))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            said = []
            for headers in ({}, {}, {LOOPBACK_HEADER: ""}, {LOOPBACK_HEADER: "guess"}, {LOOPBACK_HEADER: secret},
                            {"x-gradio-user": "mcp"}):
                answer = await http.post("/gradio_api/queue/join", json={"fn_index": 0, "data": ["Hi"]},
                                         headers=headers)
                said.append(answer.status_code)
            return said

    # The first join is within the limit; then only the process's own secret, when one is set, passes.
    assert asyncio.run(statuses()) == [200, 422, 422, 422, 200 if secret else 422, 422]


# -- 8. HAProxy strips the headers that would mark a request as the app's own ----------------------------

def _echo_headers_app() -> Starlette:
    """A replica's stand-in: healthy on /metrics, and anything else answers the headers it received."""
    async def metrics(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse([[name.decode("latin-1"), value.decode("latin-1")]
                             for name, value in request.scope["headers"]])

    return Starlette(routes=[Route("/metrics", metrics), Route("/{path:path}", echo, methods=["GET", "POST"])])


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
def test_haproxy_passes_no_loopback_mark_nor_forwarded_address_from_a_visitor(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("replicas", ROOT / "deploy" / "replicas.py")
    assert spec is not None and spec.loader is not None
    replicas = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(replicas)
    port = free_port()
    with ServerThread(_echo_headers_app()) as replica:
        config = tmp_path / "haproxy.cfg"
        config.write_text(replicas.haproxy_config([replica.port]))  # deploy/haproxy.cfg, as replicas.py runs it
        with start_process([str(shutil.which("haproxy")), "-db", "-f", str(config)],
                           env={**os.environ, "SECONDME_BIND": f"127.0.0.1:{port}"}, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, ready_url=f"http://127.0.0.1:{port}/metrics/up"):
            # Written by hand (no client tidies them): each header twice, in odd case.
            forged = [("X-Secondme-Loopback", "guess"), ("x-SECONDME-loopback", "guess"), ("X-Gradio-User", "mcp"),
                      ("x-gradio-user", "app"), ("X-Forwarded-For", "203.0.113.7"), ("x-forwarded-for", "10.0.0.1")]
            request = "POST /gradio_api/queue/join HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + "".join(
                f"{name}: {value}\r\n" for name, value in forged) + 'Content-Length: 2\r\n\r\n{}'
            with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                conn.sendall(request.encode())
                answer = b""
                while piece := conn.recv(65536):
                    answer += piece
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    seen = [(name.lower(), value) for name, value in json.loads(body)]
    assert not [h for h in seen if h[0] in ("x-secondme-loopback", "x-gradio-user")], seen
    assert [value for name, value in seen if name == "x-forwarded-for"] == ["127.0.0.1"]


# -- 9. found by a hand mutation pass of protocol, errors, relay and ratelimit ------------------------------

def test_the_ends_of_each_range_are_allowed(fault_server: FaultServer) -> None:
    """Temperature 0 and 1, max tokens 1 and exactly a limit: allowed, and sent as given."""
    fault_server.script("/api/chat/ends", [http_head(), reply("Fine.")])
    with SecondMeClient(fault_server.url) as client:
        for temperature, max_tokens in ((0, 1), (1, 2000)):
            assert client.chat("ends", HELLO, temperature=temperature, max_tokens=max_tokens) == "Fine."
            sent = fault_server.requests_to("/api/chat/ends")[-1].json()
            assert (sent["temperature"], sent["max_tokens"]) == (temperature, max_tokens)
    assert check_max_tokens(4096, limit=4096) == 4096
    with pytest.raises(InvalidRequestError, match="at most 4096"):
        check_max_tokens(4097, limit=4096)


def test_chunks_that_say_error_null_and_an_empty_finish_reason_are_plain_text(fault_server: FaultServer) -> None:
    """Some OpenAI-compatible servers write every field of a chunk: ``"error": null`` is no error, and
    ``"finish_reason": ""`` does not end the reply."""
    def full(text: str | None, finish: str) -> dict[str, Any]:
        return {**chunk(text), "error": None, "choices": [{"index": 0, "delta": {"content": text} if text else {},
                                                           "finish_reason": finish}]}

    fault_server.script("/api/chat/verbose", [http_head(), b"".join(
        [data(full("All", "")), data(full(" of", "")), data(full(" it.", "")), data(full(None, "stop")),
         data("[DONE]")])])
    with SecondMeClient(fault_server.url) as client:
        stream = client.stream_chat("verbose", HELLO)
        assert list(stream) == ["All", " of", " it."]


def test_a_long_stream_of_events_ended_by_cr_alone_is_not_one_endless_event(fault_server: FaultServer) -> None:
    """SSE allows a lone CR as the line end: 3 MiB of small events so written is read whole (the guard
    against one endless event, 2 MiB, counts from each event's end)."""
    piece = "x" * 1000
    fault_server.script("/api/chat/cr", [http_head(), reply(*[piece] * 3000, eol="\r")])
    with SecondMeClient(fault_server.url) as client:
        assert client.chat("cr", HELLO) == piece * 3000


def test_the_first_text_time_is_the_first_texts() -> None:
    reply_ = ReplyAssembler()
    reply_.feed(json.dumps(chunk(role="assistant")))
    assert reply_.first_text_at is None
    reply_.feed(json.dumps(chunk("First")))
    first = reply_.first_text_at
    reply_.feed(json.dumps(chunk(" second")))
    assert first is not None and reply_.first_text_at == first


def test_a_whole_answer_may_carry_its_text_as_a_delta() -> None:
    assert decode_completion(json.dumps({"choices": [{"index": 0, "delta": {"content": "As a delta."}}]})) == \
        "As a delta."


def _relayed(fault_server: FaultServer, steps: list[Any]) -> tuple[str | BaseException, float]:
    """What a client gets through the relay from an upstream that sends ``steps``, and how long it took."""
    fault_server.script("/v1/chat/completions", steps)
    with ServerThread(create_app([LocalInstance("mine")], responder=UpstreamResponder(fault_server.url + "/v1"))) \
            as relay, SecondMeClient(relay.url, timeout=30) as client:
        started = time.monotonic()
        try:
            said: str | BaseException = client.chat("mine", HELLO)
        except StreamError as exc:
            said = exc
        return said, time.monotonic() - started


def test_the_relay_passes_on_an_upstream_cut_before_its_finish_as_a_cut(fault_server: FaultServer) -> None:
    said, _ = _relayed(fault_server, [http_head(), reply("Half", " of it", finish=None, done=False)])
    assert isinstance(said, StreamError) and said.partial == "Half of it"


def test_the_relay_ends_the_reply_at_the_upstreams_finish_without_waiting_for_done(fault_server: FaultServer) -> None:
    said, took = _relayed(fault_server, [http_head(), reply("Done", " here.", done=False), 20.0])
    assert said == "Done here." and took < 10
