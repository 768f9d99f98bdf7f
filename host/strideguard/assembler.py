"""Incremental decoding of one sensor's frames onto a running sample index.

The live receiver (:class:`strideguard.ble.receiver.SensorLink`) hands every batch
of notifications to a :class:`StreamAssembler` and passes the resulting
:class:`SampleBlock` to its consumers; a replay feeds recorded frames through the
same class to get the same blocks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from strideguard import protocol as proto
from strideguard.frames import decode_frames

WRAP_32 = 1 << 32


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


class StreamAssembler:
    """Incremental decoding of one sensor's frames: running index, gaps, duplicates.

    Each :meth:`feed` decodes a batch with :func:`strideguard.frames.decode_frames`
    and places it on one running sample index, so holes between batches (a link
    outage) are reported like holes inside a batch, and frames already seen are
    dropped. A frame flagged ``FLAG_STREAM_START`` whose index went backwards (a
    rebooted board) starts a new segment right after the last sample.
    """

    def __init__(self, stream: int = 0) -> None:
        self.stream = stream
        self.next_index: int | None = None
        self.samples = 0
        self.frames = 0
        self.duplicates = 0
        self.index_resets = 0
        # board index -> running index after a reboot (kept for the frames that follow)
        self._offset = 0
        self.gaps: list[tuple[int, int]] = []
        self.rejected: Counter[str] = Counter()

    @property
    def samples_lost(self) -> int:
        """Samples missing in all gaps so far."""
        return sum(n for _, n in self.gaps)

    def feed(
        self, payloads: Sequence[bytes], arrival_s: Sequence[float] | None = None
    ) -> SampleBlock | None:
        """Decode frames (in arrival order); ``None`` when nothing new was in them."""
        dec = decode_frames(payloads, arrival_s)
        self.rejected.update(dec.report.rejected)
        if dec.n_samples == 0:
            return None
        idx = dec.sample_index
        first = int(idx[0])
        shift = 0
        if self.next_index is not None:
            d = (first + self._offset - self.next_index) % WRAP_32
            d = d - WRAP_32 if d >= WRAP_32 // 2 else d
            if d < 0 and dec.frames["flags"][0] & proto.FLAG_STREAM_START:
                self.index_resets += 1
                self._offset -= d  # later batches of the new segment keep this offset
                d = 0
            shift = self.next_index + d - first
        idx = idx + shift
        raw = dec.raw
        if self.next_index is not None:
            keep = idx >= self.next_index
            self.duplicates += int(np.count_nonzero(~keep))
            if not keep.any():
                return None
            idx, raw = idx[keep], raw[keep]
        # holes between the last sample so far and the new (sorted, unique) indices
        prev = int(idx[0]) if self.next_index is None else self.next_index
        step = np.diff(idx, prepend=prev - 1)
        holes = np.flatnonzero(step > 1)
        gaps = [(int(idx[k] - step[k] + 1), int(step[k] - 1)) for k in holes]
        frames = dec.frames.copy()
        frames["first_index"] += shift
        if self.next_index is not None:
            frames = frames[frames["first_index"] >= self.next_index]
        self.next_index = int(idx[-1]) + 1
        self.samples += int(idx.shape[0])
        self.frames += int(frames.shape[0])
        self.gaps.extend(gaps)
        return SampleBlock(self.stream, idx, raw, frames, gaps)
