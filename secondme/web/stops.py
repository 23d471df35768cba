"""A Stop clicked before the page knew its reply's event still stops that reply.

Gradio's page names the event it cancels by the id ``queue/join`` answered with. Clicked before that answer came
(the join's round trip: a moment here, a good part of a second to a Space), Stop sends ``"event_id": null``. Gradio
refused that (422), the page went idle as if stopped, and the reply went on streaming into the conversation.

``EarlyStops`` is ASGI middleware that gives such a cancel the id of the session's event for that ``fn_index`` whose
join had reached the app before the cancel did: the one the visitor was stopping. Queued or running, it is found at
once. A join that had arrived but was not yet queued (its body still coming, its checks still running) is waited
for, while it is in the app and at most ``WAIT``; a join that comes after the cancel is another message, and is left
alone. Any other request passes as it came; a cancel that finds nothing, too.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from . import internals

__all__ = ["EarlyStops", "WAIT", "POLL", "MOST_BYTES"]

WAIT = 2.0  # the longest a cancel waits for a join that had arrived to be queued
POLL = 0.02  # how often it looks meanwhile
MOST_BYTES = 1024  # a cancel's body is read only up to this size (the page's is about 80 bytes)
ARRIVED = "secondme.arrived"  # in a join's ASGI scope: (when it arrived, its number)


class EarlyStops:
    """The middleware (``Middleware(EarlyStops, blocks=...)``): ``blocks`` is the app whose queue it looks in."""

    def __init__(self, app: Any, blocks: Any, wait: float | None = None) -> None:
        self.app = app
        self.blocks = blocks
        self.wait = WAIT if wait is None else wait
        self.joining: dict[int, None] = {}  # the numbers of the joins in the app now, oldest first
        self.next_number = 0  # the number the next join gets

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = _route(scope)
        if path == internals.JOIN_PATH:
            await self._join(scope, receive, send)
        elif path == internals.CANCEL_PATH:
            await self._cancel(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _join(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        number = self.next_number
        self.next_number += 1
        scope[ARRIVED] = (time.monotonic(), number)  # Gradio's queue keeps the request, and with it its scope
        self.joining[number] = None
        try:
            await self.app(scope, receive, send)
        finally:
            del self.joining[number]

    async def _cancel(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        arrived = time.monotonic()
        before = self.next_number  # the joins this cancel may be about are those numbered below it
        received, body = await _read_body(receive)
        asked = _early_stop(body) if body is not None else None
        if asked is not None:
            event = await self._event(*asked, arrived, before)
            if event is not None:
                body = json.dumps({"session_hash": asked[0], "fn_index": asked[1], "event_id": event}).encode()
                received = [{"type": "http.request", "body": body, "more_body": False}]
        await self.app(scope, _replay(received, receive), send)

    async def _event(self, session_hash: str, fn_index: int, arrived: float, before: int) -> str | None:
        """The newest event of the session's ``fn_index`` whose join arrived before ``arrived``; while one of the
        joins that were in the app then (numbered below ``before``) is still there, it may yet queue it."""
        deadline = arrived + self.wait
        while True:
            earlier = [(scope[ARRIVED], event) for event, scope in internals.events_of(self.blocks, session_hash,
                                                                                      fn_index)
                       if ARRIVED in scope and scope[ARRIVED][0] < arrived]
            if earlier:
                return max(earlier)[1]
            oldest = next(iter(self.joining), before)  # O(1) however many joins are in the app
            if oldest >= before or time.monotonic() >= deadline:
                return None
            await asyncio.sleep(POLL)


def _route(scope: dict[str, Any]) -> str | None:
    """A POST's path below the app's root path; None for anything else."""
    if scope["type"] != "http" or scope.get("method") != "POST":
        return None
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _early_stop(body: bytes) -> tuple[str, int] | None:
    """(session_hash, fn_index) of a cancel that names no event; None for any other body."""
    try:
        asked = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(asked, dict) or asked.get("event_id", "") is not None:
        return None
    session_hash, fn_index = asked.get("session_hash"), asked.get("fn_index")
    if not isinstance(session_hash, str) or not session_hash or type(fn_index) is not int:
        return None
    return session_hash, fn_index


async def _read_body(receive: Any) -> tuple[list[dict[str, Any]], bytes | None]:
    """The messages read of a request, and its whole body: None when it is longer than MOST_BYTES (the rest is
    not read) or did not come whole (a disconnect)."""
    received: list[dict[str, Any]] = []
    size = 0
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":
            return received, None
        size += len(message.get("body", b""))
        if size > MOST_BYTES:
            return received, None
        if not message.get("more_body", False):
            return received, b"".join(m.get("body", b"") for m in received)


def _replay(received: list[dict[str, Any]], receive: Any) -> Any:
    """``receive`` as the app would have seen it: the messages already read, in turn, then the rest."""
    left = list(received)

    async def replayed() -> dict[str, Any]:
        return left.pop(0) if left else await receive()

    return replayed
