"""A reply as a conversation shows it (``Turns.conversation``: the messages after each update, a failure as
a notice that keeps what streamed), as the public API gives it (``Turns.answers``: the answer's text), and
what Stop reports (``Turns.stopped``). Plain messages in, plain messages out: the page adapts them."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Sequence

from ..errors import SecondMeError
from ..reasoning import split_reasoning
from .conversation import (
    Message,
    ReplyStats,
    assistant,
    close_thinking,
    context_notice,
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
    user,
    waiting_notice,
)
from .reply import ReplyEngine, Turn, Waiting

__all__ = ["Turns", "Shown", "EmptyAnswer", "kept_text", "API_RESEND", "EMPTY_ANSWER", "MAX_REMEMBERED_REPLIES"]

# An API caller is sent at most about this many times the answer's length in all (see answers).
API_RESEND = 4
EMPTY_ANSWER = "The Second Me finished without an answer."
# The stats of replies that may yet be stopped, by session and pane, at most this many (a reply
# cancelled by something other than Stop leaves its entry behind).
MAX_REMEMBERED_REPLIES = 4096


class EmptyAnswer(Exception):
    """The reply ended without an answer (``answers``)."""


def kept_text(exc: SecondMeError, text: str) -> str:
    """All that arrived of a reply a failure ended: ``exc.partial`` holds text that had arrived but was not
    yet shown (held back by the pacing), ``text`` what was shown."""
    return exc.partial if len(exc.partial) > len(text) else text


class Shown:
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


class Turns:
    """The replies of one app as its conversations show them, and the stats Stop reports, by session and pane."""

    def __init__(self, engine: ReplyEngine) -> None:
        self.engine = engine
        self.running: OrderedDict[tuple[str, str], ReplyStats] = OrderedDict()

    def stoppable(self, session: str, pane: str, stats: ReplyStats | None) -> None:
        """The reply Stop reports for ``pane`` (stopped) is now the one ``stats`` describes; None: none."""
        key = (session, pane)
        if stats is None:
            self.running.pop(key, None)
            return
        self.running[key] = stats
        self.running.move_to_end(key)
        while len(self.running) > MAX_REMEMBERED_REPLIES:
            self.running.popitem(last=False)

    async def conversation(self, history: list[Message], turn: Turn, session: str, lang: str = "en",
                           pane: str = "chat") -> AsyncGenerator[list[Message], None]:
        """The conversation (which ends with the user's message) at once, then after each update
        of the reply; a failure ends it with a notice, keeping what already streamed (and the
        user's message, so Retry works). While the reply waits, a notice stands where it will be.
        Reasoning (``<think>``) shows as a Thinking block, never as answer text; under the reply,
        its stats line."""
        yield history
        messages, left_out = fit_context(to_upstream(turn.system_prompt, history),
                                         self.engine.settings.max_context_chars)
        text = ""
        shown = Shown(lang)
        stats = ReplyStats()
        key = (session, pane)
        self.stoppable(session, pane, stats)  # what Stop (stopped) reports
        cancelled = False
        try:
            async for update in self.engine.reply(messages, turn, session, stats):
                if isinstance(update, str):
                    text = update
                    yield [*history, *shown.reply(text)]
                elif isinstance(update, Waiting):
                    yield [*history, waiting_notice(update.ahead, lang, page=update.page)]
                else:
                    yield [*history, retry_notice(update.seconds, lang)]
        except SecondMeError as exc:
            kept = kept_text(exc, text)
            said = shown.reply(kept, final=True) if kept else []
            # A stats line when something arrived; a failure before any text is said by its notice alone.
            yield [*history, *said, *([stats_notice(stats, lang)] if stats.chunks else []),
                   error_notice(exc, lang, turn.instance_id)]
            return
        except (asyncio.CancelledError, GeneratorExit):
            cancelled = True  # Stop: stopped() reports these stats
            raise
        finally:
            if not cancelled and self.running.get(key) is stats:
                del self.running[key]
        said = shown.reply(text, final=True)
        if not said:
            yield [*history, empty_notice(lang), stats_notice(stats, lang)]
        else:
            yield [*history, *said, stats_notice(stats, lang), *([context_notice(left_out, lang)] if left_out else [])]

    def stopped(self, history: Sequence[Message], session: str, pane: str, lang: str) -> list[Message] | None:
        """After Stop: the conversation with the reply's stats line and a notice that it was stopped (None:
        nothing to change). A Thinking block left open is closed; a notice of a wait goes."""
        if not history:
            return None
        stats = self.running.pop((session, pane), None)
        if stats is not None:
            stats.ended, stats.ended_at = "stopped", stats.ended_at or time.monotonic()
        history = list(history)
        if is_pending(history[-1]):  # stopped while waiting: the notice of the wait goes
            return [*history[:-1], stopped_notice(history[:-1], lang)]
        if is_notice(history[-1]) and not is_thinking(history[-1]):
            return None  # it had already ended
        line = [stats_notice(stats, lang)] if stats is not None and stats.asked_at is not None else []
        if is_thinking(history[-1]):
            history[-1] = close_thinking(history[-1], None, lang)
        return [*history, *line, stopped_notice(history, lang)]

    async def answers(self, message: str, turn: Turn, session: str) -> AsyncGenerator[str, None]:
        """The answer to one message, as the public endpoint (and the MCP tool) streams it. On a failure the
        caller gets all the text that arrived, then the SecondMeError; EmptyAnswer when none came."""
        # Gradio's /call/ route sends every update whole, so a caller is sent the answer again at each
        # one: an update goes only while all sent so far stays within API_RESEND times the answer's
        # length, and the bytes a caller receives stay within a small multiple of the reply's size.
        text = shown = ""  # the reply so far, and the answer in it that the caller has
        sent = 0
        try:
            async for update in self.engine.reply(to_upstream(turn.system_prompt, [user(message)]), turn, session):
                if isinstance(update, str):
                    text = update
                    answer = split_reasoning(update).answer
                    if answer and sent + len(answer) <= API_RESEND * len(answer):
                        sent += len(answer)
                        shown = answer
                        yield answer
        except SecondMeError as exc:
            kept = split_reasoning(kept_text(exc, text), final=True).answer
            if kept != shown:
                yield kept
            raise
        final = split_reasoning(text, final=True).answer  # what was held back, if anything
        if not final:
            raise EmptyAnswer(EMPTY_ANSWER)
        if final != shown:
            yield final
