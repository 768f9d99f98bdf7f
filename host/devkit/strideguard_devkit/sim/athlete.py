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

Runner archetypes (:data:`ARCHETYPES`, ``simulate(..., runner=NAME)``) differ in
cadence, swing speed, contact time, tibia angle at IC, impact size and foot
strike; each runner of an archetype is drawn around its values from the seed.
The foot strike is a *strike index* per stride: 0 rearfoot (heel first),
0.5 midfoot, 1 forefoot. It sets the shank's contact response and the impact
(:mod:`strideguard_devkit.sim.kinematics`), lowers the tibia angle at IC by
``STRIKE_IC_SHIFT_DEG`` per unit (a forefoot striker lands with a more
vertical shank) and the impact by ``STRIKE_IMPACT_DROP`` per unit. Sources in
``docs/simulator.md``.
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
    RETRACTION_WIDTH_S,
    TO_PHASES,
    CycleTable,
    swing_peak_rate,
    warp_knots,
)
from strideguard_devkit.sim.scenarios import (
    BEND_REFERENCE_ACCEL_MPS2,
    GUARDED_PATTERNS,
    GuardedPattern,
    Plan,
)

FloatArray = npt.NDArray[np.float64]

#: foot-strike index of the named patterns
STRIKE_INDEX = {"rearfoot": 0.0, "midfoot": 0.5, "forefoot": 1.0}
#: the shank lands this much more vertical per unit of strike index (forefoot vs rearfoot)
STRIKE_IC_SHIFT_DEG = 4.0
#: the axial impact is this share smaller per unit of strike index
STRIKE_IMPACT_DROP = 0.4
#: late-swing zero crossing → contact: per-runner spread (SD) and per-stride spread (SD)
RETRACTION_RUNNER_SD_S = 0.0025
RETRACTION_STRIDE_SD_S = 0.0015
#: retraction-term amplitude (°/s) per second of shift of the zero crossing, at a 480 °/s swing
RETRACTION_GAIN_DPS_PER_S = 11000.0

SPEED_TAU_S = 4.0
MODIFIER_TAU_S = 5.0
GUARDED_TAU_S = 8.0
CURVE_TAU_S = 1.0  # runners lean into a bend within a step or two
STAND_CYCLE_S = 1.0
STRIDE_CV = 0.015
THIGH_AMP_DEG = 32.0  # thigh swing amplitude at 2.5 m/s (hip flexion-extension)

#: inside-leg changes on a bend at the reference centripetal acceleration
#: (scenarios.BEND_REFERENCE_ACCEL_MPS2, sprinting on a 37.7 m radius); they scale with
#: v²/r (docs/simulator.md, "Bends": Churchill et al. 2015, 2016; the linear v²/r scaling is a guess)
BEND_CONTACT = 0.05  # longer ground contact of the inside leg
BEND_IMPACT = -0.05  # lower vertical force, softer impact on the inside leg
BEND_IC_DEG = 2.0  # touchdown further ahead of the body on the inside leg


def strike_class(strike_index: npt.ArrayLike) -> list[str]:
    """The named pattern nearest to each strike index (0.25 and 0.75 are the borders)."""
    si = np.atleast_1d(np.asarray(strike_index, float))
    return [
        "rearfoot" if x < 0.25 else ("midfoot" if x < 0.75 else "forefoot") for x in si.tolist()
    ]


@dataclass(frozen=True)
class Archetype:
    """A kind of runner: the centre of the per-runner draws (SD in brackets in the docs).

    Attributes
    ----------
    name, description
        Identifier (``simulate(..., runner=name)``) and one line for the docs.
    cadence_at_2_5_spm, ic_angle_deg
        Mean cadence at 2.5 m/s and tibia angle at IC with the habitual strike.
    peak_factor, contact_factor, impact_factor
        Swing speed (mid-swing gyro peak), contact time and impact size relative
        to the recreational runner.
    strike_index
        Habitual strike (0 rearfoot, 0.5 midfoot, 1 forefoot).
    strike_mix
        Chance per stride of landing with ``strike_alt`` instead (a mixed striker).
    strike_alt
        The other strike of a mixed striker.
    real_counterpart
        Shared recording of a runner of this kind, if any (realism check).
    """

    name: str
    description: str
    cadence_at_2_5_spm: float
    ic_angle_deg: float
    peak_factor: float = 1.0
    contact_factor: float = 1.0
    impact_factor: float = 1.0
    strike_index: float = 0.0
    strike_mix: float = 0.0
    strike_alt: float = 0.0
    real_counterpart: str | None = None


ARCHETYPES: dict[str, Archetype] = {
    a.name: a
    for a in (
        Archetype(
            "recreational",
            "recreational heel striker (the default runner): 160 steps/min at 2.5 m/s, "
            "tibia 8.5° at IC",
            160.0,
            8.5,
            real_counterpart="RBDS0041 (rearfoot, 157 steps/min, 7.5°/11.6° at IC, 2.5 m/s); "
            "BACH_T07 (accelerometer, 2.4 m/s)",
        ),
        Archetype(
            "heel_overstrider",
            "low cadence (150), long contacts, lands 11.5° ahead with hard heel impacts",
            150.0,
            11.5,
            peak_factor=0.95,
            contact_factor=1.08,
            impact_factor=1.25,
            real_counterpart="RBDS0041 left leg (rearfoot, 11.6° at IC)",
        ),
        Archetype(
            "midfoot_tempo",
            "midfoot striker, 168 steps/min, quicker swing, shorter contacts",
            168.0,
            6.0,
            peak_factor=1.06,
            contact_factor=0.93,
            strike_index=0.5,
        ),
        Archetype(
            "forefoot",
            "forefoot striker, 176 steps/min, fast swing, short contacts, near-vertical "
            "shank at IC, smaller and slower impacts",
            176.0,
            4.0,
            peak_factor=1.12,
            contact_factor=0.88,
            strike_index=1.0,
        ),
        Archetype(
            "mixed_strike",
            "lands rearfoot or midfoot from stride to stride (half each), more rearfoot "
            "when fatigued",
            164.0,
            7.0,
            peak_factor=1.02,
            contact_factor=0.97,
            strike_index=0.0,
            strike_mix=0.5,
            strike_alt=0.5,
        ),
    )
}
DEFAULT_ARCHETYPE = "recreational"


def get_archetype(name: str | None) -> Archetype:
    """Look an archetype up (``None``: the default recreational runner).

    Raises
    ------
    ValueError
        With the known names when ``name`` is unknown.
    """
    try:
        return ARCHETYPES[name or DEFAULT_ARCHETYPE]
    except KeyError:
        raise ValueError(f"unknown runner {name!r}; known: {', '.join(ARCHETYPES)}") from None


@dataclass(frozen=True)
class RunnerProfile:
    """Personal constants of the simulated runner (drawn from the seed).

    The first six are drawn exactly as before archetypes existed (the default
    runner of a seed is unchanged); the style fields come from a separate
    random stream (:meth:`draw`'s ``style_rng``).
    """

    cadence_at_2_5_spm: float
    ic_angle_deg: float
    peak_factor: float
    impact_factor: float
    stand_angle_deg: float
    leg_ic_offset_deg: dict[str, float]
    archetype: str = DEFAULT_ARCHETYPE
    strike_index: float = 0.0
    strike_mix: float = 0.0
    strike_alt: float = 0.0
    contact_factor: float = 1.0
    retraction_shift_s: float = 0.0
    #: per leg, log-scale factors of swing peak, contact time and impact (a habit: nobody
    #: is perfectly symmetric); ``None`` = symmetric
    leg_factors: dict[str, dict[str, float]] | None = None

    @classmethod
    def draw(
        cls,
        rng: np.random.Generator,
        archetype: str | None = None,
        style_rng: np.random.Generator | None = None,
        asymmetry_rng: np.random.Generator | None = None,
    ) -> RunnerProfile:
        """A plausible runner of ``archetype`` (default: a recreational heel striker).

        ``asymmetry_rng`` (a stream of its own, so the rest of the run stays as it
        was) draws the runner's left/right habits: swing peak, contact time and
        impact differ between the legs by a few percent (SD 2 %, 2 %, 5 %).
        """
        a = get_archetype(archetype)
        asym = float(rng.normal(0.0, 1.0))
        cad = float(rng.normal(a.cadence_at_2_5_spm, 4.0))
        ic = float(rng.normal(a.ic_angle_deg, 1.2))
        peak = float(rng.normal(1.0, 0.04)) * a.peak_factor
        imp = float(np.exp(rng.normal(0.0, 0.12))) * a.impact_factor
        stand = float(rng.uniform(-3.6, -2.4))
        srng = style_rng if style_rng is not None else np.random.default_rng(0)
        shift = float(np.clip(srng.normal(0.0, RETRACTION_RUNNER_SD_S), -0.006, 0.006))
        factors = None
        if asymmetry_rng is not None:
            half = {
                name: 0.5 * float(asymmetry_rng.normal(0.0, sd))
                for name, sd in (("swing_peak", 0.02), ("contact", 0.02), ("impact", 0.05))
            }
            factors = {"R": half, "L": {k: -v for k, v in half.items()}}
        return cls(
            cadence_at_2_5_spm=cad,
            ic_angle_deg=ic,
            peak_factor=peak,
            impact_factor=imp,
            stand_angle_deg=stand,
            leg_ic_offset_deg={"R": -asym, "L": asym},
            archetype=a.name,
            strike_index=a.strike_index,
            strike_mix=a.strike_mix,
            strike_alt=a.strike_alt,
            contact_factor=a.contact_factor,
            retraction_shift_s=shift,
            leg_factors=factors,
        )

    def leg_factor(self, leg: str, name: str) -> float:
        """Multiplier of ``name`` ("swing_peak", "contact", "impact") on ``leg``."""
        if self.leg_factors is None:
            return 1.0
        return float(np.exp(self.leg_factors[leg][name]))


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
    pattern: list[GuardedPattern]  # the guarded-gait pattern in force (degree in guarded_r/l)
    bend_r: FloatArray  # bend effect on the right leg when it is inside (v²/r ÷ reference)
    bend_l: FloatArray
    roughness: FloatArray  # irregular footing 0..1
    strike_override: FloatArray | None = None  # NaN: the runner's own strike

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
    st = {
        "v": 0.0,
        "os": 0.0,
        "cad": 1.0,
        "ic": 0.0,
        "imp": 1.0,
        "gr": 0.0,
        "g_r": 0.0,
        "g_l": 0.0,
        "b_r": 0.0,
        "b_l": 0.0,
        "rough": 0.0,
    }
    prev_gait = GAIT_STAND
    prev_T = STAND_CYCLE_S
    ar = 0.0
    rows: list[tuple[float, ...]] = []
    labels: list[str] = []
    patterns: list[GuardedPattern] = []
    pattern = GUARDED_PATTERNS["classic"]
    strikes: list[float] = []
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
        g_target = seg.guarded_at(t)
        if seg.guarded > 0:
            pattern = GUARDED_PATTERNS[seg.guarded_pattern]
        g_r = g_target if seg.guarded_leg == "R" else 0.0
        g_l = g_target if seg.guarded_leg == "L" else 0.0
        st["g_r"] += a_g * (g_r - st["g_r"])
        st["g_l"] += a_g * (g_l - st["g_l"])
        a_c = 1.0 - np.exp(-prev_T / CURVE_TAU_S)
        bend = 0.0
        if seg.curve_radius_m > 0 and gait == GAIT_RUN:
            bend = seg.curve_gain * st["v"] ** 2 / seg.curve_radius_m / BEND_REFERENCE_ACCEL_MPS2
        st["b_r"] += a_c * ((bend if seg.curve_inside_leg == "R" else 0.0) - st["b_r"])
        st["b_l"] += a_c * ((bend if seg.curve_inside_leg == "L" else 0.0) - st["b_l"])
        st["rough"] += a_m * (seg.roughness - st["rough"])
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
                cad *= (1.0 + pattern.cadence * guarded) * (1.0 - 0.006 * st["os"])
            else:
                cad = 108.0 + 15.0 * (v - 1.4)
            cv = 1 + 0.5 * fatigue + pattern.stride_variability * guarded + st["rough"]
            ar = 0.5 * ar + rng.normal(0.0, STRIDE_CV * cv)
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
                st["b_r"],
                st["b_l"],
                st["rough"],
            )
        )
        labels.append(seg.label)
        patterns.append(pattern)
        strikes.append(np.nan if seg.strike_index is None else float(seg.strike_index))
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
        pattern=patterns,
        bend_r=arr[:, 10],
        bend_l=arr[:, 11],
        roughness=arr[:, 12],
        strike_override=np.array(strikes, dtype=float),
    )


@dataclass
class LegCycles:
    """One leg's cycles: the kinematic table plus per-cycle descriptors for truth."""

    table: CycleTable
    label: list[str]
    speed_mps: FloatArray
    to_phase: FloatArray  # reference phase of TO per cycle (by gait)


def _stride_strikes(
    timeline: RunnerTimeline, is_run: np.ndarray, style_rng: np.random.Generator
) -> FloatArray:
    """Strike index per cycle: the scenario's override, else the runner's own (mixed: drawn)."""
    prof = timeline.profile
    n = timeline.n
    own = np.full(n, prof.strike_index)
    if prof.strike_mix > 0:
        # a mixed striker lands with the other pattern less often when fatigued
        p_alt = prof.strike_mix * (1.0 - 0.6 * timeline.fatigue)
        own = np.where(style_rng.uniform(0.0, 1.0, n) < p_alt, prof.strike_alt, own)
    over = timeline.strike_override
    if over is not None:
        own = np.where(np.isnan(over), own, over)
    return np.where(is_run, own, 0.0)


def leg_cycles(
    timeline: RunnerTimeline,
    leg: str,
    rng: np.random.Generator,
    style_rng: np.random.Generator | None = None,
) -> LegCycles:
    """Per-stride parameters of ``leg`` ("L" or "R") on the runner's timeline.

    ``rng`` draws what the default runner always had; ``style_rng`` the
    foot-strike and retraction variation (a separate stream, so adding them
    left the default runner's other draws unchanged).
    """
    srng = style_rng if style_rng is not None else np.random.default_rng(0)
    n = timeline.n
    prof = timeline.profile
    gait = timeline.gait
    is_run = gait == GAIT_RUN
    is_walk = gait == GAIT_WALK
    is_stand = gait == GAIT_STAND
    dur = np.diff(timeline.start_s)
    guarded = timeline.guarded_r if leg == "R" else timeline.guarded_l
    guarded_other = timeline.guarded_l if leg == "R" else timeline.guarded_r
    bend = timeline.bend_r if leg == "R" else timeline.bend_l
    rough = timeline.roughness

    def pat(name: str) -> FloatArray:
        return np.array([getattr(p, name) for p in timeline.pattern], dtype=float)

    fat = timeline.fatigue
    var = 1.0 + guarded * pat("variability") + 0.5 * fat + rough
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
    jitter_sd = np.where(
        is_stand, 0.0, dur * (0.003 + 0.01 * guarded * pat("stride_variability") + 0.003 * rough)
    )
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
        + guarded * pat("ic_angle_deg")
        + BEND_IC_DEG * bend,
        4.0,
    )
    strike = _stride_strikes(timeline, is_run, srng)
    # a stride landing further forward on the foot than the runner's habit is more vertical
    c = c + np.where(is_run, STRIKE_IC_SHIFT_DEG * (prof.strike_index - strike), 0.0)
    c = c + prof.leg_ic_offset_deg[leg] * (~is_stand)
    c = c + rng.normal(0.0, 1.0, n) * np.where(is_stand, 0.15, 1.0 * var)
    c = np.where(is_stand, prof.stand_angle_deg + rng.normal(0.0, 0.15, n), c)
    over = np.where(is_run, os_deg, 0.0)

    # --- contact fraction and warp
    ct_run = 0.30 * (2.5 / vr) ** 0.75
    ct_run = ct_run * (1.0 + 0.6 * up - 0.3 * down) * (1.0 + 0.05 * fat)
    ct_run = ct_run * (1.0 + guarded * pat("contact") + guarded_other * pat("contact_other"))
    ct_run = ct_run * (1.0 + BEND_CONTACT * bend) * prof.leg_factor(leg, "contact")
    ct_run = ct_run * (1.0 + 0.03 * os_deg / 8.0) * (1.0 - 0.3 * (timeline.cadence_factor - 1.0))
    ct_run = ct_run * (1.0 + rng.normal(0.0, 0.03, n) * var) * prof.contact_factor
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
    peak = peak * (1.0 - 1.0 * up) * (1.0 - 0.04 * fat) * (1.0 + guarded * pat("swing_peak"))
    peak = peak * np.where(is_run, prof.leg_factor(leg, "swing_peak"), 1.0)
    peak = np.where(is_walk, 290.0 * (v / 1.4), peak)
    peak = peak * (1.0 + rng.normal(0.0, 0.02, n) * var)
    lam = np.where(is_run, 1.0 + guarded * pat("late_swing"), 1.0)
    peak_rate = PEAK_RATES[gait] * warp_knots(frac, gait, rho)[2][:, 3]  # at the mid-swing knot
    moved = np.flatnonzero(lam != 1.0)
    if moved.size:
        # a moved late-swing knot shifts the swing's rate maximum: find it, so the
        # mid-swing peak stays what the pattern says
        peak_rate[moved] = swing_peak_rate(frac[moved], gait[moved], rho[moved], lam[moved])
    scale = np.where(is_stand, 0.0, peak * leg_dur / peak_rate)

    # --- impact (g) and wobble
    impact = (7.5 + 3.5 * (vr - 2.5)) * prof.impact_factor * (1.0 + 0.06 * os_deg)
    impact = impact * (1.0 - 3.0 * up + 5.0 * down) * (1.0 + 0.1 * fat)
    impact = impact * (1.0 + guarded * pat("impact")) * (1.0 + BEND_IMPACT * bend)
    impact = impact * prof.leg_factor(leg, "impact")
    impact = impact * timeline.impact_factor * (1.0 - STRIKE_IMPACT_DROP * strike)
    impact = np.where(is_walk, 1.2 * v / 1.4, impact)
    impact = np.where(is_stand, 0.0, np.clip(impact, 0.3, None) * np.exp(rng.normal(0, 0.12, n)))
    wobble_phase = rng.uniform(0.0, 2 * np.pi, n)

    # retraction: the late-swing zero crossing comes a runner-specific time before IC
    shift = prof.retraction_shift_s + srng.normal(0.0, RETRACTION_STRIDE_SD_S, n)
    ret = np.where(is_run, shift * RETRACTION_GAIN_DPS_PER_S * peak / 480.0, 0.0)
    nodes = np.concatenate((ret, [ret[-1] if n else 0.0]))
    prev_run = np.concatenate(([False], is_run))
    next_run = np.concatenate((is_run, [bool(is_run[-1]) if n else False]))
    nodes = np.where(prev_run & next_run, nodes, 0.0)
    c_nodes = np.concatenate((c, [c[-1]])) + nodes * RETRACTION_WIDTH_S  # angle at IC stays c

    sign = 1.0 if leg == "R" else -1.0
    table = CycleTable(
        start_s=start,
        gait=gait.copy(),
        c_deg=c_nodes,
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
        late_swing_ratio=lam,
        strike_index=strike,
        retraction_dps=nodes,
    )
    return LegCycles(table=table, label=list(timeline.label), speed_mps=v, to_phase=to_ref)
