"""A per-visitor limit on replies (``SECONDME_RATE_LIMIT``, such as ``20/minute``), checked before
a request is queued, so a refused one takes no slot.

Every way to start a reply counts alike: the page's send, retry and edit events, the API endpoint
(``queue/join``, ``call/``, ``run/``) and MCP tool calls. ``RateLimit`` is ASGI middleware; a refusal
is a 429 whose ``detail`` says when to try again (Gradio's page shows it, and puts the message back).

The visitor is the address that connected, unless that address is a proxy you trust
(``SECONDME_TRUSTED_PROXIES``: addresses or networks, none by default, loopback included); then it
is the first ``X-Forwarded-For`` hop. A forwarded header from anyone else changes nothing.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import wait_in_words

__all__ = ["Rate", "Limiter", "RateLimit", "trusted_networks", "visitor_address"]

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

    def __str__(self) -> str:
        for unit, size in reversed(_UNITS.items()):
            if self.period % size == 0:
                times = int(self.period // size)
                return f"{self.count} per {unit}" if times == 1 else f"{self.count} per {times} {unit}s"
        return f"{self.count} per {self.period:g} s"


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


# The paths that start a reply by their name alone, and the ones whose body says which event.
_NAMED = re.compile(r"/(?:call/v2|call|run|api)/([^/]+)/?$")
_FN_INDEX = re.compile(rb'"fn_index"\s*:\s*(\d+)')
_TOOL_CALL = re.compile(rb'"method"\s*:\s*"tools/call"')


class RateLimit:
    """ASGI middleware refusing a visitor's reply past the rate, before Gradio queues it.

    ``events`` maps the id of each event that starts a reply to its number of inputs when the first
    one is the message, else None; ``api_names`` names them. A ``queue/join`` made by the app's own
    MCP server (from loopback, marked ``x-gradio-user: mcp``) was counted as its MCP call.

    A refused ``queue/join`` of an event whose first input is the message is answered as Gradio
    answers a failed validator (422, the reason on the message): the page shows it next to the
    message box, and gradio_client raises it as a ValidationError (it reports any other refusal of a
    join with the status line alone). Everything else refused gets a 429, which the page shows as an
    error notice. Both carry ``Retry-After``.
    """

    def __init__(self, app: Any, *, limiter: Limiter, events: Mapping[int, int | None], api_names: Collection[str],
                 trusted: Collection[Network] = (), on_refuse: Callable[[], None] | None = None) -> None:
        self.app = app
        self.limiter = limiter
        self.events = dict(events)
        self.api_names = frozenset(api_names)
        self.trusted = tuple(trusted)
        self.on_refuse = on_refuse

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        named = _NAMED.search(path)
        if named:
            if named.group(1) in self.api_names:
                await self._admit(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        if not (path.endswith("/queue/join") or "/mcp" in path):
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
        if path.endswith("/queue/join"):
            fn = _FN_INDEX.search(body)
            counts = fn is not None and int(fn.group(1)) in self.events and not self._own_mcp_call(scope)
            inputs = self.events.get(int(fn.group(1))) if fn is not None else None
        else:
            inputs, counts = None, bool(_TOOL_CALL.search(body))
        replay = _replay({"type": "http.request", "body": body, "more_body": False}, receive)
        if counts:
            await self._admit(scope, replay, send, inputs)
        else:
            await self.app(scope, replay, send)

    def _own_mcp_call(self, scope: dict[str, Any]) -> bool:
        client = scope.get("client")
        if not client or not _trusted(str(client[0]), _LOOPBACK):
            return False
        return (b"x-gradio-user", b"mcp") in scope.get("headers", ())

    async def _admit(self, scope: dict[str, Any], receive: Any, send: Any, inputs: int | None = None) -> None:
        wait = self.limiter.take(visitor_address(scope, self.trusted))
        if not wait:
            await self.app(scope, receive, send)
            return
        if self.on_refuse is not None:
            self.on_refuse()
        reason = (f"You have sent as many messages as this page allows ({self.limiter.rate}). "
                  f"Try again in {wait_in_words(wait)}.")
        answer: dict[str, Any]
        if inputs:
            status, answer = 422, {"detail": [
                {"__type__": "validate", "is_valid": i != 0, "message": reason if i == 0 else ""}
                for i in range(inputs)]}
        else:
            status, answer = 429, {"detail": reason, "error": reason}
        body = json.dumps(answer).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(math.ceil(wait)).encode())]})
        await send({"type": "http.response.body", "body": body})


_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


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
