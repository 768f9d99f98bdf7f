"""Strides and samples through a lossy link: live path and offline analysis against the truth.

A simulated run is packed into BLE frames, passed through a faulty link
(:func:`~strideguard_devkit.sim.transport.make_frames`), written as a
recording, and then read back twice, exactly as a user would:

* **live** — :func:`strideguard.live.run.replay`, the live pipeline
  (assembler, board clock, streaming analysis, alert policy);
* **offline** — :func:`strideguard.load.load_recording` and
  :func:`strideguard.analysis.analyze`, what ``strideguard analyze`` runs.

Both are compared with the simulator's ground truth: how many of the true
strides each found (an initial contact within :data:`MATCH_TOLERANCE_S` of
the true one), how many of the strides that lost no sample, how many samples
were lost and whether every gap was reported with its exact first index and
length. No backfill is involved: these are the numbers for a board that does
not resend.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from strideguard_devkit.sim.core import SimRun
from strideguard_devkit.sim.transport import LinkFaults, burst_rate_for, make_frames

#: a found stride matches a true one when their initial contacts are this close
#: (well inside half a stride; the IC error itself is a few ms)
MATCH_TOLERANCE_S = 0.04


@dataclass(frozen=True)
class LinkCondition:
    """A named link behaviour.

    Attributes
    ----------
    name
        Short label for tables.
    faults
        What the link does to the frames.
    """

    name: str
    faults: LinkFaults


def standard_conditions(duration_s: float) -> list[LinkCondition]:
    """The link conditions of the link-loss benchmark (docs/link-loss.md).

    * no loss (reference);
    * 1 % of frames lost at random;
    * bursty loss, Gilbert–Elliott style: 2 % of frames lost in bursts of 5 frames on average;
    * disconnects of 2 s and 4 s in turn, one every 60 s (from 30 s);
    * one disconnect of 20 s in the middle of the run.
    """
    every = [(30.0 + 60.0 * k, 2.0 if k % 2 == 0 else 4.0) for k in range(int(duration_s // 60))]
    every = [(a, d) for a, d in every if a + d < duration_s - 5.0]
    mid = max(10.0, 0.5 * duration_s - 10.0)
    return [
        LinkCondition("no loss", LinkFaults()),
        LinkCondition("1 % random", LinkFaults(loss_rate=0.01)),
        LinkCondition(
            "bursty 2 % (mean 5 frames)",
            LinkFaults(burst_rate=burst_rate_for(0.02, 5.0), burst_mean_frames=5.0),
        ),
        LinkCondition("disconnects 2 s / 4 s every 60 s", LinkFaults(disconnects=tuple(every))),
        LinkCondition("one 20-s disconnect", LinkFaults(disconnects=((mid, 20.0),))),
    ]


@dataclass
class PathOutcome:
    """What one path (live or offline) found.

    Attributes
    ----------
    strides
        Strides it reported.
    matched
        Of those, how many match a true stride.
    matched_intact
        True strides that lost no sample and were found.
    samples_lost
        Samples it counted as lost.
    gaps
        ``(first_missing_index, n_missing)`` it reported.
    ic_index
        Initial contacts on the board's sample index (fractional).
    """

    strides: int
    matched: int
    matched_intact: int
    samples_lost: int
    gaps: list[tuple[int, int]]
    ic_index: npt.NDArray[np.float64] = field(repr=False)


@dataclass
class LinkOutcome:
    """One run through one link condition.

    Attributes
    ----------
    scenario, condition
        Labels.
    true_strides
        Strides in the simulator's truth.
    intact_strides
        True strides none of whose samples (IC to next IC) was lost.
    samples_lost
        Samples the link really lost (interior runs: a gap at the very end
        cannot be seen by anyone).
    true_gaps
        ``(first_index, n)`` of those runs.
    live, offline
        What each path found.
    same_strides
        Live and offline report the same strides (ICs within 1.5 samples),
        the run's last one included (the end of the recording flushes it).
    live_alerts, offline_alerts
        ``(kind, state, time_s)`` of every alert event, sorted.
    estimated_ic_error_s
        Offline: for each contact hidden in a gap and estimated from its
        neighbours, estimate minus the true contact.
    """

    scenario: str
    condition: str
    true_strides: int
    intact_strides: int
    samples_lost: int
    true_gaps: list[tuple[int, int]]
    live: PathOutcome
    offline: PathOutcome
    same_strides: bool
    live_alerts: list[tuple[str, str, float]] = field(default_factory=list)
    offline_alerts: list[tuple[str, str, float]] = field(default_factory=list)
    estimated_ic_error_s: npt.NDArray[np.float64] = field(
        default_factory=lambda: np.zeros(0), repr=False
    )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "scenario": self.scenario,
            "condition": self.condition,
            "true_strides": self.true_strides,
            "intact_strides": self.intact_strides,
            "samples_lost": self.samples_lost,
            "live": {k: v for k, v in vars(self.live).items() if k != "ic_index"},
            "offline": {k: v for k, v in vars(self.offline).items() if k != "ic_index"},
            "same_strides": self.same_strides,
            "same_alerts": self.live_alerts == self.offline_alerts,
        }


def _match(found: npt.NDArray[np.float64], true: npt.NDArray[np.float64], tol: float) -> np.ndarray:
    """For each true IC, whether a found IC lies within ``tol`` (same units), one-to-one."""
    hit = np.zeros(true.shape, dtype=bool)
    if found.size == 0 or true.size == 0:
        return hit
    found = np.sort(found)
    k = np.clip(np.searchsorted(found, true), 1, found.size - 1)
    nearest = np.where(
        np.abs(found[k - 1] - true) <= np.abs(found[k] - true), found[k - 1], found[k]
    )
    hit = np.abs(nearest - true) <= tol
    # one found stride may not count for two true ones
    _, first = np.unique(nearest[hit], return_index=True)
    keep = np.zeros(int(hit.sum()), dtype=bool)
    keep[first] = True
    hit[np.flatnonzero(hit)[~keep]] = False
    return hit


def evaluate_link(
    run: SimRun,
    condition: LinkCondition,
    *,
    scenario: str = "",
    seed: int = 0,
    workdir: str | Path | None = None,
) -> LinkOutcome:
    """Send ``run`` through ``condition``, record it, and read it back live and offline.

    Parameters
    ----------
    run
        A simulated run (one sensor).
    condition
        The link.
    scenario, seed
        Labels; ``seed`` also seeds the link.
    workdir
        Where the recording is written (a temporary folder by default).

    Returns
    -------
    LinkOutcome
    """
    from strideguard.align import shank_signals
    from strideguard.analysis import analyze
    from strideguard.events import detect_strides
    from strideguard.live.run import replay
    from strideguard.live.streaming import as_arrays
    from strideguard.load import load_recording
    from strideguard.recording import decode_stream, read_recording
    from strideguard_devkit.sim.transport import write_frames_file

    stream = make_frames(run, faults=condition.faults, seed=seed)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / "run.sgrec"
        write_frames_file(path, [stream], sensors=["StrideGuard-R"], meta={"scenario": scenario})
        rec, _ = load_recording(path)
        decoded = decode_stream(read_recording(path))
        off = analyze(rec)
        live_run = replay(path, lambda _e: None)
        live_run.finish()
    pipe = live_run.pipelines[0]
    i0 = int(decoded.sample_index[0])

    true_idx = np.interp(
        run.truth.initial_contact_s,
        run.recording.time_s,
        np.arange(run.recording.n_samples, dtype=np.float64),
    )
    nxt_idx = true_idx + run.truth.stride_time_s * run.recording.sampling_rate_hz
    n = run.recording.n_samples
    lost = np.zeros(n + 1, dtype=np.int64)
    for a, k in stream.truth.lost_samples:
        lost[a] += 1
        lost[min(a + k, n)] -= 1
    lost_mask = np.cumsum(lost[:-1]) > 0
    cum = np.concatenate(([0], np.cumsum(lost_mask)))
    lo = np.clip(np.floor(true_idx).astype(np.int64), 0, n)
    hi = np.clip(np.ceil(nxt_idx).astype(np.int64) + 1, 0, n)
    intact = (cum[hi] - cum[lo]) == 0
    last_received = int(decoded.sample_index[-1])
    true_gaps = [(a, k) for a, k in stream.truth.lost_samples if a > i0 and a + k <= last_received]
    tol = MATCH_TOLERANCE_S * run.recording.sampling_rate_hz

    def outcome(
        ic_idx: npt.NDArray[np.float64], lost_n: int, gaps: list[tuple[int, int]]
    ) -> PathOutcome:
        hit = _match(ic_idx, true_idx, tol)
        return PathOutcome(
            strides=int(ic_idx.size),
            matched=int(hit.sum()),
            matched_intact=int((hit & intact).sum()),
            samples_lost=lost_n,
            gaps=gaps,
            ic_index=ic_idx,
        )

    ic_off = i0 + off.strides["initial_contact_s"] * off.sample_rate_hz
    sd = detect_strides(rec, *shank_signals(rec, off.alignment))
    est = i0 + sd.ic_s_[sd.ic_estimated_] * rec.sampling_rate_hz
    k = np.abs(est[:, None] - true_idx[None, :]).argmin(axis=1) if true_idx.size else est
    est_err = (est - true_idx[k]) / run.recording.sampling_rate_hz if est.size else np.zeros(0)
    ic_live = (
        pipe.clock.origin_index + as_arrays(pipe.strides, "initial_contact_s") * pipe.clock.rate_hz
    )
    offline = outcome(ic_off, decoded.report.samples_lost, list(decoded.report.gaps))
    live = outcome(ic_live, pipe.samples_lost, list(pipe.assembler.gaps))
    same = _same_strides(ic_live, ic_off)
    from strideguard.alerts.offline import alerts_for_strides

    policy = alerts_for_strides(
        off.strides.rows(),
        pain_marks_s=rec.pain_marks_s,
        gaps=rec.gaps,
        angle_calibrated=bool(off.alignment.calibrated) if off.alignment else False,
        end_time_s=float(rec.time_s[-1]),
    )

    def alerts(items: Sequence[Any]) -> list[tuple[str, str, float]]:
        return sorted((a.kind.value, a.state.value, round(a.time_s, 1)) for a in items)

    return LinkOutcome(
        scenario=scenario,
        condition=condition.name,
        true_strides=int(true_idx.size),
        intact_strides=int(intact.sum()),
        samples_lost=sum(k for _, k in true_gaps),
        true_gaps=true_gaps,
        live=live,
        offline=offline,
        same_strides=same,
        live_alerts=alerts(pipe.alerts),
        offline_alerts=alerts(policy.alerts_),
        estimated_ic_error_s=np.asarray(est_err, dtype=np.float64),
    )


def _same_strides(live: npt.NDArray[np.float64], offline: npt.NDArray[np.float64]) -> bool:
    """Whether both found the same strides, the last one included."""
    if offline.size != live.size:
        return False
    return bool(np.all(np.abs(np.sort(live) - np.sort(offline)) <= 1.5))


def format_table(outcomes: Sequence[LinkOutcome]) -> str:
    """Markdown table: strides found live and offline against the truth, samples lost."""
    head = (
        "| scenario | link (no backfill) | true strides | found live | found offline "
        "| intact strides found (live / offline) | samples lost (true / live / offline) "
        "| gaps exact | live = offline |\n|---|---|---:|---:|---:|---:|---:|:-:|:-:|"
    )
    rows = [head]
    for o in outcomes:

        def pct(k: int, n: int) -> str:
            return f"{k} ({100.0 * k / n:.1f} %)" if n else "-"

        exact = o.live.gaps == o.true_gaps and o.offline.gaps == o.true_gaps
        rows.append(
            f"| {o.scenario} | {o.condition} | {o.true_strides} | {pct(o.live.matched, o.true_strides)} "
            f"| {pct(o.offline.matched, o.true_strides)} "
            f"| {100.0 * o.live.matched_intact / max(o.intact_strides, 1):.1f} % / "
            f"{100.0 * o.offline.matched_intact / max(o.intact_strides, 1):.1f} % "
            f"| {o.samples_lost} / {o.live.samples_lost} / {o.offline.samples_lost} "
            f"| {'yes' if exact else 'NO'} "
            f"| {'yes' if o.same_strides and o.live_alerts == o.offline_alerts else 'NO'} |"
        )
    return "\n".join(rows)


def bridged_metric_errors(
    run: SimRun, *, loss: float = 0.03, seed: int = 0, names: Sequence[str] = ()
) -> dict[str, npt.NDArray[np.float64]]:
    """What the metrics of flagged strides would be off by if they were read from the bridge.

    The run goes through a link losing ``loss`` of its frames at random; its
    strides are found as usual, and their metrics are then measured twice on
    the bridged signal: once as the analysis does (metrics across a gap left
    out) and once ignoring the gaps. For the flagged strides, the second
    minus the lossless value of the same stride is returned per metric: the
    evidence for leaving them out (docs/analysis.md, Gaps).

    Parameters
    ----------
    run
        A simulated run.
    loss, seed
        Random frame loss (0–1) and the link's seed.
    names
        Metrics to compare (default: tibia angle at IC, gravity z, peak tibial
        acceleration, late-swing peak deceleration).

    Returns
    -------
    dict
        ``{metric: differences}`` over the flagged strides.
    """
    from dataclasses import replace

    from strideguard.align import shank_signals
    from strideguard.analysis import analyze
    from strideguard.events import detect_strides
    from strideguard.metrics import stride_table

    names = tuple(names) or (
        "shank_angle_at_ic_deg",
        "gravity_z",
        "peak_tibial_accel_g",
        "late_swing_peak_decel_dps2",
    )
    clean, c0 = _through_link(run, 0.0, seed)
    lossy, l0 = _through_link(run, loss, seed)
    ref = analyze(clean)
    al = ref.alignment
    gyr_sag, acc_s = shank_signals(lossy, al)
    strides = detect_strides(lossy, gyr_sag, acc_s)
    kept = stride_table(strides, lossy, al, gyr_sagittal_dps=gyr_sag, acc_shank_mps2=acc_s)
    blind = stride_table(
        strides, replace(lossy, gaps=[]), al, gyr_sagittal_dps=gyr_sag, acc_shank_mps2=acc_s
    )
    ic_ref = c0 + ref.strides["initial_contact_s"] * ref.sample_rate_hz
    ic = l0 + kept["initial_contact_s"] * lossy.sampling_rate_hz
    k = np.abs(ic[:, None] - ic_ref[None, :]).argmin(axis=1)
    flagged = kept["gap_in_stride"] > 0
    out = {}
    for name in names:
        d = blind[name][flagged] - ref.strides[name][k[flagged]]
        out[name] = d[np.isfinite(d)]
    return out


def flagged_measured_share(
    run: SimRun, *, loss: float = 0.03, seed: int = 0
) -> tuple[int, dict[str, float]]:
    """Of the strides flagged ``gap_in_stride`` at ``loss`` random frame loss, the share
    that still has each alert feature measured.

    Returns
    -------
    n_flagged, shares
        Number of flagged strides; ``{metric: share measured}``.
    """
    from strideguard.analysis import analyze

    rec, _ = _through_link(run, loss, seed)
    t = analyze(rec).strides
    flagged = t["gap_in_stride"] > 0
    names = (
        "cadence_spm",
        "contact_time_s",
        "peak_midswing_gyr_dps",
        "late_swing_peak_decel_dps2",
        "shank_angle_at_ic_deg",
        "peak_tibial_accel_g",
    )
    n = int(flagged.sum())
    return n, {k: float(np.isfinite(t[k][flagged]).mean()) if n else 0.0 for k in names}


def _through_link(run: SimRun, loss: float, seed: int) -> tuple[Any, int]:
    """``run`` through a link losing ``loss`` of its frames at random, loaded as a file is,
    and the running index of its first received sample."""
    from strideguard.frames import decode_frames, to_recording
    from strideguard.load import from_imu

    stream = make_frames(run, faults=LinkFaults(loss_rate=loss), seed=seed)
    decoded = decode_frames(stream.payloads, stream.arrival_s)
    return from_imu(to_recording(decoded)), int(decoded.sample_index[0])
