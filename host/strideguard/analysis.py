"""The offline analysis pipeline: recording → alignment → events → strides → metrics.

:func:`analyze` is the one entry point used by ``strideguard analyze``; its
:class:`AnalysisResult` serialises to the JSON schema ``strideguard.analysis/1``
documented in ``docs/analysis.md``. The per-stride table
(:class:`~strideguard.metrics.StrideTable`) is what the alert engine consumes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from strideguard.alerts.config import AlertConfig
from strideguard.align import Alignment, ShankAligner
from strideguard.errors import InputError
from strideguard.events import (
    GyroEventDetector,
    ImpactDetector,
    MidSwingDetector,
    _local_median,
    _window_argext,
    impact_onsets,
)
from strideguard.imudata import FloatArray, ImuRecording
from strideguard.metrics import (
    STRIDE_COLUMNS,
    StrideTable,
    late_swing_peak_decel,
    peak_tibial_accel,
    shank_angle_at_ic,
    stride_gravity_direction,
    summarize,
)
from strideguard.overstride import OverstrideAssessor

SCHEMA = "strideguard.analysis/1"
#: steepest rise of |acc| that counts as a tibial impact (m/s³); marker-derived
#: or heavily filtered data stay below it (≤ 2300 m/s³ on the lab data) and keep the gyroscope IC
IMPACT_MIN_SLOPE_MPS3 = 3500.0
#: gait signature (see :class:`~strideguard.align.Alignment`): running and walking swing the
#: shank forward faster than back (margin 1.36–1.56 on lab and simulated runs) about one axis
#: (share ~0.9); noise, cycling or shaking stay near 1.0 / below 0.5
MIN_SIGN_MARGIN = 1.15
MIN_SAGITTAL_SHARE = 0.5
#: largest move of IC from the gyroscope estimate to the impact onset
IMPACT_MAX_SHIFT_S = 0.04
#: the per-stride gravity anchor starts this long after IC (after the impact: see metrics.shank_angle_at_ic)
ANGLE_ANCHOR_DELAY_S = 0.05
#: JSON stride fields, in order
JSON_STRIDE_FIELDS = (
    "initial_contact_s",
    "toe_off_s",
    "mid_swing_s",
    "shank_angle_at_ic_deg",
    "cadence_spm",
    "stride_time_s",
    "contact_time_s",
    "swing_time_s",
    "duty_factor",
    "peak_midswing_gyr_dps",
    "late_swing_duration_s",
    "late_swing_peak_decel_dps2",
    "peak_tibial_accel_g",
    "peak_tibial_accel_clipped",
    "overstride",
    "gravity_x",
    "gravity_y",
    "gravity_z",
    "swing_axis_x",
    "swing_axis_y",
    "swing_axis_z",
)


@dataclass
class StageTimes:
    """Wall-clock seconds per pipeline stage (filled by :func:`analyze`)."""

    alignment_s: float = 0.0
    events_s: float = 0.0
    metrics_s: float = 0.0


@dataclass
class AnalysisResult:
    """Everything :func:`analyze` found.

    Attributes
    ----------
    source, sample_rate_hz, duration_s, leg
        About the recording (``leg`` is ``"L"``, ``"R"`` or ``None``).
    alignment
        Sensor-to-shank alignment (``None`` for accelerometer-only data).
    strides
        Per-stride table (recording clock).
    overstride
        The overstride assessment.
    events_source
        ``"gyroscope"``, ``"gyroscope+impact"`` or ``"accelerometer"``.
    warnings
        Loader and analysis warnings, one line each.
    alerts
        Filled by the alert engine (later); empty here.
    """

    source: str
    sample_rate_hz: float
    duration_s: float
    leg: str | None
    alignment: Alignment | None
    strides: StrideTable
    overstride: OverstrideAssessor
    events_source: str
    warnings: list[str] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    stage_times: StageTimes = field(default_factory=StageTimes)

    def summary(self) -> dict[str, Any]:
        """Run-level summary: counts, metric statistics, overstride."""
        t = self.strides
        n = len(t)
        stats = summarize(t)
        walking = int(np.count_nonzero(t["duty_factor"] > 0.5)) if n else 0
        return {
            "n_strides": n,
            "n_walking_strides": walking,
            "angles_calibrated": bool(self.alignment.calibrated) if self.alignment else False,
            "events_source": self.events_source,
            "metrics": stats,
            "overstride": self.overstride.to_dict(),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict in schema ``strideguard.analysis/1``."""
        rows = self.strides.rows()
        strides = [{k: r.get(k) for k in JSON_STRIDE_FIELDS} for r in rows]
        return {
            "schema": SCHEMA,
            "source": self.source,
            "sample_rate_hz": round(self.sample_rate_hz, 4),
            "duration_s": round(self.duration_s, 3),
            "leg": self.leg,
            "alignment": self.alignment.to_dict() if self.alignment else None,
            "strides": strides,
            "alerts": list(self.alerts),
            "summary": self.summary(),
            "warnings": list(self.warnings),
        }

    def to_json(self, indent: int | None = 1) -> str:
        """Serialise :meth:`to_dict` (NaN never appears: unmeasured values are ``null``)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)

    def to_text(self) -> str:
        """A readable multi-line summary for the terminal."""
        s = self.summary()
        m = s["metrics"]

        def stat(name: str, unit: str, fmt: str = ".2f") -> str:
            v = m.get(name)
            if v is None:
                return "n/a"
            return f"{v['mean']:{fmt}} ± {v['sd']:{fmt}} {unit}".rstrip()

        lines = [
            f"strideguard analysis of {self.source} ({self.duration_s:.1f} s at {self.sample_rate_hz:.0f} Hz"
            + (f", leg {self.leg})" if self.leg else ")"),
            f"  strides            {s['n_strides']} (events from {self.events_source})"
            + (f", {s['n_walking_strides']} walking" if s["n_walking_strides"] else ""),
            f"  cadence            {stat('cadence_spm', 'steps/min', '.1f')}",
            f"  stride time        {stat('stride_time_s', 's', '.3f')}",
            f"  contact time       {stat('contact_time_s', 's', '.3f')}",
            f"  duty factor        {stat('duty_factor', '', '.2f')}",
            f"  mid-swing peak     {stat('peak_midswing_gyr_dps', '°/s', '.0f')}",
            f"  late swing         {stat('late_swing_duration_s', 's', '.3f')}, "
            f"peak deceleration {stat('late_swing_peak_decel_dps2', '°/s²', '.0f')}",
            f"  shank angle at IC  {stat('shank_angle_at_ic_deg', '°', '.1f')}"
            + (
                ""
                if s["angles_calibrated"] or m.get("shank_angle_at_ic_deg") is None
                else " (uncalibrated: relative only)"
            ),
            f"  peak tibial accel  {stat('peak_tibial_accel_g', 'g', '.1f')}",
        ]
        o = s["overstride"]
        if o["overstride_share"] is not None:
            lines.append(
                f"  overstride         {100 * o['overstride_share']:.0f} % of strides > "
                f"{o['threshold_deg']:.0f}° above reference {o['reference_angle_deg']:.1f}° ({o['reference_source']})"
            )
        if o["advice"]:
            lines.append(f"  advice             {o['advice']}")
        if self.alignment is not None:
            a = self.alignment
            lines.append(
                f"  alignment          confidence {a.confidence:.2f}, "
                f"{'calibrated from ' + str(a.calibration_source) if a.calibrated else 'not calibrated'}"
            )
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        return "\n".join(lines)


def _valid_strides(
    ic: FloatArray, nxt: FloatArray, gaps_rel: list[tuple[float, float]]
) -> np.ndarray:
    """Plausible strides: 0.4–2.5 s, within 0.6–1.6× the local median, no gap inside."""
    st = nxt - ic
    ok = np.isfinite(st) & (st > 0.4) & (st < 2.5)
    if ok.any():
        med = np.full(st.shape, np.nan)
        med[ok] = _local_median(st[ok], 5)
        ok &= (st > 0.6 * med) & (st < 1.6 * med)
    for g0, g1 in gaps_rel:
        ok &= ~((ic < g1) & (nxt > g0))
    return ok


def analyze(
    recording: ImuRecording,
    *,
    standing: ImuRecording | None = None,
    leg: str | None = None,
    reference_angle_deg: float | None = None,
    warnings: list[str] | None = None,
    alignment: Alignment | None = None,
    alert_config: AlertConfig | None = None,
) -> AnalysisResult:
    """Analyse a run: alignment, gait events, per-stride metrics, overstride.

    Parameters
    ----------
    recording
        The run (sensor frame, any mounting orientation).
    standing
        Optional quiet-standing recording of the same sensor and mounting.
    leg
        ``"L"`` or ``"R"`` if known (labels only: both legs share the shank frame).
    reference_angle_deg
        Stored overstride reference from the runner's profile.
    warnings
        Warnings from loading, carried into the result.
    alignment
        Use this sensor-to-shank alignment (with its gyro bias and
        calibration) instead of estimating one from ``recording``: the live
        path fixes the alignment after calibration and analyses a sliding
        window with it, and ``analyze`` given the same alignment finds the
        same strides.
    alert_config
        Alert settings (``--alert-config``); the overstride summary uses their
        ``overstride`` section, like the live overstride cue. Default: the defaults.

    Returns
    -------
    AnalysisResult

    Raises
    ------
    InputError
        If no running strides are found (standing still, too short, not a shin sensor).
    """
    import time

    if leg is not None and leg not in ("L", "R"):
        raise InputError(f"leg must be L or R, not {leg!r}")
    warns = list(warnings or [])
    fs = recording.sampling_rate_hz
    t0 = float(recording.time_s[0])
    gaps_rel = [(a - t0, b - t0) for a, b in recording.gaps]
    times = StageTimes()
    tic = time.perf_counter()
    fixed_alignment = alignment is not None
    acc_s: FloatArray | None = None
    gyr_sag: FloatArray | None = None
    acc = recording.acc_mps2
    if recording.gyr_dps is not None:
        if alignment is None:
            alignment = ShankAligner().align(recording, standing=standing).alignment_
        if (
            not fixed_alignment and alignment.sign_margin < MIN_SIGN_MARGIN
        ) or alignment.sagittal_share < MIN_SAGITTAL_SHARE:
            raise InputError(
                f"{recording.source or 'input'}: the shank rotation does not look like running or walking "
                f"(forward/backward asymmetry {alignment.sign_margin:.2f}, "
                f"share about one axis {alignment.sagittal_share:.2f}); is this a shin sensor?"
            )
        rot = alignment.rotation
        gyr_sag = (recording.gyr_dps - alignment.gyro_bias_dps) @ rot[1]
        if acc is not None:
            acc_s = acc @ np.ascontiguousarray(rot.T)  # contiguous: ~10x faster
        if not fixed_alignment:
            warns.extend(alignment.notes)
    times.alignment_s = time.perf_counter() - tic

    tic = time.perf_counter()
    if gyr_sag is not None:
        ms = MidSwingDetector().detect(gyr_sag, sampling_rate_hz=fs)
        acc_up = -acc_s[:, 2] if acc_s is not None else None
        ev = GyroEventDetector().detect(gyr_sag, ms.peaks_, acc_up, sampling_rate_hz=fs)
        ic_all, to_all, mid_all = ev.ic_s_, ev.to_s_, ms.peak_times_s_
        events_source = "gyroscope"
        if acc is not None and ic_all.size:
            norm = np.sqrt(np.einsum("ij,ij->i", acc, acc))
            fin = np.isfinite(ic_all)
            st = np.maximum(0, np.round((ic_all[fin] - 0.03) * fs).astype(np.int64))
            w = max(3, round(0.11 * fs))
            slope = np.diff(norm, append=norm[-1]) * fs
            ks = _window_argext(slope, st, np.full(st.shape, w), mode="max")
            sharp = slope[ks] >= IMPACT_MIN_SLOPE_MPS3
            if sharp.any():
                pk = _window_argext(norm, st[sharp], np.full(int(sharp.sum()), w), mode="max")
                on = impact_onsets(norm, pk, sampling_rate_hz=fs, rise_search_s=0.08)
                idx = np.flatnonzero(fin)[sharp]
                # the two estimates must agree: an onset far from the gyroscope IC is not this contact
                agree = np.abs(on - ic_all[idx]) <= IMPACT_MAX_SHIFT_S
                ic_all = ic_all.copy()
                ic_all[idx[agree]] = on[agree]
                events_source = "gyroscope+impact"
        # stride k: IC_k, TO_k, mid-swing k+1, IC_k+1
        ic = ic_all[:-1]
        nxt = ic_all[1:]
        to = to_all[:-1]
        mid = mid_all[1:]
        peak_mid = gyr_sag[ms.peaks_[1:]] if ms.peaks_.size > 1 else np.zeros(0)
        peak_idx = ms.peaks_[1:] if ms.peaks_.size > 1 else np.zeros(0, np.int64)
        ok = _valid_strides(ic, nxt, gaps_rel)
        ok &= np.isfinite(to) & (to > ic) & (to < mid) & (mid < nxt)
    elif acc is not None:
        norm = np.sqrt(np.einsum("ij,ij->i", acc, acc))
        imp = ImpactDetector().detect(norm, sampling_rate_hz=fs)
        ic, nxt = imp.ic_s_[:-1], imp.ic_s_[1:]
        to = np.full(ic.shape, np.nan)
        mid = np.full(ic.shape, np.nan)
        peak_mid = np.full(ic.shape, np.nan)
        peak_idx = np.full(ic.shape, -1, np.int64)
        ok = _valid_strides(ic, nxt, gaps_rel)
        events_source = "accelerometer"
        warns.append("accelerometer only: no toe-off, swing or shank-angle metrics")
    else:  # pragma: no cover - the loader requires one of them
        raise InputError("no sensor data")
    times.events_s = time.perf_counter() - tic

    if not ok.any():
        raise InputError(
            f"{recording.source or 'input'}: no running strides found "
            "(standing still, too short, or not a shin-mounted sensor?)"
        )
    tic = time.perf_counter()
    ic, nxt, to, mid, peak_mid, peak_idx = (
        ic[ok],
        nxt[ok],
        to[ok],
        mid[ok],
        peak_mid[ok],
        peak_idx[ok],
    )
    cols: dict[str, FloatArray] = {}
    stride_time = nxt - ic
    cols["initial_contact_s"] = ic + t0
    cols["toe_off_s"] = to + t0
    cols["mid_swing_s"] = mid + t0
    cols["next_initial_contact_s"] = nxt + t0
    cols["stride_time_s"] = stride_time
    cols["cadence_spm"] = 120.0 / stride_time
    cols["contact_time_s"] = to - ic
    cols["swing_time_s"] = nxt - to
    cols["duty_factor"] = (to - ic) / stride_time
    cols["peak_midswing_gyr_dps"] = peak_mid.astype(np.float64)
    cols["late_swing_duration_s"] = nxt - mid
    nan = np.full(ic.shape, np.nan)
    if gyr_sag is not None:
        cols["late_swing_peak_decel_dps2"] = late_swing_peak_decel(
            gyr_sag, mid, nxt, sampling_rate_hz=fs
        )
    else:
        cols["late_swing_peak_decel_dps2"] = nan.copy()
    if (
        gyr_sag is not None
        and acc_s is not None
        and alignment is not None
        and recording.gyr_dps is not None
    ):
        if alignment.bias_source == "none" and not fixed_alignment:
            # no quiet period: from IC to a later IC the shank returns to the same sagittal
            # angle, so the mean sagittal angular velocity over whole strides is its bias (the
            # other axes are not estimated: a closed 3-D rotation path has a non-zero mean rate)
            i0 = round(float(np.nanmin(ic)) * fs)
            i1 = round(float(np.nanmax(nxt)) * fs)
            y = alignment.rotation[1]
            alignment.gyro_bias_dps = float(recording.gyr_dps[i0:i1].mean(axis=0) @ y) * y
            alignment.bias_source = "sagittal mean over whole strides"
        gyr_s = (recording.gyr_dps - alignment.gyro_bias_dps) @ np.ascontiguousarray(
            alignment.rotation.T
        )
        # absolute when calibrated: the shank frame's tibia axis already stands at
        # standing_tibia_angle_deg in the standing posture (do not add it again)
        ang = shank_angle_at_ic(
            gyr_s, acc_s, ic, nxt, sampling_rate_hz=fs, anchor_delay_s=ANGLE_ANCHOR_DELAY_S
        )
        del gyr_s
        cols["shank_angle_at_ic_deg"] = ang
    else:
        cols["shank_angle_at_ic_deg"] = nan.copy()
    if acc is not None:
        peak_g, clipped = peak_tibial_accel(
            acc, ic, sampling_rate_hz=fs, range_g=recording.acc_range_g
        )
    else:
        peak_g, clipped = nan.copy(), nan.copy()
    cols["peak_tibial_accel_g"] = peak_g
    if acc is not None:
        grav = stride_gravity_direction(acc, ic, nxt, sampling_rate_hz=fs)
    else:
        grav = np.full((ic.shape[0], 3), np.nan)
    cols["gravity_x"], cols["gravity_y"], cols["gravity_z"] = grav.T
    if (
        recording.gyr_dps is not None
        and alignment is not None
        and peak_idx.size
        and peak_idx.min() >= 0
    ):
        w = recording.gyr_dps[peak_idx] - alignment.gyro_bias_dps
        swing_axis = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-9)
    else:
        swing_axis = np.full((ic.shape[0], 3), np.nan)
    cols["swing_axis_x"], cols["swing_axis_y"], cols["swing_axis_z"] = swing_axis.T
    cols["peak_tibial_accel_clipped"] = clipped
    table = StrideTable({k: cols[k] for k in STRIDE_COLUMNS})
    # overstriding is a running matter: walking strides (duty factor > 0.5) are left out
    walking = cols["duty_factor"] > 0.5
    over = OverstrideAssessor((alert_config or AlertConfig()).overstride).assess(
        np.where(walking, np.nan, cols["shank_angle_at_ic_deg"]),
        np.where(walking, np.nan, cols["cadence_spm"]),
        reference_angle_deg=reference_angle_deg,
    )
    table.columns["overstride"] = over.overstride_
    times.metrics_s = time.perf_counter() - tic
    if np.nansum(clipped) > 0:
        warns.append(
            f"tibial acceleration clipped at the sensor's range in {int(np.nansum(clipped))} strides"
        )
    return AnalysisResult(
        source=recording.source,
        sample_rate_hz=fs,
        duration_s=recording.duration_s,
        leg=leg,
        alignment=alignment,
        strides=table,
        overstride=over,
        events_source=events_source,
        warnings=warns,
        stage_times=times,
    )
