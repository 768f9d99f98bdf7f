"""Fan one live event out to many sinks, isolating failures and timing delivery.

Example
-------
>>> from strideguard.live.updates import SessionUpdate
>>> class Printer:
...     def handle(self, event):
...         print(event.message)
...     def close(self):
...         pass
>>> hub = SinkHub([Printer()])
>>> hub.handle(SessionUpdate("started", "Run started"))
Run started
>>> hub.delivered_
1
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from strideguard.live.updates import LiveEvent, Sink

log = logging.getLogger(__name__)

#: latencies kept for the statistics (the most recent ones)
LATENCY_WINDOW = 10_000


@dataclass(frozen=True)
class LatencyStats:
    """Delivery latency summary in milliseconds.

    Attributes
    ----------
    count
        Number of events measured.
    p50_ms, p95_ms, max_ms
        Median, 95th percentile and maximum (``nan`` when ``count`` is 0).
    """

    count: int
    p50_ms: float
    p95_ms: float
    max_ms: float


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    k = (len(sorted_values) - 1) * q
    lo = math.floor(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def _stats(values: Iterable[float]) -> LatencyStats:
    ms = sorted(1000.0 * v for v in values)
    if not ms:
        return LatencyStats(0, math.nan, math.nan, math.nan)
    return LatencyStats(len(ms), _percentile(ms, 0.5), _percentile(ms, 0.95), ms[-1])


class SinkHub:
    """A :class:`~strideguard.live.updates.Sink` that passes every event to many sinks.

    One sink raising is logged (once per sink and exception type) and counted in
    :attr:`errors_`; the other sinks still get the event. The hub measures, per
    event, the time until every sink has returned (and, when the producer
    passes ``origin_s``, the time since that moment, e.g. the arrival of the
    sample that completed a stride: the IC-to-sinks latency).

    Parameters
    ----------
    sinks
        Initial sinks, in delivery order (put fast ones first).
    clock
        Monotonic clock in seconds (``time.perf_counter``); ``origin_s`` must use the same clock.

    Attributes
    ----------
    delivered_
        Events handled.
    errors_
        Exceptions per sink name (``type(sink).__name__``, numbered when repeated).
    """

    def __init__(
        self,
        sinks: Iterable[Sink] = (),
        *,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._sinks: list[tuple[str, Sink]] = []
        self._clock = clock
        self.delivered_ = 0
        self.errors_: dict[str, int] = {}
        self._logged: set[tuple[str, str]] = set()
        self._delivery_s: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._origin_s: dict[str, deque[float]] = {}
        self._closed = False
        for sink in sinks:
            self.add(sink)

    @property
    def sinks(self) -> list[Sink]:
        """The sinks, in delivery order."""
        return [s for _, s in self._sinks]

    def add(self, sink: Sink) -> Sink:
        """Add a sink (delivered after the ones already there) and return it."""
        base = type(sink).__name__
        names = {n for n, _ in self._sinks}
        name, k = base, 2
        while name in names:
            name, k = f"{base}#{k}", k + 1
        self._sinks.append((name, sink))
        return sink

    def handle(self, event: LiveEvent, *, origin_s: float | None = None) -> None:
        """Deliver ``event`` to every sink.

        Parameters
        ----------
        event
            The event.
        origin_s
            Optional ``clock()`` time the event's cause was observed (e.g. the
            arrival of the frame holding the initial contact); recorded per event
            type for :meth:`origin_latency`.
        """
        if self._closed:
            return
        start = self._clock()
        for name, sink in self._sinks:
            try:
                sink.handle(event)
            except Exception as exc:
                self.errors_[name] = self.errors_.get(name, 0) + 1
                key = (name, type(exc).__name__)
                if key not in self._logged:
                    self._logged.add(key)
                    log.warning(
                        "sink %s failed (%s: %s); the other sinks go on",
                        name,
                        type(exc).__name__,
                        exc,
                        exc_info=True,
                    )
        end = self._clock()
        self.delivered_ += 1
        self._delivery_s.append(end - start)
        if origin_s is not None:
            kind = type(event).__name__
            self._origin_s.setdefault(kind, deque(maxlen=LATENCY_WINDOW)).append(end - origin_s)

    def delivery_latency(self) -> LatencyStats:
        """Time from :meth:`handle` being called until every sink returned."""
        return _stats(self._delivery_s)

    def origin_latency(self, event_type: str | None = None) -> LatencyStats:
        """Time from ``origin_s`` until every sink returned.

        Parameters
        ----------
        event_type
            Class name such as ``"AlertUpdate"``; ``None`` pools all types.
        """
        if event_type is None:
            return _stats(v for d in self._origin_s.values() for v in d)
        return _stats(self._origin_s.get(event_type, ()))

    def close(self) -> None:
        """Close every sink (failures logged and counted, like in :meth:`handle`)."""
        if self._closed:
            return
        self._closed = True
        for name, sink in self._sinks:
            try:
                sink.close()
            except Exception as exc:
                self.errors_[name] = self.errors_.get(name, 0) + 1
                log.warning("closing sink %s failed: %s: %s", name, type(exc).__name__, exc)
