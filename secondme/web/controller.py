"""The page's event handlers and validators. No HTTP here: every reply comes through an
``AsyncSecondMeClient``; no layout either (ui.py).

Inputs are addressed by name: each event's inputs are listed once (``SEND``, ``RERUN``, ``API``),
and its validator answers for each name in that order.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

import gradio as gr

from ..async_client import AsyncSecondMeClient
from ..errors import APIConnectionError, RateLimitError, ReplyLimitError, SecondMeError
from ..protocol import Endpoint
from ..reasoning import split_reasoning
from .checks import Checks
from .conversation import (
    Message,
    ReplyStats,
    assistant,
    close_thinking,
    context_notice,
    edit_user_message,
    empty_notice,
    error_notice,
    fit_context,
    is_notice,
    is_pending,
    is_thinking,
    retry_notice,
    stats_notice,
    stopped_notice,
    thinking,
    to_upstream,
    undo_last_turn,
    until_last_user,
    user,
    waiting_notice,
)
from .lines import Lines, Place
from .metrics import Metrics
from .ratelimit import Limiter
from .settings import Settings
from .streaming import TooLong, coalesce
from .texts import COOKIE, DEFAULT, language, say
from .visitors import Visitors
from .words import Problem, said

__all__ = ["ChatController", "Turn", "Waiting", "RetryingIn", "SEND", "RERUN", "API", "API_LOCKED",
           "UPDATE_INTERVAL", "UPDATES_PER_SECOND"]

log = logging.getLogger("secondme.web")

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
# An API caller is sent at most about this many times the answer's length in all (see ask).
API_RESEND = 4
EMPTY_ANSWER = "The Second Me finished without an answer."
# The stats of replies that may yet be stopped, by session and pane, at most this many (a reply
# cancelled by something other than Stop leaves its entry behind).
MAX_REMEMBERED_REPLIES = 4096

TURN = ("instance_id", "system_prompt", "temperature", "max_tokens", "l0", "role_id", "endpoint")
SEND = ("message", "history", *TURN)
RERUN = ("history", *TURN)
API = ("message", "instance_id", "system_prompt", "temperature", "max_tokens")
API_LOCKED = ("message", "system_prompt", "temperature", "max_tokens")  # a locked page answers as its instance

History = Sequence[Mapping[str, Any]]


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


def request_language(request: gr.Request | None) -> str:
    """The visitor's language (texts.language): the page's cookie, else Accept-Language."""
    headers = getattr(request, "headers", None) or {}
    cookie = None
    try:
        jar = SimpleCookie(headers.get("cookie", ""))
        cookie = jar[COOKIE].value if COOKIE in jar else None
    except CookieError:
        pass
    return language(cookie, headers.get("accept-language"))


class _Shown:
    """What the conversation shows of one streaming reply: its Thinking block (timed from when the
    reasoning began to when the answer began), then the answer."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.began: float | None = None
        self.took: float | None = None

    def reply(self, text: str, *, final: bool = False) -> list[Message]:
        split = split_reasoning(text, final=final)
        shown = []
        if split.reasoning is not None:
            now = time.monotonic()
            self.began = self.began or now
            if not split.thinking and self.took is None:
                self.took = now - self.began
            shown.append(thinking(split.reasoning, None if split.thinking else self.took, self.lang))
        if split.answer:
            shown.append(assistant(split.answer))
        return shown


async def _line_moves(place: Place, left: asyncio.Future[None]) -> AsyncGenerator[int, None]:
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


async def _countdown(seconds: float, left: asyncio.Future[Any]) -> AsyncGenerator[int, None]:
    """The whole seconds left, once a second, until ``seconds`` have passed or the visitor leaves."""
    end = time.monotonic() + seconds
    while (remaining := end - time.monotonic()) > 0 and not left.done():
        yield math.ceil(remaining)
        await asyncio.wait({left}, timeout=remaining - (math.ceil(remaining) - 1))


def _loggable(value: str, most: int = 200) -> str:
    """``value`` fit for one log line: control characters (a newline would forge a line) and anything
    not ASCII escaped, and cut short."""
    value = value[:most]
    return value if value.isascii() and value.isprintable() else value.encode("unicode_escape").decode("ascii")


def _answers(names: Sequence[str], problems: Mapping[str, Problem | None], lang: str = "en") -> list[dict[str, Any]]:
    return [gr.validate(not problems.get(name), said(problems.get(name), lang)) for name in names]


class ChatController:
    """The page's event handlers, for one app and its clients."""

    def __init__(self, settings: Settings, clients: Mapping[str, AsyncSecondMeClient],
                 visitors: Visitors | None = None, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.clients = clients
        self.visitors = visitors or Visitors()
        self.lines = Lines(settings.instance_concurrency)
        # The replies the whole app streams at once: a line of its own, joined after the instance's
        # (Gradio's concurrency limit would count the replies waiting in the instances' lines too).
        self.slots = Lines(settings.concurrency)
        self.locked = settings.lock_instance and bool(settings.instance_id)
        self.checks = Checks(settings.limits, self.locked)
        self.streaming = 0  # replies streaming now, in this process
        self.metrics = metrics or Metrics()
        # The visitors' rate limit (launch.py's RateLimit counts with it; a roundtable takes all its replies).
        self.limiter = Limiter(settings.rate_limit) if settings.rate_limit is not None else None
        self._running: OrderedDict[tuple[str, str], ReplyStats] = OrderedDict()
        self.metrics.watch(lambda: self.streaming, self.lines.waiting_counts)

    def update_interval(self, chars: int = 0) -> float:
        load = min(MAX_UPDATE_INTERVAL, max(UPDATE_INTERVAL, self.streaming / UPDATES_PER_SECOND))
        return max(load, chars / RENDERED_CHARS_PER_SECOND)

    # -- validators: problems appear next to their field, and nothing is sent ----------------
    # The events skip Gradio's preprocessing (it costs a thread hop per input), so every value is
    # checked here as the browser or an API caller sent it.

    async def validate_send(self, message: Any, history: Any, instance_id: Any, system_prompt: Any,
                            temperature: Any, max_tokens: Any, l0: Any, role_id: Any,
                            endpoint: Any, request: gr.Request | None = None) -> list[dict[str, Any]]:
        values = dict(zip(SEND, (message, history, instance_id, system_prompt, temperature, max_tokens, l0,
                                 role_id, endpoint), strict=True))
        problems = {**self.checks.settings(values), "message": self.checks.message(message),
                    "history": self.checks.conversation(history)}
        return _answers(SEND, problems, request_language(request))

    async def validate_rerun(self, history: Any, instance_id: Any, system_prompt: Any, temperature: Any,
                             max_tokens: Any, l0: Any, role_id: Any, endpoint: Any,
                             request: gr.Request | None = None) -> list[dict[str, Any]]:
        values = dict(zip(RERUN, (history, instance_id, system_prompt, temperature, max_tokens, l0, role_id,
                                  endpoint), strict=True))
        return _answers(RERUN, {**self.checks.settings(values), "history": self.checks.rerun(history)},
                        request_language(request))

    async def validate_api(self, message: Any, instance_id: Any, system_prompt: Any, temperature: Any,
                           max_tokens: Any) -> list[dict[str, Any]]:
        values = dict(zip(API, (message, instance_id, system_prompt, temperature, max_tokens), strict=True))
        return _answers(API, self._api_problems(values))

    async def validate_api_locked(self, message: Any, system_prompt: Any, temperature: Any,
                                  max_tokens: Any) -> list[dict[str, Any]]:
        values = dict(zip(API_LOCKED, (message, system_prompt, temperature, max_tokens), strict=True))
        return _answers(API_LOCKED, self._api_problems(values))

    def _api_problems(self, values: Mapping[str, Any]) -> dict[str, Problem | None]:
        return {**self.checks.settings(values), "message": self.checks.message(values.get("message"))}

    def _turn(self, instance_id: str, system_prompt: str | None, temperature: float, max_tokens: float,
              l0: bool = False, role_id: str | None = "", endpoint: str = "chat") -> Turn:
        """The checked inputs as a Turn; a locked page answers from its own instance whatever was sent."""
        return Turn(
            instance_id=self.settings.instance_id if self.locked else instance_id.strip(),
            system_prompt=system_prompt or "",
            temperature=float(temperature),
            max_tokens=int(max_tokens),
            l0_retrieval=l0,
            role_id=role_id or "",
            endpoint="chat/completions" if endpoint == "chat/completions" else "chat",
        )

    # -- the one streaming path ------------------------------------------------------------

    async def reply_text(self, messages: list[dict[str, str]], turn: Turn, session: str = "",
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
                        async for ahead in _line_moves(place, left):
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
                            raise self._too_long("chars", text) from None
                        except RateLimitError as exc:
                            wait = exc.retry_after
                            if attempt == 2 or exc.partial or wait is None or wait > RETRY_WITHIN:
                                raise
                            self.metrics.upstream_errors.labels("RateLimitError").inc()
                            async for seconds in _countdown(wait, stop):
                                yield RetryingIn(seconds)
                            if stop.done():
                                break
                    if stop.done() and stop.result() == "seconds":
                        raise self._too_long("seconds", text)
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
            stats.ended = ("finished" if outcome in ("done", "stop") else "stopped" if outcome == "visitor left"
                           else "error" if outcome.startswith("error") else "limit" if outcome.startswith("limit")
                           else outcome)
            self.metrics.replies.labels(outcome).inc()
            if stream is not None:
                self.metrics.duration.observe(now - asked)
            if first is not None:
                self.metrics.ttft.observe(first - asked)
            log.info("reply instance=%s endpoint=%s outcome=%s waited=%.2fs ttft=%s duration=%.2fs chunks=%d",
                     _loggable(turn.instance_id), _loggable(turn.endpoint), _loggable(outcome + where),
                     asked - started, f"{first - asked:.2f}s" if first is not None else "-", now - asked,
                     stream.reply.chunks if stream is not None else 0)

    def _too_long(self, limit: str, text: str) -> ReplyLimitError:
        amount = self.settings.max_reply_chars if limit == "chars" else self.settings.max_reply_seconds
        return ReplyLimitError(say(DEFAULT, f"limit.{limit}", amount=f"{amount:,}"), limit=limit, amount=amount,
                               partial=text)

    async def _stream_turn(self, history: list[Message], turn: Turn, session: str, lang: str = "en",
                           pane: str = "chat") -> AsyncGenerator[list[Message], None]:
        """The conversation (which ends with the user's message) at once, then after each update
        of the reply; a failure ends it with a notice, keeping what already streamed (and the
        user's message, so Retry works). While the reply waits, a notice stands where it will be.
        Reasoning (``<think>``) shows as a Thinking block, never as answer text; under the reply,
        its stats line."""
        yield history
        messages, left_out = fit_context(to_upstream(turn.system_prompt, history), self.settings.max_context_chars)
        text = ""
        shown = _Shown(lang)
        stats = ReplyStats()
        key = (session, pane)
        self._running[key] = stats  # what Stop (mark_stopped) reports
        self._running.move_to_end(key)
        while len(self._running) > MAX_REMEMBERED_REPLIES:
            self._running.popitem(last=False)
        cancelled = False
        try:
            async for update in self.reply_text(messages, turn, session, stats):
                if isinstance(update, str):
                    text = update
                    yield [*history, *shown.reply(text)]
                elif isinstance(update, Waiting):
                    yield [*history, waiting_notice(update.ahead, lang, page=update.page)]
                else:
                    yield [*history, retry_notice(update.seconds, lang)]
        except SecondMeError as exc:
            kept = exc.partial if len(exc.partial) > len(text) else text
            said = shown.reply(kept, final=True) if kept else []
            # A stats line when something arrived; a failure before any text is said by its notice alone.
            yield [*history, *said, *([stats_notice(stats, lang)] if stats.chunks else []),
                   error_notice(exc, lang, turn.instance_id)]
            return
        except (asyncio.CancelledError, GeneratorExit):
            cancelled = True  # Stop: mark_stopped reports these stats
            raise
        finally:
            if not cancelled and self._running.get(key) is stats:
                del self._running[key]
        said = shown.reply(text, final=True)
        if not said:
            yield [*history, empty_notice(lang), stats_notice(stats, lang)]
        else:
            yield [*history, *said, stats_notice(stats, lang), *([context_notice(left_out, lang)] if left_out else [])]

    # -- events ----------------------------------------------------------------------------
    # Each action is one queued event whose only output is the conversation: updating another
    # component on every step would make Gradio rebuild it each time, and a second event per
    # message would double the fixed cost of a message. The browser clears the message box
    # itself (chat_ui.busy_js), once the same checks as the validator's have passed.

    async def respond(self, message: str, history: History, instance_id: str, system_prompt: str,
                      temperature: float, max_tokens: float, l0: bool, role_id: str, endpoint: str,
                      request: gr.Request, pane: str = "chat") -> AsyncGenerator[list[Message], None]:
        turn = self._turn(instance_id, system_prompt, temperature, max_tokens, l0, role_id, endpoint)
        async for update in self._stream_turn([*(dict(m) for m in history), user(message)], turn,
                                              request.session_hash or "", request_language(request), pane):
            yield update

    async def retry(self, history: History, instance_id: str, system_prompt: str, temperature: float,
                    max_tokens: float, l0: bool, role_id: str, endpoint: str,
                    request: gr.Request, pane: str = "chat") -> AsyncGenerator[list[Message], None]:
        turn = self._turn(instance_id, system_prompt, temperature, max_tokens, l0, role_id, endpoint)
        async for update in self._stream_turn(until_last_user(history), turn, request.session_hash or "",
                                              request_language(request), pane):
            yield update

    async def edit(self, history: History, instance_id: str, system_prompt: str, temperature: float,
                   max_tokens: float, l0: bool, role_id: str, endpoint: str, edited: gr.EventData,
                   request: gr.Request, pane: str = "chat") -> AsyncGenerator[list[Message], None]:
        # gr.EventData, not gr.EditData: the latter fails with a bare error on data it does not expect.
        problem, index, text = self.checks.edited(history, edited._data)
        if problem:
            lang = request_language(request)
            raise gr.Error(problem.said(lang), title=say(lang, "check.edit.title"), print_exception=False)
        turn = self._turn(instance_id, system_prompt, temperature, max_tokens, l0, role_id, endpoint)
        async for update in self._stream_turn(edit_user_message(history, index, text), turn,
                                              request.session_hash or "", request_language(request), pane):
            yield update

    def undo(self, history: Any) -> tuple[Any, Any]:
        if self.checks.conversation(history):
            return gr.skip(), gr.skip()
        return undo_last_turn(history)

    def stoppable(self, session: str, pane: str, stats: ReplyStats | None) -> None:
        """The reply Stop reports for ``pane`` (mark_stopped) is now the one ``stats`` describes; None: none."""
        key = (session, pane)
        if stats is None:
            self._running.pop(key, None)
            return
        self._running[key] = stats
        self._running.move_to_end(key)
        while len(self._running) > MAX_REMEMBERED_REPLIES:
            self._running.popitem(last=False)

    def mark_stopped(self, history: Any, request: gr.Request | None = None, pane: str = "chat") -> Any:
        """After Stop: the reply's stats line and a notice that it was stopped. A Thinking block
        left open is closed; a notice of a wait goes."""
        if self.checks.conversation(history) or not history:
            return gr.skip()
        lang = request_language(request)
        stats = self._running.pop(((request and request.session_hash) or "", pane), None)
        if stats is not None:
            stats.ended, stats.ended_at = "stopped", stats.ended_at or time.monotonic()
        history = list(history)
        if is_pending(history[-1]):  # stopped while waiting: the notice of the wait goes
            return [*history[:-1], stopped_notice(history[:-1], lang)]
        if is_notice(history[-1]) and not is_thinking(history[-1]):
            return gr.skip()  # it had already ended
        line = [stats_notice(stats, lang)] if stats is not None and stats.asked_at is not None else []
        if is_thinking(history[-1]):
            history[-1] = close_thinking(history[-1], None, lang)
        return [*history, *line, stopped_notice(history, lang)]

    async def ask(self, message: str, instance_id: str, system_prompt: str, temperature: float,
                  max_tokens: float, request: gr.Request) -> AsyncGenerator[str, None]:
        """The public endpoint (``chat``, and the MCP tool): the reply text to one message, streamed.
        On a failure the caller gets all the text that arrived, then the error. The inputs are checked
        here too: an MCP call does not pass through the queue's validator."""
        values = {"message": message, "system_prompt": system_prompt, "temperature": temperature,
                  "max_tokens": max_tokens, **({} if self.locked else {"instance_id": instance_id})}
        problems = [str(p) for p in self._api_problems(values).values() if p]  # the API speaks English
        if problems:
            raise gr.Error(" ".join(problems), title="Not sent", print_exception=False)
        turn = self._turn(instance_id, system_prompt, temperature, max_tokens)
        # Gradio's /call/ route sends every update whole, so a caller is sent the answer again at each
        # one: an update goes only while all sent so far stays within API_RESEND times the answer's
        # length, and the bytes a caller receives stay within a small multiple of the reply's size.
        text = shown = ""  # the reply so far, and the answer in it that the caller has
        sent = 0
        try:
            async for update in self.reply_text(to_upstream(turn.system_prompt, [user(message)]), turn,
                                                request.session_hash or ""):
                if isinstance(update, str):
                    text = update
                    answer = split_reasoning(update).answer
                    if answer and sent + len(answer) <= API_RESEND * len(answer):
                        sent += len(answer)
                        shown = answer
                        yield answer
        except SecondMeError as exc:
            kept = split_reasoning(exc.partial if len(exc.partial) > len(text) else text, final=True).answer
            if kept != shown:
                yield kept
            raise gr.Error(str(exc), print_exception=False) from None
        final = split_reasoning(text, final=True).answer  # what was held back, if anything
        if not final:
            raise gr.Error(EMPTY_ANSWER, print_exception=False)
        if final != shown:
            yield final
