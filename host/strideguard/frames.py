"""Decode stream frames (see ``docs/protocol.md``) into samples, vectorised.

Frames arrive as BLE notifications. :func:`decode_frames` turns any number of
them into one sample array plus per-frame metadata and a loss report without a
per-sample Python loop: headers are read with a structured numpy dtype, the
samples are gathered with one fancy-indexing step. Bad frames are rejected with
a counted reason and never raise.

Examples
--------
>>> from strideguard.frames import decode_frames
>>> decoded = decode_frames([])
>>> decoded.n_samples
0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from strideguard import protocol as proto
from strideguard.imudata import STANDARD_GRAVITY_MPS2, ImuRecording

#: numpy view of the frame header (big-endian, as on the wire)
HEADER_DTYPE = np.dtype(
    [
        ("version", "u1"),
        ("flags", "u1"),
        ("seq", ">u2"),
        ("first_index", ">u4"),
        ("t_us", ">u4"),
        ("rate_hz", ">u2"),
        ("count", "u1"),
        ("flags2", "u1"),  # version 1: reserved (0)
    ]
)
assert HEADER_DTYPE.itemsize == proto.FRAME_HEADER_SIZE

#: per-frame metadata of accepted frames (host byte order, unwrapped counters)
FRAME_META_DTYPE = np.dtype(
    [
        ("flags", "u1"),
        ("seq", "u2"),
        ("first_index", "i8"),
        ("t_us", "i8"),
        ("rate_hz", "u2"),
        ("count", "u2"),
        ("arrival_s", "f8"),
        ("flags2", "u1"),
    ]
)

ACC_SCALE_MPS2 = STANDARD_GRAVITY_MPS2 / proto.ACC_LSB_PER_G
GYR_SCALE_DPS = 10.0 / proto.GYR_LSB_PER_DPS_X10
WRAP_32 = 1 << 32

#: a frame's board time may differ from what its sample index predicts (from the
#: frames around it) by this much plus CLOCK_TOL_REL of the time between them: the
#: board's FIFO timing jitters by about a sample period, and the sensor's sample
#: clock and the board's microsecond clock drift apart by well under 5 % (a board
#: 10 % off its nominal rate is implausible, see fit_timebase). More is a corrupt
#: index or timestamp, never the new truth.
CLOCK_TOL_BASE_US = 20_000
CLOCK_TOL_REL = 0.05


class RejectReason(StrEnum):
    """Why a frame was not used."""

    TRUNCATED = "truncated"  # shorter than a header
    BAD_VERSION = "bad_version"
    BAD_COUNT = "bad_count"  # 0 or more than MAX_SAMPLES_PER_FRAME samples
    LENGTH_MISMATCH = "length_mismatch"  # length disagrees with the sample count
    BAD_RATE = "bad_rate"  # rate not one of SUPPORTED_RATES_HZ
    BAD_RESERVED = "bad_reserved"  # version 1: reserved byte not zero: garbage
    CLOCK_MISMATCH = "clock_mismatch"  # index and board time disagree with the other frames
    DUPLICATE = "duplicate"  # same samples already received
    OVERLAP = "overlap"  # partly overlaps samples already received


@dataclass
class StreamReport:
    """What happened to a stream of frames.

    Attributes
    ----------
    frames_received
        Frames handed to the decoder.
    frames_accepted
        Frames whose samples are in the output.
    rejected
        Rejected frames per :class:`RejectReason` value.
    out_of_order
        Accepted frames that arrived after a later frame (they were re-sorted).
    gaps
        ``(first_missing_index, n_missing)`` per hole in the sample sequence.
    samples_lost
        Total samples missing between the first and last received sample.
    overflow_frames
        Frames flagged with :data:`~strideguard.protocol.FLAG_FIFO_OVERFLOW`.
    backfill_frames
        Accepted frames that were resent on request (``FLAG2_BACKFILL``).
    """

    frames_received: int = 0
    frames_accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    out_of_order: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)
    samples_lost: int = 0
    overflow_frames: int = 0
    backfill_frames: int = 0

    @property
    def frames_rejected(self) -> int:
        """Total rejected frames."""
        return sum(self.rejected.values())

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary."""
        return {
            "frames_received": self.frames_received,
            "frames_accepted": self.frames_accepted,
            "frames_rejected": self.rejected,
            "out_of_order": self.out_of_order,
            "gaps": [{"first_missing_index": a, "n_missing": b} for a, b in self.gaps],
            "samples_lost": self.samples_lost,
            "overflow_frames": self.overflow_frames,
            "backfill_frames": self.backfill_frames,
        }


@dataclass
class DecodedFrames:
    """Samples and metadata from accepted frames, sorted by sample index.

    Attributes
    ----------
    raw
        ``(n, 6)`` int16 counts: ax, ay, az, gx, gy, gz.
    sample_index
        ``(n,)`` unwrapped running sample index of each sample.
    frames
        Per accepted frame, :data:`FRAME_META_DTYPE`.
    report
        Loss, duplicate, order and rejection counts.
    """

    raw: npt.NDArray[np.int16]
    sample_index: npt.NDArray[np.int64]
    frames: npt.NDArray[np.void]
    report: StreamReport

    @property
    def n_samples(self) -> int:
        """Number of decoded samples."""
        return int(self.sample_index.shape[0])

    @property
    def acc_mps2(self) -> npt.NDArray[np.float64]:
        """Specific force in m/s² (sensor frame)."""
        return self.raw[:, :3].astype(np.float64) * ACC_SCALE_MPS2

    @property
    def gyr_dps(self) -> npt.NDArray[np.float64]:
        """Angular velocity in °/s (sensor frame)."""
        return self.raw[:, 3:].astype(np.float64) * GYR_SCALE_DPS


def _unwrap_u32(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Unwrap a 32-bit counter whose consecutive steps are below 2**31."""
    if values.size == 0:
        return values.astype(np.int64)
    step = np.diff(values) % WRAP_32
    step = np.where(step >= WRAP_32 // 2, step - WRAP_32, step)
    out = np.empty(values.shape, np.int64)
    out[0] = values[0]
    np.cumsum(step, out=out[1:])
    out[1:] += values[0]
    return out


def _unwrap_time_us(
    t_us: npt.NDArray[np.int64], index: npt.NDArray[np.int64], rate_hz: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """Unwrap the 32-bit microsecond clock (wraps every ~71.6 min).

    The expected time step follows from the sample-index step and the nominal
    rate, so even a link outage longer than a wrap is resolved.
    """
    if t_us.size == 0:
        return t_us.astype(np.int64)
    dt_mod = np.diff(t_us) % WRAP_32
    expected = np.diff(index) * (1e6 / rate_hz[1:])
    n_wraps = np.round((expected - dt_mod) / WRAP_32)
    step = dt_mod + n_wraps.astype(np.int64) * WRAP_32
    out = np.empty(t_us.shape, np.int64)
    out[0] = t_us[0]
    np.cumsum(step, out=out[1:])
    out[1:] += t_us[0]
    return out


@dataclass
class ParsedFrames:
    """Frames that passed validation, in arrival order (see :func:`parse_buffer`).

    Attributes
    ----------
    header
        Per frame, :data:`HEADER_DTYPE` (wire values: 32-bit index and clock).
    arrival_s
        Host arrival time per frame.
    offset
        Byte offset of each frame in the buffer.
    rejected
        Rejected frames per :class:`RejectReason` value.
    """

    header: npt.NDArray[np.void]
    arrival_s: npt.NDArray[np.float64]
    offset: npt.NDArray[np.int64]
    rejected: dict[str, int]

    @property
    def n_frames(self) -> int:
        """Number of valid frames."""
        return int(self.header.shape[0])


def parse_buffer(
    buf: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    arrival_s: npt.NDArray[np.float64],
) -> ParsedFrames:
    """Validate frame headers, vectorised; keep the valid frames in arrival order.

    Versions 1 and 2 are read (version 1's byte 15 must be 0; version 2's
    ``flags2`` bits this host does not know are ignored). Never raises.
    """
    n_frames = offsets.shape[0]
    rejected: dict[str, int] = {}

    def reject(mask: npt.NDArray[np.bool_], reason: RejectReason) -> None:
        n = int(mask.sum())
        if n:
            rejected[reason.value] = rejected.get(reason.value, 0) + n

    ok = (lengths >= proto.FRAME_HEADER_SIZE) & (offsets >= 0)
    ok &= offsets + np.maximum(lengths, 0) <= buf.shape[0]
    reject(~ok, RejectReason.TRUNCATED)
    hdr_bytes = np.zeros((n_frames, proto.FRAME_HEADER_SIZE), np.uint8)
    if ok.any():
        idx = offsets[ok, None] + np.arange(proto.FRAME_HEADER_SIZE)
        hdr_bytes[ok] = buf[idx]
    hdr = hdr_bytes.reshape(-1).view(HEADER_DTYPE) if n_frames else np.zeros(0, HEADER_DTYPE)
    count = hdr["count"].astype(np.int64)
    version = hdr["version"]
    checks = (
        (
            (version == proto.FRAME_VERSION) | (version == proto.FRAME_VERSION_1),
            RejectReason.BAD_VERSION,
        ),
        ((count >= 1) & (count <= proto.MAX_SAMPLES_PER_FRAME), RejectReason.BAD_COUNT),
        (
            lengths == proto.FRAME_HEADER_SIZE + proto.SAMPLE_SIZE * count,
            RejectReason.LENGTH_MISMATCH,
        ),
        (np.isin(hdr["rate_hz"], proto.SUPPORTED_RATES_HZ), RejectReason.BAD_RATE),
        (
            (version != proto.FRAME_VERSION_1) | (hdr["flags2"] == 0),
            RejectReason.BAD_RESERVED,
        ),
    )
    for good, reason in checks:
        reject(ok & ~good, reason)
        ok &= good
    keep = np.flatnonzero(ok)
    return ParsedFrames(
        header=hdr[keep], arrival_s=arrival_s[keep], offset=offsets[keep], rejected=rejected
    )


def period_us(rate_hz: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Nominal sample period in whole µs (exact for every supported rate)."""
    return 1_000_000 // np.asarray(rate_hz, dtype=np.int64)


def signed32(x: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Values modulo 2**32 as signed differences in [-2**31, 2**31)."""
    v = np.asarray(x, dtype=np.int64) % WRAP_32
    return np.where(v >= WRAP_32 // 2, v - WRAP_32, v)


def clock_consistent(
    t_a: npt.ArrayLike,
    t_b: npt.ArrayLike,
    index_a: npt.ArrayLike,
    index_b: npt.ArrayLike,
    rate_hz: npt.ArrayLike,
) -> npt.NDArray[np.bool_]:
    """Whether two frames' (32-bit index, 32-bit board time) pairs agree, at one rate.

    The index step times the period must match the clock step (both taken as
    signed 32-bit differences) within :data:`CLOCK_TOL_BASE_US` plus
    :data:`CLOCK_TOL_REL` of it. Frames more than 35 min apart (the clock's
    half wrap) do not agree: a stream that resumes after so long is a new step.
    """
    di = signed32(np.asarray(index_a, np.int64) - np.asarray(index_b, np.int64))
    dt = signed32(np.asarray(t_a, np.int64) - np.asarray(t_b, np.int64))
    expect = di * period_us(rate_hz)
    tol = CLOCK_TOL_BASE_US + CLOCK_TOL_REL * np.abs(expect)
    return np.asarray(np.abs(dt - expect) <= tol)


def clock_outliers(header: npt.NDArray[np.void]) -> npt.NDArray[np.bool_]:
    """Frames (in arrival order) whose index/clock pair disagrees with most neighbours.

    Each frame is compared with up to two frames before and two after it (at the
    same rate); it is an outlier when it agrees with fewer than half of them. A
    reboot or a rate change is a step, not an outlier: the frames on each side
    agree with their own side.
    """
    n = header.shape[0]
    out = np.zeros(n, bool)
    if n < 3:
        return out
    first = header["first_index"].astype(np.int64)
    t = header["t_us"].astype(np.int64)
    rate = header["rate_hz"].astype(np.int64)
    agree = np.zeros(n, np.int64)
    comparable = np.zeros(n, np.int64)
    for shift in (1, 2):
        a, b = slice(shift, None), slice(None, -shift)
        same = rate[a] == rate[b]
        ok = clock_consistent(t[a], t[b], first[a], first[b], rate[a]) & same
        for sl in (a, b):
            comparable[sl] += same
            agree[sl] += ok
    out = (comparable > 0) & (2 * agree < comparable)
    return np.asarray(out)


def decode_buffer(
    buffer: bytes | bytearray | memoryview | npt.NDArray[np.uint8],
    offsets: npt.ArrayLike,
    lengths: npt.ArrayLike,
    arrival_s: npt.ArrayLike | None = None,
) -> DecodedFrames:
    """Decode frames stored back to back in one buffer.

    Parameters
    ----------
    buffer
        Bytes holding all frames.
    offsets, lengths
        Start and length of each frame in ``buffer``, in arrival order.
    arrival_s
        Host arrival time of each frame (seconds); ``NaN`` when unknown.

    Returns
    -------
    DecodedFrames
        Accepted samples sorted by sample index, and the report. Never raises
        on bad frame content. A frame whose index and board time disagree with
        the frames around it is rejected (``clock_mismatch``): one flipped bit
        in an index must not move samples hours away.
    """
    buf = np.frombuffer(buffer, dtype=np.uint8) if not isinstance(buffer, np.ndarray) else buffer
    off = np.asarray(offsets, dtype=np.int64)
    ln = np.asarray(lengths, dtype=np.int64)
    n_frames = off.shape[0]
    arr = (
        np.full(n_frames, np.nan) if arrival_s is None else np.asarray(arrival_s, dtype=np.float64)
    )
    report = StreamReport(frames_received=n_frames)
    parsed = parse_buffer(buf, off, ln, arr)
    rejected = dict(parsed.rejected)

    def reject(mask: npt.NDArray[np.bool_], reason: RejectReason) -> None:
        n = int(mask.sum())
        if n:
            rejected[reason.value] = rejected.get(reason.value, 0) + n

    h = parsed.header
    bad_clock = clock_outliers(h)
    reject(bad_clock, RejectReason.CLOCK_MISMATCH)
    good_clock = ~bad_clock
    h, frame_off, arr_kept = h[good_clock], parsed.offset[good_clock], parsed.arrival_s[good_clock]
    first = _unwrap_u32(h["first_index"].astype(np.int64))
    if first.size and first.min() < 0:  # a later-arriving frame came from before a wrap
        first += WRAP_32
    # order by sample index (stable: the first arrival of a duplicate wins)
    order = np.argsort(first, kind="stable")
    report.out_of_order = int(np.sum(np.diff(order) < 0)) if order.size > 1 else 0
    h, first, frame_off, arr_kept = h[order], first[order], frame_off[order], arr_kept[order]
    cnt = h["count"].astype(np.int64)
    end = first + cnt
    if h.size:
        prev_end = np.concatenate(([first[0]], np.maximum.accumulate(end)[:-1]))
        dup = np.zeros(h.size, bool)
        dup[1:] = end[1:] <= prev_end[1:]
        overlap = np.zeros(h.size, bool)
        overlap[1:] = (first[1:] < prev_end[1:]) & ~dup[1:]
        reject(dup, RejectReason.DUPLICATE)
        reject(overlap, RejectReason.OVERLAP)
        good = ~(dup | overlap)
        h, first, cnt, end = h[good], first[good], cnt[good], end[good]
        frame_off, arr_kept = frame_off[good], arr_kept[good]
    report.rejected = rejected
    report.frames_accepted = int(h.size)

    if h.size > 1:
        missing = first[1:] - end[:-1]
        holes = np.flatnonzero(missing > 0)
        report.gaps = [(int(end[i]), int(missing[i])) for i in holes]
        report.samples_lost = int(missing[holes].sum())
    report.overflow_frames = int(np.count_nonzero(h["flags"] & proto.FLAG_FIFO_OVERFLOW))
    backfill = (h["version"] >= proto.FRAME_VERSION) & ((h["flags2"] & proto.FLAG2_BACKFILL) != 0)
    report.backfill_frames = int(np.count_nonzero(backfill))

    raw, within, frame_of_sample = _gather_samples(buf, frame_off, cnt)
    sample_index = first[frame_of_sample] + within

    meta = np.zeros(h.size, FRAME_META_DTYPE)
    meta["flags"] = h["flags"]
    meta["flags2"] = np.where(h["version"] >= proto.FRAME_VERSION, h["flags2"], 0)
    meta["seq"] = h["seq"]
    meta["first_index"] = first
    meta["rate_hz"] = h["rate_hz"]
    meta["count"] = cnt
    meta["arrival_s"] = arr_kept
    meta["t_us"] = _unwrap_time_us(
        h["t_us"].astype(np.int64), first, h["rate_hz"].astype(np.float64)
    )
    return DecodedFrames(
        raw=raw, sample_index=sample_index.astype(np.int64), frames=meta, report=report
    )


def _gather_samples(
    buf: npt.NDArray[np.uint8], frame_offset: npt.NDArray[np.int64], count: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The frames' samples in one ``(n, 6)`` int16 array (one gather, no per-sample loop).

    Also returns each sample's position in its frame and its frame number.
    """
    n_samples = int(count.sum())
    frame_of_sample = np.repeat(np.arange(count.size), count)
    starts = np.cumsum(count) - count
    within = np.arange(n_samples) - starts[frame_of_sample]
    byte_off = frame_offset[frame_of_sample] + proto.FRAME_HEADER_SIZE + proto.SAMPLE_SIZE * within
    sample_bytes = buf[byte_off[:, None] + np.arange(proto.SAMPLE_SIZE)]
    raw = sample_bytes.reshape(-1).view(">i2").reshape(n_samples, 6).astype(np.int16)
    return raw, within, frame_of_sample


def decode_frames(
    payloads: Sequence[bytes | bytearray | memoryview], arrival_s: npt.ArrayLike | None = None
) -> DecodedFrames:
    """Decode a sequence of notification payloads (in arrival order).

    Parameters
    ----------
    payloads
        One ``bytes`` per BLE notification.
    arrival_s
        Host arrival time per payload, seconds.

    Returns
    -------
    DecodedFrames
        See :func:`decode_buffer`.
    """
    lengths = np.fromiter((len(p) for p in payloads), dtype=np.int64, count=len(payloads))
    offsets = np.cumsum(lengths) - lengths
    joined = b"".join(bytes(p) for p in payloads)
    return decode_buffer(joined, offsets, lengths, arrival_s)


@dataclass(frozen=True)
class Timebase:
    """Board sample clock estimated from frame timestamps.

    Attributes
    ----------
    rate_hz
        Estimated true sample rate (board µs clock as reference).
    nominal_rate_hz
        Rate the board was set to.
    residual_us
        Robust spread (1.4826 MAD) of timestamps around the fitted line.
    """

    rate_hz: float
    nominal_rate_hz: float
    residual_us: float

    @property
    def period_s(self) -> float:
        """Estimated sample period in seconds."""
        return 1.0 / self.rate_hz

    @property
    def rate_error_pct(self) -> float:
        """Deviation of the true rate from the nominal, in percent."""
        return 100.0 * (self.rate_hz / self.nominal_rate_hz - 1.0)


def fit_timebase(decoded: DecodedFrames) -> Timebase:
    """Estimate the true sample rate from frame indices and board timestamps.

    Parameters
    ----------
    decoded
        Output of :func:`decode_frames`, with at least one frame.

    Returns
    -------
    Timebase
        The fitted clock.
    """
    fr = decoded.frames
    if fr.size == 0:
        raise ValueError("no frames to fit a timebase to")
    nominal = float(np.median(fr["rate_hz"]))
    x = fr["first_index"].astype(np.float64)
    y = fr["t_us"].astype(np.float64)
    if fr.size < 3 or np.ptp(x) == 0:
        return Timebase(rate_hz=nominal, nominal_rate_hz=nominal, residual_us=0.0)
    x0, y0 = x[0], y[0]
    slope, icpt = np.polyfit(x - x0, y - y0, 1)
    resid = (y - y0) - (slope * (x - x0) + icpt)
    mad = float(np.median(np.abs(resid - np.median(resid)))) * 1.4826
    inliers = np.abs(resid) <= max(3 * mad, 1.0)
    if inliers.sum() >= 3:
        slope, icpt = np.polyfit(x[inliers] - x0, y[inliers] - y0, 1)
    rate = 1e6 / slope if slope > 0 else nominal
    # a board clock more than 10 % off its nominal rate is implausible: keep nominal
    if not (0.9 * nominal < rate < 1.1 * nominal):
        rate = nominal
    return Timebase(rate_hz=float(rate), nominal_rate_hz=nominal, residual_us=mad)


def to_recording(decoded: DecodedFrames, *, source: str = "") -> ImuRecording:
    """Convert decoded frames to an :class:`~strideguard.imudata.ImuRecording`.

    Lost samples are not invented: the time axis has holes where samples were
    lost, listed in ``ImuRecording.gaps``; frames flagged with a pain mark give
    ``pain_marks_s``.

    Parameters
    ----------
    decoded
        Output of :func:`decode_frames` with at least one sample.
    source
        Label stored in the recording.

    Returns
    -------
    ImuRecording
        Sensor-frame data in physical units.
    """
    if decoded.n_samples == 0:
        raise ValueError("no samples decoded")
    tb = fit_timebase(decoded)
    i0 = decoded.sample_index[0]
    time_s = (decoded.sample_index - i0) * tb.period_s
    gaps = [
        ((a - i0 - 1) * tb.period_s, (a - i0 + n) * tb.period_s) for a, n in decoded.report.gaps
    ]
    fr = decoded.frames
    pain = fr["first_index"][(fr["flags"] & proto.FLAG_PAIN_MARK) != 0]
    return ImuRecording(
        time_s=time_s.astype(np.float64),
        acc_mps2=decoded.acc_mps2,
        gyr_dps=decoded.gyr_dps,
        sampling_rate_hz=tb.rate_hz,
        source=source,
        acc_range_g=float(proto.ACC_RANGE_G),
        gyr_range_dps=float(proto.GYR_RANGE_DPS),
        pain_marks_s=((pain - i0) * tb.period_s).astype(np.float64),
        gaps=gaps,
    )


def encode_frames(
    raw: npt.NDArray[np.integer],
    *,
    rate_hz: int,
    mtu: int = proto.PREFERRED_MTU,
    first_index: int = 0,
    t0_us: int = 0,
    clock_scale: float = 1.0,
    flags: npt.ArrayLike | None = None,
    version: int = proto.FRAME_VERSION,
) -> list[bytes]:
    """Pack int16 samples into stream frames, as the board would (host side).

    Used by the simulator, the virtual peripheral and tests. The firmware has
    its own allocation-free encoder using the same :mod:`strideguard.protocol`
    layout; cross-runtime tests check both agree.

    Parameters
    ----------
    raw
        ``(n, 6)`` integer counts (clipped to int16).
    rate_hz
        Nominal rate written into each frame.
    mtu
        Negotiated ATT MTU; frames carry ``samples_per_frame(mtu)`` samples.
    first_index
        Running index of ``raw[0]``.
    t0_us
        Board clock at ``raw[0]``.
    clock_scale
        True sample period / nominal period (models the sensor's clock error).
    flags
        Optional per-sample flag bits, OR-ed into the frame carrying the sample.
    version
        Frame version to write (1: an older board, byte 15 reserved).

    Returns
    -------
    list of bytes
        One payload per notification. Empty when ``mtu`` cannot carry a sample.
    """
    per = proto.samples_per_frame(mtu)
    if per == 0:
        return []
    data = np.clip(np.asarray(raw), -32768, 32767).astype(">i2")
    n = data.shape[0]
    starts = np.arange(0, n, per)
    fl = None if flags is None else np.asarray(flags, dtype=np.uint8)
    out: list[bytes] = []
    hdr = np.zeros(1, HEADER_DTYPE)
    for k, s in enumerate(starts):
        e = min(s + per, n)
        hdr["version"] = version
        hdr["flags"] = 0 if fl is None else int(np.bitwise_or.reduce(fl[s:e]))
        hdr["seq"] = k & 0xFFFF
        hdr["first_index"] = (first_index + s) & 0xFFFFFFFF
        hdr["t_us"] = round(t0_us + s * clock_scale * 1e6 / rate_hz) & 0xFFFFFFFF
        hdr["rate_hz"] = rate_hz
        hdr["count"] = e - s
        out.append(hdr.tobytes() + data[s:e].tobytes())
    return out


class BoardClock:
    """Running estimate of the board's sample clock, frame by frame (live path).

    The incremental counterpart of :func:`fit_timebase`: a least-squares line
    of the unwrapped board timestamps ``t_us`` against the running sample
    index, updated with every frame, so live times follow the board's true
    sample rate rather than host arrival times.

    Attributes
    ----------
    rate_hz
        Current estimate of the true sample rate (nominal until 3 frames).
    nominal_rate_hz
        Rate written in the latest frame.
    """

    def __init__(self) -> None:
        self.rate_hz = float(proto.DEFAULT_RATE_HZ)
        self.nominal_rate_hz = float(proto.DEFAULT_RATE_HZ)
        self._origin_index: int | None = None
        self._last_t: int | None = None
        self._last_index = 0
        self._t = 0.0
        self._n = 0
        self._sx = self._sy = self._sxx = self._sxy = 0.0

    def add_frames(self, frames: npt.NDArray[np.void]) -> None:
        """Add frames (:data:`FRAME_META_DTYPE`, running ``first_index``)."""
        for first, t_us, rate in zip(
            frames["first_index"].tolist(),
            frames["t_us"].tolist(),
            frames["rate_hz"].tolist(),
            strict=True,
        ):
            self.nominal_rate_hz = float(rate)
            if self._origin_index is None:
                self._origin_index = first
                self.rate_hz = float(rate)
            t_raw = int(t_us) & 0xFFFFFFFF
            if self._last_t is not None:
                dt = (t_raw - self._last_t) % WRAP_32
                expected = (first - self._last_index) * 1e6 / rate
                dt += round((expected - dt) / WRAP_32) * WRAP_32
                self._t += dt
            self._last_t = t_raw
            self._last_index = first
            x = float(first - self._origin_index)
            self._n += 1
            self._sx += x
            self._sy += self._t
            self._sxx += x * x
            self._sxy += x * self._t
            if self._n >= 3:
                den = self._n * self._sxx - self._sx * self._sx
                if den > 0:
                    slope = (self._n * self._sxy - self._sx * self._sy) / den
                    if slope > 0 and 0.9 * rate < 1e6 / slope < 1.1 * rate:
                        self.rate_hz = 1e6 / slope

    @property
    def origin_index(self) -> int:
        """Running index of the first sample seen (time 0), 0 before any frame."""
        return self._origin_index or 0

    def time_s(self, index: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Seconds since the first sample seen, for running sample ``index``."""
        origin = self._origin_index or 0
        return (np.asarray(index, dtype=np.float64) - origin) / self.rate_hz
