"""Knowing at once when a visitor leaves, so a reply nobody will read stops holding its upstream.

Gradio notices a closed ``queue/data`` stream straight away, but a running reply only learns of it
the next time it yields: while the Second Me is silent, its connection and its concurrency slot stay
taken for the whole read timeout. ``Visitors`` is ASGI middleware that sees the disconnect of a
session's ``queue/data`` stream as it happens and resolves the futures that session's replies wait on.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qs

__all__ = ["Visitors"]


class Visitors:
    """The sessions with replies streaming, and a way to learn that one has gone."""

    def __init__(self) -> None:
        self._waiting: defaultdict[str, set[asyncio.Future[None]]] = defaultdict(set)

    def watch(self, session: str) -> asyncio.Future[None]:
        """A future that resolves when ``session``'s visitor leaves; ``unwatch`` it when done."""
        left: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if session:
            self._waiting[session].add(left)
        return left

    def unwatch(self, session: str, left: asyncio.Future[None]) -> None:
        waiting = self._waiting.get(session)
        if waiting is not None:
            waiting.discard(left)
            if not waiting:
                del self._waiting[session]

    def left(self, session: str) -> None:
        for future in self._waiting.pop(session, ()):
            if not future.done():
                future.set_result(None)

    def middleware(self, app: Any) -> Any:
        """The ASGI middleware (``Middleware(visitors.middleware)`` style: a callable taking the app)."""
        visitors = self

        async def watch_streams(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http" or not scope.get("path", "").endswith("/queue/data"):
                await app(scope, receive, send)
                return
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            session = (query.get("session_hash") or [""])[0]
            finished = False

            async def watched_send(message: dict[str, Any]) -> None:
                nonlocal finished
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    finished = True
                await send(message)

            async def watched_receive() -> dict[str, Any]:
                # Starlette's streaming response listens for the disconnect itself; it passes here.
                message: dict[str, Any] = await receive()
                if message["type"] == "http.disconnect" and not finished and session:
                    visitors.left(session)
                return message

            await app(scope, watched_receive, watched_send)

        return watch_streams
