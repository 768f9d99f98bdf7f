"""The offline analysis pipeline: recording → alignment → events → strides → metrics.

:func:`analyze` is the one entry point used by ``strideguard analyze`` and,
on a sliding window with a fixed alignment, by the live path. It only
orchestrates; each stage lives in its module:

=====================  ===============================================
alignment              :class:`~strideguard.align.ShankAligner`
events (strides)       :class:`~strideguard.events.StrideDetector`
gyro bias fallback     :func:`~strideguard.align.estimate_bias_from_strides`
metrics                :func:`~strideguard.metrics.stride_table`
overstride             :class:`~strideguard.overstride.OverstrideAssessor`
=====================  ===============================================

Its :class:`AnalysisResult` serialises to the JSON schema
``strideguard.analysis/1`` documented in ``docs/analysis.md``. The per-stride
table (:class:`~strideguard.metrics.StrideTable`) is what the alert engine consumes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from strideguard.alerts.config import AlertConfig
from strideguard.align import (
    MIN_SAGITTAL_SHARE,
    MIN_SIGN_MARGIN,
    Alignment,
    ShankAligner,
    estimate_bias_from_strides,
    shank_signals,
)
from strideguard.errors import InputError
from strideguard.events import FOOT_STRIKES, detect_strides
from strideguard.imudata import ImuRecording
from strideguard.metrics import (
    EXPORTED_STRIDE_COLUMNS,
    WALKING_DUTY_FACTOR,
    StrideTable,
    stride_table,
    summarize,
)
from strideguard.overstride import OverstrideAssessor

SCHEMA = "strideguard.analysis/1"


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
        Alert events (``Alert.to_dict()``), set by the caller that runs the
        alert policy on the strides (``strideguard analyze``); empty otherwise.
    stage_times
        Wall-clock seconds per stage.
    symmetry
        Left/right symmetry of a two-sensor recording
        (:func:`strideguard.legpair.symmetry_block`), set by ``strideguard
        analyze``; ``None`` (and no ``symmetry`` key in the JSON) for one leg.
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
    symmetry: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """Run-level summary: counts, metric statistics, overstride."""
        t = self.strides
        n = len(t)
        stats = summarize(t)
        walking = int(np.count_nonzero(t["duty_factor"] > WALKING_DUTY_FACTOR)) if n else 0
        codes = t["foot_strike"] if n else np.zeros(0)
        known = np.isfinite(codes)
        conf = t["event_timing_confidence"] if n else np.zeros(0)
        conf = conf[np.isfinite(conf)]
        from_impact = int(np.nansum(t["ic_from_impact"])) if n else 0
        return {
            "n_strides": n,
            "n_walking_strides": walking,
            "angles_calibrated": bool(self.alignment.calibrated) if self.alignment else False,
            "events_source": self.events_source,
            "foot_strike": (
                {
                    name: int(np.count_nonzero(codes[known] == i))
                    for i, name in enumerate(FOOT_STRIKES)
                }
                if known.any()
                else None
            ),
            "event_timing": {
                "ic_from_impact": from_impact if self.events_source != "accelerometer" else n,
                "ic_from_swing": n - from_impact if self.events_source != "accelerometer" else 0,
                "confidence_median": round(float(np.median(conf)), 3) if conf.size else None,
            },
            "metrics": stats,
            "overstride": self.overstride.to_dict(),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict in schema ``strideguard.analysis/1``."""
        rows = self.strides.rows()
        strides = [{k: r.get(k) for k in EXPORTED_STRIDE_COLUMNS} for r in rows]
        out: dict[str, Any] = {
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
        if self.symmetry is not None:
            out["symmetry"] = self.symmetry
        return out

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
            *(
                [
                    "  foot strike        "
                    + ", ".join(f"{k} {v}" for k, v in s["foot_strike"].items() if v)
                    + (
                        f"; contact timing confidence {s['event_timing']['confidence_median']:.2f}"
                        if s["event_timing"]["confidence_median"] is not None
                        else ""
                    )
                ]
                if s["foot_strike"]
                else []
            ),
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
            quality = (
                f" ({a.calibration_still_s:.2f} s still, up ±{a.tilt_standard_error_deg:.2f}°)"
                if a.calibrated
                and a.calibration_still_s is not None
                and a.tilt_standard_error_deg is not None
                else ""
            )
            lines.append(
                f"  alignment          confidence {a.confidence:.2f}, "
                f"{'calibrated from ' + str(a.calibration_source) + quality if a.calibrated else 'not calibrated'}"
            )
        if self.symmetry is not None:
            lines.extend(symmetry_lines(self.symmetry))
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        return "\n".join(lines)


def symmetry_lines(block: dict[str, Any]) -> list[str]:
    """The text output's "L/R" section of a symmetry block (:attr:`AnalysisResult.symmetry`)."""
    from strideguard.symmetry import SYMMETRY_FEATURES

    balance = {"learned": "learned in this run", "profile": "from your stored baseline"}
    lines = [
        f"  L/R                {block['pairs']} stride pairs, right against left "
        f"(median, IQR); your balance {balance.get(block['balance_from'], 'not learned yet')}"
    ]
    pairing = block.get("pairing")
    if pairing is not None:
        how = (
            "given (--pair-offset-s)"
            if pairing["method"] == "given"
            else f"from the stride rhythms (match {pairing['match']:.2f} over "
            f"{pairing['strides_compared']} strides)"
        )
        lines.append(f"    the two files' clocks: {pairing['offset_s']:+.3f} s, {how}")
    versus = block.get("versus_normal") or {}
    for spec in SYMMETRY_FEATURES:
        f = block["features"].get(spec.name) or {}
        if f.get("median") is None:
            lines.append(f"    {spec.label:<22} n/a")
            continue
        unit = " °" if f["unit"] == "°" else " %"
        who = {"R": "right higher", "L": "left higher"}.get(f["higher"] or "", "equal")
        vs = versus.get(spec.name)
        lines.append(
            f"    {spec.label:<22} {f['median']:+6.1f}{unit} (IQR {f['iqr']:.1f}), {who}"
            + ("" if vs is None else f"; {vs:+.1f} vs your normal")
        )
    return lines


def check_gait_signature(alignment: Alignment, source: str, *, check_sign: bool) -> None:
    """Refuse motion that is not running or walking (a fixed alignment keeps its sign).

    Raises
    ------
    InputError
        The shank's rotation does not look like running or walking.
    """
    unclear_sign = check_sign and alignment.sign_margin < MIN_SIGN_MARGIN
    if unclear_sign or alignment.sagittal_share < MIN_SAGITTAL_SHARE:
        raise InputError(
            f"{source or 'input'}: the shank rotation does not look like running or walking "
            f"(forward/backward asymmetry {alignment.sign_margin:.2f}, "
            f"share about one axis {alignment.sagittal_share:.2f}); is this a shin sensor?"
        )


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
    if leg is not None and leg not in ("L", "R"):
        raise InputError(f"leg must be L or R, not {leg!r}")
    warns, times, fs = list(warnings or []), StageTimes(), recording.sampling_rate_hz
    tic = time.perf_counter()
    fixed_alignment = alignment is not None
    if recording.gyr_dps is not None:
        if alignment is None:
            alignment = ShankAligner().align(recording, standing=standing).alignment_
            warns.extend(alignment.notes)
        check_gait_signature(alignment, recording.source, check_sign=not fixed_alignment)
    gyr_sag, acc_s = shank_signals(recording, alignment)
    times.alignment_s = time.perf_counter() - tic

    tic = time.perf_counter()
    strides = detect_strides(recording, gyr_sag, acc_s)
    if strides.events_source_ == "accelerometer":
        warns.append("accelerometer only: no toe-off, swing or shank-angle metrics")
    times.events_s = time.perf_counter() - tic
    if strides.ic_s_.size == 0:
        raise InputError(
            f"{recording.source or 'input'}: no running strides found "
            "(standing still, too short, or not a shin-mounted sensor?)"
        )

    tic = time.perf_counter()
    if not fixed_alignment and alignment is not None and alignment.bias_source == "none":
        # no quiet period gave a bias: take it from the strides (only with an accelerometer,
        # i.e. when a shank angle is measured, which is what the bias matters for)
        if acc_s is not None:
            alignment = estimate_bias_from_strides(
                recording, alignment, strides.ic_s_, strides.next_ic_s_
            )
    table = stride_table(
        strides, recording, alignment, gyr_sagittal_dps=gyr_sag, acc_shank_mps2=acc_s
    )
    # overstriding is a running matter: walking strides are left out
    walking = table["duty_factor"] > WALKING_DUTY_FACTOR
    over = OverstrideAssessor((alert_config or AlertConfig()).overstride).assess(
        np.where(walking, np.nan, table["shank_angle_at_ic_deg"]),
        np.where(walking, np.nan, table["cadence_spm"]),
        reference_angle_deg=reference_angle_deg,
    )
    table.columns["overstride"] = over.overstride_
    times.metrics_s = time.perf_counter() - tic
    n_clipped = int(np.nansum(table["peak_tibial_accel_clipped"]))
    if n_clipped:
        warns.append(f"tibial acceleration clipped at the sensor's range in {n_clipped} strides")
    return AnalysisResult(
        source=recording.source,
        sample_rate_hz=fs,
        duration_s=recording.duration_s,
        leg=leg,
        alignment=alignment,
        strides=table,
        overstride=over,
        events_source=strides.events_source_,
        warnings=warns,
        stage_times=times,
    )
