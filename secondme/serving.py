"""Serving an ASGI app safely: a cap on request bodies, deadlines for a request's headers and body,
paths closed outright, a bounded shutdown. Used by the local instance (``secondme serve``, ``--demo``)
and the web app.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Collection
from typing import Any
from urllib.parse import parse_qsl

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["BodyLimit", "ClosedPaths", "deadline_protocol", "server_config", "AnnouncingServer", "ServerThread",
           "HEADER_TIMEOUT", "BODY_TIMEOUT", "KEEP_ALIVE"]

HEADER_TIMEOUT = 10.0  # seconds a client may take to send a request's headers
# Seconds a client may take to send a request's body, once its headers are in: the largest body either
# server takes (8 MiB) in 30 s is 2.2 Mbit/s; a client trickling it would hold a connection and its memory.
BODY_TIMEOUT = 30.0
# Seconds open requests get to finish once the server is told to stop. With uvicorn's own 0.1 s tick and 0.1 s
# pause, then cancelling and the interpreter's teardown, a stop took 1.3-1.4 s with 1 s here, and 2.02-2.15 s under
# the test suite's load: past the 2 s promised. Half a second leaves room; streams are cut at its end either way.
SHUTDOWN_GRACE = 0.5
# Seconds an idle kept-alive connection stays open. uvicorn's default, 5 s, equals the idle expiry of
# httpx's pool: a client could then send a request on a connection just as the server closes it, and
# get a broken connection (measured: about 1 stream in 1,000 at 500 sessions). A server that waits
# longer than its clients leaves closing idle connections to them.
KEEP_ALIVE = 75

Scope = dict[str, Any]
Message = dict[str, Any]


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is refused with 413 and a JSON ``detail``,
    before it is read when its Content-Length says so, else as soon as the count passes the cap,
    so a huge request never sits in memory."""

    def __init__(self, app: Any, *, max_bytes: int, detail: str = "") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.detail = detail or f"The request is too large: at most {max_bytes:,} bytes are accepted."

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if length.strip().isdigit() and int(length) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message: Message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except _TooLarge:
            if started:
                raise
            await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        body = json.dumps({"detail": self.detail}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class ClosedPaths:
    """ASGI middleware answering 404 to every request for ``paths`` (compared with the path as the router
    matches it: percent-escapes decoded, trailing slashes aside, any mount prefix aside), or with a query
    parameter named in ``params``, as if they did not exist."""

    def __init__(self, app: Any, *, paths: Collection[str], params: Collection[str] = ()) -> None:
        self.app = app
        self.paths = tuple(path.rstrip("/") for path in paths)
        self.params = frozenset(params)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and self._closed(scope):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            body = json.dumps({"detail": "Not Found"}).encode()
            await send({"type": "http.response.start", "status": 404, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    def _closed(self, scope: Scope) -> bool:
        if str(scope.get("path", "")).rstrip("/").endswith(self.paths):
            return True
        query = scope.get("query_string", b"")
        # The query read as Starlette reads it, so an escaped name is the name.
        return bool(self.params and query) and any(
            name in self.params for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True))


def deadline_protocol(header_seconds: float = HEADER_TIMEOUT, body_seconds: float = BODY_TIMEOUT) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing a connection whose request headers take longer than ``header_seconds``
    from their first byte, or whose body takes longer than ``body_seconds`` once the headers are in (uvicorn
    itself waits for either forever, so a client trickling them holds a connection)."""

    class DeadlineProtocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _watching: Any = None  # the h11 state the deadline is for: IDLE (headers) or SEND_BODY (body)

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm(h11.IDLE, header_seconds)

        def data_received(self, data: bytes) -> None:
            if self.conn.their_state is h11.IDLE:
                self._arm(h11.IDLE, header_seconds)  # the first bytes of a request (or of the next one)
            super().data_received(data)
            state = self.conn.their_state
            if state is h11.SEND_BODY:
                self._arm(h11.SEND_BODY, body_seconds)  # the headers are in; the body is on its way
            elif state is not h11.IDLE:
                self._disarm()  # the request is complete

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self, state: Any, seconds: float) -> None:
            if self._deadline is not None and self._watching is state:
                return  # the deadline runs from the first byte, not from the latest
            self._disarm()
            self._watching = state
            self._deadline = self.loop.call_later(seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self.conn.their_state is self._watching and not self.transport.is_closing():
                self.transport.close()

    return DeadlineProtocol


def server_config(app: Any, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning",
                  header_timeout: float = HEADER_TIMEOUT, body_timeout: float = BODY_TIMEOUT) -> uvicorn.Config:
    """How the local instance is served: h11 with deadlines for headers and body; on a stop, open
    requests (streams included) get ``SHUTDOWN_GRACE`` seconds, then they are cancelled."""
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False,
                          http=deadline_protocol(header_timeout, body_timeout), timeout_keep_alive=KEEP_ALIVE,
                          # uvicorn annotates it as int, and uses it as asyncio.wait_for's timeout (a float is fine)
                          timeout_graceful_shutdown=SHUTDOWN_GRACE)  # type: ignore[arg-type]


class AnnouncingServer(uvicorn.Server):
    """uvicorn's server, saying on Ctrl-C or SIGTERM how many open replies it is about to close, and saying
    "Ctrl-C stops it." only once it listens, with its handlers for Ctrl-C in place: one pressed before (while the
    event loop starts) raised KeyboardInterrupt wherever Python was, once inside a callback that swallowed it, and
    the server then ran on."""

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print("Ctrl-C stops it.", flush=True)

    def handle_exit(self, sig: int, frame: Any) -> None:
        if not self.should_exit:
            cycles = [getattr(c, "cycle", None) for c in self.server_state.connections]
            busy = sum(1 for cycle in cycles if cycle is not None and not cycle.response_complete)
            said = f"closing {busy} open {'reply' if busy == 1 else 'replies'}" if busy else "no replies open"
            print(f"Stopping ({said}).", flush=True)
        super().handle_exit(sig, frame)


class ServerThread:
    """Runs an ASGI app with uvicorn on a loopback port in a background thread.

    ``port=0`` takes a free port; ``url`` is where it listens. ``stop()`` (or leaving the
    ``with`` block) shuts it down.
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning",
                 header_timeout: float = HEADER_TIMEOUT, body_timeout: float = BODY_TIMEOUT) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        config = server_config(app, host=host, port=self.port, log_level=log_level, header_timeout=header_timeout,
                               body_timeout=body_timeout)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True, name=f"uvicorn:{self.port}"
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
