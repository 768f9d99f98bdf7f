"""Turn a simulated recording into BLE stream frames, with link faults.

The board packs ``samples_per_frame(mtu)`` samples per notification (layout in
:mod:`strideguard.protocol`, packing by :func:`strideguard.frames.encode_frames`);
the link then loses frames at random and in bursts, duplicates and reorders
some, and drops out for a few seconds at a time (frames built during a
disconnect are never sent; the first frame after it carries
``FLAG_STREAM_START``). The result is the list of ``(arrival_s, payload)`` the
host would see, plus the ground truth of what was lost, so decoder and live
path can be checked against it.

At the default ATT MTU of 23 a notification carries 20 bytes, less than one
16-byte header plus one 12-byte sample: the board refuses to stream and
:func:`make_frames` returns no frames with ``refused`` set.

Arrival times are on the recording's time axis (0 = first sample): a frame
leaves at the next BLE connection event after its last sample was taken and
arrives ``latency_s`` later.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from strideguard import protocol as proto
from strideguard.atomic import AtomicOutputs
from strideguard.frames import encode_frames
from strideguard_devkit.sim.core import SimRun

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LinkFaults:
    """What the radio link does to the frames.

    Attributes
    ----------
    loss_rate
        Probability that any single frame is lost (independent losses).
    burst_rate
        Probability per frame that a loss burst starts.
    burst_mean_frames
        Mean length of a burst in frames (geometric).
    duplicate_rate
        Probability that a delivered frame arrives twice.
    reorder_rate
        Probability that a delivered frame arrives after its successor.
    disconnects
        ``(start_s, duration_s)`` outages.
    random_disconnects
        Additional outages of 2–5 s at random times.
    latency_s
        Radio and stack latency after the connection event.
    connection_interval_s
        BLE connection interval; frames leave at connection events.
    """

    loss_rate: float = 0.0
    burst_rate: float = 0.0
    burst_mean_frames: float = 8.0
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    disconnects: tuple[tuple[float, float], ...] = ()
    random_disconnects: int = 0
    latency_s: float = 0.008
    connection_interval_s: float = 0.015

    def __post_init__(self) -> None:
        for name in ("loss_rate", "burst_rate", "duplicate_rate", "reorder_rate"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {v}")
        if self.burst_mean_frames < 1.0:
            raise ValueError("burst_mean_frames must be at least 1")
        if self.connection_interval_s <= 0 or self.latency_s < 0:
            raise ValueError("connection interval must be > 0 and latency >= 0")


@dataclass
class TransportTruth:
    """What the link did, per frame number (the order the board built them).

    Attributes
    ----------
    n_frames_built
        Frames the board packed.
    dropped_random, dropped_burst, dropped_disconnect
        Frame numbers lost by each cause (a frame counts under the first cause
        that hit it, in this order: disconnect, burst, random).
    duplicated
        Frame numbers delivered twice.
    reordered
        Frame numbers delivered after their successor.
    disconnects_s
        ``(start_s, end_s)`` outages.
    lost_samples
        ``(first_index, n)`` runs of samples that never arrived.
    """

    n_frames_built: int
    dropped_random: IntArray
    dropped_burst: IntArray
    dropped_disconnect: IntArray
    duplicated: IntArray
    reordered: IntArray
    disconnects_s: list[tuple[float, float]]
    lost_samples: list[tuple[int, int]]

    @property
    def dropped(self) -> IntArray:
        """All lost frame numbers, sorted."""
        return np.sort(
            np.concatenate([self.dropped_random, self.dropped_burst, self.dropped_disconnect])
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "n_frames_built": self.n_frames_built,
            "dropped_random": int(self.dropped_random.size),
            "dropped_burst": int(self.dropped_burst.size),
            "dropped_disconnect": int(self.dropped_disconnect.size),
            "duplicated": int(self.duplicated.size),
            "reordered": int(self.reordered.size),
            "disconnects_s": [[round(a, 4), round(b, 4)] for a, b in self.disconnects_s],
            "lost_samples": [{"first_index": a, "n": b} for a, b in self.lost_samples],
        }


@dataclass
class FrameStream:
    """Notifications as the host receives them.

    Attributes
    ----------
    frames
        ``(arrival_s, payload)`` in arrival order.
    mtu
        Negotiated ATT MTU.
    samples_per_frame
        Samples per full frame (0 when refused).
    rate_hz
        Nominal rate written into the frames.
    refused
        Why no frame was sent (MTU too small), else ``None``.
    truth
        What the link did.
    """

    frames: list[tuple[float, bytes]]
    mtu: int
    samples_per_frame: int
    rate_hz: int
    refused: str | None
    truth: TransportTruth

    @property
    def payloads(self) -> list[bytes]:
        """Payloads in arrival order."""
        return [p for _, p in self.frames]

    @property
    def arrival_s(self) -> npt.NDArray[np.float64]:
        """Arrival times in arrival order."""
        return np.array([t for t, _ in self.frames], dtype=float)


def _runs(frames: IntArray) -> list[tuple[int, int]]:
    """Contiguous runs ``(first, length)`` of sorted integers."""
    if frames.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(frames) != 1)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [frames.size - 1]))
    return [
        (int(frames[a]), int(frames[b] - frames[a] + 1)) for a, b in zip(starts, ends, strict=True)
    ]


def burst_rate_for(loss_share: float, mean_burst_frames: float) -> float:
    """The ``burst_rate`` that loses ``loss_share`` of all frames in bursts of that mean length.

    A Gilbert–Elliott link in its simplest form: a "bad" state that loses
    every frame, entered with probability ``burst_rate`` per frame and left
    after a geometric number of frames (mean ``mean_burst_frames``). Bursts
    starting at independent frames cover a given frame with probability
    ``1 - exp(-burst_rate * mean_burst_frames)``, so that is the share lost.

    Parameters
    ----------
    loss_share
        Share of frames lost overall (0–1).
    mean_burst_frames
        Mean burst length in frames (≥ 1).

    Returns
    -------
    float
        Per-frame probability that a burst starts.
    """
    if not 0.0 <= loss_share < 1.0 or mean_burst_frames < 1.0:
        raise ValueError("need 0 <= loss_share < 1 and mean_burst_frames >= 1")
    return float(-np.log1p(-loss_share) / mean_burst_frames)


def _burst_mask(n: int, faults: LinkFaults, rng: np.random.Generator) -> npt.NDArray[np.bool_]:
    """Gilbert-style bursts: start with ``burst_rate``, geometric length."""
    mask = np.zeros(n, bool)
    if faults.burst_rate <= 0 or n == 0:
        return mask
    starts = np.flatnonzero(rng.random(n) < faults.burst_rate)
    lengths = rng.geometric(1.0 / faults.burst_mean_frames, starts.size)
    for s, ln in zip(starts, lengths, strict=True):
        mask[s : s + ln] = True
    return mask


def make_frames(
    run: SimRun,
    *,
    mtu: int = proto.PREFERRED_MTU,
    faults: LinkFaults | None = None,
    seed: int = 0,
    first_index: int = 0,
    t0_us: int = 0,
) -> FrameStream:
    """Pack a simulated run into notifications and pass them through a faulty link.

    Parameters
    ----------
    run
        A :class:`~strideguard_devkit.sim.SimRun`; its nominal rate must be one the
        board supports (:data:`strideguard.protocol.SUPPORTED_RATES_HZ`).
    mtu
        Negotiated ATT MTU (23 gives no frames: see ``refused``).
    faults
        Link behaviour; ``None`` is a perfect link.
    seed
        Seed of the link's randomness.
    first_index, t0_us
        Board sample counter and microsecond clock at the first sample (to
        exercise wrap-around).

    Returns
    -------
    FrameStream
        Frames in arrival order and the truth of what was lost.
    """
    faults = faults or LinkFaults()
    rate = round(run.nominal_rate_hz)
    if rate not in proto.SUPPORTED_RATES_HZ or abs(rate - run.nominal_rate_hz) > 1e-9:
        raise ValueError(
            f"the board streams at {', '.join(map(str, proto.SUPPORTED_RATES_HZ))} Hz, "
            f"not {run.nominal_rate_hz:g} Hz"
        )
    per = proto.samples_per_frame(mtu)
    empty = np.zeros(0, np.int64)
    if per == 0:
        need = proto.ATT_OVERHEAD + proto.FRAME_HEADER_SIZE + proto.SAMPLE_SIZE
        return FrameStream(
            frames=[],
            mtu=mtu,
            samples_per_frame=0,
            rate_hz=rate,
            refused=(
                f"MTU {mtu} leaves {max(mtu - proto.ATT_OVERHEAD, 0)} bytes per notification; "
                f"one sample needs MTU >= {need}: the board does not stream"
            ),
            truth=TransportTruth(0, empty, empty, empty, empty, empty, [], []),
        )
    rng = np.random.default_rng([int(seed), 7919])
    raw = run.raw
    n = raw.shape[0]
    time_s = run.recording.time_s
    n_frames = (n + per - 1) // per
    frame_first = np.arange(n_frames) * per
    frame_last = np.minimum(frame_first + per, n) - 1
    ready_s = time_s[frame_last] if n else np.zeros(0)

    # outages
    spans = [(float(a), float(a) + float(d)) for a, d in faults.disconnects]
    duration = float(time_s[-1]) if n else 0.0
    for _ in range(faults.random_disconnects):
        a = float(rng.uniform(0.1 * duration, 0.9 * duration))
        spans.append((a, a + float(rng.uniform(2.0, 5.0))))
    spans.sort()
    in_outage = np.zeros(n_frames, bool)
    for a, b in spans:
        in_outage |= (ready_s >= a) & (ready_s < b)
    burst = _burst_mask(n_frames, faults, rng) & ~in_outage
    rand = (rng.random(n_frames) < faults.loss_rate) & ~in_outage & ~burst
    delivered = ~(in_outage | burst | rand)

    # per-sample flags: saturation, pain marks, (re)start of the stream
    flags = np.zeros(n, np.uint8)
    sat = np.any((raw == 32767) | (raw == -32768), axis=1)
    flags[sat] |= proto.FLAG_SATURATED
    for p in run.recording.pain_marks_s:
        i = int(np.searchsorted(time_s, p))
        if i < n:
            flags[i] |= proto.FLAG_PAIN_MARK
    restart = np.flatnonzero(~in_outage & np.concatenate(([True], in_outage[:-1])))
    flags[frame_first[restart]] |= proto.FLAG_STREAM_START
    clock_scale = run.nominal_rate_hz / run.recording.sampling_rate_hz
    payloads = encode_frames(
        raw,
        rate_hz=rate,
        mtu=mtu,
        first_index=first_index,
        t0_us=t0_us,
        clock_scale=clock_scale,
        flags=flags,
    )

    ci = faults.connection_interval_s
    depart = np.ceil((ready_s + 1e-4) / ci) * ci
    arrival = depart + faults.latency_s + rng.uniform(0.0, 0.002, n_frames)
    # notifications keep their order unless a reordering fault says otherwise
    arrival = np.maximum.accumulate(arrival) + np.arange(n_frames) * 1e-7
    idx = np.flatnonzero(delivered)
    # reorder: a frame arrives just after its delivered successor
    reorder = np.zeros(n_frames, bool)
    if idx.size > 1 and faults.reorder_rate > 0:
        pick = rng.random(idx.size - 1) < faults.reorder_rate
        pick &= ~np.concatenate(([False], pick[:-1]))  # no chains
        src, nxt = idx[:-1][pick], idx[1:][pick]
        arrival[src] = arrival[nxt] + 5e-8  # right after its successor
        reorder[src] = True
    dup = np.zeros(n_frames, bool)
    if faults.duplicate_rate > 0:
        dup[idx] = rng.random(idx.size) < faults.duplicate_rate
    items = [(float(arrival[i]), int(i), payloads[i]) for i in idx]
    # a duplicate (link-layer retransmission) arrives right after the original
    items += [(float(arrival[i]) + 2e-8, int(i), payloads[i]) for i in np.flatnonzero(dup)]
    items.sort(key=lambda x: (x[0], x[1]))
    frames = [(float(a), p) for a, _, p in items]

    lost_frames = np.flatnonzero(~delivered)
    lost_samples = [
        (first_index + int(frame_first[a]), int(frame_last[a + ln - 1] - frame_first[a] + 1))
        for a, ln in _runs(lost_frames)
    ]
    truth = TransportTruth(
        n_frames_built=int(n_frames),
        dropped_random=np.flatnonzero(rand),
        dropped_burst=np.flatnonzero(burst),
        dropped_disconnect=np.flatnonzero(in_outage),
        duplicated=np.flatnonzero(dup),
        reordered=np.flatnonzero(reorder),
        disconnects_s=spans,
        lost_samples=lost_samples,
    )
    return FrameStream(
        frames=frames, mtu=mtu, samples_per_frame=per, rate_hz=rate, refused=None, truth=truth
    )


def write_frames_file(
    path: str | Path,
    streams: list[FrameStream],
    *,
    sensors: list[str],
    meta: dict[str, Any],
    outputs: AtomicOutputs | None = None,
) -> int:
    """Write frame streams as a raw-frame recording (:mod:`strideguard.recording`).

    The file is written whole or not at all: through ``outputs`` (renamed when
    its block ends), or renamed here.

    Parameters
    ----------
    path
        New ``.sgrec`` file (an existing one is replaced).
    outputs
        Where the other files of the same command are written.
    streams
        One per sensor (stream numbers 0, 1, ...).
    sensors
        Sensor names for the header.
    meta
        Extra header fields (scenario, seed, ...).

    Returns
    -------
    int
        Frames written.
    """
    from strideguard.recording import RecordingWriter

    if outputs is None:
        with AtomicOutputs(what=str(path)) as own:
            return write_frames_file(path, streams, sensors=sensors, meta=meta, outputs=own)
    records: list[tuple[float, int, int, bytes | dict[str, Any]]] = []
    for s, stream in enumerate(streams):
        records.append((0.0, s, 0, {"event": "mtu", "mtu": stream.mtu}))
        for a, b in stream.truth.disconnects_s:
            records.append((a, s, 0, {"event": "disconnect"}))
            records.append((b, s, 0, {"event": "connect"}))
        records += [(t, s, 1, p) for t, p in stream.frames]
    records.sort(key=lambda r: (r[0], r[2], r[1]))
    header = {
        "sensors": sensors,
        "source": "simulator",
        "mtu": [s.mtu for s in streams],
        "rate_hz": [s.rate_hz for s in streams],
        **meta,
    }
    n_frames = 0
    with RecordingWriter(outputs.path(path), header) as rec:
        for t, s, _kind, item in records:
            if isinstance(item, dict):
                rec.append_event(item, arrival_s=t, stream=s)
            else:
                rec.append_frame(item, arrival_s=t, stream=s)
                n_frames += 1
    return n_frames
