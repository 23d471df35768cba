"""A fault server that writes exact bytes, for the failures no library produces on purpose.

Each path is given a script: a list of steps, each ``bytes`` (written as they are), a
``float`` (seconds to pause), ``OneByte(bytes)`` (written one byte per write), ``Repeat(bytes, n)``
(written n times, never held whole: a hostile upstream's endless reply), ``Gate(event)`` (hold
until the test sets the event: a reply that holds a line as long as a test needs, however loaded the
machine) or ``CUT`` (drop the connection, with a reset). Every request is recorded, and so is the moment each
connection was found closed by the client.
"""

from __future__ import annotations

import json
import select
import socket
import socketserver
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

CUT = object()


@dataclass(frozen=True)
class OneByte:
    data: bytes


@dataclass(frozen=True)
class Repeat:
    data: bytes
    times: int
    pause: float = 0.0  # seconds between writes


@dataclass(frozen=True)
class Gate:
    """Hold the reply until ``opened`` is set (at most ``most`` seconds: a test that failed before opening
    it does not hold its server's thread for long)."""

    opened: threading.Event
    most: float = 30.0


@dataclass
class Seen:
    """One request the fault server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_closed_at: float | None = None
    started_at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


def http_head(status: str = "200 OK", content_type: str = "text/event-stream", *,
              chunked: bool = False, extra: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}"]
    lines.append("Transfer-Encoding: chunked" if chunked else "Connection: close")
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def http_body(status: str, content_type: str, body: str | bytes, extra: dict[str, str] | None = None) -> list[Any]:
    data = body.encode() if isinstance(body, str) else body
    head = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", f"Content-Length: {len(data)}",
            "Connection: close"] + [f"{k}: {v}" for k, v in (extra or {}).items()]
    return [("\r\n".join(head) + "\r\n\r\n").encode() + data]


def chunk(content: str | None = None, *, finish: str | None = None, role: str | None = None) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "lpm-registry-model",
            "system_fingerprint": None, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def data(obj: Any, eol: str = "\n") -> bytes:
    text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
    return f"data: {text}{eol}{eol}".encode()


def reply(*texts: str, finish: str | None = "stop", done: bool = True, eol: str = "\n") -> bytes:
    """The SSE bytes of a well-formed reply."""
    out = f": initial heartbeat{eol}{eol}".encode() + data(chunk(role="assistant"), eol)
    out += b"".join(data(chunk(t), eol) for t in texts)
    if finish:
        out += data(chunk(finish=finish), eol)
    if done:
        out += data("[DONE]", eol)
    return out


def _pause(conn: socket.socket, seconds: float, until: threading.Event | None = None) -> None:
    """Sleep (until ``until`` is set, when given), but notice at once when the client closes the connection
    (it reads as EOF)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0 and not (until is not None and until.is_set()):
        readable, _, _ = select.select([conn], [], [], min(left, 0.02))
        if readable:
            if conn.recv(1, socket.MSG_PEEK) == b"":
                raise ConnectionResetError("the client closed the connection")
            time.sleep(min(left, 0.02))  # bytes we do not read: keep waiting


def read_request(conn: socket.socket) -> Seen | None:
    """One request from ``conn``: its head, then its body by Content-Length (None: closed before a head)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        piece = conn.recv(65536)
        if not piece:
            return None
        buf += piece
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        piece = conn.recv(65536)
        if not piece:
            break
        body += piece
    return Seen(method, path, headers, body)


class FaultServer:
    """Serves scripts by path on 127.0.0.1, on a free port, until ``stop()``."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Any]] = {}
        self._in_turn: set[str] = set()  # paths whose requests take the next script each
        self._lock = threading.Lock()
        self.seen: list[Seen] = []
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer._handle(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def script(self, path: str, steps: list[Any], *then: list[Any]) -> str:
        """Serve ``steps`` to requests for ``path``; with ``then``, each request takes the next
        script in turn, and the last one stays."""
        with self._lock:
            self.scripts[path] = [steps, *then] if then else steps
            (self._in_turn.add if then else self._in_turn.discard)(path)
        return path

    def requests_to(self, path_prefix: str) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith(path_prefix)]

    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        seen = read_request(conn)
        if seen is None:
            return
        self.seen.append(seen)
        path = seen.path.split("?")[0]
        with self._lock:
            steps = self.scripts.get(path)
            if steps is not None and path in self._in_turn:
                steps = steps.pop(0) if len(steps) > 1 else steps[0]
        if steps is None:
            steps = http_body("404 Not Found", "application/json", json.dumps({"detail": "no script"}))
        try:
            for step in steps:
                if step is CUT:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
                if isinstance(step, float):
                    _pause(conn, step)
                elif isinstance(step, Gate):
                    _pause(conn, step.most, step.opened)
                elif isinstance(step, Repeat):
                    for _ in range(step.times):
                        conn.sendall(step.data)
                        if step.pause:
                            _pause(conn, step.pause)
                elif isinstance(step, OneByte):
                    for i in range(len(step.data)):
                        conn.sendall(step.data[i:i + 1])
                else:
                    conn.sendall(step)
        except (TimeoutError, OSError):
            seen.client_closed_at = time.monotonic()
            return
        finally:
            conn.close()
