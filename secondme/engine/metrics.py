"""``/metrics``: what one app process is doing, in Prometheus's text format (``prometheus_client``).

Replies by outcome, replies streaming now, replies waiting per instance, time to first token and
duration, upstream errors by kind, and requests refused by the rate limit. Never message text,
never keys; the only label with a value from outside is the instance ID of a line that is waiting. An
outcome is one of a fixed set: a finish reason of ``protocol.FINISH_REASONS`` (an upstream's own word is
"other"), done, stopped, visitor left, ``error <kind>`` or ``limit chars``/``limit seconds``.
Each app has a registry of its own, so several apps in one process (tests) do not collide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, make_asgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["Metrics"]

_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)


class _Now(Collector):
    """Gauges read when scraped, from the controller's own counts (nothing to keep in step)."""

    def __init__(self, streaming: Callable[[], int], waiting: Callable[[], Iterable[tuple[str, int]]]) -> None:
        self.streaming, self.waiting = streaming, waiting

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("secondme_replies_streaming", "Replies streaming from a Second Me now.",
                                value=self.streaming())
        waiting = GaugeMetricFamily("secondme_replies_waiting", "Replies waiting in an instance's line now.",
                                    labels=["instance"])
        for instance, count in self.waiting():
            waiting.add_metric([instance], count)
        yield waiting


class Metrics:
    """The app's metrics; ``asgi`` answers ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.replies = Counter("secondme_replies", "Replies asked for, by how they ended.", ["outcome"],
                               registry=self.registry)
        self.upstream_errors = Counter("secondme_upstream_errors", "Replies that failed, by the kind of error.",
                                       ["kind"], registry=self.registry)
        self.refused = Counter("secondme_requests_refused", "Requests refused before they were queued.",
                               ["reason"], registry=self.registry)
        self.ttft = Histogram("secondme_time_to_first_token_seconds",
                              "From asking the Second Me (after any wait in line) to its first text.",
                              buckets=_SECONDS, registry=self.registry)
        self.duration = Histogram("secondme_reply_duration_seconds",
                                  "From asking the Second Me (after any wait in line) to the reply's end.",
                                  buckets=_SECONDS, registry=self.registry)
        self.waited = Histogram("secondme_wait_in_line_seconds", "Time a reply waited in its instance's line.",
                                buckets=_SECONDS, registry=self.registry)

    def watch(self, streaming: Callable[[], int], waiting: Callable[[], Iterable[tuple[str, int]]]) -> None:
        self.registry.register(_Now(streaming, waiting))

    def asgi(self) -> Any:
        return make_asgi_app(self.registry)

    def middleware(self, app: Any) -> Any:
        """ASGI middleware that answers ``GET /metrics`` and passes everything else on."""
        metrics = self.asgi()

        async def serve_metrics(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope.get("path") == "/metrics":
                await metrics(scope, receive, send)
            else:
                await app(scope, receive, send)

        return serve_metrics
