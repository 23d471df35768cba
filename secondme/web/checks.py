"""Every input of every event, checked before use; a problem names the field.

Pure functions: each check takes what the browser (or an API caller) sent, exactly as it came,
and returns None or the problem: a ``words.Problem``, a catalog code and its values, which the page says
in the visitor's language (``problem.said(lang)``; ``str(problem)`` is the English). Nothing is coerced:
an L0 flag of ``"yes"`` is not ``True``.
``busy_js`` in ui.py mirrors the checks a person can trip in the browser, so the message box is
only emptied when the server will accept the message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..engine.conversation import message_text
from ..engine.words import Problem, Word
from ..errors import InvalidRequestError
from ..protocol import ENDPOINTS, check_max_tokens, check_temperature, validate_instance_id

__all__ = ["Limits", "Checks", "Problem", "MAX_TOKENS_LIMIT", "MAX_SYSTEM_PROMPT_CHARS", "MAX_ROLE_ID_CHARS",
           "text_problem", "instance_problem", "temperature_problem", "max_tokens_problem", "conversation_problem"]

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


def _broken(text: str) -> bool:
    return bool(_LONE_SURROGATE.search(text))


def text_problem(value: Any, what: str, limit: int, *, required: bool = False) -> Problem | None:
    """A text input's problem; ``what`` names the field (the catalog's ``field.<what>``)."""
    if value is None and not required:
        return None  # an optional box never touched: the browser sends null
    named = Word(f"field.{what}")
    if not isinstance(value, str):
        return Problem("check.must_be_text", {"what": named})
    if required and not value.strip():
        return Problem("check.message.empty") if what == "message" else Problem("check.required", {"what": named})
    if len(value) > limit:
        return Problem("check.too_long", {"what": named, "count": len(value), "limit": limit})
    if _broken(value):
        return Problem("check.broken", {"what": named})
    return None


def instance_problem(value: Any) -> Problem | None:
    """protocol.validate_instance_id decides; the problem says which of its two refusals it made."""
    try:
        validate_instance_id(value)
    except InvalidRequestError:
        missing = not isinstance(value, str) or not value.strip()
        return Problem("check.instance.missing" if missing else "check.instance.invalid")
    return None


def temperature_problem(value: Any) -> Problem | None:
    try:
        check_temperature(value)
    except InvalidRequestError:
        return Problem("check.temperature")
    return None


def max_tokens_problem(value: Any, limit: int = MAX_TOKENS_LIMIT) -> Problem | None:
    try:
        tokens = check_max_tokens(value)  # as protocol.check_max_tokens(value, limit=limit) decides
    except InvalidRequestError:
        return Problem("check.max_tokens.invalid")
    return Problem("check.max_tokens.too_big", {"limit": limit}) if tokens > limit else None


def conversation_problem(history: Any, limit: int) -> Problem | None:
    """The conversation as the browser holds it: a list of messages with known roles and text content."""
    unreadable = Problem("check.conversation.unreadable")
    if not isinstance(history, list):
        return unreadable
    total = 0
    for message in history:
        if not isinstance(message, Mapping) or message.get("role") not in _ROLES:
            return unreadable
        content, metadata = message.get("content"), message.get("metadata")
        if not isinstance(content, (str, list)) or not (metadata is None or isinstance(metadata, Mapping)):
            return unreadable
        text = message_text(message)
        if _broken(text):
            return Problem("check.conversation.broken")
        total += len(text)
    if total > limit:
        return Problem("check.conversation.too_long", {"count": total, "limit": limit})
    return None


@dataclass(frozen=True)
class Checks:
    """The checks of one page: its limits, and whether its instance is locked."""

    limits: Limits
    locked: bool

    def settings(self, values: Mapping[str, Any]) -> dict[str, Problem | None]:
        """Problems with the settings a reply is asked with, by input name; the names absent from
        ``values`` (the API's ``chat`` has no L0, role or endpoint) are not checked."""
        problems = {
            "instance_id": None if self.locked else instance_problem(values.get("instance_id")),
            "system_prompt": text_problem(values.get("system_prompt"), "system_prompt", MAX_SYSTEM_PROMPT_CHARS),
            "temperature": temperature_problem(values.get("temperature")),
            "max_tokens": max_tokens_problem(values.get("max_tokens")),
        }
        if "l0" in values:
            problems["l0"] = None if isinstance(values["l0"], bool) else Problem("check.l0")
        if "role_id" in values:
            problems["role_id"] = text_problem(values["role_id"], "role_id", MAX_ROLE_ID_CHARS)
        if "endpoint" in values:
            problems["endpoint"] = None if values["endpoint"] in ENDPOINTS else Problem("check.endpoint")
        return problems

    def message(self, value: Any) -> Problem | None:
        return text_problem(value, "message", self.limits.message_chars, required=True)

    def conversation(self, history: Any) -> Problem | None:
        return conversation_problem(history, self.limits.conversation_chars)

    def rerun(self, history: Any) -> Problem | None:
        """Retry and edit answer the conversation's last user message again: there must be one."""
        problem = self.conversation(history)
        if not problem and not any(m.get("role") == "user" for m in history):
            return Problem("check.rerun.nothing")
        return problem

    def edited(self, history: Any, data: Any) -> tuple[Problem | None, int, str]:
        """An edit event's data: (problem, index of the edited user message, its new text).
        ``history`` has passed ``rerun`` already."""
        if not isinstance(data, Mapping) or "index" not in data or "value" not in data:
            return Problem("check.edit.unreadable"), -1, ""
        index, value = data["index"], data["value"]
        if isinstance(index, list) and len(index) == 2:
            index = index[0]
        if isinstance(index, bool) or not isinstance(index, int) or not isinstance(history, list) \
                or not 0 <= index < len(history) or history[index].get("role") != "user":
            return Problem("check.edit.not_yours"), -1, ""
        problem = self.message(value)
        return problem, index, value if not problem else ""
