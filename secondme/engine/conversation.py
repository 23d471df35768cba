"""The conversation as Gradio's Chatbot holds it, and what of it goes upstream. Pure functions.

A history is a list of message dicts (``role``, ``content`` as a string or Gradio's list of
``{"type": "text", "text": …}`` parts, optional ``metadata``). Notices (errors, "stopped")
are assistant messages with a ``metadata.title``: they are shown, never sent upstream.
Nothing here mutates the list it is given.

Text is shown as it was written: Markdown renders, but nothing in a text becomes an element of the page
that fetches, runs or covers it. The page's Markdown (Gradio's ``marked``) makes HTML only from a ``<``,
an image only from ``![`` and a diagram only from ```` ```mermaid ````; ``shown_as_written`` puts an
invisible U+200B right after each of those openers, in code and out of it alike, so no question of what
is code can be answered differently here and in the browser. ``as_written`` is its exact inverse (a
U+200B the text itself had there is doubled, and so comes back), and every way out of the page undoes
it: what goes upstream (``message_text``), copying, editing and export (launch.py's TEXT_JS).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InstanceNotFoundError,
    InstanceUnavailableError,
    InvalidRequestError,
    RateLimitError,
    ReplyLimitError,
    SecondMeError,
    StreamError,
    wait_amount,
)
from ..protocol import FINISH_REASONS, ReplyAssembler
from .texts import DEFAULT, has, say, wait_words

__all__ = [
    "Message",
    "shown_as_written",
    "as_written",
    "markdown_literal",
    "GUARD",
    "message_text",
    "is_notice",
    "to_upstream",
    "user",
    "assistant",
    "notice",
    "is_pending",
    "waiting_notice",
    "is_thinking",
    "thinking",
    "close_thinking",
    "THINKING",
    "STATS",
    "ReplyStats",
    "STATS_MARK",
    "stats_notice",
    "empty_notice",
    "error_kind",
    "retry_notice",
    "error_notice",
    "fit_context",
    "context_notice",
    "ERROR_MARK",
    "stopped_notice",
    "until_last_user",
    "undo_last_turn",
    "edit_user_message",
]

Message = dict[str, Any]
History = Sequence[Mapping[str, Any]]

# Most specific first: the first class an error is an instance of names its notice (texts.py).
_ERROR_KINDS: tuple[type[SecondMeError], ...] = (
    InstanceUnavailableError, InstanceNotFoundError, InvalidRequestError, RateLimitError, APITimeoutError,
    APIConnectionError, StreamError, APIStatusError, ReplyLimitError, SecondMeError,
)


GUARD = "\u200b"
# The openers the guard follows (one pattern for Python and the page's script, launch.TEXT_JS): every '<'
# (a tag, a comment, an autolink), '!' before '[' (an image) and '`' before 'mermaid' (a diagram); the
# last two also before a U+200B, so that one the text had there is kept apart from the guard.
SHOWN_PATTERN = r"<|!(?=[\[\u200b])|`(?=mermaid|\u200b)"
WRITTEN_PATTERN = r"<\u200b|!\u200b(?=[\[\u200b])|`\u200b(?=mermaid|\u200b)"


def shown_as_written(text: str) -> str:
    """``text`` for display: the invisible guard after each opener of an element (see the module's doc).
    What ``SHOWN_PATTERN`` says, done with plain replaces: this runs on every streamed update."""
    text = text.replace("<", "<" + GUARD)
    if "!" in text:
        text = text.replace("!" + GUARD, "!" + GUARD * 2).replace("![", "!" + GUARD + "[")
    if "`" in text:
        text = text.replace("`" + GUARD, "`" + GUARD * 2).replace("`mermaid", "`" + GUARD + "mermaid")
    return text


def as_written(text: str) -> str:
    """The exact inverse of ``shown_as_written`` (``WRITTEN_PATTERN``)."""
    if GUARD not in text:
        return text
    text = text.replace("<" + GUARD, "<")
    if "!" in text:
        text = text.replace("!" + GUARD + "[", "![").replace("!" + GUARD * 2, "!" + GUARD)
    if "`" in text:
        text = text.replace("`" + GUARD + "mermaid", "`mermaid").replace("`" + GUARD * 2, "`" + GUARD)
    return text


def markdown_literal(text: str) -> str:
    """Text from outside (a directory entry's name) for a Markdown block that is never copied or edited:
    each ASCII punctuation mark as a character reference, so no Markdown or HTML is made of it."""
    return _PUNCTUATION.sub(lambda m: f"&#{ord(m.group())};", text)


_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a message as it was written (without the display guard)."""
    content = message.get("content")
    if isinstance(content, str):
        return as_written(content)
    if isinstance(content, Sequence):
        return as_written("".join(
            str(part.get("text", "")) for part in content
            if isinstance(part, Mapping) and part.get("type", "text") == "text"
        ))
    return ""


def is_notice(message: Mapping[str, Any]) -> bool:
    metadata = message.get("metadata")
    return isinstance(metadata, Mapping) and bool(metadata.get("title"))


def is_pending(message: Mapping[str, Any]) -> bool:
    """A notice that stands for a reply still to come (waiting in line, or to be asked again)."""
    metadata = message.get("metadata")
    return (is_notice(message) and isinstance(metadata, Mapping) and metadata.get("status") == "pending"
            and metadata.get("id") != THINKING)


def is_thinking(message: Mapping[str, Any]) -> bool:
    """The Thinking block of a reply (shown, never sent upstream)."""
    metadata = message.get("metadata")
    return isinstance(metadata, Mapping) and metadata.get("id") == THINKING


def to_upstream(system_prompt: str, history: History) -> list[dict[str, str]]:
    """The ``messages`` to send: the system prompt first when set, then the conversation,
    as plain strings in order, without notices or empty messages."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt.strip() else []
    for message in history:
        text = message_text(message)
        if message.get("role") in ("user", "assistant") and text and not is_notice(message):
            messages.append({"role": str(message["role"]), "content": text})
    return messages


def _message(role: str, text: str, metadata: dict[str, Any] | None = None) -> Message:
    """A message in the exact form the Chatbot sends to the browser, so the app can skip Gradio's
    per-update postprocessing of the whole conversation."""
    if metadata and metadata.get("title"):  # a title is Markdown too (a finish_reason, an imported title)
        metadata["title"] = shown_as_written(metadata["title"])
    return {"role": role, "metadata": metadata, "content": [{"type": "text", "text": shown_as_written(text)}],
            "options": None}


def user(text: str) -> Message:
    return _message("user", text)


def assistant(text: str) -> Message:
    return _message("assistant", text)


def notice(title: str, text: str, *, quiet: bool = False, pending: bool = False, kind: str | None = None) -> Message:
    """A message shown in the conversation and never sent upstream; a quiet one starts collapsed,
    a pending one (a reply still to come) is open, with a spinner. ``kind`` marks what it is."""
    status = {"status": "pending"} if pending else {"status": "done"} if quiet else {}
    return _message("assistant", text, {"title": title, **status, **({"id": kind} if kind else {})})


THINKING, STATS = "thinking", "stats"  # the ``metadata.id`` of a reply's Thinking block and of its stats line


def thinking(reasoning: str, seconds: float | None, lang: str = DEFAULT) -> Message:
    """The reply's reasoning: open, with a spinner, while it is written (``seconds`` None); then closed,
    titled with how long it took."""
    if seconds is None:
        return notice(say(lang, "thinking.title"), reasoning, pending=True, kind=THINKING)
    message = notice(say(lang, "thinking.done"), reasoning, quiet=True, kind=THINKING)
    message["metadata"]["duration"] = round(seconds, 2)
    return message


def close_thinking(message: Mapping[str, Any], seconds: float | None, lang: str = DEFAULT) -> Message:
    """A Thinking block, closed: titled with how long it took when that is known."""
    if seconds is not None:
        return thinking(message_text(message), seconds, lang)
    return notice(say(lang, "thinking.title"), message_text(message), quiet=True, kind=THINKING)


def waiting_notice(ahead: int, lang: str = DEFAULT, *, page: bool = False) -> Message:
    """Where a reply will appear, while it waits in its instance's line (``page``: in the app's own line,
    when the whole page streams as many replies as it can)."""
    where = say(lang, "waiting.next") if ahead == 0 else say(lang, "waiting.ahead", ahead=ahead)
    kind = "waiting.page" if page else "waiting"
    return notice(say(lang, f"{kind}.title"), say(lang, f"{kind}.text", where=where), pending=True)


def retry_notice(seconds: int, lang: str = DEFAULT) -> Message:
    """Where a reply will appear, while the app waits out the Second Me service's Retry-After."""
    return notice(say(lang, "retry.title"), say(lang, "retry.text", seconds=seconds), pending=True)


def fit_context(messages: list[dict[str, str]], limit: int) -> tuple[list[dict[str, str]], int]:
    """The messages to send when they must fit in ``limit`` characters: the system prompt, then the most
    recent messages that fit, starting with one of the user's; and how many older ones were left out.
    The last message (the one being answered) is always sent."""
    system = messages[:1] if messages and messages[0]["role"] == "system" else []
    turns = messages[len(system):]
    room = limit - sum(len(m["content"]) for m in system)
    kept: list[dict[str, str]] = []
    for message in reversed(turns):
        if kept and len(message["content"]) > room:
            break
        kept.insert(0, message)
        room -= len(message["content"])
    while len(kept) > 1 and kept[0]["role"] != "user":
        kept.pop(0)  # a reply without the message it answered would mislead
    return [*system, *kept], len(turns) - len(kept)


def context_notice(left_out: int, lang: str = DEFAULT) -> Message:
    """The quiet note under a reply whose request left older messages out."""
    title = say(lang, "context.title.one") if left_out == 1 else say(lang, "context.title.many", n=left_out)
    return notice(title, say(lang, "context.text"), quiet=True)


ERROR_MARK = "⚠️"  # an error notice's title starts with it; the page styles and announces those (launch.py)
STATS_MARK = "⏱"  # a stats line's title starts with it; the page makes those small and quiet (launch.py)


def error_kind(error: SecondMeError) -> str:
    return next(kind for kind in _ERROR_KINDS if isinstance(error, kind)).__name__


def error_notice(error: SecondMeError, lang: str = DEFAULT, instance_id: str = "") -> Message:
    kind = error_kind(error)
    text = str(error)
    if isinstance(error, ReplyLimitError):
        text = say(lang, f"limit.{error.limit}", amount=f"{error.amount:,}")
    elif lang != DEFAULT and has(lang, f"error.text.{kind}"):
        retry_after = getattr(error, "retry_after", None)
        wait = (None if retry_after is None or wait_amount(retry_after)[1] == "later"
                else wait_words(lang, retry_after))
        when = say(lang, "when.later", wait=wait) if wait else say(lang, "when.moment")
        text = say(lang, f"error.text.{kind}", instance=f"“{instance_id}”" if instance_id else "",
                   status=getattr(error, "status_code", None) or "", message=str(error), when=when)
    return notice(f"{ERROR_MARK} {say(lang, f'error.{kind}')}", text)


def empty_notice(lang: str = DEFAULT) -> Message:
    return notice(f"{ERROR_MARK} {say(lang, 'empty.title')}", say(lang, "empty.text"))


def stopped_notice(history: History, lang: str = DEFAULT) -> Message:
    last = history[-1] if history else {}
    replied = last.get("role") == "assistant" and (not is_notice(last) or is_thinking(last))
    return notice(say(lang, "stopped.title"), say(lang, "stopped.replied" if replied else "stopped.before"))


def _seconds(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s" if seconds < 100 else f"{seconds:.0f} s"


# How a reply can end, as its stats line says it (texts.py); another finish_reason is shown by its name
# (protocol.FINISH_REASONS: "other" for any the upstream made up).
ENDINGS = ("finished", "length", "stopped", "error", "limit")


@dataclass
class ReplyStats:
    """What one reply cost and why it ended, as the page shows it under the reply. Times are
    ``time.monotonic()``; ``ended`` is finished, length, stopped, error, or another finish_reason.
    ``reply`` is the stream's ReplyAssembler, read while it streams (Stop reports it as it stands)."""

    asked_at: float | None = None  # when the request was made (after any wait in line)
    ended_at: float | None = None
    ended: str = ""
    max_tokens: int = 0
    reply: ReplyAssembler | None = None

    kept: tuple[int, float | None] = (0, None)  # the figures, once the reply's text is let go (freeze)

    @property
    def first_text_at(self) -> float | None:
        return self.reply.first_text_at if self.reply is not None else self.kept[1]

    @property
    def chunks(self) -> int:
        return self.reply.chunks if self.reply is not None else self.kept[0]

    def freeze(self) -> None:
        """Keep the figures and let go of the stream (and the reply's text it holds)."""
        if self.reply is not None:
            self.kept, self.reply = (self.reply.chunks, self.reply.first_text_at), None

    def line(self, lang: str = DEFAULT) -> str:
        parts = []
        if self.asked_at is not None and self.first_text_at is not None:
            parts.append(say(lang, "stats.ttft", seconds=_seconds(self.first_text_at - self.asked_at)))
        if self.asked_at is not None and self.ended_at is not None:
            parts.append(say(lang, "stats.total", seconds=_seconds(self.ended_at - self.asked_at)))
        parts.append(say(lang, "stats.chunks", n=self.chunks))
        if self.first_text_at is not None and self.ended_at is not None and self.ended_at > self.first_text_at \
                and self.chunks > 1:
            parts.append(say(lang, "stats.rate", rate=f"{self.chunks / (self.ended_at - self.first_text_at):.0f}"))
        ended = (say(lang, f"stats.{self.ended}") if self.ended in ENDINGS
                 else self.ended if self.ended in FINISH_REASONS  # a fixed set: never an upstream's own words
                 else "other" if self.ended else say(lang, "stats.finished"))
        parts.append(f"✂️ {ended}" if self.ended == "length" else ended)
        return " · ".join(parts)


def stats_notice(stats: ReplyStats, lang: str = DEFAULT) -> Message:
    """The small, quiet line under a reply; open, it says why the reply ended (and what to do about a cut)."""
    ended = stats.ended if stats.ended in ENDINGS else "other"
    reason = stats.ended if stats.ended in FINISH_REASONS else "other"
    text = say(lang, f"stats.text.{ended}", max_tokens=stats.max_tokens, reason=reason)
    return notice(f"{STATS_MARK} {stats.line(lang)}", text, quiet=True, kind=STATS)


def _last_user(history: History) -> int | None:
    return next((i for i in range(len(history) - 1, -1, -1) if history[i].get("role") == "user"), None)


def until_last_user(history: History) -> list[Message]:
    """The history up to and including the last user message (what Retry answers again)."""
    i = _last_user(history)
    return [] if i is None else [dict(m) for m in history[: i + 1]]


def undo_last_turn(history: History) -> tuple[list[Message], str]:
    """The history before the last user message, and that message's text to edit again."""
    i = _last_user(history)
    if i is None:
        return [dict(m) for m in history], ""
    return [dict(m) for m in history[:i]], message_text(history[i])


def edit_user_message(history: History, index: int, text: str) -> list[Message]:
    """The history up to an edited user message, which now says ``text``."""
    return [*(dict(m) for m in history[:index]), user(text)]
