"""Every input of every event, checked before use; a problem is a sentence naming the field.

Pure functions: each check takes what the browser (or an API caller) sent, exactly as it came,
and returns ``""`` or the problem. Nothing is coerced: an L0 flag of ``"yes"`` is not ``True``.
``busy_js`` in ui.py mirrors the checks a person can trip in the browser, so the message box is
only emptied when the server will accept the message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..engine.conversation import message_text
from ..errors import InvalidRequestError
from ..protocol import ENDPOINTS, check_max_tokens, check_temperature, validate_instance_id

__all__ = ["Limits", "Checks", "MAX_TOKENS_LIMIT", "MAX_SYSTEM_PROMPT_CHARS", "MAX_ROLE_ID_CHARS"]

MAX_TOKENS_LIMIT = 8192
MAX_SYSTEM_PROMPT_CHARS = 8_000
MAX_ROLE_ID_CHARS = 128
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_ROLES = ("user", "assistant")


@dataclass(frozen=True)
class Limits:
    """How much one request may carry (see Settings)."""

    message_chars: int = 32_000
    conversation_chars: int = 200_000

    @property
    def body_bytes(self) -> int:
        """The largest HTTP body an event can need: a full conversation, message and system prompt,
        at the worst JSON cost of 6 bytes a character, and room for the messages' wrapping."""
        chars = self.conversation_chars + self.message_chars + MAX_SYSTEM_PROMPT_CHARS + MAX_ROLE_ID_CHARS
        return 6 * chars + 1024 * 1024


def _problem(check: Callable[[Any], object], value: Any) -> str:
    try:
        check(value)
    except InvalidRequestError as exc:
        return str(exc)
    return ""


def _broken(text: str) -> bool:
    return bool(_LONE_SURROGATE.search(text))


def _text(value: Any, what: str, limit: int, *, required: bool = False) -> str:
    if value is None and not required:
        return ""  # an optional box never touched: the browser sends null
    if not isinstance(value, str):
        return f"The {what} must be text."
    if required and not value.strip():
        return "Type a message first." if what == "message" else f"Enter the {what}."
    if len(value) > limit:
        return f"The {what} is too long: {len(value):,} characters, at most {limit:,}."
    if _broken(value):
        return f"The {what} contains a broken character (half of an emoji or symbol); remove it and try again."
    return ""


def conversation_problem(history: Any, limit: int) -> str:
    """The conversation as the browser holds it: a list of messages with known roles and text content."""
    if not isinstance(history, list):
        return "The conversation could not be read; reload the page."
    total = 0
    for message in history:
        if not isinstance(message, Mapping) or message.get("role") not in _ROLES:
            return "The conversation could not be read; reload the page."
        content, metadata = message.get("content"), message.get("metadata")
        if not isinstance(content, (str, list)) or not (metadata is None or isinstance(metadata, Mapping)):
            return "The conversation could not be read; reload the page."
        text = message_text(message)
        if _broken(text):
            return "The conversation contains a broken character; clear it and start again."
        total += len(text)
    if total > limit:
        return (f"This conversation is too long to continue ({total:,} characters, at most {limit:,}). "
                "Clear it, or undo earlier turns.")
    return ""


@dataclass(frozen=True)
class Checks:
    """The checks of one page: its limits, and whether its instance is locked."""

    limits: Limits
    locked: bool

    def settings(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Problems with the settings a reply is asked with, by input name; the names absent from
        ``values`` (the API's ``chat`` has no L0, role or endpoint) are not checked."""
        problems = {
            "instance_id": "" if self.locked else _problem(validate_instance_id, values.get("instance_id")),
            "system_prompt": _text(values.get("system_prompt"), "system prompt", MAX_SYSTEM_PROMPT_CHARS),
            "temperature": _problem(check_temperature, values.get("temperature")),
            "max_tokens": _problem(lambda v: check_max_tokens(v, limit=MAX_TOKENS_LIMIT), values.get("max_tokens")),
        }
        if "l0" in values:
            problems["l0"] = "" if isinstance(values["l0"], bool) else "L0 retrieval must be true or false."
        if "role_id" in values:
            problems["role_id"] = _text(values["role_id"], "role ID", MAX_ROLE_ID_CHARS)
        if "endpoint" in values:
            problems["endpoint"] = ("" if values["endpoint"] in ENDPOINTS
                                    else "The endpoint must be 'chat' or 'chat/completions'.")
        return problems

    def message(self, value: Any) -> str:
        return _text(value, "message", self.limits.message_chars, required=True)

    def conversation(self, history: Any) -> str:
        return conversation_problem(history, self.limits.conversation_chars)

    def rerun(self, history: Any) -> str:
        """Retry and edit answer the conversation's last user message again: there must be one."""
        problem = self.conversation(history)
        if not problem and not any(m.get("role") == "user" for m in history):
            return "There is no message of yours to answer again."
        return problem

    def edited(self, history: Any, data: Any) -> tuple[str, int, str]:
        """An edit event's data: (problem, index of the edited user message, its new text).
        ``history`` has passed ``rerun`` already."""
        if not isinstance(data, Mapping) or "index" not in data or "value" not in data:
            return "The edit could not be read; try again.", -1, ""
        index, value = data["index"], data["value"]
        if isinstance(index, list) and len(index) == 2:
            index = index[0]
        if isinstance(index, bool) or not isinstance(index, int) or not isinstance(history, list) \
                or not 0 <= index < len(history) or history[index].get("role") != "user":
            return "Only a message of yours in this conversation can be edited.", -1, ""
        problem = _text(value, "message", self.limits.message_chars, required=True)
        return problem, index, value if not problem else ""
