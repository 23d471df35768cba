"""A per-visitor limit on replies (``SECONDME_RATE_LIMIT``, such as ``20/minute``), checked before
a request is queued, so a refused one takes no slot.

Every way to start a reply counts alike: the page's send, retry and edit events, the API endpoint
(``queue/join``, ``call/``) and MCP tool calls. Which event a request starts is read as its receiver
reads it: the body parsed as JSON (the last of a duplicate key wins, escapes decoded) and checked by
Gradio's own model (``"0"`` is event 0), a JSON-RPC method as the MCP server decodes it. ``run/`` and
``api/``, which would start a reply without its checks and without the queue, are closed to the
events that start one. ``RateLimit`` is ASGI middleware; a refusal is a 429 whose ``detail`` says
when to try again (Gradio's page shows it, and puts the message back).

The visitor is the address that connected, unless that address is a proxy you trust
(``SECONDME_TRUSTED_PROXIES``: addresses or networks, none by default, loopback included); then it
is the first ``X-Forwarded-For`` hop. A forwarded header from anyone else changes nothing.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import math
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pydantic_core

from ..engine.texts import DEFAULT, header_language, say, wait_words
from ..errors import wait_in_words
from . import internals

__all__ = ["Rate", "Limiter", "RateLimit", "LOOPBACK_HEADER", "mark_own_mcp_calls", "trusted_networks",
           "visitor_address"]

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$", re.I)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Rate:
    """``count`` replies per ``period`` seconds."""

    count: int
    period: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``20/minute``, ``5/second``, ``100/hour``, ``500/day``, ``10/5minutes``."""
        match = _RATE.match(text)
        if not match or int(match.group(1)) < 1:
            raise ValueError(f"SECONDME_RATE_LIMIT must look like 20/minute (a count per second, minute, "
                             f"hour or day), not {text!r}")
        count, times, unit = int(match.group(1)), int(match.group(2) or 1), match.group(3).lower()
        return cls(count, times * _UNITS[unit])

    def said(self, lang: str) -> str:
        """The rate as a person says it, in ``lang``: ``20 per minute``, ``10 per 5 minutes``."""
        for unit, size in reversed(_UNITS.items()):
            if self.period % size == 0:
                times = int(self.period // size)
                return say(lang, f"rate.{unit}" if times == 1 else f"rate.{unit}s", count=self.count, times=times)
        return say(lang, "rate.period", count=self.count, times=self.period)

    def __str__(self) -> str:
        return self.said(DEFAULT)


class Limiter:
    """The generic cell rate algorithm: up to ``rate.count`` at once, then one per
    ``period / count``; one number per visitor. ``clock`` is injectable for tests."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self._interval = rate.period / rate.count
        self._tolerance = rate.period - self._interval
        self._due: dict[str, float] = {}  # visitor → when its count is back to empty
        self._next_sweep = 0.0

    def take(self, visitor: str, cost: int = 1) -> float:
        """0 if ``visitor`` may start ``cost`` replies now (and counts them, all or none); otherwise how
        many seconds until it may (``math.inf`` when ``cost`` is more than the rate allows at once)."""
        if cost > self.rate.count:
            return math.inf
        now = self.clock()
        if now >= self._next_sweep:  # forget visitors whose count is back to empty
            self._due = {v: due for v, due in self._due.items() if due > now}
            self._next_sweep = now + self.rate.period
        due = max(self._due.get(visitor, now), now)
        wait = due + (cost - 1) * self._interval - self._tolerance - now
        if wait > 1e-9:
            return wait
        self._due[visitor] = due + cost * self._interval
        return 0.0


def trusted_networks(text: str) -> tuple[Network, ...]:
    """``SECONDME_TRUSTED_PROXIES``: comma-separated addresses or networks (``10.0.0.0/8``)."""
    networks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"SECONDME_TRUSTED_PROXIES: {item!r} is not an address or network") from None
    return tuple(networks)


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def visitor_address(scope: dict[str, Any], trusted: Collection[Network]) -> str:
    """Who sent this request: the peer, or the first ``X-Forwarded-For`` hop if the peer is trusted."""
    client = scope.get("client")
    peer = str(client[0]) if client else ""
    if trusted and _trusted(peer, trusted):
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                first = value.decode("latin-1").split(",")[0].strip()
                if first:
                    return first
    return peer


# The paths that start a reply by their name alone (``call/NAME``, ``call/v2/NAME``); the ones that run an
# event named in their body, or else by their name (``run/NAME``, ``api/NAME``).
_NAMED = re.compile(r"/call(?:/v2)?/([^/]+)/?$")
_DIRECT = re.compile(r"/(?:run|api)/([^/]+)/?$")
# The header that marks the app's own MCP server's call into its queue: its value is a secret of this
# process (``mark_own_mcp_calls``), so no caller can send it.
LOOPBACK_HEADER = "x-secondme-loopback"
_LOOPBACK_HEADER = LOOPBACK_HEADER.encode()
_NOT_FOUND = json.dumps({"detail": "Not Found"}).encode()


def _json(body: bytes) -> Any:
    """``body`` as ``json.loads`` reads it (as FastAPI, and MCP's HTTP transport, read a request), else as
    pydantic reads it (MCP's SSE transport); ``None`` when neither can."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        pass
    try:
        return pydantic_core.from_json(body)
    except ValueError:
        return None


def _fn_index(body: bytes) -> int | None:
    """The event a Gradio body names, read by Gradio's own model (``"0"``, ``0.0`` and ``" 0 "`` are 0)."""
    return internals.fn_index_of(_json(body))


def _calls_a_tool(body: bytes) -> bool:
    """Whether a JSON-RPC body (or batch) calls an MCP tool."""
    parsed = _json(body)
    messages = parsed if isinstance(parsed, list) else [parsed]
    return any(isinstance(m, dict) and m.get("method") == "tools/call" for m in messages)


class RateLimit:
    """ASGI middleware refusing a visitor's reply past the rate, before Gradio queues it.

    ``events`` maps the id of each event that starts a reply to its number of inputs when the first
    one is the message, else None; ``api_names`` names them. A ``queue/join`` that carries
    ``loopback_secret`` in ``LOOPBACK_HEADER`` is the app's own MCP server's, counted as its MCP call.

    A refused ``queue/join`` of an event whose first input is the message is answered as Gradio
    answers a failed validator (422, the reason on the message): the page shows it next to the
    message box, and gradio_client raises it as a ValidationError (it reports any other refusal of a
    join with the status line alone). Everything else refused gets a 429, which the page shows as an
    error notice. Both carry ``Retry-After``. ``run/`` and ``api/`` naming such an event get a 404.
    """

    def __init__(self, app: Any, *, limiter: Limiter, events: Mapping[int, int | None], api_names: Collection[str],
                 trusted: Collection[Network] = (), on_refuse: Callable[[], None] | None = None,
                 loopback_secret: str = "") -> None:
        self.app = app
        self.limiter = limiter
        self.events = dict(events)
        self.api_names = frozenset(api_names)
        self.trusted = tuple(trusted)
        self.on_refuse = on_refuse
        self.loopback_secret = loopback_secret.encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")  # percent-escapes decoded, as the router matches it
        # A path may fit more than one of these (MCP's SSE transport takes any path under mcp/messages/):
        # each that fits is asked whether it starts a reply.
        named, direct = _NAMED.search(path), _DIRECT.search(path)
        joins, mcp = path.endswith("/queue/join"), "/mcp" in path
        if named and named.group(1) in self.api_names:
            await self._admit(scope, receive, send)
            return
        if not (direct or joins or mcp):
            await self.app(scope, receive, send)
            return
        # The body says whether this starts a reply: read it (BodyLimit has capped it), then replay it.
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(message, receive), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replay = _replay({"type": "http.request", "body": body, "more_body": False}, receive)
        fn = _fn_index(body) if direct or joins else None
        # run/ and api/ run the event of the body's fn_index if it has one, else the one of the path's name.
        if direct and (fn in self.events or (fn is None and direct.group(1) in self.api_names)):
            await _answer(send, 404, _NOT_FOUND)
        elif joins and fn is not None and fn in self.events and not self._own_mcp_call(scope):
            await self._admit(scope, replay, send, self.events[fn])
        elif mcp and _calls_a_tool(body):
            await self._admit(scope, replay, send)
        else:
            await self.app(scope, replay, send)

    def _own_mcp_call(self, scope: dict[str, Any]) -> bool:
        if not self.loopback_secret:
            return False
        for name, value in scope.get("headers", ()):
            if name == _LOOPBACK_HEADER:
                return hmac.compare_digest(value, self.loopback_secret)
        return False

    async def _admit(self, scope: dict[str, Any], receive: Any, send: Any, inputs: int | None = None) -> None:
        wait = self.limiter.take(visitor_address(scope, self.trusted))
        if not wait:
            await self.app(scope, receive, send)
            return
        if self.on_refuse is not None:
            self.on_refuse()
        answer: dict[str, Any]
        if inputs:  # an event of the page (or its API): shown next to the first input, in the visitor's language
            lang = _language(scope)
            reason = say(lang, "ratelimit.refused", rate=self.limiter.rate.said(lang), wait=wait_words(lang, wait))
            status, answer = 422, {"detail": [
                {"__type__": "validate", "is_valid": i != 0, "message": reason if i == 0 else ""}
                for i in range(inputs)]}
        else:
            reason = say(DEFAULT, "ratelimit.refused", rate=self.limiter.rate, wait=wait_in_words(wait))
            status, answer = 429, {"detail": reason, "error": reason}
        await _answer(send, status, json.dumps(answer).encode(), (b"retry-after", str(math.ceil(wait)).encode()))


def _language(scope: Mapping[str, Any]) -> str:
    """The visitor's language (texts.language), from the request's Cookie and Accept-Language headers."""
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", ())}
    return header_language(headers.get("cookie"), headers.get("accept-language"))


async def _answer(send: Any, status: int, body: bytes, *headers: tuple[bytes, bytes]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


def mark_own_mcp_calls(blocks: Any, secret: str) -> None:
    """Have the MCP server of ``blocks`` (if it has one) send ``secret`` in LOOPBACK_HEADER with its calls into the
    queue (internals.mark_mcp_calls): a caller cannot replace the mark."""
    internals.mark_mcp_calls(blocks, LOOPBACK_HEADER, secret)


def _replay(first: dict[str, Any], receive: Any) -> Any:
    """A ``receive`` that gives ``first`` (the body already read, or what came instead), then passes on
    to the real one."""
    pending = [first]

    async def replayed() -> dict[str, Any]:
        if pending:
            return pending.pop()
        message: dict[str, Any] = await receive()
        return message

    return replayed
