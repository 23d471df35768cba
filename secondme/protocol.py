"""Pure functions of the Chat Completion API: checking and building requests, decoding replies.

No I/O here. The sync and async clients share every function in this module, and only
their transports differ; the local instance builds its chunks with the same shapes.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from .errors import InvalidRequestError, SecondMeError, StreamError, error_for_status, redact_secrets

__all__ = [
    "DEFAULT_BASE_URL",
    "ENDPOINTS",
    "Endpoint",
    "ChatRequest",
    "Instance",
    "build_chat_request",
    "validate_instance_id",
    "check_temperature",
    "check_max_tokens",
    "decode_chunk",
    "Chunk",
    "ReplyAssembler",
    "decode_completion",
    "FINISH_REASONS",
    "EventSizeGuard",
    "MAX_EVENT_BYTES",
    "MAX_JSON_BYTES",
    "parse_instance_list",
    "instances_from_answer",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://app.secondme.io"
Endpoint = Literal["chat", "chat/completions"]
ENDPOINTS: tuple[Endpoint, ...] = ("chat", "chat/completions")
ROLES = ("system", "user", "assistant")
INSTANCE_ID_PATTERN = r"[A-Za-z0-9_-]{1,128}"  # also checked in the browser (web/ui.py)
_INSTANCE_ID = re.compile(INSTANCE_ID_PATTERN)
# The finish reasons a reply can report; any other value an upstream sends reads as "other", so that
# what it chose never becomes a metric's label, a log line or the page's words.
FINISH_REASONS = ("stop", "length", "content_filter", "tool_calls", "function_call", "other")
# The most a client holds of one SSE event (a Second Me's are well under 1 KiB), and of a whole
# JSON answer: a hostile or broken upstream can send endless bytes without a line end.
MAX_EVENT_BYTES = 2 << 20
MAX_JSON_BYTES = 8 << 20


@dataclass(frozen=True)
class ChatRequest:
    """A checked request: the path under the base URL and the JSON body to send."""

    instance_id: str
    path: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Instance:
    """One entry of the public directory of Second Me instances."""

    instance_id: str
    name: str
    description: str = ""
    status: str = "unknown"

    @property
    def online(self) -> bool:
        return self.status == "online"


def validate_instance_id(instance_id: object) -> str:
    """Return the ID when it is safe to put in a URL path, else raise InvalidRequestError."""
    if not isinstance(instance_id, str) or not instance_id.strip():
        raise InvalidRequestError("Enter the instance ID of the Second Me to talk to.")
    candidate = instance_id.strip()
    if not _INSTANCE_ID.fullmatch(candidate):
        raise InvalidRequestError(
            "The instance ID can only contain letters, digits, '-' and '_' "
            "(at most 128 characters)."
        )
    return candidate


def check_temperature(temperature: object) -> float:
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or not math.isfinite(temperature)
        or not 0 <= temperature <= 1
    ):
        raise InvalidRequestError("Temperature must be a number from 0 to 1.")
    return float(temperature)


def check_max_tokens(max_tokens: object, *, limit: int | None = None) -> int:
    if isinstance(max_tokens, float) and max_tokens.is_integer():
        max_tokens = int(max_tokens)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise InvalidRequestError("Max tokens must be a whole number of at least 1.")
    if limit is not None and max_tokens > limit:
        raise InvalidRequestError(f"Max tokens can be at most {limit}.")
    return max_tokens


def _broken(text: str) -> bool:
    """Whether ``text`` has a lone UTF-16 surrogate, which no UTF-8 request can carry."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_messages(messages: object) -> list[dict[str, str]]:
    if not isinstance(messages, Sequence) or isinstance(messages, (str, bytes)) or not messages:
        raise InvalidRequestError("There is no message to send.")
    checked = []
    for n, message in enumerate(messages, start=1):
        if not isinstance(message, Mapping):
            raise InvalidRequestError(f"Message {n} must be a dict with 'role' and 'content'.")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise InvalidRequestError(
                f"Message {n} has the role {role!r}; use 'system', 'user' or 'assistant'."
            )
        if not isinstance(content, str):
            raise InvalidRequestError(f"Message {n} must have text content.")
        if _broken(content):
            raise InvalidRequestError(
                f"Message {n} contains a broken character (half of an emoji or symbol); remove it and try again."
            )
        checked.append({"role": str(role), "content": content})
    return checked


def _check_metadata(metadata: object) -> dict[str, Any]:
    if not isinstance(metadata, Mapping):
        raise InvalidRequestError("metadata must be a dict.")
    l0 = metadata.get("enable_l0_retrieval")
    if l0 is not None and not isinstance(l0, bool):
        raise InvalidRequestError("metadata.enable_l0_retrieval must be true or false.")
    role_id = metadata.get("role_id")
    if role_id is not None and (not isinstance(role_id, str) or _broken(role_id)):
        raise InvalidRequestError("metadata.role_id must be text.")
    return dict(metadata)


def build_chat_request(
    instance_id: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    temperature: float = 0.7,
    max_tokens: int = 2000,
    metadata: Mapping[str, Any] | None = None,
    endpoint: Endpoint = "chat",
) -> ChatRequest:
    """Check everything a person can get wrong and build the request; nothing is sent."""
    instance_id = validate_instance_id(instance_id)
    temperature = check_temperature(temperature)
    max_tokens = check_max_tokens(max_tokens)
    if endpoint not in ENDPOINTS:
        raise InvalidRequestError("The endpoint must be 'chat' or 'chat/completions'.")
    payload: dict[str, Any] = {
        "messages": _check_messages(messages),
        "temperature": temperature,
        "max_tokens": max_tokens,
        "stream": True,
    }
    if metadata is not None:
        payload["metadata"] = _check_metadata(metadata)
    path = f"/api/chat/{quote(instance_id, safe='')}"
    if endpoint == "chat/completions":
        path += "/chat/completions"
    return ChatRequest(instance_id=instance_id, path=path, payload=payload)


@dataclass(frozen=True)
class Chunk:
    """What one ``data:`` event means: text to show, a finish reason, the end, or an error."""

    text: str = ""
    finish_reason: str | None = None
    done: bool = False
    error: str | None = None


def _error_message(error: object) -> str:
    if isinstance(error, Mapping):
        message = error.get("message") or error.get("code") or error.get("type")
        return str(message) if message else json.dumps(dict(error))[:300]
    return str(error) if error else "unknown error"


def decode_chunk(data: str) -> Chunk:
    """Decode the data of one SSE event, tolerant of every shape a Second Me is known to send."""
    if data.strip() == "[DONE]":
        return Chunk(done=True)
    try:
        body = json.loads(data)
    except ValueError:
        log.debug("ignored a data event that is not JSON (%d characters)", len(data))
        return Chunk()
    if not isinstance(body, dict):
        return Chunk()
    if body.get("error"):
        return Chunk(error=_error_message(body["error"]))
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return Chunk()
    choice = choices[0]
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        message = choice.get("message")
        delta = message if isinstance(message, dict) else {}
    content = delta.get("content")
    finish = choice.get("finish_reason")
    return Chunk(
        text=content if isinstance(content, str) else "",
        finish_reason=(finish if finish in FINISH_REASONS else "other") if isinstance(finish, str) and finish
        else None,
    )


class EventSizeGuard:
    """Counts what has arrived since an SSE event could last have ended (a blank line), and raises
    StreamError past ``limit``: a line or an event that never ends is never buffered whole. Fed
    the pieces of a stream as they are read, bytes or text; its work is a few searches per piece."""

    def __init__(self, limit: int = MAX_EVENT_BYTES, *, partial: ReplyAssembler | None = None) -> None:
        self.limit = limit
        self.since = 0  # bytes (or characters) since the last blank line
        self.reply = partial
        self._tail: Any = None  # the last two bytes or characters fed, for an end split across pieces
        self._ends: tuple[Any, ...] = ()

    def feed(self, piece: bytes | str) -> None:
        if self._tail is None:
            self._tail = piece[:0]
            self._ends = (b"\n\n", b"\r\r", b"\n\r\n") if isinstance(piece, bytes) else ("\n\n", "\r\r", "\n\r\n")
        if piece.endswith(self._ends):  # the usual piece: whole events
            self.since = 0
            self._tail = piece[-2:]
            return
        joined = self._tail + piece
        after = min((len(joined) - i - len(end) for end in self._ends if (i := joined.rfind(end)) >= 0), default=None)
        self.since = self.since + len(piece) if after is None else after
        self._tail = joined[-2:]
        if self.since > self.limit:
            raise StreamError(
                f"The Second Me sent an event larger than this client reads ("
                f"{f'{self.limit >> 20} MiB' if self.limit >= 1 << 20 else f'{self.limit:,} bytes'}); "
                "the reply was stopped there.",
                partial=self.reply.text if self.reply is not None else "",
            )


@dataclass
class ReplyAssembler:
    """Follows one reply stream: what arrived, whether it finished, and how it failed.

    ``feed`` takes the data of each event and returns the text to pass on; ``close`` is
    called when the stream ends and raises StreamError if it ended before it finished.
    """

    parts: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    done: bool = False
    first_text_at: float | None = None  # time.monotonic() when the first text arrived
    secrets: tuple[str | None, ...] = ()  # never shown in an error's words (the API key)

    @property
    def chunks(self) -> int:
        """How many chunks carried text."""
        return len(self.parts)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def finished(self) -> bool:
        return self.done or self.finish_reason is not None

    def feed(self, data: str) -> str:
        chunk = decode_chunk(data)
        if chunk.error is not None:
            raise StreamError(
                f"The Second Me reported an error: {redact_secrets(chunk.error, self.secrets)}", partial=self.text
            )
        if chunk.done:
            self.done = True
        if chunk.finish_reason:
            self.finish_reason = chunk.finish_reason
        if chunk.text:
            if not self.parts:
                self.first_text_at = time.monotonic()
            self.parts.append(chunk.text)
        return chunk.text

    def close(self) -> None:
        if not self.finished:
            raise StreamError(
                "The reply was cut off: the connection to the Second Me closed before it finished.",
                partial=self.text,
            )


def decode_completion(body: str, secrets: tuple[str | None, ...] = ()) -> str:
    """The reply text of a whole (non-streamed) ChatCompletion JSON answer."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise StreamError("The Second Me sent a reply that could not be read.") from exc
    if isinstance(data, dict) and data.get("error"):
        raise StreamError(f"The Second Me reported an error: {redact_secrets(_error_message(data['error']), secrets)}")
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise StreamError("The Second Me sent a reply with no text in it.")
    message = choices[0].get("message") or choices[0].get("delta") or {}
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""


def parse_instance_list(body: Any) -> list[Instance]:
    """The instances in a ``GET /api/upload/list`` answer, tolerant of missing fields."""
    data = body.get("data") if isinstance(body, dict) else None
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    instances = []
    for item in items:
        if not isinstance(item, dict) or not item.get("instance_id"):
            continue
        instance_id = str(item["instance_id"])
        instances.append(
            Instance(
                instance_id=instance_id,
                name=str(item.get("upload_name") or instance_id),
                description=str(item.get("description") or ""),
                status=str(item.get("status") or "unknown"),
            )
        )
    return instances


def instances_from_answer(status_code: int, headers: Mapping[str, str], body: str) -> list[Instance]:
    """The directory from a whole HTTP answer, or the error it stands for (an answer without
    ``data.items`` is not a directory)."""
    if status_code >= 400:
        raise error_for_status(status_code, headers, body)
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    data = parsed.get("data") if isinstance(parsed, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise SecondMeError("The instance directory sent an answer that could not be read.")
    return parse_instance_list(parsed)
