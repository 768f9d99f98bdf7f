"""``simulate()``: a scenario, a leg and a sensor in, a recording and its ground truth out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from strideguard import protocol as proto
from strideguard.atomic import AtomicOutputs
from strideguard.imudata import STANDARD_GRAVITY_MPS2, ImuRecording, write_csv
from strideguard_devkit.sim.athlete import (
    RunnerProfile,
    RunnerTimeline,
    build_timeline,
    leg_cycles,
    strike_class,
)
from strideguard_devkit.sim.kinematics import (
    GAIT_NAMES,
    GAIT_STAND,
    CycleTable,
    shank_gyro_dps,
    shank_motion,
    shank_specific_force_mps2,
)
from strideguard_devkit.sim.scenarios import Plan, Scenario, StrapSlip, get_scenario
from strideguard_devkit.sim.sensor import SensorErrors, apply_sensor, axis_angle, resolve_mounting

FloatArray = npt.NDArray[np.float64]

TRUTH_SCHEMA = "strideguard-sim-truth/1"
MIN_RATE_HZ = 100.0
MAX_RATE_HZ = 1000.0

# independent random streams per purpose (same seed -> same runner for both legs)
_STREAM = {
    "runner": 1,
    "leg": 10,
    "mount": 20,
    "errors": 30,
    "noise": 40,
    "style": 50,
    "stride_style": 60,
    "asymmetry": 70,
}
_LEG_NO = {"R": 0, "L": 1}


def _rng(seed: int, purpose: str, leg: str | None = None) -> np.random.Generator:
    return np.random.default_rng([int(seed), _STREAM[purpose] + (_LEG_NO[leg] if leg else 0)])


@dataclass
class SimTruth:
    """Ground truth of one simulated sensor.

    Per-stride arrays (one entry per gait cycle of this leg that lies entirely
    inside the recording; standing is not a stride). Times in seconds on the
    recording's time axis.

    Attributes
    ----------
    initial_contact_s, toe_off_s, mid_swing_s
        Event times. Mid-swing is the maximum of the sagittal angular velocity
        between TO and the next IC.
    shank_angle_at_ic_deg
        Sagittal tibia angle at IC (0 = vertical, + = ankle ahead of knee).
    contact_time_s, stride_time_s
        TO − IC, and next IC − IC.
    cadence_spm
        ``120 / stride_time_s`` (steps/min, both legs).
    peak_tibial_accel_g
        Maximum of the axial specific force (up the tibia, gravity and gait
        signal included) within 60 ms after IC, noise-free and unclipped.
    speed_mps
        Running/walking speed.
    strike_index, foot_strike
        Foot strike per stride: index (0 rearfoot, 0.5 midfoot, 1 forefoot) and
        its name (``"rearfoot"``, ``"midfoot"``, ``"forefoot"``; walking strides
        are ``"rearfoot"``).
    retraction_s
        Time from the late-swing zero crossing of the sagittal angular velocity
        (end of the forward swing) to IC, from the noise-free signal.
    runner
        Archetype of the simulated runner (:data:`~strideguard_devkit.sim.athlete.ARCHETYPES`).
    labels, gait
        Scenario label ("steady", "overstride", "guarded", ...) and gait
        ("run", "walk") of each stride.
    mounting
        ``(3, 3)`` matrix with ``sensor = mounting @ shank`` at the start.
    mounting_after_slip
        The same after a strap slip (``None`` without one).
    shank_angle_deg
        Sagittal tibia angle at every sample.
    changes
        Labelled change onsets: ``label``, ``onset_s`` and ``onset_stride``
        (index of the first stride at or after the onset).
    must_alert, must_not_alert
        The scenario's expected alerts (see :mod:`strideguard_devkit.sim.scenarios`).
    """

    initial_contact_s: FloatArray
    toe_off_s: FloatArray
    mid_swing_s: FloatArray
    shank_angle_at_ic_deg: FloatArray
    contact_time_s: FloatArray
    stride_time_s: FloatArray
    cadence_spm: FloatArray
    peak_tibial_accel_g: FloatArray
    speed_mps: FloatArray
    strike_index: FloatArray
    retraction_s: FloatArray
    labels: list[str]
    gait: list[str]
    mounting: FloatArray
    shank_angle_deg: FloatArray
    scenario: str
    leg: str
    seed: int
    duration_s: float
    nominal_rate_hz: float
    true_rate_hz: float
    standing_s: tuple[float, float]
    standing_angle_deg: float
    changes: list[dict[str, Any]] = field(default_factory=list)
    must_alert: list[dict[str, Any]] = field(default_factory=list)
    must_not_alert: list[str] = field(default_factory=list)
    mounting_after_slip: FloatArray | None = None
    strap_slip: dict[str, float] | None = None
    sensor_died_s: float | None = None
    sensor_errors: dict[str, object] = field(default_factory=dict)
    runner: str = "recreational"
    lowpass_hz: float | None = None

    @property
    def foot_strike(self) -> list[str]:
        """Named strike pattern per stride."""
        return strike_class(self.strike_index)

    @property
    def n_strides(self) -> int:
        """Number of strides."""
        return int(self.initial_contact_s.shape[0])

    def onset_stride(self, onset_s: float) -> int:
        """Index of the first stride whose IC is at or after ``onset_s``."""
        return int(np.searchsorted(self.initial_contact_s, onset_s))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready truth, in the layout of the shared real-data ``truth.json`` files."""
        strikes = self.foot_strike
        strides = [
            {
                "initial_contact_s": round(float(self.initial_contact_s[i]), 5),
                "toe_off_s": round(float(self.toe_off_s[i]), 5),
                "mid_swing_s": round(float(self.mid_swing_s[i]), 5),
                "contact_time_s": round(float(self.contact_time_s[i]), 5),
                "stride_time_s": round(float(self.stride_time_s[i]), 5),
                "cadence_spm": round(float(self.cadence_spm[i]), 3),
                "shank_angle_at_ic_deg": round(float(self.shank_angle_at_ic_deg[i]), 4),
                "peak_tibial_accel_g": round(float(self.peak_tibial_accel_g[i]), 4),
                "speed_mps": round(float(self.speed_mps[i]), 4),
                "foot_strike": strikes[i],
                "strike_index": round(float(self.strike_index[i]), 3),
                "retraction_s": None
                if not np.isfinite(self.retraction_s[i])
                else round(float(self.retraction_s[i]), 5),
                "label": self.labels[i],
                "gait": self.gait[i],
            }
            for i in range(self.n_strides)
        ]
        events: list[dict[str, Any]] = []
        for s in strides:
            events.append({"type": "initial_contact", "time_s": s["initial_contact_s"]})
            events.append({"type": "toe_off", "time_s": s["toe_off_s"]})
        run = [i for i, g in enumerate(self.gait) if g == "run"]

        def mean(a: FloatArray) -> float | None:
            return round(float(np.mean(a[run])), 4) if run else None

        changes = [{**c, "onset_stride": self.onset_stride(c["onset_s"])} for c in self.changes]
        must = [
            {
                **e,
                "onset_stride": self.onset_stride(e["onset_s"]),
                "this_leg": e["leg"] in ("both", self.leg),
            }
            for e in self.must_alert
        ]
        return {
            "schema": TRUTH_SCHEMA,
            "source": "simulator",
            "scenario": self.scenario,
            "runner": self.runner,
            "lowpass_hz": self.lowpass_hz,
            "leg": {"R": "right", "L": "left"}[self.leg],
            "seed": self.seed,
            "duration_s": self.duration_s,
            "sample_rate_hz": self.nominal_rate_hz,
            "true_sample_rate_hz": self.true_rate_hz,
            "standing_s": list(self.standing_s),
            "standing_shank_angle_deg": round(self.standing_angle_deg, 4),
            "mounting_sensor_axes_in_shank_frame": np.round(self.mounting, 6).tolist(),
            "mounting_after_slip": (
                None
                if self.mounting_after_slip is None
                else np.round(self.mounting_after_slip, 6).tolist()
            ),
            "strap_slip": self.strap_slip,
            "sensor_died_s": self.sensor_died_s,
            "sensor_errors": self.sensor_errors,
            "changes": changes,
            "must_alert": must,
            "must_not_alert": self.must_not_alert,
            "summary": {
                "n_strides": self.n_strides,
                "n_running_strides": len(run),
                "stride_time_mean_s": mean(self.stride_time_s),
                "cadence_steps_per_min": mean(self.cadence_spm),
                "contact_time_mean_s": mean(self.contact_time_s),
                "shank_angle_at_ic_mean_deg": mean(self.shank_angle_at_ic_deg),
                "peak_tibial_accel_mean_g": mean(self.peak_tibial_accel_g),
                "foot_strike_counts": {
                    name: sum(1 for i in run if strikes[i] == name)
                    for name in ("rearfoot", "midfoot", "forefoot")
                },
            },
            "strides": strides,
            "events": events,
        }


@dataclass
class SimRun:
    """One simulated sensor.

    Attributes
    ----------
    recording
        Sensor-frame data as an :class:`~strideguard.imudata.ImuRecording`.
        ``time_s`` is true time (the board's microsecond clock);
        ``sampling_rate_hz`` the true rate (nominal · (1 + clock error)).
    truth
        Ground truth.
    raw
        ``(n, 6)`` int16 counts behind the recording (what the board sends).
    nominal_rate_hz
        The rate the board was set to.
    shank_gyr_dps, shank_acc_mps2
        Noise-free shank-frame signals (only with ``keep_shank=True``).
    """

    recording: ImuRecording
    truth: SimTruth
    raw: npt.NDArray[np.int16]
    nominal_rate_hz: float
    shank_gyr_dps: FloatArray | None = None
    shank_acc_mps2: FloatArray | None = None

    def fifo_bytes(self, start: int = 0, stop: int | None = None) -> bytes:
        """Samples ``start:stop`` as MPU6050 FIFO bytes (ax ay az gx gy gz, int16 big-endian).

        What a simulated MPU6050 (virtual board, fake I2C) hands out of its FIFO.
        """
        return self.raw[start:stop].astype(">i2").tobytes()

    def write(self, csv_path: str | Path, outputs: AtomicOutputs | None = None) -> Path:
        """Write the CSV and ``<stem>.truth.json`` beside it; return the JSON path.

        Both files are written whole or not at all: through ``outputs`` (renamed
        when its block ends), or renamed here.
        """
        if outputs is None:
            with AtomicOutputs(what=str(csv_path)) as own:
                return self.write(csv_path, own)
        csv_path = Path(csv_path)
        name = csv_path.name
        stem = name[: -len(".csv")] if name.endswith(".csv") else name
        json_path = csv_path.with_name(stem + ".truth.json")
        write_csv(self.recording, outputs.path(csv_path))
        with open(outputs.path(json_path), "w", encoding="utf-8") as fh:
            json.dump(self.truth.to_json(), fh, indent=1)
        return json_path


def marker_lowpass(
    gyr_dps: FloatArray, acc_mps2: FloatArray, cutoff_hz: float, rate_hz: float
) -> tuple[FloatArray, FloatArray]:
    """Low-pass shank signals the way a motion-capture virtual IMU is: zero-lag Butterworth.

    Marker trajectories are commonly filtered with a 4th-order zero-lag
    Butterworth (a 2nd-order filter run forwards and backwards) at 10–20 Hz
    (the shared RBDS files: 20 Hz) and differentiated; filtering the
    kinematic signals directly is the same linear operation.

    Parameters
    ----------
    gyr_dps, acc_mps2
        ``(n, 3)`` shank-frame signals.
    cutoff_hz
        Cut-off frequency.
    rate_hz
        Sampling rate.

    Returns
    -------
    gyr, acc
        The filtered signals.
    """
    from scipy.signal import butter, sosfiltfilt

    sos = butter(2, cutoff_hz, fs=rate_hz, output="sos")
    return sosfiltfilt(sos, gyr_dps, axis=0), sosfiltfilt(sos, acc_mps2, axis=0)


def _check(rate_hz: float, leg: str, duration_s: float, lowpass_hz: float | None = None) -> None:
    if lowpass_hz is not None and not (1.0 <= lowpass_hz < rate_hz / 2):
        raise ValueError(
            f"lowpass must be between 1 Hz and half the rate ({rate_hz / 2:g} Hz), got {lowpass_hz:g}"
        )
    if not (MIN_RATE_HZ <= rate_hz <= MAX_RATE_HZ):
        raise ValueError(
            f"rate must be within {MIN_RATE_HZ:g}..{MAX_RATE_HZ:g} Hz, got {rate_hz:g}"
        )
    if leg not in ("L", "R"):
        raise ValueError(f"leg must be 'L' or 'R', got {leg!r} (use simulate_pair for both)")
    if not np.isfinite(duration_s) or duration_s > 6 * 3600:
        raise ValueError(f"duration must be finite and at most 6 h, got {duration_s:g}")


def _slip_rotations(
    slip: StrapSlip, time_s: FloatArray
) -> tuple[npt.NDArray[np.float64], FloatArray]:
    """Sensor-body rotation ``Q(t)`` in the shank frame and its angular velocity (°/s)."""
    x = np.clip((time_s - slip.onset_s) / slip.duration_s, 0.0, 1.0)
    sm = x * x * (3 - 2 * x)
    dsm = 6 * x * (1 - x) / slip.duration_s
    beta = np.deg2rad(slip.twist_deg) * sm
    chi = np.deg2rad(slip.tilt_deg) * sm
    cb, sb = np.cos(beta), np.sin(beta)
    cc, sc = np.cos(chi), np.sin(chi)
    n = time_s.shape[0]
    rz = np.zeros((n, 3, 3))
    rz[:, 0, 0], rz[:, 0, 1], rz[:, 1, 0], rz[:, 1, 1], rz[:, 2, 2] = cb, -sb, sb, cb, 1.0
    rx = np.zeros((n, 3, 3))
    rx[:, 0, 0], rx[:, 1, 1], rx[:, 1, 2], rx[:, 2, 1], rx[:, 2, 2] = 1.0, cc, -sc, sc, cc
    q = rz @ rx
    omega = np.zeros((n, 3))
    omega[:, 2] = slip.twist_deg * dsm
    omega[:, 0] = slip.tilt_deg * dsm * cb
    omega[:, 1] = slip.tilt_deg * dsm * sb
    return q, omega


def _refine_peak(y: FloatArray, idx: npt.NDArray[np.int64]) -> FloatArray:
    """Parabolic sub-grid offset of maxima at ``idx`` along axis 1 of ``y``."""
    rows = np.arange(y.shape[0])
    i = np.clip(idx, 1, y.shape[1] - 2)
    a, b, c = y[rows, i - 1], y[rows, i], y[rows, i + 1]
    den = a - 2 * b + c
    off = np.where(np.abs(den) > 1e-12, 0.5 * (a - c) / np.where(den == 0, 1, den), 0.0)
    return i + np.clip(off, -1.0, 1.0)


def _stride_truth(
    table: CycleTable, end_s: float, leg_sign: float
) -> tuple[npt.NDArray[np.int64], dict[str, FloatArray]]:
    """Per-stride events and values for gait cycles fully inside ``[0, end_s]``."""
    start = table.start_s
    k = np.flatnonzero((table.gait != GAIT_STAND) & (start[:-1] >= 0) & (start[1:] <= end_s))
    ic = start[k]
    dur = start[k + 1] - ic
    to = ic + table.contact_phase[k] * dur
    # mid-swing: maximum sagittal rate in swing, on a fine grid + parabola
    grid = np.linspace(0.0, 1.0, 81)
    lo = np.maximum(table.contact_phase[k], 0.5)
    hi = np.full_like(lo, 0.995)
    ph = lo[:, None] + (hi - lo)[:, None] * grid[None, :]
    times = ic[:, None] + dur[:, None] * ph
    if k.size:
        rate = np.concatenate(
            [
                shank_motion(table, chunk).rate_dps
                for chunk in np.array_split(times.ravel(), max(times.size // CHUNK_SAMPLES, 1))
            ]
        ).reshape(times.shape)
        j = _refine_peak(rate, np.argmax(rate, axis=1))
        ms = ic + dur * (lo + (hi - lo) * j / (grid.size - 1))
        # peak tibial acceleration: 0.25 ms grid over 60 ms after IC
        tt = ic[:, None] + np.arange(0.0, 0.060, 0.0005)[None, :]
        _, _, force = _shank_signals(table, tt.ravel(), leg_sign)
        axial = -force[:, 2].reshape(tt.shape)
        peak_g = axial.max(axis=1) / STANDARD_GRAVITY_MPS2
        angle = shank_motion(table, ic).angle_deg
        # retraction: last + → − zero crossing of the sagittal rate before IC (0.5 ms grid,
        # linear between grid points: the rate is smooth there)
        step = 0.0005
        tr = ic[:, None] + np.arange(-0.08, step / 2, step)[None, :]
        r = shank_motion(table, tr.ravel()).rate_dps.reshape(tr.shape)
        cross = (r[:, :-1] >= 0) & (r[:, 1:] < 0)
        last = cross.shape[1] - 1 - np.argmax(cross[:, ::-1], axis=1)
        frac = r[np.arange(k.size), last] / (
            r[np.arange(k.size), last] - r[np.arange(k.size), last + 1]
        )
        t_zc = tr[np.arange(k.size), last] + step * frac
        retraction = np.where(cross.any(axis=1) & (r[:, -1] < 0), ic - t_zc, np.nan)
    else:
        ms = np.zeros(0)
        peak_g = np.zeros(0)
        angle = np.zeros(0)
        retraction = np.zeros(0)
    return k, {
        "initial_contact_s": ic,
        "toe_off_s": to,
        "mid_swing_s": ms,
        "shank_angle_at_ic_deg": angle,
        "contact_time_s": to - ic,
        "stride_time_s": dur,
        "cadence_spm": 120.0 / dur,
        "peak_tibial_accel_g": peak_g,
        "retraction_s": retraction,
        "strike_index": table.strike[k],
    }


CHUNK_SAMPLES = 1 << 14  # cache-sized blocks: 3x faster than whole-array numpy here


def _shank_signals(
    table: CycleTable, time_s: FloatArray, leg_sign: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Sagittal angle, shank-frame gyro and specific force, evaluated in blocks."""
    n = time_s.shape[0]
    angle = np.empty(n)
    gyr = np.empty((n, 3))
    acc = np.empty((n, 3))
    for a in range(0, n, CHUNK_SAMPLES):
        b = min(a + CHUNK_SAMPLES, n)
        motion = shank_motion(table, time_s[a:b])
        angle[a:b] = motion.angle_deg
        gyr[a:b] = shank_gyro_dps(motion)
        acc[a:b] = shank_specific_force_mps2(table, motion, leg_sign=leg_sign)[0]
    return angle, gyr, acc


def _prepare(
    scenario: str | Scenario, duration_s: float, seed: int, runner: str | None = None
) -> tuple[Plan, RunnerTimeline]:
    sc = get_scenario(scenario) if isinstance(scenario, str) else scenario
    plan = sc.plan(duration_s)
    rng = _rng(seed, "runner")
    profile = RunnerProfile.draw(
        rng,
        runner or plan.runner,
        style_rng=_rng(seed, "style"),
        asymmetry_rng=_rng(seed, "asymmetry"),
    )
    return plan, build_timeline(plan, profile, rng)


def _simulate_leg(
    plan: Plan,
    timeline: RunnerTimeline,
    *,
    leg: str,
    rate_hz: float,
    seed: int,
    mounting: object,
    errors: SensorErrors | None,
    clock_error: float | None,
    keep_shank: bool,
    lowpass_hz: float | None = None,
) -> SimRun:
    cycles = leg_cycles(timeline, leg, _rng(seed, "leg", leg), _rng(seed, "stride_style", leg))
    table = cycles.table
    if errors is None:
        errors = SensorErrors.draw(_rng(seed, "errors", leg), clock_error=clock_error)
    true_rate = rate_hz * (1.0 + errors.clock_error)
    end = plan.duration_s if plan.sensor_dies_s is None else plan.sensor_dies_s
    n = int(np.floor(end * true_rate))
    time_s = np.arange(n) / true_rate
    leg_sign = 1.0 if leg == "R" else -1.0

    angle, gyr_shank, acc_shank = _shank_signals(table, time_s, leg_sign)
    if lowpass_hz is not None:
        gyr_shank, acc_shank = marker_lowpass(gyr_shank, acc_shank, lowpass_hz, true_rate)

    m0 = resolve_mounting(mounting, _rng(seed, "mount", leg))
    slip = plan.strap_slip
    m_after = None
    slip_info = None
    if slip is None:
        acc_s = acc_shank @ m0.T
        gyr_s = gyr_shank @ m0.T
    else:
        q, omega = _slip_rotations(slip, time_s)
        m_t = m0[None, :, :] @ np.transpose(q, (0, 2, 1))
        acc_s = np.einsum("nij,nj->ni", m_t, acc_shank)
        gyr_s = np.einsum("nij,nj->ni", m_t, gyr_shank + omega)
        q_end = axis_angle(np.array([0.0, 0.0, 1.0]), np.deg2rad(slip.twist_deg)) @ axis_angle(
            np.array([1.0, 0.0, 0.0]), np.deg2rad(slip.tilt_deg)
        )
        m_after = m0 @ q_end.T
        slip_info = {
            "onset_s": slip.onset_s,
            "duration_s": slip.duration_s,
            "twist_deg": slip.twist_deg,
            "tilt_deg": slip.tilt_deg,
        }
    raw, acc, gyr = apply_sensor(acc_s, gyr_s, time_s, errors, _rng(seed, "noise", leg))

    k, st = _stride_truth(table, float(time_s[-1]) if n else 0.0, leg_sign)
    stand = [seg for seg in plan.segments if seg.gait == GAIT_STAND]
    first_stand = (stand[0].start_s, stand[0].end_s) if stand else (0.0, 0.0)
    truth = SimTruth(
        initial_contact_s=st["initial_contact_s"],
        toe_off_s=st["toe_off_s"],
        mid_swing_s=st["mid_swing_s"],
        shank_angle_at_ic_deg=st["shank_angle_at_ic_deg"],
        contact_time_s=st["contact_time_s"],
        stride_time_s=st["stride_time_s"],
        cadence_spm=st["cadence_spm"],
        peak_tibial_accel_g=st["peak_tibial_accel_g"],
        speed_mps=cycles.speed_mps[k],
        strike_index=st["strike_index"],
        retraction_s=st["retraction_s"],
        labels=[cycles.label[i] for i in k],
        gait=[GAIT_NAMES[g] for g in table.gait[k]],
        mounting=m0,
        shank_angle_deg=angle,
        scenario=plan.scenario,
        leg=leg,
        seed=int(seed),
        duration_s=plan.duration_s,
        nominal_rate_hz=float(rate_hz),
        true_rate_hz=float(true_rate),
        standing_s=first_stand,
        standing_angle_deg=timeline.profile.stand_angle_deg,
        changes=plan.changes(),
        must_alert=[e.to_dict() for e in plan.must_alert],
        must_not_alert=list(plan.must_not_alert),
        mounting_after_slip=m_after,
        strap_slip=slip_info,
        sensor_died_s=plan.sensor_dies_s,
        sensor_errors=errors.to_dict(),
        runner=timeline.profile.archetype,
        lowpass_hz=lowpass_hz,
    )
    truth.changes = [{**c, "onset_stride": truth.onset_stride(c["onset_s"])} for c in truth.changes]
    recording = ImuRecording(
        time_s=time_s,
        acc_mps2=acc,
        gyr_dps=gyr,
        sampling_rate_hz=float(true_rate),
        source=f"simulator:{plan.scenario}:seed={seed}:leg={leg}"
        + (
            ""
            if timeline.profile.archetype == "recreational"
            else f":runner={timeline.profile.archetype}"
        )
        + ("" if lowpass_hz is None else f":lowpass={lowpass_hz:g}Hz"),
        acc_range_g=float(proto.ACC_RANGE_G),
        gyr_range_dps=float(proto.GYR_RANGE_DPS),
        pain_marks_s=np.array([p for p in plan.pain_marks_s if p < end], dtype=float),
    )
    return SimRun(
        recording=recording,
        truth=truth,
        raw=raw,
        nominal_rate_hz=float(rate_hz),
        shank_gyr_dps=gyr_shank if keep_shank else None,
        shank_acc_mps2=acc_shank if keep_shank else None,
    )


def simulate(
    scenario: str | Scenario,
    *,
    duration_s: float,
    rate_hz: float = 500,
    seed: int = 0,
    leg: str = "R",
    mounting: object = None,
    errors: SensorErrors | None = None,
    clock_error: float | None = None,
    keep_shank: bool = False,
    runner: str | None = None,
    lowpass_hz: float | None = None,
) -> SimRun:
    """Simulate one shin sensor running a scenario.

    Parameters
    ----------
    scenario
        Name from :func:`~strideguard_devkit.sim.list_scenarios` or a :class:`Scenario`.
    duration_s
        Run length (s), at least 30.
    rate_hz
        Nominal sample rate, 100–1000 Hz.
    seed
        Same seed, same output, bit for bit. The runner (timeline, speeds) depends
        only on the seed, so both legs of one seed belong to the same run.
    leg
        ``"R"`` or ``"L"``.
    mounting
        ``None``/``"random"`` (drawn from the seed: any axis order, any rotation
        about the tibia, 5–15° tilt), ``"identity"``, ``"typical"`` or a 3×3
        rotation with ``sensor = M @ shank``.
    errors
        Sensor errors; ``None`` draws typical MPU6050 errors from the seed,
        :meth:`SensorErrors.ideal` gives a perfect (but quantised) sensor.
    clock_error
        Relative sample-rate error when ``errors`` is drawn (``None``: random
        within ±1.5 %; ``0``: exact).
    keep_shank
        Also return the noise-free shank-frame signals.
    runner
        Runner archetype (:data:`~strideguard_devkit.sim.athlete.ARCHETYPES`:
        ``recreational``, ``heel_overstrider``, ``midfoot_tempo``, ``forefoot``,
        ``mixed_strike``); ``None``: the scenario's choice, else ``recreational``.
    lowpass_hz
        Make a *marker-derived virtual IMU* like the shared RBDS files: the
        shank's angular velocity and specific force low-passed (zero-lag
        Butterworth, see :func:`marker_lowpass`) before the sensor model, so
        the impact is smeared and nothing above the cut-off remains.

    Returns
    -------
    SimRun
        Recording, ground truth and raw counts.
    """
    _check(float(rate_hz), leg, float(duration_s), lowpass_hz)
    plan, timeline = _prepare(scenario, float(duration_s), seed, runner)
    return _simulate_leg(
        plan,
        timeline,
        leg=leg,
        rate_hz=float(rate_hz),
        seed=seed,
        mounting=mounting,
        errors=errors,
        clock_error=clock_error,
        keep_shank=keep_shank,
        lowpass_hz=lowpass_hz,
    )


def simulate_pair(
    scenario: str | Scenario,
    *,
    duration_s: float,
    rate_hz: float = 500,
    seed: int = 0,
    mounting: object = None,
    errors: SensorErrors | None = None,
    clock_error: float | None = None,
    keep_shank: bool = False,
    runner: str | None = None,
    lowpass_hz: float | None = None,
) -> tuple[SimRun, SimRun]:
    """Simulate both legs of one run (left, right) on a shared timeline.

    Each sensor has its own mounting, errors and clock. The result equals
    ``simulate(..., leg="L")`` and ``simulate(..., leg="R")`` with the same
    arguments.
    """
    _check(float(rate_hz), "R", float(duration_s), lowpass_hz)
    plan, timeline = _prepare(scenario, float(duration_s), seed, runner)
    left, right = (
        _simulate_leg(
            plan,
            timeline,
            leg=leg,
            rate_hz=float(rate_hz),
            seed=seed,
            mounting=mounting,
            errors=errors,
            clock_error=clock_error,
            keep_shank=keep_shank,
            lowpass_hz=lowpass_hz,
        )
        for leg in ("L", "R")
    )
    return left, right
