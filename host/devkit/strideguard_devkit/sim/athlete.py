"""Stride-level model: the runner's timeline and each leg's per-stride parameters.

The *runner* (shared by both legs) decides when each right-leg cycle starts,
how long it lasts, the gait (stand/walk/run), the speed and the scenario
modifiers, with first-order smoothing so changes take a few strides. Each *leg*
then draws its own stride-to-stride variability and applies leg-specific
changes (guarded gait affects one leg only). The left leg's cycles start half a
stride after the right leg's.

Speed relations (running), for a runner with cadence ``cad0`` at 2.5 m/s:

- cadence (steps/min) = ``cad0 + 9·(v − 2.5)``
- contact time (s) = ``0.30·(2.5 / v)^0.75`` (0.30 s at 2.5, 0.23 s at 3.5 m/s)
- mid-swing gyro peak (°/s) = ``480 + 45·(v − 2.5) + 16·(v − 2.5)²``
  (480 at 2.5, 541 at 3.5, ~1100 at 7.5 m/s)
- tibia angle at IC (°) = ``ic0 + 0.6·(v − 2.5)``
- impact (g above the gait signal) = ``7.5 + 3.5·(v − 2.5)``, ×(1 + 0.06·overstride°)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from strideguard_devkit.sim.kinematics import (
    FS_PHASES,
    GAIT_RUN,
    GAIT_STAND,
    GAIT_WALK,
    PEAK_RATES,
    TO_PHASES,
    CycleTable,
    warp_knots,
)
from strideguard_devkit.sim.scenarios import Plan

FloatArray = npt.NDArray[np.float64]

SPEED_TAU_S = 4.0
MODIFIER_TAU_S = 5.0
GUARDED_TAU_S = 8.0
STAND_CYCLE_S = 1.0
STRIDE_CV = 0.015
THIGH_AMP_DEG = 32.0  # thigh swing amplitude at 2.5 m/s (hip flexion-extension)


@dataclass(frozen=True)
class RunnerProfile:
    """Personal constants of the simulated runner (drawn from the seed)."""

    cadence_at_2_5_spm: float
    ic_angle_deg: float
    peak_factor: float
    impact_factor: float
    stand_angle_deg: float
    leg_ic_offset_deg: dict[str, float]

    @classmethod
    def draw(cls, rng: np.random.Generator) -> RunnerProfile:
        """A plausible recreational runner."""
        asym = float(rng.normal(0.0, 1.0))
        return cls(
            cadence_at_2_5_spm=float(rng.normal(160.0, 4.0)),
            ic_angle_deg=float(rng.normal(8.5, 1.2)),
            peak_factor=float(rng.normal(1.0, 0.04)),
            impact_factor=float(np.exp(rng.normal(0.0, 0.12))),
            stand_angle_deg=float(rng.uniform(-3.6, -2.4)),
            leg_ic_offset_deg={"R": -asym, "L": asym},
        )


@dataclass
class RunnerTimeline:
    """The runner's cycles (right-leg reference), arrays of length ``n``."""

    start_s: FloatArray  # n + 1 (end of the last cycle)
    gait: npt.NDArray[np.int64]
    speed_mps: FloatArray
    grade: FloatArray
    overstride_deg: FloatArray
    cadence_factor: FloatArray
    ic_shift_deg: FloatArray
    impact_factor: FloatArray
    guarded_r: FloatArray
    guarded_l: FloatArray
    fatigue: FloatArray
    label: list[str]
    profile: RunnerProfile

    @property
    def n(self) -> int:
        """Number of cycles."""
        return int(self.gait.shape[0])


def run_cadence_spm(profile: RunnerProfile, speed_mps: FloatArray) -> FloatArray:
    """Natural running cadence (steps/min) at ``speed_mps``."""
    return profile.cadence_at_2_5_spm + 9.0 * (np.asarray(speed_mps) - 2.5)


def build_timeline(plan: Plan, profile: RunnerProfile, rng: np.random.Generator) -> RunnerTimeline:
    """Lay out the runner's cycles over the plan (plus a little beyond its end)."""
    t = 0.0
    end = plan.duration_s + 3.0
    st = {"v": 0.0, "os": 0.0, "cad": 1.0, "ic": 0.0, "imp": 1.0, "gr": 0.0, "g_r": 0.0, "g_l": 0.0}
    prev_gait = GAIT_STAND
    prev_T = STAND_CYCLE_S
    ar = 0.0
    rows: list[tuple[float, ...]] = []
    labels: list[str] = []
    starts = [0.0]
    while t < end:
        seg = plan.segment_at(t)
        gait = seg.gait
        v_target = seg.speed_at(t)
        if gait != prev_gait:
            if gait == GAIT_RUN:
                st["v"] = 0.85 * v_target if prev_gait == GAIT_STAND else st["v"]
            elif gait == GAIT_WALK:
                st["v"] = v_target
        a_v = 1.0 - np.exp(-prev_T / SPEED_TAU_S)
        a_m = 1.0 - np.exp(-prev_T / MODIFIER_TAU_S)
        a_g = 1.0 - np.exp(-prev_T / GUARDED_TAU_S)
        if gait != GAIT_STAND:
            st["v"] += a_v * (v_target - st["v"])
        st["os"] += a_m * (seg.overstride_deg - st["os"])
        st["cad"] += a_m * (seg.cadence_factor - st["cad"])
        st["ic"] += a_m * (seg.ic_shift_deg - st["ic"])
        st["imp"] += a_m * (seg.impact_factor - st["imp"])
        st["gr"] += a_m * (seg.grade - st["gr"])
        g_r = seg.guarded if seg.guarded_leg == "R" else 0.0
        g_l = seg.guarded if seg.guarded_leg == "L" else 0.0
        st["g_r"] += a_g * (g_r - st["g_r"])
        st["g_l"] += a_g * (g_l - st["g_l"])
        fatigue = seg.fatigue_at(t)
        guarded = max(st["g_r"], st["g_l"])
        if gait == GAIT_STAND:
            seg_left = seg.end_s - t
            T = seg_left if seg_left < 1.25 * STAND_CYCLE_S else STAND_CYCLE_S
            T = max(T, 0.25)
            os_level = 0.0
        else:
            v = st["v"]
            if gait == GAIT_RUN:
                grade = st["gr"]
                cad = run_cadence_spm(profile, np.asarray(v)).item()
                cad *= st["cad"] * (1.0 + 0.3 * grade) * (1.0 - 0.03 * fatigue)
                cad *= (1.0 + 0.04 * guarded) * (1.0 - 0.006 * st["os"])
            else:
                cad = 108.0 + 15.0 * (v - 1.4)
            ar = 0.5 * ar + rng.normal(0.0, STRIDE_CV * (1 + 0.5 * fatigue + guarded))
            T = 120.0 / cad * (1.0 + ar)
            os_level = st["os"] if gait == GAIT_RUN else 0.0
        rows.append(
            (
                gait,
                st["v"] if gait != GAIT_STAND else 0.0,
                st["gr"],
                os_level,
                st["cad"],
                st["ic"],
                st["imp"],
                st["g_r"],
                st["g_l"],
                fatigue,
            )
        )
        labels.append(seg.label)
        t += T
        starts.append(t)
        prev_gait, prev_T = gait, T
    arr = np.array(rows, dtype=float)
    return RunnerTimeline(
        start_s=np.array(starts),
        gait=arr[:, 0].astype(np.int64),
        speed_mps=arr[:, 1],
        grade=arr[:, 2],
        overstride_deg=arr[:, 3],
        cadence_factor=arr[:, 4],
        ic_shift_deg=arr[:, 5],
        impact_factor=arr[:, 6],
        guarded_r=arr[:, 7],
        guarded_l=arr[:, 8],
        fatigue=arr[:, 9],
        label=labels,
        profile=profile,
    )


@dataclass
class LegCycles:
    """One leg's cycles: the kinematic table plus per-cycle descriptors for truth."""

    table: CycleTable
    label: list[str]
    speed_mps: FloatArray
    to_phase: FloatArray  # reference phase of TO per cycle (by gait)


def leg_cycles(timeline: RunnerTimeline, leg: str, rng: np.random.Generator) -> LegCycles:
    """Per-stride parameters of ``leg`` ("L" or "R") on the runner's timeline."""
    n = timeline.n
    prof = timeline.profile
    gait = timeline.gait
    is_run = gait == GAIT_RUN
    is_walk = gait == GAIT_WALK
    is_stand = gait == GAIT_STAND
    dur = np.diff(timeline.start_s)
    guarded = timeline.guarded_r if leg == "R" else timeline.guarded_l
    fat = timeline.fatigue
    var = 1.0 + 1.5 * guarded + 0.5 * fat
    v = np.where(is_stand, 0.0, timeline.speed_mps)
    vr = np.clip(v, 1.0, 10.0)
    grade = timeline.grade
    os_deg = timeline.overstride_deg
    up = np.clip(grade, 0.0, None)
    down = np.clip(-grade, 0.0, None)

    # --- cycle start times: left leg half a stride later, small per-leg jitter
    base = timeline.start_s[:-1]
    if leg == "L":
        offset = np.where(is_stand, 0.0, 0.5 * dur)
        # a stand cycle right after a gait cycle inherits the previous offset
        carry = np.concatenate(([0.0], offset[:-1]))
        prev_gait = np.concatenate(([GAIT_STAND], gait[:-1]))
        offset = np.where(is_stand & (prev_gait != GAIT_STAND), carry, offset)
    else:
        offset = np.zeros(n)
    jitter_sd = np.where(is_stand, 0.0, dur * (0.003 + 0.01 * guarded))
    jitter = np.clip(rng.normal(0.0, 1.0, n) * jitter_sd, -0.04 * dur, 0.04 * dur)
    start = base + offset + jitter
    start = np.concatenate((start, [timeline.start_s[-1] + (offset[-1] if n else 0.0)]))
    start = np.maximum.accumulate(start)
    leg_dur = np.maximum(np.diff(start), 1e-3)

    # --- angle at IC: neutral part c and overstride excess
    c = np.where(
        is_run,
        prof.ic_angle_deg
        + 0.6 * np.clip(v - 2.5, -1.0, 4.0)
        - 40.0 * up
        + 50.0 * down
        + 2.0 * fat
        + timeline.ic_shift_deg
        - 2.0 * guarded,
        4.0,
    )
    c = c + prof.leg_ic_offset_deg[leg] * (~is_stand)
    c = c + rng.normal(0.0, 1.0, n) * np.where(is_stand, 0.15, 1.0 * var)
    c = np.where(is_stand, prof.stand_angle_deg + rng.normal(0.0, 0.15, n), c)
    over = np.where(is_run, os_deg, 0.0)

    # --- contact fraction and warp
    ct_run = 0.30 * (2.5 / vr) ** 0.75
    ct_run = ct_run * (1.0 + 0.6 * up - 0.3 * down) * (1.0 + 0.05 * fat) * (1.0 - 0.08 * guarded)
    ct_run = ct_run * (1.0 + 0.03 * os_deg / 8.0) * (1.0 - 0.3 * (timeline.cadence_factor - 1.0))
    ct_run = ct_run * (1.0 + rng.normal(0.0, 0.03, n) * var)
    frac = np.where(is_run, ct_run / leg_dur, np.where(is_walk, 0.62, 0.5))
    frac = frac * np.where(is_walk, 1.0 + rng.normal(0.0, 0.015, n), 1.0)
    to_ref = TO_PHASES[gait]
    # faster running: the forward swing takes a smaller share of the stride
    rho = np.where(is_run, np.clip(1.0 - 0.04 * (vr - 2.5), 0.8, 1.04), 1.0)
    fs_start = 1.0 - (1.0 - FS_PHASES[gait]) * rho
    frac = np.clip(frac, 0.15, fs_start - 0.06)
    frac = np.where(is_stand, to_ref, frac)

    # --- template scale from the target mid-swing peak
    dv = v - 2.5
    peak = (480.0 + 45.0 * dv + 16.0 * dv * dv) * prof.peak_factor
    peak = peak * (1.0 - 1.0 * up) * (1.0 - 0.04 * fat) * (1.0 - 0.10 * guarded)
    peak = np.where(is_walk, 290.0 * (v / 1.4), peak)
    peak = peak * (1.0 + rng.normal(0.0, 0.02, n) * var)
    w1_ms = warp_knots(frac, gait, rho)[2][:, 3]  # warp slope at mid-swing
    scale = np.where(is_stand, 0.0, peak * leg_dur / (PEAK_RATES[gait] * w1_ms))

    # --- impact (g) and wobble
    impact = (7.5 + 3.5 * (vr - 2.5)) * prof.impact_factor * (1.0 + 0.06 * os_deg)
    impact = impact * (1.0 - 3.0 * up + 5.0 * down) * (1.0 + 0.1 * fat) * (1.0 - 0.1 * guarded)
    impact = impact * timeline.impact_factor
    impact = np.where(is_walk, 1.2 * v / 1.4, impact)
    impact = np.where(is_stand, 0.0, np.clip(impact, 0.3, None) * np.exp(rng.normal(0, 0.12, n)))
    wobble_phase = rng.uniform(0.0, 2 * np.pi, n)

    sign = 1.0 if leg == "R" else -1.0
    table = CycleTable(
        start_s=start,
        gait=gait.copy(),
        c_deg=np.concatenate((c, [c[-1]])),
        overstride_deg=np.concatenate((over, [over[-1]])),
        scale=scale,
        contact_phase=frac,
        forward_swing_ratio=rho,
        impact_g=impact,
        wobble_phase=wobble_phase,
        frontal_amp_deg=sign * np.where(is_run, 1.5, np.where(is_walk, 1.0, 0.0)),
        twist_amp_deg=sign * np.where(is_run, 1.5, np.where(is_walk, 1.0, 0.0)),
        speed_mps=v.astype(float),
        bounce_m=np.where(is_run, 0.035, np.where(is_walk, 0.015, 0.0)),
        thigh_amp_deg=np.where(
            is_run, THIGH_AMP_DEG + 2.0 * np.clip(dv, -1, 5), np.where(is_walk, 18.0, 0.0)
        ),
    )
    return LegCycles(table=table, label=list(timeline.label), speed_mps=v, to_phase=to_ref)
