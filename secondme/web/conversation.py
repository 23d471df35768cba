"""The conversation as Gradio's Chatbot holds it, and what of it goes upstream. Pure functions.

A history is a list of message dicts (``role``, ``content`` as a string or Gradio's list of
``{"type": "text", "text": …}`` parts, optional ``metadata``). Notices (errors, "stopped")
are assistant messages with a ``metadata.title``: they are shown, never sent upstream.
Nothing here mutates the list it is given.

Text is shown as it was written: Markdown renders, but HTML does not. Outside code, each
``<`` that would open a tag is followed by an invisible U+200B, so the browser shows
``<script>`` as text instead of dropping or running it; ``message_text`` takes it out again,
so what goes upstream is exactly what was typed or received.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InstanceNotFoundError,
    InstanceUnavailableError,
    InvalidRequestError,
    RateLimitError,
    SecondMeError,
    StreamError,
)

__all__ = [
    "Message",
    "shown_as_written",
    "as_written",
    "message_text",
    "is_notice",
    "to_upstream",
    "user",
    "assistant",
    "notice",
    "is_pending",
    "waiting_notice",
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

# Most specific first: the first class an error is an instance of names its notice.
_ERROR_TITLES: tuple[tuple[type[SecondMeError], str], ...] = (
    (InstanceUnavailableError, "This Second Me is offline"),
    (InstanceNotFoundError, "Unknown instance"),
    (InvalidRequestError, "Invalid settings"),
    (RateLimitError, "Too many requests"),
    (APITimeoutError, "Timed out"),
    (APIConnectionError, "Connection failed"),
    (StreamError, "The reply broke off"),
    (APIStatusError, "Service error"),
)


_GUARD = "\u200b"
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
_CODE = re.compile(r"(```[\s\S]*?(?:```|$)|`[^`\n]*`)")


def shown_as_written(text: str) -> str:
    """``text`` for display: tag-like ``<`` outside code gets the invisible guard."""
    parts = _CODE.split(text)  # odd items are code, which Markdown already shows as text
    return "".join(part if i % 2 else _TAG_OPEN.sub("<" + _GUARD, part) for i, part in enumerate(parts))


def as_written(text: str) -> str:
    return text.replace("<" + _GUARD, "<")


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
    return is_notice(message) and isinstance(metadata, Mapping) and metadata.get("status") == "pending"


def to_upstream(system_prompt: str, history: History) -> list[dict[str, str]]:
    """The ``messages`` to send: the system prompt first when set, then the conversation,
    as plain strings in order, without notices or empty messages."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt.strip() else []
    for message in history:
        text = message_text(message)
        if message.get("role") in ("user", "assistant") and text and not is_notice(message):
            messages.append({"role": str(message["role"]), "content": text})
    return messages


def _message(role: str, text: str, metadata: dict[str, str] | None = None) -> Message:
    """A message in the exact form the Chatbot sends to the browser, so the app can skip Gradio's
    per-update postprocessing of the whole conversation."""
    return {"role": role, "metadata": metadata, "content": [{"type": "text", "text": shown_as_written(text)}],
            "options": None}


def user(text: str) -> Message:
    return _message("user", text)


def assistant(text: str) -> Message:
    return _message("assistant", text)


def notice(title: str, text: str, *, quiet: bool = False, pending: bool = False) -> Message:
    """A message shown in the conversation and never sent upstream; a quiet one starts collapsed,
    a pending one (a reply still to come) is open, with a spinner."""
    status = {"status": "pending"} if pending else {"status": "done"} if quiet else {}
    return _message("assistant", text, {"title": title, **status})


def waiting_notice(ahead: int) -> Message:
    """Where a reply will appear, while it waits in its instance's line."""
    text = "You are next." if ahead == 0 else f"{ahead} ahead of you."
    return notice("⏳ Waiting for this Second Me", f"{text} It answers only a few people at once; your reply "
                  "starts here as soon as it is free. Stop leaves the line.", pending=True)


def retry_notice(seconds: int) -> Message:
    """Where a reply will appear, while the app waits out the Second Me service's Retry-After."""
    return notice("⏳ The Second Me service is busy",
                  f"It asked us to wait a moment (429). Trying again in {seconds} s…", pending=True)


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


def context_notice(left_out: int) -> Message:
    """The quiet note under a reply whose request left older messages out."""
    return notice(f"ℹ️ {left_out} older message{'s' if left_out != 1 else ''} not sent",
                  "This conversation is longer than this page sends at once, so the Second Me answered from "
                  "the most recent messages only.", quiet=True)


ERROR_MARK = "⚠️"  # an error notice's title starts with it; the page styles and announces those (launch.py)


def error_notice(error: SecondMeError) -> Message:
    title = next((t for kind, t in _ERROR_TITLES if isinstance(error, kind)), "Something went wrong")
    return notice(f"{ERROR_MARK} {title}", str(error))


def stopped_notice(history: History) -> Message:
    replied = bool(history) and history[-1].get("role") == "assistant" and not is_notice(history[-1])
    text = ("You stopped the reply; what arrived is kept above." if replied
            else "You stopped the reply before it began.")
    return notice("⏹ Stopped", text + " Press ↻ to regenerate it.")


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
