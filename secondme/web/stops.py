"""A Stop clicked before the page knew its reply's event still stops that reply.

Gradio's page names the event it cancels by the id ``queue/join`` answered with. Clicked before that answer came
(the join's round trip: a moment here, a good part of a second to a Space), Stop sends ``"event_id": null``. Gradio
refused that (422), the page went idle as if stopped, and the reply went on streaming into the conversation.
``EarlyStops`` is ASGI middleware that gives such a cancel the id of the session's event for that ``fn_index``:
queued or running, it is found at once; a join still on its way is waited for, briefly (``WAIT``), by at most
``MOST_WAITING`` such cancels at once. Any other cancel passes as it came.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from . import internals

__all__ = ["EarlyStops", "WAIT", "MOST_WAITING", "POLL"]

WAIT = 2.0  # seconds a cancel waits for its session's event to be queued
POLL = 0.02  # how often it looks meanwhile
MOST_WAITING = 32  # cancels waiting at once; past that, one that finds no event passes as it came


class EarlyStops:
    """The middleware (``Middleware(EarlyStops, blocks=...)``): ``blocks`` is the app whose queue it looks in.
    Put it inside a cap on request bodies: it reads a cancel's body whole."""

    def __init__(self, app: Any, blocks: Any, wait: float | None = None) -> None:
        self.app = app
        self.blocks = blocks
        self.wait = WAIT if wait is None else wait
        self.waiting = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or not scope.get("path", "").endswith("/cancel"):
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive)
        asked = _early_stop(body)
        if asked is not None:
            events = await self._events(*asked)
            if events:
                body = json.dumps({"session_hash": asked[0], "fn_index": asked[1], "event_id": events[0]}).encode()
        await self.app(scope, _replay(body, receive, more), send)

    async def _events(self, session_hash: str, fn_index: int) -> list[str]:
        events = internals.events_of(self.blocks, session_hash, fn_index)
        if events or self.waiting >= MOST_WAITING:
            return events
        self.waiting += 1
        try:
            deadline = time.monotonic() + self.wait
            while not events and time.monotonic() < deadline:
                await asyncio.sleep(POLL)
                events = internals.events_of(self.blocks, session_hash, fn_index)
            return events
        finally:
            self.waiting -= 1


def _early_stop(body: bytes) -> tuple[str, int] | None:
    """(session_hash, fn_index) of a cancel that names no event; None for any other body."""
    try:
        asked = json.loads(body)
    except ValueError:
        return None
    if not isinstance(asked, dict) or asked.get("event_id", "") is not None:
        return None
    session_hash, fn_index = asked.get("session_hash"), asked.get("fn_index")
    if not isinstance(session_hash, str) or not session_hash or type(fn_index) is not int:
        return None
    return session_hash, fn_index


async def _read_body(receive: Any) -> tuple[bytes, bool]:
    """The request's body, and whether a disconnect (or anything but the body) came while it was read."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts), True
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts), False


def _replay(body: bytes, receive: Any, gone: bool) -> Any:
    sent = False

    async def replayed() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if gone:
            return {"type": "http.disconnect"}
        return await receive()

    return replayed
