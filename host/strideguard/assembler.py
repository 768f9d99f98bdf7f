"""Incremental decoding of one sensor's frames onto a running sample index.

The live receiver (:class:`strideguard.ble.receiver.SensorLink`) hands every batch
of notifications to a :class:`StreamAssembler` and passes the resulting
:class:`SampleBlock` to its consumers; a replay feeds recorded frames (and the
recorded backfill events) through the same class to get the same samples.

Backfill
--------
A board that keeps its recent frames (``FLAG2_BACKFILL``, ``OP_RESEND``) can
fill a hole the link left. Once :meth:`StreamAssembler.apply_event` has seen a
``backfill_on`` event, a hole is *pending*: the samples after it are held until
the hole is filled by resent frames, or settled as lost by a ``backfill_answer``
(the board no longer has it), a ``backfill_gave_up`` (the link stopped asking)
or :meth:`StreamAssembler.settle_all` (end of the run). Samples always leave in
index order, each exactly once, and a hole reaches the consumer only once it is
final. Everything that decides is in the stream of frames and events (the link
records the events), so a replay releases exactly what the live run released.

Corrupt frames
--------------
A frame's board time and index must agree with the stream's (see
:func:`strideguard.frames.clock_consistent`). A frame that disagrees is held as
a suspect: the next frame that agrees with the stream rejects it
(``clock_mismatch``), two frames that agree with each other but not with the
stream are a real step (a rate change) and start a new reference. A stream
start (``FLAG_STREAM_START``) below what was already released is a rebooted
board: a new segment right after the last sample. The very first frame waits
for the second to confirm it.
"""

from __future__ import annotations

import itertools
import struct
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from strideguard import protocol as proto
from strideguard.frames import (
    CLOCK_TOL_BASE_US,
    CLOCK_TOL_REL,
    FRAME_META_DTYPE,
    RejectReason,
    _gather_samples,
    parse_buffer,
    signed32,
)

WRAP_32 = 1 << 32
#: suspect frames kept while waiting for the next frame to decide about them
MAX_SUSPECTS = 3

#: events that change what the assembler releases (the link records them in order)
BACKFILL_EVENTS = frozenset({"backfill_on", "backfill_answer", "backfill_gave_up"})


@dataclass
class SampleBlock:
    """New samples of one sensor, as the consumer hands them on.

    Attributes
    ----------
    stream
        Sensor number (0, 1).
    sample_index
        ``(n,)`` running sample index (unwrapped, continuous across reconnects).
    raw
        ``(n, 6)`` int16 counts ax, ay, az, gx, gy, gz.
    frames
        Per frame, ``strideguard.frames.FRAME_META_DTYPE`` (first_index on the running scale).
    gaps
        ``(first_missing_index, n_missing)`` holes just before or inside this block.
    """

    stream: int
    sample_index: npt.NDArray[np.int64]
    raw: npt.NDArray[np.int16]
    frames: npt.NDArray[np.void]
    gaps: list[tuple[int, int]]

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.sample_index.shape[0])


@dataclass
class _Frame:
    """One valid frame on its way in (wire header values and its samples)."""

    meta: npt.NDArray[np.void]  # one FRAME_META_DTYPE row; first_index = board u32 for now
    raw: npt.NDArray[np.int16]
    board_first: int
    t_us: int
    rate_hz: int
    backfill: bool
    start: bool


class StreamAssembler:
    """Incremental decoding of one sensor's frames: running index, holes, backfill, duplicates.

    Each :meth:`feed` validates a batch with :func:`strideguard.frames.parse_buffer`
    and places its frames, one by one in arrival order, on one running sample
    index, so holes between batches (a link outage) are handled like holes inside
    a batch, and samples already seen are dropped. A new segment (a rebooted
    board: ``FLAG_STREAM_START`` with the index gone backwards, confirmed by the
    next frame) continues right after the last sample.

    Attributes
    ----------
    hold
        Holes wait for backfill (set by a ``backfill_on`` event).
    next_index
        First running index not yet released (``None`` before the first sample).
    samples, frames
        Released so far.
    duplicates
        Samples received again after they were already in (e.g. a resend of
        samples that had arrived after all).
    late
        Resent samples that arrived after their hole had been given up.
    backfilled
        Released samples that came in resent frames.
    gaps
        Final holes ``(first_missing_index, n_missing)``.
    rejected
        Frames rejected, per :class:`~strideguard.frames.RejectReason` value.
    """

    def __init__(self, stream: int = 0) -> None:
        self.stream = stream
        self.hold = False
        self.next_index: int | None = None
        self.samples = 0
        self.frames = 0
        self.duplicates = 0
        self.late = 0
        self.backfilled = 0
        self.index_resets = 0
        self.gaps: list[tuple[int, int]] = []
        self.rejected: Counter[str] = Counter()
        self._offset = 0  # running index = board index + offset (changes at a reboot)
        self._top: int | None = None  # one past the highest index received
        self._pending: list[list[int]] = []  # holes waiting for backfill, [a, b), sorted
        self._lost: list[tuple[int, int]] = []  # final holes not yet released, [a, b)
        self._held: list[tuple[int, npt.NDArray[np.int16], npt.NDArray[np.void], int]] = []
        self._ref: _Frame | None = None  # the last accepted frame: the clock reference
        self._ref_confirmed = False
        self._first: list[_Frame] = []  # the stream's first frames, until two agree
        self._suspects: list[_Frame] = []

    # ----------------------------------------------------------------- properties
    @property
    def samples_lost(self) -> int:
        """Samples missing in all final gaps so far."""
        return sum(n for _, n in self.gaps)

    @property
    def top(self) -> int | None:
        """One past the highest running index received (``None`` before any)."""
        return self._top

    def pending_holes(self) -> list[tuple[int, int]]:
        """Holes waiting for backfill, ``(first_running_index, n)``, oldest first."""
        return [(a, b - a) for a, b in self._pending]

    def board_index(self, running_index: int) -> int:
        """The board's 32-bit index of a running index (what ``OP_RESEND`` asks for)."""
        return (running_index - self._offset) % WRAP_32

    def running_index(self, board_index: int) -> int:
        """The running index of a board index near the samples received so far."""
        ref = self._top if self._top is not None else 0
        return ref + int(signed32(board_index + self._offset - ref))

    # ----------------------------------------------------------------- input
    def feed(
        self, payloads: Sequence[bytes], arrival_s: Sequence[float] | None = None
    ) -> SampleBlock | None:
        """Take frames (in arrival order); return the samples released, ``None`` if none."""
        if len(payloads) <= SMALL_BATCH:
            return self._feed_few(payloads, arrival_s)
        n = len(payloads)
        lengths = np.fromiter((len(p) for p in payloads), dtype=np.int64, count=n)
        offsets = np.cumsum(lengths) - lengths
        buf = np.frombuffer(b"".join(bytes(p) for p in payloads), dtype=np.uint8)
        arr = np.full(n, np.nan) if arrival_s is None else np.asarray(arrival_s, np.float64)
        parsed = parse_buffer(buf, offsets, lengths, arr)
        self.rejected.update(parsed.rejected)
        h = parsed.header
        if h.size:
            raw, _within, _frame_of = _gather_samples(
                buf, parsed.offset, h["count"].astype(np.int64)
            )
            starts = np.concatenate(([0], np.cumsum(h["count"].astype(np.int64)))).tolist()
            # every frame's metadata at once (a per-frame record costs more than the frame)
            metas = np.zeros(h.size, FRAME_META_DTYPE)
            metas["flags"] = h["flags"]
            metas["flags2"] = np.where(h["version"] >= proto.FRAME_VERSION, h["flags2"], 0)
            metas["seq"] = h["seq"]
            metas["first_index"] = h["first_index"]
            metas["t_us"] = h["t_us"]
            metas["rate_hz"] = h["rate_hz"]
            metas["count"] = h["count"]
            metas["arrival_s"] = parsed.arrival_s
            for k, (first, t_us, rate, flags, flags2) in enumerate(
                zip(
                    h["first_index"].tolist(),
                    h["t_us"].tolist(),
                    h["rate_hz"].tolist(),
                    h["flags"].tolist(),
                    metas["flags2"].tolist(),
                    strict=True,
                )
            ):
                self._frame(
                    _Frame(
                        meta=metas[k : k + 1],
                        raw=raw[starts[k] : starts[k + 1]],
                        board_first=int(first),
                        t_us=int(t_us),
                        rate_hz=int(rate),
                        backfill=bool(flags2 & proto.FLAG2_BACKFILL),
                        start=bool(flags & proto.FLAG_STREAM_START),
                    )
                )
        return self._release()

    def _feed_few(
        self, payloads: Sequence[bytes], arrival_s: Sequence[float] | None
    ) -> SampleBlock | None:
        """:meth:`feed` for a few frames (live: one BLE notification at a time), frame by frame.

        The same checks, in the same order, as :func:`strideguard.frames.parse_buffer`
        (which stays the reference for large batches: vectorised, it costs ~0.1 ms
        per call whatever the count, as much as decoding one frame here).
        """
        for k, payload in enumerate(payloads):
            data = bytes(payload)
            why = _header_problem(data)
            if why is not None:
                self.rejected[why] += 1
                continue
            version, flags, seq, first, t_us, rate, count, flags2 = _HEADER.unpack_from(data)
            if version != proto.FRAME_VERSION:
                flags2 = 0
            meta = np.zeros(1, FRAME_META_DTYPE)
            meta[0] = (
                flags,
                seq,
                first,
                t_us,
                rate,
                count,
                np.nan if arrival_s is None else float(arrival_s[k]),
                flags2,
            )
            raw = (
                np.frombuffer(data, ">i2", count * 6, proto.FRAME_HEADER_SIZE)
                .reshape(count, 6)
                .astype(np.int16)
            )
            self._frame(
                _Frame(
                    meta=meta,
                    raw=raw,
                    board_first=first,
                    t_us=t_us,
                    rate_hz=rate,
                    backfill=bool(flags2 & proto.FLAG2_BACKFILL),
                    start=bool(flags & proto.FLAG_STREAM_START),
                )
            )
        return self._release()

    def apply_event(self, event: dict[str, Any]) -> SampleBlock | None:
        """Act on a backfill event (``BACKFILL_EVENTS``); other events are ignored.

        ``backfill_on`` makes holes wait for backfill; ``backfill_answer`` (fields
        ``first_index``, ``n``, ``result``, ``available_first``, ``available_n``,
        running indices) settles the part of a request the board no longer has
        (nothing for ``RESULT_BUSY``, all of it for an error);
        ``backfill_gave_up`` (``first_index``, ``n``) settles what the link stopped
        asking for.
        """
        kind = event.get("event")
        try:
            if kind == "backfill_on":
                self.hold = True
                return None
            if kind == "backfill_answer":
                a, n = int(event["first_index"]), int(event["n"])
                result = int(event.get("result", proto.RESULT_SUCCESS))
                if result == proto.RESULT_BUSY:
                    return None  # asked again later
                fa, fn = int(event.get("available_first", a)), int(event.get("available_n", 0))
                if result not in (proto.RESULT_SUCCESS, proto.RESULT_NOT_AVAILABLE):
                    fn = 0  # the board cannot resend (e.g. it does not know OP_RESEND)
                if fn <= 0:
                    self._settle(a, a + n)
                else:
                    self._settle(a, min(fa, a + n))
                    self._settle(max(fa + fn, a), a + n)
                return self._release()
            if kind == "backfill_gave_up":
                a, n = int(event["first_index"]), int(event["n"])
                self._settle(a, a + n)
                return self._release()
        except (KeyError, TypeError, ValueError):
            self.rejected["bad_event"] += 1
        return None

    def settle_all(self) -> SampleBlock | None:
        """End of the stream: every pending hole is final; release what is held."""
        if self._first and self._ref is None:  # one frame only: nothing contradicted it
            self._accept(self._first[-1])
            self._reject(len(self._first) - 1)
        self._first = []
        self._reject(len(self._suspects))
        self._suspects = []
        for a, b in self._pending:
            self._lost.append((a, b))
        self._pending = []
        return self._release()

    # ----------------------------------------------------------------- frames
    def _agrees(self, f: _Frame, ref: _Frame) -> bool:
        if f.rate_hz != ref.rate_hz:
            return False
        # :func:`strideguard.frames.clock_consistent` on two plain ints (per frame: no numpy)
        di = _s32(f.board_first - ref.board_first)
        dt = _s32(f.t_us - ref.t_us)
        expect = di * (1_000_000 // f.rate_hz)
        return abs(dt - expect) <= CLOCK_TOL_BASE_US + CLOCK_TOL_REL * abs(expect)

    def _goes_back(self, f: _Frame) -> bool:
        """A stream-start frame below what was released: a rebooted board, not a late frame."""
        if not f.start or f.backfill or self._top is None or self.next_index is None:
            return False
        running = self._top + _s32(f.board_first + self._offset - self._top)
        return running < self.next_index

    def _reject(self, n: int = 1) -> None:
        if n:
            self.rejected[RejectReason.CLOCK_MISMATCH.value] += n

    def _frame(self, f: _Frame) -> None:
        if self._ref is None:
            # the stream's first frames: accept the first two that agree
            if f.backfill:
                self._reject()
                return
            for c in self._first:
                if self._agrees(f, c):
                    self._reject(len(self._first) - 1)
                    self._first = []
                    self._accept(c)
                    self._accept(f)
                    return
            self._first.append(f)
            if len(self._first) > MAX_SUSPECTS:
                self._first.pop(0)
                self._reject()
            return
        if f.backfill:  # a resend fills a hole or nothing; it never starts a new segment
            if self._agrees(f, self._ref):
                self._accept(f)
            else:
                self._reject()
            return
        if self._goes_back(f):
            # a stream start below what was released: a rebooted board (its clock restarted
            # with its index, so the clock may well agree: the flag decides)
            self._reject(len(self._suspects))
            self._suspects = []
            self._new_segment(f)
            self._accept(f)
            return
        if self._agrees(f, self._ref):
            self._reject(len(self._suspects))
            self._suspects = []
            self._accept(f)
            return
        for k in range(len(self._suspects) - 1, -1, -1):
            if self._agrees(f, self._suspects[k]):
                # two frames agree with each other, not with the stream: a real step
                step = [s for s in self._suspects if self._agrees(s, f)]
                self._reject(len(self._suspects) - len(step))
                self._suspects = []
                self._new_segment(step[0])
                for s in step:
                    self._accept(s)
                self._accept(f)
                return
        self._suspects.append(f)
        if len(self._suspects) > MAX_SUSPECTS:
            self._suspects.pop(0)
            self._reject()

    def _new_segment(self, f: _Frame) -> None:
        """A confirmed step: a reboot (index went back) continues after the last sample."""
        if self._top is None:
            return
        running = self._top + _s32(f.board_first + self._offset - self._top)
        if running < self._top:
            # a rebooted board (or a different one): its ring is gone, the old holes are final
            self.index_resets += 1
            self._offset += self._top - running
            for a, b in self._pending:
                self._lost.append((a, b))
            self._pending = []

    def _accept(self, f: _Frame) -> None:
        self._ref = f if not f.backfill else self._ref or f
        self._place(f)

    def _place(self, f: _Frame) -> None:
        """Put an accepted frame's samples on the running index."""
        c = f.raw.shape[0]
        if self._top is None:
            self._offset = 0
            a = f.board_first
            self.next_index = a
            self._top = a
        else:
            a = self._top + _s32(f.board_first + self._offset - self._top)
        b = a + c
        top = self._top
        assert top is not None and self.next_index is not None
        if a == top and not self._pending:
            # the usual frame: right after the last one, nothing waiting for backfill
            self._top = b
            meta = f.meta.copy()
            meta["first_index"] = a
            self._held.append((a, f.raw, meta, int(f.backfill)))
            return
        keep = np.zeros(c, bool)
        # the part above everything received: new samples, maybe after a new hole
        if b > top:
            lo = max(a, top)
            if a > top:
                if self.hold and not f.backfill:
                    self._pending.append([top, a])
                else:
                    self._lost.append((top, a))
            keep[lo - a :] = True
            self._top = b
        # the part inside [next_index, top): only what fills a pending hole
        lo, hi = max(a, self.next_index), min(b, top)
        if hi > lo:
            for a_h, b_h in self._fill(lo, hi):
                keep[a_h - a : b_h - a] = True
        n_keep = int(np.count_nonzero(keep))
        stale = c - n_keep
        late = self._in_final_gaps(a, b) if f.backfill and stale else 0
        self.late += late
        self.duplicates += stale - late
        if n_keep == 0:
            return
        meta = f.meta.copy()
        meta["first_index"] = a
        idx = np.flatnonzero(keep)
        # runs of kept samples (a resend can fill two holes at once)
        breaks = np.flatnonzero(np.diff(idx) > 1) + 1
        for run in np.split(idx, breaks):
            self._held.append((a + int(run[0]), f.raw[run], meta, int(f.backfill)))

    def _in_final_gaps(self, a: int, b: int) -> int:
        """Samples of ``[a, b)`` in holes already settled as lost."""
        n = 0
        for x, y in self._lost:
            n += max(0, min(b, y) - max(a, x))
        for first, m in reversed(self.gaps):  # sorted, apart: stop below the frame
            if first + m <= a:
                break
            n += max(0, min(b, first + m) - max(a, first))
        return n

    def _fill(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """Take ``[lo, hi)`` out of the pending holes; return the parts that filled one."""
        filled: list[tuple[int, int]] = []
        out: list[list[int]] = []
        for a, b in self._pending:
            x, y = max(a, lo), min(b, hi)
            if x >= y:
                out.append([a, b])
                continue
            filled.append((x, y))
            if a < x:
                out.append([a, x])
            if y < b:
                out.append([y, b])
        self._pending = out
        return filled

    def _settle(self, lo: int, hi: int) -> None:
        """``[lo, hi)`` will not come: the pending holes in it are final."""
        if hi <= lo:
            return
        self._lost.extend(self._fill(lo, hi))

    # ----------------------------------------------------------------- output
    def _release(self) -> SampleBlock | None:
        """Hand on everything below the oldest pending hole, in index order."""
        if self.next_index is None or self._top is None:
            return None
        limit = self._pending[0][0] if self._pending else self._top
        if limit <= self.next_index:
            return None
        ready = [h for h in self._held if h[0] < limit]
        if not ready and not any(a < limit for a, _ in self._lost):
            return None
        self._held = [h for h in self._held if h[0] >= limit]
        ready.sort(key=lambda h: h[0])
        lost = sorted(x for x in self._lost if x[0] < limit)
        self._lost = [x for x in self._lost if x[0] >= limit]
        gaps = _merge(lost)
        self.next_index = limit
        if not ready:
            self.gaps.extend(gaps)
            return SampleBlock(
                self.stream,
                np.zeros(0, np.int64),
                np.zeros((0, 6), np.int16),
                np.zeros(0, FRAME_META_DTYPE),
                gaps,
            )
        n_ready = sum(r.shape[0] for _, r, _, _ in ready)
        if all(
            ready[k][0] + ready[k][1].shape[0] == ready[k + 1][0] for k in range(len(ready) - 1)
        ):
            idx = np.arange(ready[0][0], ready[0][0] + n_ready, dtype=np.int64)  # contiguous
        else:
            idx = np.concatenate(
                [np.arange(s, s + r.shape[0], dtype=np.int64) for s, r, _, _ in ready]
            )
        raw = ready[0][1] if len(ready) == 1 else np.concatenate([r for _, r, _, _ in ready])
        self.backfilled += sum(r.shape[0] for _, r, _, bf in ready if bf)
        metas = [m for _, _, m, _ in ready]
        firsts = [int(m["first_index"][0]) for m in metas]
        frames = np.concatenate(metas) if len(metas) > 1 else metas[0]
        if any(x >= y for x, y in itertools.pairwise(firsts)):
            # a frame split over several held runs appears once, frames in index order
            _, first_pos = np.unique(frames["first_index"], return_index=True)
            frames = frames[np.sort(first_pos)]
            frames = frames[np.argsort(frames["first_index"], kind="stable")]
        self.samples += int(idx.shape[0])
        self.frames += int(frames.shape[0])
        self.gaps.extend(gaps)
        return SampleBlock(self.stream, idx, raw, frames, gaps)


#: :meth:`StreamAssembler.feed` decodes batches up to this size frame by frame
SMALL_BATCH = 8
_HEADER = struct.Struct(proto.FRAME_HEADER_FORMAT)
_RATES = frozenset(int(r) for r in proto.SUPPORTED_RATES_HZ)


def _header_problem(data: bytes) -> str | None:
    """Why one frame is rejected (the checks of :func:`strideguard.frames.parse_buffer`), or ``None``."""
    if len(data) < proto.FRAME_HEADER_SIZE:
        return RejectReason.TRUNCATED.value
    version, _f, _s, _i, _t, rate, count, flags2 = _HEADER.unpack_from(data)
    if version not in (proto.FRAME_VERSION, proto.FRAME_VERSION_1):
        return RejectReason.BAD_VERSION.value
    if not 1 <= count <= proto.MAX_SAMPLES_PER_FRAME:
        return RejectReason.BAD_COUNT.value
    if len(data) != proto.FRAME_HEADER_SIZE + proto.SAMPLE_SIZE * count:
        return RejectReason.LENGTH_MISMATCH.value
    if rate not in _RATES:
        return RejectReason.BAD_RATE.value
    if version == proto.FRAME_VERSION_1 and flags2 != 0:
        return RejectReason.BAD_RESERVED.value
    return None


def _s32(x: int) -> int:
    """:func:`strideguard.frames.signed32` of one plain int."""
    v = x % WRAP_32
    return v - WRAP_32 if v >= WRAP_32 // 2 else v


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted ``[a, b)`` ranges merged where they touch, as ``(first, n)``."""
    out: list[tuple[int, int]] = []
    for a, b in ranges:
        if out and a <= out[-1][0] + out[-1][1]:
            f, n = out[-1]
            out[-1] = (f, max(f + n, b) - f)
        else:
            out.append((a, b - a))
    return out
