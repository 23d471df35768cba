"""Coalescing a stream of text deltas into at most one update per interval."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

__all__ = ["coalesce", "TooLong"]


class TooLong(Exception):
    """Raised by ``coalesce`` after its last yield when the text passed ``max_chars``: what was
    yielded last is the text cut there, and the source is closed."""


async def coalesce(
    deltas: AsyncIterator[str], interval: float | Callable[[int], float] = 0.04,
    until: asyncio.Future[Any] | None = None, max_chars: int | None = None,
) -> AsyncGenerator[str, None]:
    """Yield the whole text so far, at most once per ``interval`` seconds (a number, or a function of
    the text's length so far, asked before each wait, so the pace can follow the load and the length).

    When ``until`` resolves (the reader has gone), the pending read is cancelled at once, even
    while this generator waits at a ``yield``, which closes the source's connection, and the
    generator ends.

    The first delta goes out at once; later ones wait at most ``interval`` (a timer flushes
    them even when no new delta comes); the last value yielded is always the complete text.
    The pending read is never cancelled by the timer, only when this generator is closed,
    and then the source is closed too, which closes its connection.

    Past ``max_chars`` characters, the text is cut there, the source is closed, and TooLong is
    raised after the last yield.
    """
    pace = interval if callable(interval) else (lambda _: interval)
    parts: list[str] = []
    room = max_chars if max_chars is not None else -1  # characters still allowed (-1: no limit)
    too_long = False
    chars = 0  # the length of the text so far
    sent = 0  # how many parts the last yield included
    last_yield = float("-inf")
    pending: asyncio.Future[str] | None = None

    def stop_reading(_: object) -> None:
        if pending is not None:
            pending.cancel()

    if until is not None:
        until.add_done_callback(stop_reading)
    try:
        while True:
            if until is not None and until.done():
                break
            if pending is None:
                pending = asyncio.ensure_future(anext(deltas))
            wait = last_yield + pace(chars) - time.monotonic()
            if sent < len(parts) and wait <= 0:
                sent, last_yield = len(parts), time.monotonic()
                yield "".join(parts)
                continue
            done, _ = await asyncio.wait({pending}, timeout=wait if sent < len(parts) else None)
            if not done:
                continue  # the timer fired: the loop flushes what is waiting
            if pending.cancelled():
                break  # the reader has gone (stop_reading)
            try:
                part = pending.result()
            except StopAsyncIteration:
                pending = None
                break
            pending = None
            if room >= 0:
                if len(part) > room:
                    part, too_long = part[:room], True
                room -= len(part)
            parts.append(part)
            chars += len(part)
            if too_long:
                break
        if sent < len(parts):
            yield "".join(parts)
        if too_long:
            raise TooLong(max_chars)
    finally:
        if until is not None:
            until.remove_done_callback(stop_reading)
        if pending is not None and not pending.done():
            pending.cancel()
            await asyncio.wait({pending})
        aclose = getattr(deltas, "aclose", None)
        if aclose is not None:
            await aclose()
