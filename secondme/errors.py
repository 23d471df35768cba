"""The one exception tree of the package, and the one place HTTP failures map onto it.

    SecondMeError
    ├── InvalidRequestError          bad input caught before sending, or HTTP 422
    ├── APIStatusError               any other non-2xx answer (status_code, detail)
    │   ├── InstanceNotFoundError    404
    │   ├── RateLimitError           429 (retry_after)
    │   └── InstanceUnavailableError 503
    ├── APIConnectionError           the service could not be reached
    │   └── APITimeoutError          connect timeout, or no byte for the read timeout
    ├── StreamError                  an error chunk inside a 200 stream, a stream cut short, or too large
    └── ReplyLimitError              the web app cut a reply at its length or time limit (limit, amount)

Every message is written to be shown to a person as it is. ``partial`` holds the reply text
that had already arrived when the error happened, so a failure never loses what streamed.
"""

from __future__ import annotations

import email.utils
import html
import json
import math
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "SecondMeError",
    "InvalidRequestError",
    "APIStatusError",
    "InstanceNotFoundError",
    "InstanceUnavailableError",
    "RateLimitError",
    "APIConnectionError",
    "APITimeoutError",
    "StreamError",
    "error_for_status",
    "error_detail",
    "redact_url",
    "wait_in_words",
    "wait_amount",
    "redact_secrets",
    "ERROR_BODY_LIMIT",
    "ReplyLimitError",
]

_MAX_DETAIL = 300
# How much of an error answer's body is read: its words fit in far less, and a hostile one can be endless.
ERROR_BODY_LIMIT = 8 * 1024
# A wait longer than this is said as "later": no one plans that far ahead for a chat.
LONGEST_WAIT = 30 * 86400
_BEARER = re.compile(r"(?i)\b(bearer)(?:\s+|%20|\+)[^\s\"',;<>&]+")


class SecondMeError(Exception):
    """Base of every error this package raises; ``str(err)`` reads well to a person."""

    def __init__(self, message: str, *, partial: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.partial = partial


class InvalidRequestError(SecondMeError):
    """The request is invalid: caught before sending, or refused by the service with 422."""

    def __init__(
        self, message: str, *, status_code: int | None = None, detail: str = ""
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail


class APIStatusError(SecondMeError):
    """The service answered with a non-2xx status."""

    def __init__(self, message: str, *, status_code: int, detail: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail


class InstanceNotFoundError(APIStatusError):
    """404: no Second Me has this instance ID."""


class InstanceUnavailableError(APIStatusError):
    """503: the owner's instance is not connected to the service."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` is in seconds when the service said."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        detail: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, detail=detail)
        self.retry_after = retry_after


class APIConnectionError(SecondMeError):
    """The service could not be reached, or the connection failed.

    The message names no address: a page shows it to anonymous visitors. ``url`` is the
    address that was tried, without any credentials, for the operator's log or terminal.
    """

    def __init__(self, message: str, *, partial: str = "", url: str = "") -> None:
        super().__init__(message, partial=partial)
        self.url = url


class APITimeoutError(APIConnectionError):
    """The service did not connect, or sent no byte, within the timeout."""


class StreamError(SecondMeError):
    """The reply stream carried an error or ended before it finished; see ``partial``."""


class ReplyLimitError(SecondMeError):
    """The reply passed a limit of the app's (``limit`` is "chars" or "seconds"), so it was cut there;
    ``partial`` holds what arrived."""

    def __init__(self, message: str, *, limit: str, amount: float, partial: str = "") -> None:
        super().__init__(message, partial=partial)
        self.limit = limit
        self.amount = amount


def redact_secrets(text: str, secrets: tuple[str | None, ...] = ()) -> str:
    """``text`` without the given secrets (an API key) and without any ``Bearer …``
    token in it: an upstream that echoes the request's headers must not show them to anyone."""
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, "[redacted]")
    return _BEARER.sub(lambda m: f"{m.group(1)} [redacted]", text)


def redact_url(url: str) -> str:
    """``url`` without a user name or password (and without query or fragment), fit for a log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _detail_from_json(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    detail = body.get("detail")
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, list) and detail:
        msgs = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                msg = str(item.get("msg", ""))
                msgs.append(f"{loc}: {msg}" if loc else msg)
            else:
                msgs.append(str(item))
        return "; ".join(m for m in msgs if m)
    message = body.get("message")
    if isinstance(message, str) and message:
        return message
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return ""


def error_detail(body: str, content_type: str = "") -> str:
    """The server's own words about an error, as one short line.

    Reads ``detail`` (a string, or FastAPI's list of ``msg``), ``message``, ``error.message``;
    an HTML page becomes its title or its text; anything else is the raw text on one line.
    """
    text = body.strip()
    if not text:
        return ""
    if "html" in content_type.lower() or text.lstrip().lower().startswith(("<!doctype", "<html")):
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        if title and title.group(1).strip():
            return _one_line(html.unescape(title.group(1)))
        text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.I | re.S)
        return _one_line(html.unescape(re.sub(r"<[^>]+>", " ", text)))
    try:
        found = _detail_from_json(json.loads(text))
    except ValueError:
        found = ""
    return _one_line(found or text)


def wait_amount(seconds: float) -> tuple[int, str]:
    """A wait in the unit a person would say it in: (12, "second"), (3, "minute"), (2, "hour"), (2, "day"),
    or (0, "later") past LONGEST_WAIT (or for no number at all). Seconds are exact (rounded up); the larger
    units are about."""
    if not seconds <= LONGEST_WAIT:  # also NaN
        return 0, "later"
    if seconds < 90:
        return max(1, math.ceil(seconds)), "second"
    for unit, size in (("day", 86400), ("hour", 3600)):
        if seconds >= size * 1.5:
            return round(seconds / size), unit
    return round(seconds / 60), "minute"


def wait_in_words(seconds: float) -> str:
    """A wait as a person says it: ``12 s``, ``about 3 minutes``, ``about 2 hours``, ``about 2 days``,
    ``later``."""
    n, unit = wait_amount(seconds)
    if unit == "later":
        return "later"
    return f"{n} s" if unit == "second" else f"about {n} {unit}s"


def try_again(seconds: float | None) -> str:
    """When to try again, as a sentence: ``Try again in 12 s.``, ``Try again later.``"""
    if seconds is None:
        return "Try again in a moment."
    words = wait_in_words(seconds)
    return "Try again later." if words == "later" else f"Try again in {words}."


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date; None when it says
    neither (garbage, a negative number, NaN). A wait can be ``inf``: wait_amount says it as "later"."""
    if not value:
        return None
    value = value.strip()[:100]
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else None  # NaN compares false
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - (time.time() if now is None else now))
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def error_for_status(
    status_code: int,
    headers: Mapping[str, str],
    body: str,
    *,
    instance_id: str = "",
    secrets: tuple[str | None, ...] = (),
) -> SecondMeError:
    """Map one non-2xx answer to the error a person should see; ``secrets`` (the API key) never
    appear in it, nor does any ``Bearer …`` token."""
    body = redact_secrets(body[:ERROR_BODY_LIMIT], secrets)
    detail = redact_secrets(error_detail(body, headers.get("content-type", "")), secrets)
    said = f": {detail}" if detail else ""
    if status_code == 422:
        return InvalidRequestError(
            f"The Second Me service rejected the request as invalid{said} (422).",
            status_code=422,
            detail=detail,
        )
    if status_code == 404:
        who = f"“{instance_id}”" if instance_id else "this ID"
        return InstanceNotFoundError(
            f"No Second Me was found with the instance ID {who}. Check the ID (404).",
            status_code=404,
            detail=detail,
        )
    if status_code == 503:
        return InstanceUnavailableError(
            "This Second Me is offline right now: its owner's instance is not connected (503).",
            status_code=503,
            detail=detail,
        )
    if status_code == 429:
        retry_after = parse_retry_after(headers.get("retry-after"))
        return RateLimitError(
            f"Too many requests: the Second Me service asked us to slow down. {try_again(retry_after)} (429)",
            detail=detail,
            retry_after=retry_after,
        )
    if status_code in (401, 403):
        return APIStatusError(
            f"The Second Me service refused access{said} ({status_code}).",
            status_code=status_code,
            detail=detail,
        )
    if status_code >= 500:
        return APIStatusError(
            f"The Second Me service had a problem{said} ({status_code}). Try again shortly.",
            status_code=status_code,
            detail=detail,
        )
    return APIStatusError(
        f"The Second Me service answered with an error{said} ({status_code}).",
        status_code=status_code,
        detail=detail,
    )
