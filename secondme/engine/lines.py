"""One fair line per Second Me instance, so a popular page cannot swamp its owner's machine.

A Second Me runs on its owner's own model, which can answer only a few people at once. ``Lines``
lets at most ``limit`` replies stream from one instance at a time; the rest wait first come, first
served, and each waiting reply can ask how many are ahead of it. Instances have lines of their own:
a busy one holds up nobody else's. Leaving the line (Stop, a closed tab) is cancelling the wait.

Everything runs on the event loop of the app, so no lock is needed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

__all__ = ["Lines", "Place"]


@dataclass(eq=False)
class Place:
    """One reply's place in its instance's line."""

    line: _Line
    admitted: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    moved: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def ahead(self) -> int:
        """How many replies come before this one: those waiting ahead of it (0 once admitted)."""
        if self.admitted.done():
            return 0
        return self.line.waiting.index(self)


@dataclass(eq=False)
class _Line:
    limit: int
    streaming: int = 0
    waiting: deque[Place] = field(default_factory=deque)

    def join(self) -> Place:
        place = Place(self)
        if self.streaming < self.limit and not self.waiting:
            self.streaming += 1
            place.admitted.set_result(None)
        else:
            self.waiting.append(place)
        return place

    def leave(self, place: Place) -> None:
        if place.admitted.done() and not place.admitted.cancelled():
            self.streaming -= 1
        else:
            self.waiting.remove(place)
            if not place.admitted.done():
                place.admitted.cancel()
        while self.waiting and self.streaming < self.limit:
            self.streaming += 1
            self.waiting.popleft().admitted.set_result(None)
        for behind in self.waiting:
            behind.moved.set()


class Lines:
    """The lines of every instance; ``limit`` None lets every reply through at once."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self._lines: dict[str, _Line] = {}

    def waiting(self, instance_id: str) -> int:
        line = self._lines.get(instance_id)
        return len(line.waiting) if line else 0

    def streaming(self, instance_id: str) -> int:
        line = self._lines.get(instance_id)
        return line.streaming if line else 0

    def waiting_counts(self) -> list[tuple[str, int]]:
        """(instance ID, replies waiting) for each instance with a line now."""
        return [(instance_id, len(line.waiting)) for instance_id, line in self._lines.items() if line.waiting]

    @asynccontextmanager
    async def place(self, instance_id: str) -> AsyncIterator[Place | None]:
        """A place in ``instance_id``'s line for as long as the block runs (None: no limit). The
        block waits on ``place.admitted`` itself, so it can tell the visitor how the line moves."""
        if self.limit is None:
            yield None
            return
        line = self._lines.get(instance_id)
        if line is None:
            line = self._lines[instance_id] = _Line(self.limit)
        place = line.join()
        try:
            yield place
        finally:
            line.leave(place)
            if not line.streaming and not line.waiting:
                del self._lines[instance_id]
