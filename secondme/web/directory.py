"""The public directory of Second Me instances, read for all visitors together.

One copy is kept for every session of the app, read at most once every ``ttl`` seconds whatever the
number of visitors; visitors who ask while it is being read wait for that one read. A failed read is
kept as long as a good one, so an unreachable directory is not asked again by every visitor.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..engine.words import DEFAULT, say
from ..errors import SecondMeError
from ..protocol import Instance

__all__ = ["Directory", "Listing"]

TTL = 30.0


@dataclass(frozen=True)
class Listing:
    """The directory as last read: its instances, online ones first, or what went wrong."""

    instances: tuple[Instance, ...] = ()
    problem: str = ""  # in English
    reason: str = ""  # the error's own words, which ``problem`` gives in English and the page in any language

    def find(self, instance_id: str) -> Instance | None:
        return next((i for i in self.instances if i.instance_id == instance_id), None)


@dataclass
class Directory:
    fetch: Callable[[], Awaitable[list[Instance]]]
    ttl: float = TTL
    clock: Callable[[], float] = time.monotonic
    _listing: Listing | None = None
    _read_at: float = float("-inf")
    _lock: asyncio.Lock | None = field(default=None, repr=False)

    async def listing(self) -> Listing:
        if self._fresh():
            assert self._listing is not None
            return self._listing
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._fresh():  # nobody read it while this visitor waited
                self._listing = await self._read()
                self._read_at = self.clock()
        assert self._listing is not None
        return self._listing

    def _fresh(self) -> bool:
        return self._listing is not None and self.clock() - self._read_at < self.ttl

    async def _read(self) -> Listing:
        try:
            instances = await self.fetch()
        except SecondMeError as exc:
            return Listing(problem=say(DEFAULT, "directory.problem", problem=exc), reason=str(exc))
        return Listing(tuple(sorted(instances, key=lambda i: (not i.online, i.name.lower()))))
