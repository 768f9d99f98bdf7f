"""Incremental frame decoding for the live path.

:class:`FrameStream` takes notification payloads as they arrive (in batches,
as the consumer drains the receive queue), decodes them with the same
vectorised decoder as offline files, and hands out contiguous sample blocks in
physical units. It tracks what a live link needs: gaps (lost samples, exactly,
from the running sample index), duplicates, frames that arrive too late to be
used, rejected frames by reason, pain marks, and the board clock (a running
least-squares fit of the board's microsecond timestamps against the sample
index, so times follow the board's true rate, not host arrival times).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from strideguard import protocol as proto
from strideguard.frames import ACC_SCALE_MPS2, GYR_SCALE_DPS, WRAP_32, decode_frames


@dataclass
class SampleBlock:
    """Contiguous new samples from one sensor.

    Attributes
    ----------
    first_index
        Running index of the first sample (unwrapped, 0 at the stream's first sample).
    acc_mps2, gyr_dps
        ``(n, 3)`` sensor-frame data.
    gap_before
        Samples lost right before this block (0 if contiguous).
    flags
        OR of the frame flags in the block.
    pain_mark_indices
        Sample indices of frames flagged "pain now".
    """

    first_index: int
    acc_mps2: npt.NDArray[np.float64]
    gyr_dps: npt.NDArray[np.float64]
    gap_before: int
    flags: int
    pain_mark_indices: list[int] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        """Samples in the block."""
        return int(self.acc_mps2.shape[0])


@dataclass
class StreamCounters:
    """Running totals of one sensor's stream."""

    frames_received: int = 0
    frames_used: int = 0
    frames_rejected: dict[str, int] = field(default_factory=dict)
    frames_late: int = 0
    samples_received: int = 0
    samples_lost: int = 0
    gaps: int = 0
    overflow_frames: int = 0

    @property
    def loss_pct(self) -> float:
        """Lost samples as a share of all samples that should have arrived."""
        total = self.samples_received + self.samples_lost
        return 100.0 * self.samples_lost / total if total else 0.0


class FrameStream:
    """Decode one sensor's frames incrementally.

    Parameters
    ----------
    reorder_window_frames
        Newest frames held back so that slightly reordered arrivals can still
        be put in order (0 = emit at once). Frames older than what was already
        emitted are counted as late and dropped.

    Attributes
    ----------
    counters
        Running totals.
    rate_hz
        Current estimate of the board's true sample rate.
    """

    def __init__(self, *, reorder_window_frames: int = 2) -> None:
        self.reorder_window_frames = reorder_window_frames
        self.counters = StreamCounters()
        self._pending: list[
            tuple[int, bytes, float]
        ] = []  # (relative index or -1, payload, arrival)
        self._ref_raw: int | None = None
        self._next_index = 0
        self._started = False
        self._n = 0
        self._sx = self._sy = self._sxx = self._sxy = 0.0
        self._x0 = 0.0
        self._y0 = 0.0
        self._last_t_raw: int | None = None
        self._last_clock_index = 0
        self._t_unwrapped = 0
        self.nominal_rate_hz: float = float(proto.DEFAULT_RATE_HZ)
        self.rate_hz: float = self.nominal_rate_hz

    # -------------------------------------------------------------- helpers

    def _relative_index(self, raw_first: int) -> int:
        """Index relative to the stream's first sample, unwrapped near the expected next index."""
        if self._ref_raw is None:
            self._ref_raw = raw_first
        rel = (raw_first - self._ref_raw) % WRAP_32
        k = round((self._next_index - rel) / WRAP_32)
        return rel + k * WRAP_32

    def _add_clock_point(self, index: int, t_raw: int, rate_hz: float) -> None:
        if self._last_t_raw is None:
            self._t_unwrapped = 0
        else:
            dt = (t_raw - self._last_t_raw) % WRAP_32
            expected = (index - self._last_clock_index) * 1e6 / rate_hz
            dt += round((expected - dt) / WRAP_32) * WRAP_32
            self._t_unwrapped += dt
        self._last_t_raw = t_raw
        self._last_clock_index = index
        x, y = float(index), float(self._t_unwrapped)
        self._n += 1
        self._sx += x
        self._sy += y
        self._sxx += x * x
        self._sxy += x * y
        if self._n >= 3:
            den = self._n * self._sxx - self._sx * self._sx
            if den > 0:
                slope = (self._n * self._sxy - self._sx * self._sy) / den
                if slope > 0 and 0.9 * rate_hz < 1e6 / slope < 1.1 * rate_hz:
                    self.rate_hz = 1e6 / slope

    def time_s(self, index: int | npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Board time (s since the first sample) of sample ``index``."""
        return np.asarray(index, dtype=np.float64) / self.rate_hz

    # -------------------------------------------------------------- decoding

    def push(
        self,
        payloads: Sequence[bytes | bytearray | memoryview],
        arrival_s: Sequence[float] | None = None,
    ) -> list[SampleBlock]:
        """Add newly arrived payloads; return the sample blocks now ready, in order.

        Never raises on bad payloads: they are counted in ``counters``.
        """
        arr = list(arrival_s) if arrival_s is not None else [float("nan")] * len(payloads)
        for p, a in zip(payloads, arr, strict=True):
            b = bytes(p)
            rel = (
                self._relative_index(int.from_bytes(b[4:8], "big"))
                if len(b) >= proto.FRAME_HEADER_SIZE
                else -1
            )
            self._pending.append((rel, b, a))
        self.counters.frames_received += len(payloads)
        self._pending.sort(key=lambda e: e[0])
        valid = sum(1 for e in self._pending if e[0] >= 0)
        n_emit = len(self._pending) - min(self.reorder_window_frames, valid)
        return self._emit(n_emit)

    def flush(self) -> list[SampleBlock]:
        """Emit everything held back (end of stream or link drop)."""
        return self._emit(len(self._pending))

    def _emit(self, n_emit: int) -> list[SampleBlock]:
        if n_emit <= 0:
            return []
        batch, self._pending = self._pending[:n_emit], self._pending[n_emit:]
        decoded = decode_frames([b for _, b, _ in batch], [a for _, _, a in batch])
        c = self.counters
        for reason, n in decoded.report.rejected.items():
            if reason in ("duplicate", "overlap"):
                c.frames_late += n
            else:
                c.frames_rejected[reason] = c.frames_rejected.get(reason, 0) + n
        fr = decoded.frames
        starts = np.cumsum(fr["count"]) - fr["count"]
        blocks: list[SampleBlock] = []
        for k in range(fr.size):
            cnt = int(fr["count"][k])
            rel = self._relative_index(int(fr["first_index"][k]) & 0xFFFFFFFF)
            if self._started and rel < self._next_index:
                c.frames_late += 1
                continue
            gap = rel - self._next_index if self._started else 0
            rate = float(fr["rate_hz"][k])
            self.nominal_rate_hz = rate
            self._add_clock_point(rel, int(fr["t_us"][k]) & 0xFFFFFFFF, rate)
            s = int(starts[k])
            raw = decoded.raw[s : s + cnt]
            flags = int(fr["flags"][k])
            if gap > 0:
                c.samples_lost += gap
                c.gaps += 1
            if flags & proto.FLAG_FIFO_OVERFLOW:
                c.overflow_frames += 1
            c.frames_used += 1
            c.samples_received += cnt
            self._next_index = rel + cnt
            self._started = True
            blocks.append(
                SampleBlock(
                    first_index=rel,
                    acc_mps2=raw[:, :3].astype(np.float64) * ACC_SCALE_MPS2,
                    gyr_dps=raw[:, 3:].astype(np.float64) * GYR_SCALE_DPS,
                    gap_before=gap,
                    flags=flags,
                    pain_mark_indices=[rel] if flags & proto.FLAG_PAIN_MARK else [],
                )
            )
        return blocks
