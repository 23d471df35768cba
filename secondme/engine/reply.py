"""One reply, from asking to its end: the line per instance and the app's own, the 429 waited out once,
the pacing of its updates, the limits on its size and time, its metrics and its one log line. It takes
plain values (the messages, a ``Turn``) and yields plain values (the text so far, ``Waiting``,
``RetryingIn``); the page, the roundtable and the public API all call it."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncGenerator, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Protocol

from ..async_client import AsyncSecondMeClient
from ..errors import APIConnectionError, RateLimitError, ReplyLimitError, SecondMeError
from ..protocol import Endpoint
from .conversation import ReplyStats
from .lines import Lines, Place
from .metrics import Metrics
from .streaming import TooLong, coalesce
from .texts import DEFAULT, say

__all__ = ["ReplyEngine", "EngineSettings", "Turn", "Waiting", "RetryingIn", "Update", "Watch", "UPDATE_INTERVAL",
           "UPDATES_PER_SECOND", "MAX_UPDATE_INTERVAL", "RENDERED_CHARS_PER_SECOND", "LINE_UPDATE_INTERVAL",
           "RETRY_WITHIN", "loggable"]

log = logging.getLogger("secondme.web")  # the name the reply log line has always had (launch._log_to_stdout)

# At most one update per reply every 40 ms; with many replies streaming at once, each waits longer
# so that the whole app sends at most about UPDATES_PER_SECOND (each update costs the server a
# diff, a JSON message and a socket write, all under one GIL: about 1 ms of its one core, so at 1,000 a
# second the updates alone took the whole core and a crowd's first tokens waited behind them). The first
# text of a reply always goes out at once (streaming.coalesce).
UPDATE_INTERVAL = 0.04
UPDATES_PER_SECOND = 250
MAX_UPDATE_INTERVAL = 0.5
# A long reply is updated less often, whatever the load: the browser renders the whole reply on each
# update, so a reply of N characters waits at least N / RENDERED_CHARS_PER_SECOND seconds between two
# (every 40 ms up to 4,000 characters, every second at 100,000), and the page stays responsive.
RENDERED_CHARS_PER_SECOND = 100_000
# A reply waiting in its instance's line hears how the line moved at most once a second.
LINE_UPDATE_INTERVAL = 1.0
# An upstream 429 whose Retry-After is at most this many seconds is waited out, once, with a countdown.
RETRY_WITHIN = 10.0


@dataclass(frozen=True)
class EngineSettings:
    """What the engine reads of the app's settings (web.Settings has the same names)."""

    concurrency: int = 256  # replies the whole app streams at once
    instance_concurrency: int | None = None  # replies one instance streams at once; None: no line
    max_reply_chars: int = 200_000
    max_reply_seconds: int = 600
    max_context_chars: int = 32_000

    @classmethod
    def of(cls, settings: Any) -> EngineSettings:
        """The engine's part of ``settings`` (any object with these attributes)."""
        return cls(concurrency=settings.concurrency, instance_concurrency=settings.instance_concurrency,
                   max_reply_chars=settings.max_reply_chars, max_reply_seconds=settings.max_reply_seconds,
                   max_context_chars=settings.max_context_chars)


@dataclass(frozen=True)
class Turn:
    """The settings one reply is asked for with."""

    instance_id: str
    system_prompt: str
    temperature: float
    max_tokens: int
    l0_retrieval: bool = False
    role_id: str = ""
    endpoint: Endpoint = "chat"

    @property
    def metadata(self) -> dict[str, Any] | None:
        metadata: dict[str, Any] = {}
        if self.l0_retrieval:
            metadata["enable_l0_retrieval"] = True
        if self.role_id.strip():
            metadata["role_id"] = self.role_id.strip()
        return metadata or None


@dataclass(frozen=True)
class Waiting:
    """The reply waits in its instance's line, behind ``ahead`` others (``page``: in the app's own line,
    for one of the replies the whole app streams at once)."""

    ahead: int
    page: bool = False


@dataclass(frozen=True)
class RetryingIn:
    """The Second Me service asked us to wait (429): the reply is asked for again in ``seconds``."""

    seconds: int


Update = str | Waiting | RetryingIn


class Watch(Protocol):
    """Who is still there (web.visitors.Visitors): a future that resolves when a session's visitor leaves."""

    def watch(self, session: str) -> asyncio.Future[None]: ...

    def unwatch(self, session: str, left: asyncio.Future[None]) -> None: ...


class _NobodyLeaves:
    def watch(self, session: str) -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()

    def unwatch(self, session: str, left: asyncio.Future[None]) -> None:
        pass


async def line_moves(place: Place, left: asyncio.Future[None]) -> AsyncGenerator[int, None]:
    """How many are ahead of ``place``, each time that changes (at most once per
    LINE_UPDATE_INTERVAL), until it is admitted or its visitor leaves."""
    shown = None
    while not place.admitted.done() and not left.done():
        ahead = place.ahead
        if ahead != shown:
            shown = ahead
            yield ahead
            await asyncio.wait({place.admitted, left}, timeout=LINE_UPDATE_INTERVAL,
                               return_when=asyncio.FIRST_COMPLETED)
            continue
        place.moved.clear()
        moved: asyncio.Future[Any] = asyncio.ensure_future(place.moved.wait())
        try:
            await asyncio.wait({place.admitted, left, moved}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            moved.cancel()


async def countdown(seconds: float, left: asyncio.Future[Any]) -> AsyncGenerator[int, None]:
    """The whole seconds left, once a second, until ``seconds`` have passed or the visitor leaves."""
    end = time.monotonic() + seconds
    while (remaining := end - time.monotonic()) > 0 and not left.done():
        yield math.ceil(remaining)
        await asyncio.wait({left}, timeout=remaining - (math.ceil(remaining) - 1))


def waits_out(exc: RateLimitError, attempt: int) -> bool:
    """Whether a 429 is waited out and asked again: only the first, before any text, and only when it asks
    for at most RETRY_WITHIN seconds."""
    wait = exc.retry_after
    return attempt == 1 and not exc.partial and wait is not None and wait <= RETRY_WITHIN


def loggable(value: str, most: int = 200) -> str:
    """``value`` fit for one log line: control characters (a newline would forge a line) and anything
    not ASCII escaped, and cut short."""
    value = value[:most]
    return value if value.isascii() and value.isprintable() else value.encode("unicode_escape").decode("ascii")


def ending(outcome: str) -> str:
    """How a reply ended, as its stats say it, for the outcome its log line gives."""
    return ("finished" if outcome in ("done", "stop") else "stopped" if outcome == "visitor left"
            else "error" if outcome.startswith("error") else "limit" if outcome.startswith("limit") else outcome)


class ReplyEngine:
    """Every reply of one app: its lines, its clients (one per endpoint), its metrics."""

    def __init__(self, settings: EngineSettings, clients: Mapping[str, AsyncSecondMeClient],
                 visitors: Watch | None = None, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.clients = clients
        self.visitors: Watch = visitors or _NobodyLeaves()
        self.lines = Lines(settings.instance_concurrency)
        # The replies the whole app streams at once: a line of its own, joined after the instance's
        # (Gradio's concurrency limit would count the replies waiting in the instances' lines too).
        self.slots = Lines(settings.concurrency)
        self.streaming = 0  # replies streaming now, in this process
        self.metrics = metrics or Metrics()
        self.metrics.watch(lambda: self.streaming, self.lines.waiting_counts)

    def update_interval(self, chars: int = 0) -> float:
        load = min(MAX_UPDATE_INTERVAL, max(UPDATE_INTERVAL, self.streaming / UPDATES_PER_SECOND))
        return max(load, chars / RENDERED_CHARS_PER_SECOND)

    async def reply(self, messages: list[dict[str, str]], turn: Turn, session: str = "",
                    stats: ReplyStats | None = None) -> AsyncGenerator[Update, None]:
        """The reply so far, paced by ``update_interval``; before it, while the reply waits in its
        instance's line (then, when the whole app is busy, in the app's), ``Waiting``, and while a short
        429 is waited out, ``RetryingIn``. Raises SecondMeError; ReplyLimitError, with what arrived, when
        the reply passes ``max_reply_chars`` or ``max_reply_seconds``. Ends early when the session's
        visitor leaves. Logs one line when it ends: never text, never keys. ``stats``, when given, is
        filled in as the reply goes."""
        stats = stats if stats is not None else ReplyStats()
        stats.max_tokens = turn.max_tokens
        left = self.visitors.watch(session)
        started = asked = time.monotonic()
        outcome, where, stream, timer = "stopped", "", None, None
        # Resolved with why reading stops early: the visitor left, or the reply ran out of time.
        stop: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        text = ""

        def end(why: str) -> None:
            if not stop.done():
                stop.set_result(why)

        def visitor_left(_: object) -> None:
            end("left")

        left.add_done_callback(visitor_left)
        try:
            async with AsyncExitStack() as held:
                # A place in the instance's line first; only once it is this reply's turn there, a place
                # among the replies the whole app streams at once: a reply waiting for a busy instance
                # holds up no one else's.
                waited = False
                for lines, key in ((self.lines, turn.instance_id), (self.slots, "")):
                    place = await held.enter_async_context(lines.place(key))
                    if place is not None and not place.admitted.done():
                        waited = True
                        async for ahead in line_moves(place, left):
                            yield Waiting(ahead, page=lines is self.slots)
                        if left.done():
                            outcome = "visitor left"
                            return
                if waited:
                    asked = time.monotonic()
                    self.metrics.waited.observe(asked - started)
                stats.asked_at = asked
                timer = asyncio.get_running_loop().call_later(self.settings.max_reply_seconds, end, "seconds")
                self.streaming += 1
                try:
                    for attempt in (1, 2):
                        stream = self.clients[turn.endpoint].stream_chat(
                            turn.instance_id, messages, temperature=turn.temperature,
                            max_tokens=turn.max_tokens, metadata=turn.metadata,
                        )
                        stats.reply = stream.reply
                        try:
                            async for text in coalesce(stream, self.update_interval, stop,
                                                       self.settings.max_reply_chars):
                                yield text
                            break
                        except TooLong:
                            raise self.too_long("chars", text) from None
                        except RateLimitError as exc:
                            if exc.retry_after is None or not waits_out(exc, attempt):
                                raise
                            self.metrics.upstream_errors.labels("RateLimitError").inc()
                            async for seconds in countdown(exc.retry_after, stop):
                                yield RetryingIn(seconds)
                            if stop.done():
                                break
                    if stop.done() and stop.result() == "seconds":
                        raise self.too_long("seconds", text)
                    finish = stream.reply.finish_reason if stream is not None else None
                    outcome = "visitor left" if left.done() else (finish or "done")
                finally:
                    self.streaming -= 1
        except ReplyLimitError as exc:
            outcome = f"limit {exc.limit}"
            raise
        except SecondMeError as exc:
            outcome = f"error {type(exc).__name__}"
            self.metrics.upstream_errors.labels(type(exc).__name__).inc()
            if isinstance(exc, APIConnectionError) and exc.url:
                where = f" at {exc.url}"  # already without credentials
            raise
        finally:
            left.remove_done_callback(visitor_left)
            if timer is not None:
                timer.cancel()
            self.visitors.unwatch(session, left)
            now = time.monotonic()
            first = stream.reply.first_text_at if stream is not None else None
            stats.ended_at = now
            stats.freeze()
            stats.ended = ending(outcome)
            self.metrics.replies.labels(outcome).inc()
            if stream is not None:
                self.metrics.duration.observe(now - asked)
            if first is not None:
                self.metrics.ttft.observe(first - asked)
            log.info("reply instance=%s endpoint=%s outcome=%s waited=%.2fs ttft=%s duration=%.2fs chunks=%d",
                     loggable(turn.instance_id), loggable(turn.endpoint), loggable(outcome + where),
                     asked - started, f"{first - asked:.2f}s" if first is not None else "-", now - asked,
                     stream.reply.chunks if stream is not None else 0)

    def too_long(self, limit: str, text: str) -> ReplyLimitError:
        amount = self.settings.max_reply_chars if limit == "chars" else self.settings.max_reply_seconds
        return ReplyLimitError(say(DEFAULT, f"limit.{limit}", amount=f"{amount:,}"), limit=limit, amount=amount,
                               partial=text)
