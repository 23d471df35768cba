"""Protecting the Second Me: one line per instance, a per-visitor rate limit, the upstream's 429,
the metrics, and connections that are not closed under a client's feet."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import ValidationError

from secondme.engine.lines import Lines
from secondme.errors import wait_in_words
from secondme.web import Settings
from secondme.web.ratelimit import Limiter, Rate, RateLimit, trusted_networks, visitor_address

from .faults import FaultServer, Gate, chunk, data, http_body, http_head, reply
from .test_app import Launched, respond, texts

# -- the line ------------------------------------------------------------------------------


def test_a_line_lets_its_limit_through_and_the_rest_wait_first_come_first_served() -> None:
    async def scenario() -> None:
        lines = Lines(2)
        order: list[str] = []
        release = {name: asyncio.Event() for name in "ABCDE"}
        seen_ahead: dict[str, list[int]] = {}

        async def reply(name: str, instance: str = "x") -> None:
            async with lines.place(instance) as place:
                assert place is not None
                seen_ahead[name] = [place.ahead]
                await place.admitted
                order.append(name)
                await release[name].wait()

        tasks = {name: asyncio.create_task(reply(name)) for name in "ABCD"}
        await asyncio.sleep(0.01)
        assert order == ["A", "B"]  # the limit
        assert seen_ahead["C"] == [0] and seen_ahead["D"] == [1]
        assert lines.waiting("x") == 2 and lines.streaming("x") == 2
        other = asyncio.create_task(reply("E", "y"))  # another instance is not held up
        await asyncio.sleep(0.01)
        assert order == ["A", "B", "E"]
        release["B"].set()
        await asyncio.sleep(0.01)
        assert order == ["A", "B", "E", "C"]  # first come, first served
        tasks["D"].cancel()  # Stop leaves the line
        await asyncio.sleep(0.01)
        assert lines.waiting("x") == 0 and lines.waiting_counts() == []
        for event in release.values():
            event.set()
        await asyncio.gather(*tasks.values(), other, return_exceptions=True)
        assert lines.streaming("x") == 0 and lines.waiting_counts() == []

    asyncio.run(scenario())


def test_leaving_the_line_moves_those_behind_up() -> None:
    async def scenario() -> None:
        lines = Lines(1)
        places: list[Any] = []
        stack = []
        for _ in range(4):
            cm = lines.place("x")
            places.append(await cm.__aenter__())
            stack.append(cm)
        assert [p.ahead for p in places] == [0, 0, 1, 2]
        await stack[2].__aexit__(None, None, None)  # the second waiting leaves
        assert places[3].moved.is_set() and places[3].ahead == 1
        await stack[0].__aexit__(None, None, None)  # the one streaming ends: the first waiting goes
        assert places[1].admitted.done() and places[3].ahead == 0
        for cm in (stack[1], stack[3]):
            await cm.__aexit__(None, None, None)
        assert lines.waiting_counts() == [] and lines.streaming("x") == 0

    asyncio.run(scenario())


def test_no_limit_means_no_line() -> None:
    async def scenario() -> None:
        async with Lines(None).place("x") as place:
            assert place is None

    asyncio.run(scenario())


# The reply ahead holds the line long enough for a loaded machine to get the next one waiting behind it (1.5 s ran
# out under the full suite: the first ended, and the next was let in, before the test looked).
SLOW = [http_head(), data(chunk(role="assistant")), data(chunk("Slow ")), 4.0, data(chunk("reply.")),
        data(chunk(finish="stop")), data("[DONE]")]


@pytest.fixture()
def lined_app(faults: FaultServer) -> Iterator[Launched]:
    faults.script("/api/chat/busy", SLOW)
    faults.script("/api/chat/other", [http_head(), reply("Other reply.")])
    # The read timeout outlasts any hold of these tests (a reply that timed out would leave the line early).
    launched = Launched(Settings(base_url=faults.url, timeout=30.0, instance_concurrency=1))
    yield launched
    launched.close()


@pytest.fixture()
def held(faults: FaultServer) -> Iterator[threading.Event]:
    """The instance "held": each of its replies holds its line until the test sets this event (a time would
    run out on a loaded machine before the test had looked), and ends once it is set."""
    opened = threading.Event()
    faults.script("/api/chat/held", [http_head(), data(chunk(role="assistant")), data(chunk("Held ")), Gate(opened),
                                     data(chunk("reply.")), data(chunk(finish="stop")), data("[DONE]")])
    yield opened
    opened.set()


def background(target: Any, *args: Any) -> threading.Thread:
    """``target(*args)`` in a daemon thread: one that hung could not keep pytest from exiting."""
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def streaming_from(app: Launched, instance: str, count: int = 1) -> None:
    """Until ``count`` replies stream from ``instance`` (a reply sent from a thread may take a while to start
    on a loaded machine; one sent after it must find it streaming)."""
    lines = app.app.chat_page.ctl.engine.lines
    deadline = time.monotonic() + 10
    while lines.streaming(instance) < count:
        assert time.monotonic() < deadline, f"no reply streaming from {instance}"
        time.sleep(0.02)


def finished(*threads: threading.Thread, timeout: float = 30) -> None:
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), f"{thread.name} did not finish within {timeout} s"


def _notices(states: list[list[dict[str, Any]]]) -> list[str]:
    return [f"{title}: {text}" for state in states for _, title, text in texts(state)[-1:] if title]


def test_the_page_says_how_many_wait_ahead_and_every_reply_arrives(lined_app: Launched) -> None:
    results: dict[str, list[list[dict[str, Any]]]] = {}

    def send(name: str, instance: str = "busy") -> None:
        results[name] = respond(lined_app, f"Hello from {name}", [], instance)

    first = background(send, "first")
    streaming_from(lined_app, "busy")
    others = []
    lines = lined_app.app.chat_page.ctl.engine.lines
    for waiting, name in enumerate(("second", "third"), start=1):
        others.append(background(send, name))
        deadline = time.monotonic() + 10
        while lines.waiting("busy") < waiting:  # in line, in this order
            assert time.monotonic() < deadline, f"{name} did not join the line"
            time.sleep(0.02)
    started = time.monotonic()
    send("elsewhere", "other")  # another instance's reply does not wait for this one's line
    assert time.monotonic() - started < 1.0
    finished(first, *others)
    for name in ("first", "second", "third"):
        assert texts(results[name][-1])[-1] == ("assistant", "", "Slow reply."), name
    assert texts(results["elsewhere"][-1])[-1] == ("assistant", "", "Other reply.")
    assert not _notices(results["first"]) and not _notices(results["elsewhere"])
    second, third = _notices(results["second"]), _notices(results["third"])
    assert second and all(n.startswith("⏳ Waiting for this Second Me: You are next.") for n in second)
    assert third[0].startswith("⏳ Waiting for this Second Me: 1 ahead of you.")
    assert third[-1].startswith("⏳ Waiting for this Second Me: You are next.")  # kept current


def test_stop_while_waiting_leaves_the_line(lined_app: Launched, held: threading.Event) -> None:
    ctl = lined_app.app.chat_page.ctl
    holder = background(respond, lined_app, "Hold the line", [], "held")
    streaming_from(lined_app, "held")
    # A client of its own: a cancel names a session and an event, so on the holder's session it would
    # stop the holder's reply too (and that job would then never end).
    other = Client(lined_app.url, verbose=False)
    job = other.submit("Wait", [], "held", "", 0.7, 100, False, "", "chat", api_name="/send")
    deadline = time.monotonic() + 10
    # Stop once the client has seen the wait, as a visitor does: a cancel sent before the client has its event's
    # id is refused (422) and cancels nothing.
    while not any("Waiting for this Second Me" in str(update) for update in job.outputs()):
        assert time.monotonic() < deadline, "the wait was not shown"
        time.sleep(0.02)
    assert ctl.engine.lines.waiting("held") == 1
    job.cancel()
    deadline = time.monotonic() + 5
    while ctl.engine.lines.waiting("held") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ctl.engine.lines.waiting("held") == 0
    assert ctl.engine.lines.streaming("held") == 1  # the holder streams on
    held.set()
    finished(holder)
    other.close()


def test_a_stop_while_waiting_replaces_the_waiting_notice() -> None:
    from secondme.engine.conversation import user, waiting_notice
    from secondme.web.controller import ChatController

    ctl = ChatController(Settings(), {})
    stopped = ctl.mark_stopped([user("Hi"), waiting_notice(2)])
    assert [m["metadata"] for m in stopped] == [None, {"title": "⏹ Stopped"}]
    assert "before it began" in stopped[-1]["content"][0]["text"]


# -- the upstream's 429 --------------------------------------------------------------------


@pytest.fixture(scope="module")
def upstream_app(faults: FaultServer) -> Iterator[Launched]:
    launched = Launched(Settings(base_url=faults.url, timeout=5.0))
    yield launched
    launched.close()


def test_a_short_retry_after_is_waited_out_once_with_a_countdown(upstream_app: Launched, faults: FaultServer) -> None:
    path = "/api/chat/retried"
    faults.script(path, http_body("429 Too Many Requests", "application/json", "{}", {"Retry-After": "2"}),
                  [http_head(), reply("After the wait.")])
    states = respond(upstream_app, "Hi", [], "retried")
    notices = _notices(states)
    assert any("Trying again in 2 s" in n for n in notices) and any("Trying again in 1 s" in n for n in notices)
    assert notices[0].startswith("⏳ The Second Me service is busy")
    assert texts(states[-1])[-1] == ("assistant", "", "After the wait.")
    assert len(faults.requests_to(path)) == 2


def test_a_second_429_or_a_long_retry_after_is_a_notice_that_says_when(upstream_app: Launched,
                                                                       faults: FaultServer) -> None:
    path = "/api/chat/twice"
    limited = http_body("429 Too Many Requests", "application/json", "{}", {"Retry-After": "1"})
    faults.script(path, limited, limited, [http_head(), reply("never")])
    final = texts(respond(upstream_app, "Hi", [], "twice")[-1])[-1]
    assert final[:2] == ("assistant", "⚠️ Too many requests") and "Try again in 1 s" in final[2]
    assert len(faults.requests_to(path)) == 2

    faults.script("/api/chat/later", http_body("429 Too Many Requests", "application/json", "{}",
                                              {"Retry-After": "600"}))
    final = texts(respond(upstream_app, "Hi", [], "later")[-1])[-1]
    assert "Try again in about 10 minutes" in final[2]
    assert len(faults.requests_to("/api/chat/later")) == 1


def test_waits_are_said_in_words() -> None:
    assert [wait_in_words(s) for s in (0.2, 30, 89.5, 600, 5400, 3 * 86400)] == [
        "1 s", "30 s", "90 s", "about 10 minutes", "about 2 hours", "about 3 days"]


# -- the rate limit ------------------------------------------------------------------------


def test_rates_parse_and_refuse_what_is_not_one() -> None:
    assert Rate.parse("20/minute") == Rate(20, 60) and str(Rate.parse("20/minute")) == "20 per minute"
    assert Rate.parse("10 / 5 minutes") == Rate(10, 300) and str(Rate(10, 300)) == "10 per 5 minutes"
    assert Rate.parse("5/second") == Rate(5, 1) and Rate.parse("100/hours") == Rate(100, 3600)
    for bad in ("20", "0/minute", "x/minute", "20/fortnight", "-1/second"):
        with pytest.raises(ValueError, match="SECONDME_RATE_LIMIT"):
            Rate.parse(bad)
    with pytest.raises(ValueError, match="SECONDME_RATE_LIMIT"):
        Settings.from_env({"SECONDME_RATE_LIMIT": "lots"})
    assert Settings.from_env({"SECONDME_RATE_LIMIT": "3/minute"}).rate_limit == Rate(3, 60)


def test_the_limiter_allows_the_count_then_one_per_interval_per_visitor() -> None:
    now = [0.0]
    limiter = Limiter(Rate(3, 60), clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.take("a") == pytest.approx(20)  # the next is allowed when one interval has passed
    assert limiter.take("b") == 0  # visitors are counted apart
    now[0] = 20
    assert limiter.take("a") == 0 and limiter.take("a") == pytest.approx(20)
    now[0] = 1000
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]  # a full count again after a while


def test_the_visitor_is_the_peer_unless_the_peer_is_a_trusted_proxy() -> None:
    forged = [(b"x-forwarded-for", b"203.0.113.9, 10.0.0.2")]
    scope = {"client": ("127.0.0.1", 5000), "headers": forged}
    assert visitor_address(scope, ()) == "127.0.0.1"  # none trusted by default, loopback included
    assert visitor_address(scope, trusted_networks("10.0.0.0/8")) == "127.0.0.1"
    assert visitor_address(scope, trusted_networks("127.0.0.1, ::1")) == "203.0.113.9"  # the first hop
    assert visitor_address({"client": ("10.1.2.3", 1), "headers": forged}, trusted_networks("10.0.0.0/8")) == \
        "203.0.113.9"
    assert visitor_address({"client": ("10.1.2.3", 1), "headers": []}, trusted_networks("10.0.0.0/8")) == "10.1.2.3"
    with pytest.raises(ValueError, match="SECONDME_TRUSTED_PROXIES"):
        trusted_networks("10.0.0.0/8, proxy.example")


def _middleware_app() -> tuple[RateLimit, list[str]]:
    reached: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        reached.append(f"{scope['path']} {body.decode()}")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return RateLimit(app, limiter=Limiter(Rate(1, 3600)), events={0: 3, 1: None, 18: 2}, api_names={"send", "chat"},
                     loopback_secret="the-secret"), reached


def test_every_way_to_start_a_reply_counts_and_nothing_else_does() -> None:
    limit, reached = _middleware_app()

    async def scenario() -> list[int]:
        statuses = []
        transport = httpx.ASGITransport(app=limit, client=("198.51.100.7", 123))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            async def post(path: str, body: Any, **headers: str) -> None:
                statuses.append((await http.post(path, json=body, headers=headers)).status_code)

            # Not replies: other events, other API names, MCP's tool list, reading the queue.
            await post("/gradio_api/queue/join", {"data": ["fn_index: 0"], "fn_index": 5})
            await post("/gradio_api/queue/join", {"data": [], "fn_index ": 0, "x": {"fn_index": 0}, "fn_index": "5"})
            raw = await http.post("/gradio_api/queue/join", content=b'{"fn_index": 0, "data": [], "fn_index": 5}')
            statuses.append(raw.status_code)  # Gradio runs the last fn_index
            await post("/gradio_api/call/undo", {"data": []})
            await post("/gradio_api/mcp/", {"jsonrpc": "2.0", "method": "tools/list", "id": 1})
            # The first reply passes (its body reaches the app whole); each way in after it is refused.
            await post("/gradio_api/queue/join", {"data": ["hi"], "fn_index": 0, "session_hash": "s"})
            joined = await http.post("/gradio_api/queue/join", json={"data": ["hi", "x"], "fn_index": 18})
            statuses.append(joined.status_code)  # as Gradio refuses an input: gradio_client and the page show it
            assert joined.json() == {"detail": [
                {"__type__": "validate", "is_valid": False, "message": "You have sent as many messages as this "
                 "page allows (1 per hour). Try again in about 60 minutes."},
                {"__type__": "validate", "is_valid": True, "message": ""}]}
            await post("/gradio_api/queue/join", {"data": [[], "x"], "fn_index": 1})  # retry: not the message
            await post("/gradio_api/call/v2/chat", {"message": "hi"})
            await post("/gradio_api/mcp/", {"jsonrpc": "2.0", "method": "tools/call", "id": 2})
            await post("/gradio_api/mcp/messages/?session_id=x", {"jsonrpc": "2.0", "method": "tools/call", "id": 3})
            for path in ("/gradio_api/mcp/messages/run/undo", "/gradio_api/mcp/messages/call/undo",
                         "/gradio_api/mcp/messages/queue/join"):  # MCP's SSE transport takes any path under it
                await post(f"{path}?session_id=x", {"jsonrpc": "2.0", "method": "tools/call", "id": 4})
            # run/ and api/ would skip the queue and a reply's checks: not there for a reply event.
            await post("/gradio_api/run/send/", {"data": ["hi"]})
            await post("/gradio_api/api/predict", {"data": ["hi"], "fn_index": "18"})
            refused = await http.post("/gradio_api/call/chat", json={"data": ["hi"]})
            assert refused.status_code == 429 and 3500 <= int(refused.headers["retry-after"]) <= 3600
            assert refused.json()["detail"] == ("You have sent as many messages as this page allows (1 per hour). "
                                                "Try again in about 60 minutes.")
        # The app's own MCP server calls the queue with this process's secret: that call was counted as its
        # tool call. Being on loopback and saying "mcp" is not enough.
        own = httpx.ASGITransport(app=limit, client=("127.0.0.1", 9))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=own, base_url="http://app") as http:
            for headers in ({"x-secondme-loopback": "the-secret"}, {"x-gradio-user": "mcp"}, {"x-gradio-user": "mcp"},
                            {"x-secondme-loopback": "the-secreT"}):
                response = await http.post("/gradio_api/queue/join", json={"fn_index": 18, "data": []},
                                           headers=headers)
                statuses.append(response.status_code)
        return statuses

    assert asyncio.run(scenario()) == [200, 200, 200, 200, 200, 200, 422, 429, 429, 429, 429, 429, 429, 429, 404,
                                       404, 200, 200, 422, 422]
    assert json.loads(reached[5].split(" ", 1)[1]) == {"data": ["hi"], "fn_index": 0, "session_hash": "s"}


def test_a_refusal_on_the_page_is_in_the_visitors_language_and_the_apis_in_english() -> None:
    limit, _ = _middleware_app()

    async def scenario() -> list[Any]:
        transport = httpx.ASGITransport(app=limit, client=("198.51.100.8", 123))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            await http.post("/gradio_api/queue/join", json={"data": ["hi"], "fn_index": 0})  # the one allowed
            said = []
            for headers in ({"Accept-Language": "zh-CN,zh;q=0.9"}, {"Cookie": "secondme-lang=zh-CN"},
                            {"Cookie": "secondme-lang=en", "Accept-Language": "zh-CN"}):
                page = await http.post("/gradio_api/queue/join", json={"data": ["hi", "x"], "fn_index": 18},
                                       headers=headers)
                said.append(page.json()["detail"][0]["message"])
            api = await http.post("/gradio_api/call/chat", json={"data": ["hi"]}, headers={"Accept-Language": "zh"})
            return [*said, api.json()["detail"]]

    zh_page, zh_cookie, en_cookie, api = asyncio.run(scenario())
    assert zh_page == zh_cookie == "你发送的消息已达到本页允许的数量（每小时 1 条）。请在 约 60 分钟 后重试。"
    assert en_cookie.startswith("You have sent as many messages as this page allows (1 per hour). Try again in")
    assert api.startswith("You have sent as many messages as this page allows (1 per hour). Try again in")


def test_a_rate_is_said_in_each_language() -> None:
    assert [Rate(20, 60).said("zh-CN"), Rate(10, 300).said("zh-CN"), Rate(3, 2.5).said("zh-CN")] == [
        "每分钟 20 条", "每 5 分钟 10 条", "每 2.5 秒 3 条"]
    assert [str(Rate(20, 60)), str(Rate(10, 300)), str(Rate(3, 2.5)), str(Rate(5, 1))] == [
        "20 per minute", "10 per 5 minutes", "3 per 2.5 s", "5 per second"]


@pytest.fixture()
def limited_app(faults: FaultServer) -> Iterator[Launched]:
    faults.script("/api/chat/limited", [http_head(), reply("Within the limit.")])
    launched = Launched(Settings(base_url=faults.url, timeout=5.0, rate_limit=Rate(2, 60)))
    yield launched
    launched.close()


def test_a_visitor_past_the_limit_is_told_when_and_nothing_is_sent(limited_app: Launched,
                                                                   faults: FaultServer) -> None:
    before = len(faults.requests_to("/api/chat/limited"))
    for _ in range(2):
        assert texts(respond(limited_app, "Hi", [], "limited")[-1])[-1][2] == "Within the limit."
    job = limited_app.client.submit("Hi", [], "limited", "", 0.7, 100, False, "", "chat", api_name="/send")
    with pytest.raises(ValidationError, match=r"as many messages as this page allows \(2 per minute\)\. Try again in"):
        job.result(timeout=10)
    # A forged X-Forwarded-For from a peer nobody trusts changes nothing.
    response = httpx.post(f"{limited_app.url}gradio_api/call/chat", json={"data": ["Hi", "limited", "", 0.7, 100]},
                          headers={"X-Forwarded-For": "203.0.113.50"})
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0
    assert len(faults.requests_to("/api/chat/limited")) == before + 2
    assert 'secondme_requests_refused_total{reason="rate limit"} 2.0' in httpx.get(f"{limited_app.url}metrics").text


def test_behind_a_trusted_proxy_each_forwarded_visitor_has_a_count_of_their_own(faults: FaultServer) -> None:
    faults.script("/api/chat/limited", [http_head(), reply("Within the limit.")])
    launched = Launched(Settings(base_url=faults.url, rate_limit=Rate(1, 60),
                                 trusted_proxies=trusted_networks("127.0.0.1")))
    try:
        def call(visitor: str) -> int:
            return httpx.post(f"{launched.url}gradio_api/call/chat", json={"data": ["Hi", "limited", "", 0.7, 100]},
                              headers={"X-Forwarded-For": f"{visitor}, 127.0.0.1"}).status_code
        assert [call("203.0.113.1"), call("203.0.113.2"), call("203.0.113.1")] == [200, 200, 429]
    finally:
        launched.close()


# -- the metrics and the server's connections -----------------------------------------------


def test_metrics_count_replies_and_waits_and_never_say_what_was_written(lined_app: Launched,
                                                                       held: threading.Event) -> None:
    url = f"{lined_app.url}metrics"
    holder = background(respond, lined_app, "A secret message", [], "held")
    streaming_from(lined_app, "held")
    waiter = background(respond, lined_app, "Another secret", [], "held")
    deadline = time.monotonic() + 5
    while 'secondme_replies_waiting{instance="held"} 1.0' not in (during := httpx.get(url).text):
        assert time.monotonic() < deadline, during
        time.sleep(0.05)
    assert "secondme_replies_streaming 1.0" in during
    held.set()
    finished(holder, waiter)
    after = httpx.get(url).text
    assert 'secondme_replies_total{outcome="stop"} 2.0' in after
    assert "secondme_time_to_first_token_seconds_count 2.0" in after
    assert "secondme_reply_duration_seconds_count 2.0" in after
    assert "secondme_wait_in_line_seconds_count 1.0" in after
    assert "secondme_replies_waiting{" not in after and "secondme_replies_streaming 0.0" in after
    assert "secret" not in during + after


def test_metrics_count_upstream_errors_by_kind(upstream_app: Launched, faults: FaultServer) -> None:
    faults.script("/api/chat/gone", http_body("503 Service Unavailable", "application/json", "{}"))
    respond(upstream_app, "Hi", [], "gone")
    text = httpx.get(f"{upstream_app.url}metrics").text
    assert 'secondme_upstream_errors_total{kind="InstanceUnavailableError"}' in text
    assert 'secondme_replies_total{outcome="error InstanceUnavailableError"}' in text


def test_an_idle_kept_alive_connection_outlives_a_clients_pool(upstream_app: Launched) -> None:
    """httpx drops idle pooled connections after 5 s; the app must not close them first (a request
    sent just as the server closes its connection fails as a broken connection)."""
    host, port = upstream_app.url.split("//")[1].rstrip("/").split(":")
    request = f"GET /gradio_api/info HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        for _ in range(2):
            conn.sendall(request)
            head = conn.recv(65536)
            assert head.startswith(b"HTTP/1.1 200"), head[:80]
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            body = head.partition(b"\r\n\r\n")[2]
            while len(body) < length:
                body += conn.recv(65536)
            json.loads(body)
            time.sleep(6)  # longer than uvicorn's default keep-alive (5 s)


def test_a_visitor_who_leaves_while_waiting_leaves_the_line(lined_app: Launched, held: threading.Event) -> None:
    """Closing the tab (the session's queue/data stream) takes its reply out of the line at once."""
    ctl = lined_app.app.chat_page.ctl
    holder = background(respond, lined_app, "Hold the line", [], "held")
    streaming_from(lined_app, "held")
    send = next(i for i, fn in lined_app.app.fns.items() if fn.api_name == "send")
    with httpx.Client(base_url=lined_app.url, timeout=10) as http:
        joined = http.post("/gradio_api/queue/join", json={
            "data": ["Let me in", [], "held", "", 0.7, 100, False, "", "chat"], "fn_index": send,
            "session_hash": "leaver", "event_data": None, "trigger_id": None})
        assert joined.status_code == 200
        with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": "leaver"}) as stream:
            # The iterator is kept: a loop over stream.iter_lines() alone closes it at its break, and httpx then
            # closes the stream (the visitor has gone before the count below is read).
            lines = stream.iter_lines()
            for line in lines:
                if "Waiting for this Second Me" in line:
                    break
            assert ctl.engine.lines.waiting("held") == 1  # in line while its stream is open
        left = time.monotonic()  # the stream is closed: the visitor has gone (the app may notice at once)
    while ctl.engine.lines.waiting("held") and time.monotonic() - left < 5:
        time.sleep(0.02)
    assert ctl.engine.lines.waiting("held") == 0 and time.monotonic() - left < 0.5
    assert ctl.engine.lines.streaming("held") == 1  # it left; it was not let in
    held.set()
    finished(holder)


def test_a_waiting_reply_starts_as_soon_as_its_turn_comes() -> None:
    """Not at the next refresh of the count (once a second): at once."""
    from secondme.engine.reply import line_moves as _line_moves

    async def scenario() -> float:
        lines = Lines(1)
        holding = lines.place("x")
        await holding.__aenter__()
        async with lines.place("x") as second:
            assert second is not None
            left = asyncio.get_running_loop().create_future()
            moves = _line_moves(second, left)
            assert await anext(moves) == 0  # shown: "You are next."
            release = asyncio.get_running_loop().call_later(0.1, asyncio.ensure_future,
                                                            holding.__aexit__(None, None, None))
            started = time.monotonic()
            assert [ahead async for ahead in moves] == []  # admitted: the wait is over
            release.cancel()
            return time.monotonic() - started

    assert asyncio.run(scenario()) < 0.3


# -- a waiting reply holds no slot of the app's (issue 17) ------------------------------------

HEARTBEATS = [http_head(), data(chunk(role="assistant")), data(chunk("Thinking…"))] + [
    step for _ in range(120) for step in (0.5, b": heartbeat\n\n")]


def _call(url: str, message: str, instance: str) -> str:
    """A ``/call/chat`` whose result is never read: its event id."""
    answer = httpx.post(url.rstrip("/") + "/gradio_api/call/chat", json={"data": [message, instance, "", 0.7, 100]},
                        timeout=10)
    return str(answer.json()["event_id"])


def test_replies_waiting_for_a_busy_instance_hold_up_no_other_instance(faults: FaultServer) -> None:
    faults.script("/api/chat/hogged", HEARTBEATS)
    faults.script("/api/chat/free", [http_head(), reply("Free reply.")])
    launched = Launched(Settings(base_url=faults.url, timeout=30.0, concurrency=2, instance_concurrency=1))
    ctl = launched.app.chat_page.ctl
    try:
        _call(launched.url, "one streams", "hogged")
        streaming_from(launched, "hogged")
        _call(launched.url, "one waits in its line", "hogged")
        deadline = time.monotonic() + 10
        while ctl.engine.lines.waiting("hogged") < 1:
            assert time.monotonic() < deadline, "the second reply never joined the line"
            time.sleep(0.02)
        started = time.monotonic()
        job = launched.client.submit("Hi", "free", "", 0.7, 100, api_name="/chat")
        assert job.result(timeout=20) == "Free reply."
        assert time.monotonic() - started < 10  # before: not until the streaming one ended (60 s here)
        assert ctl.engine.slots.streaming("") <= 2  # the app's own limit still holds
    finally:
        launched.close()


def test_the_app_limit_still_holds_when_the_instances_differ(faults: FaultServer) -> None:
    """With lines on, SECONDME_CONCURRENCY is held by the app's own line: a third reply waits, and says so."""
    faults.script("/api/chat/first", HEARTBEATS)
    faults.script("/api/chat/third", [http_head(), reply("Third reply.")])
    launched = Launched(Settings(base_url=faults.url, timeout=30.0, concurrency=1, instance_concurrency=1))
    ctl = launched.app.chat_page.ctl
    try:
        _call(launched.url, "holds the app's one slot", "first")
        streaming_from(launched, "first")
        job = launched.client.submit("Hi", "third", "", 0.7, 100, api_name="/chat")
        deadline = time.monotonic() + 10
        while ctl.engine.slots.waiting("") < 1:
            assert time.monotonic() < deadline, "the third reply did not wait for the app's slot"
            time.sleep(0.02)
        assert not faults.requests_to("/api/chat/third") and not job.done()
        # On the page, such a wait is said as the page's, not the instance's.
        send = next(i for i, fn in launched.app.fns.items() if fn.api_name == "send")
        with httpx.Client(base_url=launched.url, timeout=10) as http:
            assert http.post("/gradio_api/queue/join", json={
                "data": ["Me too", [], "fourth", "", 0.7, 100, False, "", "chat"], "fn_index": send,
                "session_hash": "busy-page", "event_data": None, "trigger_id": None}).status_code == 200
            with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": "busy-page"}) as stream:
                said = next(line for line in stream.iter_lines() if "process_generating" in line and "⏳" in line)
        assert "This page is busy" in said and "1 ahead of you" in said and "this Second Me" not in said
    finally:
        launched.close()


def test_a_reply_nobody_reads_ends_at_the_time_limit(faults: FaultServer) -> None:
    faults.script("/api/chat/unread", HEARTBEATS)
    launched = Launched(Settings(base_url=faults.url, timeout=30.0, max_reply_seconds=2))
    try:
        _call(launched.url, "never read", "unread")
        deadline = time.monotonic() + 10
        while not faults.requests_to("/api/chat/unread"):
            assert time.monotonic() < deadline, "the reply was never asked for"
            time.sleep(0.02)
        seen = faults.requests_to("/api/chat/unread")[-1]
        deadline = time.monotonic() + 8
        while seen.client_closed_at is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen.client_closed_at is not None, "the unread reply still streams"
        assert seen.client_closed_at - seen.started_at < 5
        assert launched.app.chat_page.ctl.engine.streaming == 0
    finally:
        launched.close()
