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


def _wake(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


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

    One task reads the source for the whole reply and this generator wakes only when something is
    due (the first delta, a timer, the end): a delta costs a list append, not a task and a wait of
    its own, which is most of what a streamed reply costs beside its updates.
    """
    pace = interval if callable(interval) else (lambda _: interval)
    loop = asyncio.get_running_loop()
    parts: list[str] = []
    room = max_chars if max_chars is not None else -1  # characters still allowed (-1: no limit)
    too_long = ended = False
    error: BaseException | None = None
    chars = 0  # the length of the text so far
    sent = 0  # how many parts the last yield included
    last_yield = float("-inf")
    # What the generator waits on when it has nothing to send: the reader resolves it with a delta, the end or
    # an error; when it has text waiting, only a timer (or the end) does.
    wake: asyncio.Future[None] | None = None
    eager = True  # whether a new delta should wake the generator (it has nothing waiting)

    async def read() -> None:
        nonlocal room, too_long, ended, error, chars
        try:
            async for part in deltas:
                if room >= 0:
                    if len(part) > room:
                        part, too_long = part[:room], True
                    room -= len(part)
                parts.append(part)
                chars += len(part)
                if too_long:
                    break
                if eager:
                    _wake(wake)
        except Exception as exc:  # the generator raises it
            error = exc
        finally:
            ended = True
            _wake(wake)

    reader = asyncio.ensure_future(read())

    def stop_reading(_: object) -> None:
        # Once only: a second cancel would cut short the source's closing of its connection.
        if not reader.done() and not reader.cancelling():
            reader.cancel()
        _wake(wake)

    if until is not None:
        until.add_done_callback(stop_reading)
    try:
        while True:
            if until is not None and until.done():
                break
            wait = last_yield + pace(chars) - time.monotonic()
            if sent < len(parts) and wait <= 0:
                sent, last_yield = len(parts), time.monotonic()
                yield "".join(parts)
                continue
            if error is not None:
                raise error  # what arrived and is not yet due goes with it (StreamError.partial)
            if ended:
                break  # the rest goes out at once
            wake = loop.create_future()
            eager = sent >= len(parts)
            timer = None if eager else loop.call_later(wait, _wake, wake)
            try:
                await wake
            finally:
                wake = None
                if timer is not None:
                    timer.cancel()
        if sent < len(parts):
            yield "".join(parts)
        if too_long:
            raise TooLong(max_chars)
    finally:
        if until is not None:
            until.remove_done_callback(stop_reading)
        if not reader.done():
            stop_reading(None)
            await asyncio.wait({reader})
        aclose = getattr(deltas, "aclose", None)
        if aclose is not None:
            await aclose()
