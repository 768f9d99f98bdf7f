"""The host's side of backfill: what to ask the sensor for, when to ask again, when to stop.

A :class:`~strideguard.assembler.StreamAssembler` with ``hold`` set lists the
holes it waits for (:meth:`~strideguard.assembler.StreamAssembler.pending_holes`).
:class:`BackfillPlanner` turns them into ``OP_RESEND`` requests (at most
``MAX_OUTSTANDING`` at a time: the board queues four), asks again when the
resent frames do not come (they can be lost too), and gives a hole up after
``max_attempts`` requests or a long outage. Its decisions use the wall clock,
so the link records each one as an event (``backfill_request``,
``backfill_answer``, ``backfill_gave_up``); a replay acts on the recorded
events and never on a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from strideguard import protocol as proto

#: OP_RESEND requests in flight at once (the firmware's backfill.MAX_REQUESTS)
MAX_OUTSTANDING = 4
#: the largest range one request can carry (u16 count)
MAX_REQUEST_SAMPLES = 0xFFFF


@dataclass
class _Ask:
    first: int
    end: int
    attempts: int = 0
    sent_s: float | None = None  # None: to be sent (again)
    answered: bool = False
    busy_until_s: float = 0.0


@dataclass
class BackfillPlan:
    """What to do now: ``request`` and ``give_up`` as ``(first_running_index, n)``."""

    request: list[tuple[int, int]] = field(default_factory=list)
    give_up: list[tuple[int, int]] = field(default_factory=list)


class BackfillPlanner:
    """Requests for one sensor's holes (see the module docstring).

    Parameters
    ----------
    retry_after_s
        Wait this long (plus the time the board needs to resend the range at the
        live rate) for the resent frames before asking again.
    max_attempts
        Requests per hole before it is given up.
    outage_give_up_s
        A hole still pending while the link has been down this long is given up
        (the board's ring holds seconds, not minutes), so what waits behind it
        reaches the analysis; holes found after the link is back are asked for.
    busy_retry_s
        Wait after a ``RESULT_BUSY`` answer.
    """

    def __init__(
        self,
        *,
        retry_after_s: float = 0.6,
        max_attempts: int = 3,
        outage_give_up_s: float = 10.0,
        busy_retry_s: float = 0.1,
    ) -> None:
        self.retry_after_s = retry_after_s
        self.max_attempts = max_attempts
        self.outage_give_up_s = outage_give_up_s
        self.busy_retry_s = busy_retry_s
        self._asks: list[_Ask] = []
        self._down_since_s: float | None = None
        self.requests_sent = 0

    # ------------------------------------------------------------------ link state
    def link_down(self, now_s: float) -> None:
        """The link dropped: requests in flight are void (the board forgets them)."""
        if self._down_since_s is None:
            self._down_since_s = now_s
        for a in self._asks:
            a.sent_s = None
            a.answered = False

    def link_up(self) -> None:
        """The link is back (frames arrive): void requests go out again."""
        self._down_since_s = None

    # ------------------------------------------------------------------ answers
    def sent(self, first: int, n: int, now_s: float) -> None:
        """A request for ``[first, first + n)`` went out."""
        for a in self._asks:
            if a.first == first and a.end == first + n:
                a.sent_s = now_s
                a.attempts += 1
                a.answered = False
        self.requests_sent += 1

    def answered(self, first: int, n: int, result: int, now_s: float) -> None:
        """The board answered the request for ``[first, first + n)``."""
        for a in self._asks:
            if a.first == first and a.end == first + n:
                if result == proto.RESULT_BUSY:
                    a.sent_s = None
                    a.attempts = max(0, a.attempts - 1)
                    a.busy_until_s = now_s + self.busy_retry_s
                else:
                    a.answered = True
                    a.sent_s = now_s  # the resend starts now: time it from here

    def failed(self, first: int, n: int) -> None:
        """The request could not be written (link gone, time-out): send it again later."""
        for a in self._asks:
            if a.first == first and a.end == first + n:
                a.sent_s = None

    # ------------------------------------------------------------------ planning
    def plan(
        self, holes: list[tuple[int, int]], now_s: float, rate_hz: float, connected: bool
    ) -> BackfillPlan:
        """Requests to send and holes to give up, given the holes still pending."""
        out = BackfillPlan()
        ranges = [(a, a + n) for a, n in holes if n > 0]
        if (
            not connected
            and self._down_since_s is not None
            and now_s - self._down_since_s >= self.outage_give_up_s
            and ranges
        ):
            out.give_up = [(a, b - a) for a, b in ranges]
            self._asks = []
            return out
        # asks that no longer cover any pending sample are done
        self._asks = [a for a in self._asks if any(x < a.end and a.first < y for x, y in ranges)]
        for x, y in ranges:
            covered = x
            for a in sorted(self._asks, key=lambda a: a.first):
                if a.end <= covered or a.first >= y:
                    continue
                if a.first > covered:
                    self._new_asks(covered, a.first, out)
                covered = max(covered, a.end)
            if covered < y:
                self._new_asks(covered, y, out)
        rate = max(float(rate_hz), 1.0)
        keep: list[_Ask] = []
        for a in self._asks:
            n = a.end - a.first
            if a.sent_s is not None and now_s - a.sent_s > self.retry_after_s + n / rate:
                pending = [(max(x, a.first), min(y, a.end)) for x, y in ranges]
                pending = [(x, y) for x, y in pending if x < y]
                if a.attempts >= self.max_attempts:
                    out.give_up += [(x, y - x) for x, y in pending]
                    continue
                # ask again for what is still missing, one request per remaining hole
                for x, y in pending:
                    keep.append(_Ask(x, y, attempts=a.attempts))
                continue
            keep.append(a)
        self._asks = keep
        if not connected:
            return out
        in_flight = sum(1 for a in self._asks if a.sent_s is not None)
        for a in sorted(self._asks, key=lambda a: a.first):
            if in_flight >= MAX_OUTSTANDING:
                break
            if a.sent_s is None and now_s >= a.busy_until_s:
                out.request.append((a.first, a.end - a.first))
                a.sent_s = now_s  # until sent() confirms; a failure clears it
                in_flight += 1
        return out

    def _new_asks(self, a: int, b: int, out: BackfillPlan) -> None:
        if b - a > MAX_REQUEST_SAMPLES:  # older than any ring: gone
            out.give_up.append((a, b - MAX_REQUEST_SAMPLES - a))
            a = b - MAX_REQUEST_SAMPLES
        self._asks.append(_Ask(a, b))
