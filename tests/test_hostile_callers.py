"""Hostile callers, round 2 (issue 17): every spelling of a request that starts a reply counts toward the
rate limit, as its receiver reads it; the routes that would skip the limit or a reply's checks, or write to
the server's disk, are closed; a client trickling a request's headers or body is cut off."""

from __future__ import annotations

import json
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from secondme.server import ServerThread, create_app
from secondme.serving import BODY_TIMEOUT, HEADER_TIMEOUT
from secondme.web import Settings, build_app, launch_options
from secondme.web.ratelimit import LOOPBACK_HEADER, Rate

from .conftest import launched_app
from .faults import FaultServer, http_head, reply

INSTANCE = "limited"


def event_ids(config: dict[str, Any]) -> dict[str, int]:
    """The id of each named event of the page, from its /config."""
    return {d["api_name"]: d["id"] for d in config["dependencies"] if d.get("api_name")}


def reply_tricks(config: dict[str, Any]) -> list[tuple[str, str, str, dict[str, str]]]:
    """(what, path, raw body, headers): each starts a reply as Gradio or the MCP server reads it (the
    probes of issue 17). ``SESSION`` in a body is replaced by a session hash of its own."""
    ids = event_ids(config)
    send = json.dumps(["Hi", [], INSTANCE, "", 0.7, 100, False, "", "chat"])
    rest = f'"data": {send}, "session_hash": "SESSION"'
    tool = '"params": {"name": "ask_a_second_me", "arguments": {"message": "Hi", "instance_id": "limited"}}'
    join = "/gradio_api/queue/join"
    return [
        ("a duplicate key, the last one Gradio's", join, f'{{"fn_index": 999, {rest}, "fn_index": {ids["send"]}}}', {}),
        ("the key escaped", join, f'{{"fn_\\u0069ndex": {ids["send"]}, {rest}}}', {}),
        ("the index as a string", join, f'{{"fn_index": "{ids["send"]}", {rest}}}', {}),
        ("the index as a padded string", join, f'{{"fn_index": " +{ids["send"]} ", {rest}}}', {}),
        ("the index as a float", join, f'{{"fn_index": {ids["send"]}.0, {rest}}}', {}),
        ("marked as the MCP server's own call", join, f'{{"fn_index": {ids["send"]}, {rest}}}',
         {"x-gradio-user": "mcp"}),
        ("marked with a guessed secret", join, f'{{"fn_index": {ids["send"]}, {rest}}}', {LOOPBACK_HEADER: "guess"}),
        ("the API's name escaped in the path", "/gradio_api/call/%63hat", '{"data": ["Hi", "limited", "", 0.7, 100]}',
         {}),
        ("tools/call with an escaped slash", "/gradio_api/mcp/",
         f'{{"jsonrpc": "2.0", "id": 1, "method": "tools\\/call", {tool}}}', {}),
        ("tools/call with an escaped letter", "/gradio_api/mcp/",
         f'{{"jsonrpc": "2.0", "id": 1, "method": "\\u0074ools/call", {tool}}}', {}),
        ("tools/call after a harmless method", "/gradio_api/mcp/",
         f'{{"jsonrpc": "2.0", "id": 1, "method": "tools/list", {tool}, "method": "tools/call"}}', {}),
        ("tools/call in a batch", "/gradio_api/mcp/",
         f'[{{"jsonrpc": "2.0", "id": 1, "method": "tools/call", {tool}}}]', {}),
    ]


def attempt(http: httpx.Client, path: str, body: str, headers: dict[str, str]) -> int:
    """Sends one request; if it was taken, waits until the reply it started has ended. Its status."""
    session = uuid.uuid4().hex[:11]
    response = http.post(path, content=body.replace("SESSION", session).encode(), headers={
        "content-type": "application/json", "accept": "application/json, text/event-stream", **headers})
    if response.status_code == 200 and path.endswith("/queue/join"):
        with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if "process_completed" in line:
                    break
    elif response.status_code == 200 and "/call/" in path:
        http.get(f"{path}/{response.json()['event_id']}")  # streams until the reply has ended
    return response.status_code


def spend_the_limit(http: httpx.Client, times: int) -> None:
    for _ in range(times):
        answer = http.post("/gradio_api/call/chat", json={"data": ["Hi", INSTANCE, "", 0.7, 100]})
        assert answer.status_code == 200, answer.text
        assert "event: complete" in http.get(f"/gradio_api/call/chat/{answer.json()['event_id']}").text


@pytest.fixture()
def limited(faults: FaultServer) -> Iterator[tuple[Any, str]]:
    faults.script(f"/api/chat/{INSTANCE}", [http_head(), reply("Within the limit.")])
    with launched_app(Settings(base_url=faults.url, timeout=5.0, rate_limit=Rate(2, 60), mcp=True)) as launched:
        yield launched


def test_no_spelling_of_a_reply_gets_past_a_spent_limit(limited: tuple[Any, str], faults: FaultServer) -> None:
    _, url = limited
    with httpx.Client(base_url=url, timeout=30) as http:
        config = http.get("/config").json()
        spend_the_limit(http, 2)
        before = len(faults.requests_to(f"/api/chat/{INSTANCE}"))
        got_through = [what for what, path, body, headers in reply_tricks(config)
                       if attempt(http, path, body, headers) not in (422, 429)]
    assert got_through == []
    assert len(faults.requests_to(f"/api/chat/{INSTANCE}")) == before  # nothing reached the Second Me


def test_each_spelling_is_one_its_receiver_runs(faults: FaultServer) -> None:
    """The tricks above are real: under the limit, each one's reply reaches the Second Me (but a batch, which
    the MCP server refuses: were it taken, it would count)."""
    faults.script(f"/api/chat/{INSTANCE}", [http_head(), reply("Within the limit.")])
    with launched_app(Settings(base_url=faults.url, timeout=5.0, rate_limit=Rate(100, 60), mcp=True)) as (_, url):
        with httpx.Client(base_url=url, timeout=30) as http:
            reached = {}
            for what, path, body, headers in reply_tricks(http.get("/config").json()):
                before = len(faults.requests_to(f"/api/chat/{INSTANCE}"))
                attempt(http, path, body, headers)
                reached[what] = len(faults.requests_to(f"/api/chat/{INSTANCE}")) - before
    assert reached.pop("tools/call in a batch") == 0
    assert reached == dict.fromkeys(reached, 1)


def test_the_mcp_servers_own_call_is_counted_once_and_a_stranger_cannot_pass_for_it(
        limited: tuple[Any, str], faults: FaultServer) -> None:
    app, url = limited
    ids = event_ids(httpx.get(f"{url}config").json())
    data = ["Hi", [], INSTANCE, "", 0.7, 100, False, "", "chat"]
    with httpx.Client(base_url=url, timeout=30) as http:
        spend_the_limit(http, 2)
        # The secret of this process, which only the app's own MCP server sends: not counted again.
        body = json.dumps({"fn_index": ids["send"], "data": data, "session_hash": "SESSION"})
        assert attempt(http, "/gradio_api/queue/join", body, {LOOPBACK_HEADER: app.loopback_secret}) == 200
    assert len(app.loopback_secret) >= 32 and app.loopback_secret not in json.dumps(httpx.get(f"{url}config").json())


def test_run_and_api_start_no_reply_and_log_no_value(limited: tuple[Any, str], faults: FaultServer,
                                                     capfd: pytest.CaptureFixture[str]) -> None:
    """run/ and api/ skip the queue, and so the limit and a reply's checks: closed to every reply event."""
    _, url = limited
    ids = event_ids(httpx.get(f"{url}config").json())
    before = len(faults.requests_to(f"/api/chat/{INSTANCE}"))
    with httpx.Client(base_url=url, timeout=30) as http:
        for path in ("/gradio_api/run/predict", "/gradio_api/api/predict", "/gradio_api/run/chat"):
            for body in ({"fn_index": ids["chat"], "data": ["Hi", INSTANCE, "", 0.7, "secret-tokens-77"]},
                         {"fn_index": str(ids["send"]), "data": ["Hi", [], INSTANCE, "", 0.7, 100, False, "", "chat"]}):
                assert http.post(path, json=body).status_code == 404, (path, body)
        assert http.post("/gradio_api/run/chat", json={"data": ["Hi", INSTANCE, "", 0.7, 100]}).status_code == 404
    assert len(faults.requests_to(f"/api/chat/{INSTANCE}")) == before
    assert "secret-tokens-77" not in "".join(capfd.readouterr())


def test_routes_that_write_to_the_disk_are_closed(limited: tuple[Any, str]) -> None:
    app, url = limited
    uploads = Path(app.server_app.uploaded_file_dir)
    written = set(uploads.rglob("*")) if uploads.exists() else set()
    with httpx.Client(base_url=url, timeout=30) as http:
        config = http.get("/config").json()
        session = uuid.uuid4().hex[:11]
        # A session of its own, with state in it, as a visitor who then asks for a link to it.
        http.post("/gradio_api/queue/join", json={
            "fn_index": event_ids(config)["send"], "session_hash": session,
            "data": ["A private message", [], INSTANCE, "", 0.7, 100, False, "", "chat"]})
        for path in ("/gradio_api/deep_link", "/gradio_api/deep_link/", "/gradio_api/deep_%6Cink"):
            assert http.get(path, params={"session_hash": session}).status_code == 404, path
        # A link made before (as Gradio names them) opens nothing either.
        links = uploads / "deep_links" / "0123456789abcdef"
        links.mkdir(parents=True, exist_ok=True)
        (links / "state.json").write_text("[]")
        written |= {links.parent, links, links / "state.json"}
        for query in ("deep_link=0123456789abcdef", "deep%5Flink=0123456789abcdef", "x=1&deep_link="):
            assert http.get(f"/?{query}").status_code == 404, query
        assert http.get("/?instance=demo").status_code == 200  # the page itself opens as before
        for path in ("/gradio_api/upload", "/gradio_api/upload/", "/gradio_api/%75pload",
                     "/gradio_api/process_recording"):
            answer = http.post(path, files={"files": ("note.txt", b"kept for good?", "text/plain")})
            assert answer.status_code == 404 and "/" not in answer.text.replace("Not Found", ""), path
    try:
        assert (set(uploads.rglob("*")) if uploads.exists() else set()) == written  # nothing written
    finally:
        shutil.rmtree(links)


# -- deadlines ---------------------------------------------------------------------------------


def trickle(host: str, port: int, first: bytes, then: bytes, every: float, give_up: float) -> float | None:
    """Sends ``first``, then a piece of ``then`` every ``every`` seconds; seconds until the server closed the
    connection, or None if it was still open after ``give_up`` seconds."""
    with socket.create_connection((host, port), timeout=5) as conn:
        started = time.monotonic()
        conn.sendall(first)
        pieces = iter([then[i:i + 1] for i in range(len(then))] * 1000)
        while time.monotonic() - started < give_up:
            conn.settimeout(every)
            try:
                if conn.recv(65536) == b"":
                    return time.monotonic() - started
            except TimeoutError:
                pass
            except OSError:
                return time.monotonic() - started
            try:
                conn.sendall(next(pieces))
            except OSError:
                return time.monotonic() - started
    return None


def test_the_app_cuts_off_a_client_trickling_its_headers(faults: FaultServer) -> None:
    with launched_app(Settings(base_url=faults.url)) as (app, url):
        host, port = url.split("//")[1].rstrip("/").split(":")
        # A header line every 2 s: cut off at the header deadline (10 s), not held for ever.
        closed = trickle(host, int(port), b"GET /gradio_api/info HTTP/1.1\r\nHost: x\r\n", b"X-Slow: 1\r\n",
                         every=2, give_up=25)
        assert closed is not None and 9 <= closed <= 14, closed
        assert httpx.get(f"{url}gradio_api/info").status_code == 200  # the others are served as usual
        assert (app.header_timeout, app.body_timeout) == (HEADER_TIMEOUT, BODY_TIMEOUT) == (10, 30)


def test_the_app_cuts_off_a_client_trickling_its_body(faults: FaultServer) -> None:
    app = build_app(Settings(base_url=faults.url))
    app.body_timeout = 2  # a test cannot wait 30 s
    _, url, _ = app.launch(prevent_thread_lock=True, quiet=True, **launch_options(app))
    try:
        host, port = url.split("//")[1].rstrip("/").split(":")
        head = (b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n{")
        closed = trickle(host, int(port), head, b" ", every=0.5, give_up=15)
        assert closed is not None and 1.5 <= closed <= 5, closed
    finally:
        app.close()


def test_the_local_instance_cuts_off_a_client_trickling_its_body() -> None:
    with ServerThread(create_app(), body_timeout=1.0) as server:
        head = (b"POST /api/chat/demo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n{")
        closed = trickle(server.host, server.port, head, b" ", every=0.4, give_up=10)
        assert closed is not None and 0.8 <= closed <= 3, closed
        answer = httpx.post(f"{server.url}/api/chat/demo", json={"messages": [{"role": "user", "content": "Hi"}],
                                                                 "stream": False})
        assert answer.status_code == 200  # a body sent in time is served as usual


def test_a_file_named_in_a_conversation_is_refused_before_gradio_fetches_it(faults: FaultServer) -> None:
    """Gradio fetches the file a message names (any public address) into its cache on disk, before any check
    of the app's: refused first, as the page sends text only."""
    with launched_app(Settings(base_url=faults.url)) as (_, url):
        ids = event_ids(httpx.get(f"{url}config").json())
        refuse_files(url, ids, faults.url)
    assert not faults.requests_to("/big.iso")


def refuse_files(url: str, ids: dict[str, int], here: str) -> None:
    for path in ("https://example.com/big.iso", f"{here}/big.iso", "/etc/passwd"):
        file = {"path": path, "url": path, "meta": {"_type": "gradio.FileData"}}
        for history in ([{"role": "user", "content": [{"type": "file", "file": file}]}],
                        [{"role": "user", "content": {"component": "file", "value": [file]}}]):
            answer = httpx.post(f"{url}gradio_api/queue/join", json={
                "fn_index": ids["send"], "session_hash": uuid.uuid4().hex[:11],
                "data": ["Hi", history, INSTANCE, "", 0.7, 100, False, "", "chat"]}, timeout=30)
            assert answer.status_code == 400, answer.text
            assert answer.json()["detail"] == ("This page takes text only: a file in a message or conversation is "
                                               "not accepted."), answer.text
