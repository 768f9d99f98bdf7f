"""Named scenarios: what the runner does, and which alerts that should cause.

A scenario turns a run duration into a *plan*: consecutive segments (standing,
walking or running at some speed, with modifiers such as hill grade,
overstriding, cadence retraining, guarded gait or fatigue), plus sensor events
(strap slip, sensor death) and the alerts the host should and should not raise.

Every plan starts with :data:`STANDING_S` seconds of quiet standing (tibia near
vertical) so calibration can use it. Times inside a plan scale with the
duration; the default duration is 600 s.

Alert vocabulary (the names the analysis and alert policy are checked against):

``gait_changed``
    "Your running has changed — stop and get checked" (injury-like change).
``overstride``
    Coaching cue: tibia angle at initial contact well above the runner's baseline.
``sensor_moved``
    The sensor turned on the strap: recalibrate (angles are not comparable).
``sensor_lost``
    No data from the sensor any more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from strideguard_devkit.sim.kinematics import GAIT_RUN, GAIT_STAND, GAIT_WALK

STANDING_S = 5.0
MIN_DURATION_S = 30.0


@dataclass(frozen=True)
class GuardedPattern:
    """How an injury-like guarded gait changes the stride, at full degree.

    Relative changes (``-0.10`` = 10 % less) apply to the guarded leg unless
    the name says otherwise; the degree (0..1) of a :class:`Segment` scales
    them. The references behind each variant are in ``docs/simulator.md``.

    Attributes
    ----------
    name
        Short name (the variant letter of issue 16 in the description).
    description
        One line for ``simulate --list`` and the docs.
    swing_peak
        Change of the mid-swing angular-velocity peak.
    late_swing
        Lengthening of the late swing (mid-swing to the next contact): the
        shank decelerates over a longer time, so late-swing braking falls by
        about ``1 − 1/(1 + late_swing)²`` (less knee extension in terminal swing).
    contact
        Change of ground-contact time on the guarded leg (negative: the
        painful leg is unloaded sooner, the antalgic pattern).
    contact_other
        Change of ground-contact time on the other leg (it bears the load longer).
    ic_angle_deg
        Change of the tibia angle at initial contact (negative: more vertical).
    impact
        Change of the impact (peak tibial acceleration) on the guarded leg.
    variability
        Extra stride-to-stride variability of the guarded leg's swing,
        contact, angle and impact: the factor is ``1 + variability``.
    stride_variability
        Extra stride-time variability of the runner (both legs share the
        stride time): the stride-time CV is multiplied by ``1 + stride_variability``.
    cadence
        Change of the runner's cadence at the same speed (shorter strides).
    """

    name: str
    description: str
    swing_peak: float = 0.0
    late_swing: float = 0.0
    contact: float = 0.0
    contact_other: float = 0.0
    ic_angle_deg: float = 0.0
    impact: float = 0.0
    variability: float = 0.0
    stride_variability: float = 0.0
    cadence: float = 0.0


#: the guarded-gait variants (issue 16: a–f; e is ``classic`` ramped in over minutes and
#: f is ``slowdown`` with the runner slowing down, both laid out by their scenarios)
GUARDED_PATTERNS: dict[str, GuardedPattern] = {
    p.name: p
    for p in (
        GuardedPattern(
            "classic",
            "(a) slower, less braked and more irregular swing, shorter contact, upright tibia",
            swing_peak=-0.10,
            contact=-0.08,
            ic_angle_deg=-2.0,
            impact=-0.10,
            variability=1.5,
            stride_variability=1.0,
            cadence=0.04,
        ),
        GuardedPattern(
            "regular",
            "(b) slower swing and shorter strides, as regular as ever",
            swing_peak=-0.10,
            ic_angle_deg=-1.5,
            impact=-0.05,
            cadence=0.04,
        ),
        GuardedPattern(
            "limp",
            "(c) one-sided limp: shorter stance and longer, slower swing at the same pace",
            swing_peak=-0.06,
            contact=-0.12,
            contact_other=0.06,
            ic_angle_deg=-1.0,
            impact=-0.15,
        ),
        GuardedPattern(
            "braking",
            "(d) less late-swing braking only (less knee extension in terminal swing)",
            late_swing=0.09,
            ic_angle_deg=-1.5,
        ),
        GuardedPattern(
            "slowdown",
            "(f) a milder one-sided change while the runner slows down because it hurts",
            swing_peak=-0.05,
            late_swing=0.04,
            contact=-0.05,
            ic_angle_deg=-1.0,
            impact=-0.08,
            variability=0.5,
            stride_variability=0.3,
        ),
    )
}

#: centripetal acceleration of the bend-sprinting data the bend effects are scaled from
#: (Churchill et al. 2015: 9.4 m/s on a 37.72 m radius, lane 2): v²/r
BEND_REFERENCE_ACCEL_MPS2 = 9.4**2 / 37.72
#: 400 m track (IAAF/World Athletics): straights, inner kerb radius, lane width; the
#: running line is 0.30 m outside the kerb in lane 1 and 0.20 m outside the lane line beyond
TRACK_STRAIGHT_M = 84.39
TRACK_KERB_RADIUS_M = 36.50
TRACK_LANE_WIDTH_M = 1.22


def track_radius_m(lane: int) -> float:
    """Radius of the running line in ``lane`` (1–8) of a standard 400 m track."""
    if not 1 <= lane <= 9:
        raise ValueError(f"lane must be 1..9, got {lane}")
    if lane == 1:
        return TRACK_KERB_RADIUS_M + 0.30
    return TRACK_KERB_RADIUS_M + (lane - 1) * TRACK_LANE_WIDTH_M + 0.20


ALERTS: dict[str, str] = {
    "gait_changed": "injury-like change of the running pattern: stop and get checked",
    "overstride": "tibia angle at initial contact well above the personal baseline",
    "sensor_moved": "the sensor's mounting changed mid-run: recalibrate",
    "sensor_lost": "the sensor stopped sending data",
}


@dataclass(frozen=True)
class Segment:
    """What the runner does between ``start_s`` and ``end_s``.

    Attributes
    ----------
    start_s, end_s
        Time span in the run (s).
    label
        Stride label written to the truth ("steady", "overstride", ...).
    gait
        ``GAIT_STAND``, ``GAIT_WALK`` or ``GAIT_RUN``.
    speed_start_mps, speed_end_mps
        Speed at the start and end (linear in between).
    grade
        Slope as a fraction (+0.06 = 6 % uphill).
    overstride_deg
        Extra tibia angle at IC (overstriding), degrees.
    cadence_factor
        Multiplies the runner's natural cadence (retraining: 1.05–1.10).
    ic_shift_deg
        Change of the neutral tibia angle at IC (retraining: negative).
    impact_factor
        Multiplies the impact size.
    guarded
        Degree of injury-like guarded gait, 0..1, on ``guarded_leg``.
    guarded_leg
        "L" or "R".
    fatigue_start, fatigue_end
        Fatigue level 0..1 at the segment's start and end.
    guarded_pattern
        Name in :data:`GUARDED_PATTERNS`: how the guarded gait changes the stride.
    guarded_ramp_s
        The guarded degree rises linearly from 0 to ``guarded`` over this long
        after the segment's start (0: at once, with the usual few-stride lag).
    curve_radius_m
        Radius of a bend (0: straight). On a bend the inside leg's contact is
        longer, its impact softer and its tibia further forward at contact,
        in proportion to the centripetal acceleration v²/r (see ``docs/simulator.md``).
    curve_inside_leg
        The leg on the inside of the bend ("L" when running anticlockwise, as on a track).
    curve_gain
        Multiplies the published size of the bend effects (1: as published; tests
        use more to show the margin).
    roughness
        Irregular footing (trail): stride-to-stride variability of both legs'
        swing, contact, angle and impact ×(1 + roughness), of the stride time
        ×(1 + roughness).
    strike_index
        Foot strike for this segment (0 rearfoot, 0.5 midfoot, 1 forefoot);
        ``None`` keeps the runner's own (see :mod:`strideguard_devkit.sim.athlete`).
    """

    start_s: float
    end_s: float
    label: str
    gait: int = GAIT_RUN
    speed_start_mps: float = 3.0
    speed_end_mps: float = 3.0
    grade: float = 0.0
    overstride_deg: float = 0.0
    cadence_factor: float = 1.0
    ic_shift_deg: float = 0.0
    impact_factor: float = 1.0
    guarded: float = 0.0
    guarded_leg: str = "R"
    fatigue_start: float = 0.0
    fatigue_end: float = 0.0
    guarded_pattern: str = "classic"
    guarded_ramp_s: float = 0.0
    curve_radius_m: float = 0.0
    curve_inside_leg: str = "L"
    curve_gain: float = 1.0
    roughness: float = 0.0
    strike_index: float | None = None

    def speed_at(self, t: float) -> float:
        """Target speed at time ``t`` inside the segment."""
        span = max(self.end_s - self.start_s, 1e-9)
        f = min(max((t - self.start_s) / span, 0.0), 1.0)
        return self.speed_start_mps + f * (self.speed_end_mps - self.speed_start_mps)

    def guarded_at(self, t: float) -> float:
        """Target guarded degree at time ``t`` inside the segment (ramped if asked)."""
        if self.guarded_ramp_s <= 0.0:
            return self.guarded
        return self.guarded * min(max((t - self.start_s) / self.guarded_ramp_s, 0.0), 1.0)

    def fatigue_at(self, t: float) -> float:
        """Fatigue level at time ``t`` inside the segment."""
        span = max(self.end_s - self.start_s, 1e-9)
        f = min(max((t - self.start_s) / span, 0.0), 1.0)
        return self.fatigue_start + f * (self.fatigue_end - self.fatigue_start)


@dataclass(frozen=True)
class Expectation:
    """An alert the host must raise: ``alert`` within ``within_s`` after ``onset_s``.

    ``ramp_s`` > 0: the change grows in over that long after the onset (the
    detection delay is then counted from the end of the ramp); ``variant``
    names the guarded-gait pattern (:data:`GUARDED_PATTERNS`) when there is one.
    """

    alert: str
    onset_s: float
    within_s: float
    leg: str = "both"
    ramp_s: float = 0.0
    variant: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d: dict[str, Any] = {
            "alert": self.alert,
            "onset_s": round(self.onset_s, 3),
            "within_s": self.within_s,
            "leg": self.leg,
        }
        if self.ramp_s:
            d["ramp_s"] = self.ramp_s
        if self.variant is not None:
            d["variant"] = self.variant
        return d


@dataclass(frozen=True)
class StrapSlip:
    """The sensor turns on the strap: about the tibia by ``twist_deg`` and tilts by ``tilt_deg``."""

    onset_s: float
    duration_s: float = 1.5
    twist_deg: float = 25.0
    tilt_deg: float = 8.0


@dataclass
class Plan:
    """A scenario laid out for one duration."""

    scenario: str
    duration_s: float
    segments: list[Segment]
    must_alert: list[Expectation] = field(default_factory=list)
    must_not_alert: list[str] = field(default_factory=list)
    strap_slip: StrapSlip | None = None
    sensor_dies_s: float | None = None
    pain_marks_s: list[float] = field(default_factory=list)
    runner: str | None = (
        None  # archetype (strideguard_devkit.sim.athlete.ARCHETYPES); None: default
    )

    def segment_at(self, t: float) -> Segment:
        """Segment covering time ``t`` (the last one beyond the end)."""
        for seg in self.segments:
            if t < seg.end_s:
                return seg
        return self.segments[-1]

    def changes(self) -> list[dict[str, Any]]:
        """Labelled change onsets: every start of a differently labelled segment."""
        out = []
        prev = None
        for seg in self.segments:
            if seg.label != prev:
                out.append({"label": seg.label, "onset_s": round(seg.start_s, 3)})
            prev = seg.label
        return out


@dataclass(frozen=True)
class Scenario:
    """A named scenario.

    Attributes
    ----------
    name
        Identifier used on the command line.
    description
        One or two sentences for ``strideguard simulate --list``.
    build
        ``build(duration_s) -> Plan``.
    """

    name: str
    description: str
    build: Callable[[float], Plan]

    def plan(self, duration_s: float) -> Plan:
        """Lay the scenario out over ``duration_s`` seconds."""
        if not duration_s >= MIN_DURATION_S:
            raise ValueError(f"duration must be at least {MIN_DURATION_S:g} s, got {duration_s:g}")
        return self.build(float(duration_s))

    def info(self, duration_s: float = 600.0) -> dict[str, Any]:
        """Name, description and expected alerts for ``duration_s``."""
        p = self.plan(duration_s)
        return {
            "name": self.name,
            "description": self.description,
            "duration_s": duration_s,
            "must_alert": [e.to_dict() for e in p.must_alert],
            "must_not_alert": list(p.must_not_alert),
            "changes": p.changes(),
        }


# ------------------------------------------------------------------ helpers
def _at(d: float, frac: float) -> float:
    """Time at fraction ``frac`` of the run after the standing start."""
    return STANDING_S + frac * (d - STANDING_S)


def _lay(d: float, parts: list[tuple[float, dict[str, Any]]]) -> list[Segment]:
    """Standing start, then segments ending at the given fractions of the run."""
    segs = [
        Segment(0.0, STANDING_S, "stand", gait=GAIT_STAND, speed_start_mps=0.0, speed_end_mps=0.0)
    ]
    t = STANDING_S
    for frac, kw in parts:
        end = _at(d, frac)
        if end > t + 1e-9:
            segs.append(Segment(t, end, **kw))
        t = end
    return segs


def _warmup(v: float = 3.0) -> dict[str, Any]:
    return {"label": "warmup", "speed_start_mps": 2.3, "speed_end_mps": v}


def _steady(v: float = 3.0, **kw: Any) -> dict[str, Any]:
    return {"label": "steady", "speed_start_mps": v, "speed_end_mps": v, **kw}


def _repeat(
    t0: float, t1: float, blocks: list[tuple[float, dict[str, Any]]], scale: float
) -> list[Segment]:
    """Fill ``[t0, t1)`` with ``blocks`` (duration at 600 s, kwargs) repeated."""
    out: list[Segment] = []
    t = t0
    i = 0
    while t < t1 - 1e-9:
        dur, kw = blocks[i % len(blocks)]
        end = min(t + max(dur * scale, 4.0), t1)
        out.append(Segment(t, end, **kw))
        t = end
        i += 1
    return out


ALL_ALERTS = list(ALERTS)


def _not(*allowed: str) -> list[str]:
    """Every alert except ``allowed``."""
    return [a for a in ALL_ALERTS if a not in allowed]


# ------------------------------------------------------------------ scenarios
def _steady_plan(d: float) -> Plan:
    segs = _lay(d, [(0.15, _warmup()), (1.0, _steady())])
    return Plan("steady", d, segs, must_not_alert=_not())


def _intervals_plan(d: float) -> Plan:
    head = _lay(d, [(0.15, _warmup(2.8))])
    t0, t1 = _at(d, 0.15), _at(d, 0.9)
    fast = {"label": "fast", "speed_start_mps": 4.2, "speed_end_mps": 4.2}
    easy = {"label": "recovery", "speed_start_mps": 2.8, "speed_end_mps": 2.8}
    sprint = {"label": "sprint", "speed_start_mps": 7.5, "speed_end_mps": 7.5}
    mid = _repeat(t0, t1, [(60, fast), (60, easy), (12, sprint), (50, easy)], d / 600.0)
    cool = Segment(t1, d, "cooldown", speed_start_mps=2.6, speed_end_mps=2.4)
    return Plan("intervals", d, [*head, *mid, cool], must_not_alert=_not())


def _hills_plan(d: float) -> Plan:
    head = _lay(d, [(0.15, _warmup())])
    t0, t1 = _at(d, 0.15), d
    flat = _steady(3.0)
    up = {"label": "hill_up", "speed_start_mps": 2.6, "speed_end_mps": 2.6, "grade": 0.06}
    down = {"label": "hill_down", "speed_start_mps": 3.3, "speed_end_mps": 3.3, "grade": -0.06}
    mid = _repeat(t0, t1, [(60, flat), (90, up), (60, flat), (90, down)], d / 600.0)
    return Plan("hills", d, [*head, *mid], must_not_alert=_not())


def _fatigue_plan(d: float) -> Plan:
    segs = _lay(
        d,
        [
            (0.10, _warmup(2.9)),
            (0.40, _steady(2.9)),
            (0.70, {**_steady(2.85), "fatigue_start": 0.0, "fatigue_end": 0.5}),
            (
                1.0,
                {
                    **_steady(2.8),
                    "label": "fatigued",
                    "fatigue_start": 0.5,
                    "fatigue_end": 1.0,
                },
            ),
        ],
    )
    return Plan("long_run_fatigue", d, segs, must_not_alert=_not())


def _overstride_plan(d: float) -> Plan:
    os_kw = {**_steady(3.0), "label": "overstride", "overstride_deg": 8.0}
    segs = _lay(d, [(0.15, _warmup()), (0.45, _steady()), (0.75, os_kw), (1.0, _steady())])
    onset = _at(d, 0.45)
    return Plan(
        "overstride_episode",
        d,
        segs,
        must_alert=[Expectation("overstride", onset, 45.0)],
        must_not_alert=["gait_changed", "sensor_moved", "sensor_lost"],
    )


def _cadence_plan(d: float) -> Plan:
    cad = {
        **_steady(3.0),
        "label": "cadence_up",
        "cadence_factor": 1.08,
        "ic_shift_deg": -3.0,
        "impact_factor": 0.88,
    }
    segs = _lay(d, [(0.15, _warmup()), (0.45, _steady()), (1.0, cad)])
    return Plan(
        "cadence_retraining",
        d,
        segs,
        must_not_alert=["gait_changed", "overstride", "sensor_moved", "sensor_lost"],
    )


#: guarded-gait scenarios: variant letter, pattern, leg, speed after the onset, ramp (s),
#: slow-down (s) — all with the onset at half the run after a steady 3.0 m/s
GUARDED_VARIANTS: dict[str, tuple[str, str, str, float, float, float]] = {
    "guarded_onset": ("a", "classic", "R", 2.85, 0.0, 0.0),
    "guarded_regular": ("b", "regular", "L", 3.0, 0.0, 0.0),
    "guarded_limp": ("c", "limp", "R", 3.0, 0.0, 0.0),
    "guarded_braking": ("d", "braking", "L", 3.0, 0.0, 0.0),
    "guarded_gradual": ("e", "classic", "R", 2.85, 150.0, 0.0),
    "guarded_slowdown": ("f", "slowdown", "L", 2.5, 0.0, 20.0),
}


def guarded_plan(
    name: str, d: float, onset_s: float | None = None, *, warmup_frac: float = 0.15
) -> Plan:
    """Lay out guarded-gait scenario ``name`` (a key of :data:`GUARDED_VARIANTS`).

    Parameters
    ----------
    name
        The scenario.
    d
        Run length (s).
    onset_s
        When the guarded gait starts (default: half-way through the run).
    warmup_frac
        Share of the run spent warming up (2.3 → 3.0 m/s), at most up to the onset.
    """
    _, pattern, leg, speed, ramp_s, slow_s = GUARDED_VARIANTS[name]
    onset = _at(d, 0.5) if onset_s is None else float(onset_s)
    if not STANDING_S < onset < d:
        raise ValueError(f"onset {onset:g} s must lie inside the run (after {STANDING_S:g} s)")
    g: dict[str, Any] = {
        **_steady(speed),
        "label": "guarded",
        "guarded": 1.0,
        "guarded_leg": leg,
        "guarded_pattern": pattern,
        "guarded_ramp_s": ramp_s,
    }
    warm_end = min(_at(d, warmup_frac), onset)
    segs = _lay(d, [((warm_end - STANDING_S) / (d - STANDING_S), _warmup())])
    if onset > warm_end + 1e-9:
        segs.append(Segment(warm_end, onset, **_steady()))
    start = onset
    if slow_s > 0:
        end = min(onset + slow_s, d)
        segs.append(Segment(onset, end, **{**g, "speed_start_mps": 3.0, "speed_end_mps": speed}))
        start = end
    if start < d:
        segs.append(Segment(start, d, **{**g, "guarded_ramp_s": max(ramp_s - (start - onset), 0)}))
    return Plan(
        name,
        d,
        segs,
        must_alert=[
            Expectation(
                "gait_changed", onset, 90.0 + ramp_s, leg=leg, ramp_s=ramp_s, variant=pattern
            )
        ],
        must_not_alert=["overstride", "sensor_moved", "sensor_lost"],
    )


def _guarded_plan(d: float) -> Plan:
    return guarded_plan("guarded_onset", d)


def _walk_breaks_plan(d: float) -> Plan:
    head = _lay(d, [(0.12, _warmup())])
    t0, t1 = _at(d, 0.12), d
    run = _steady(3.0)
    walk = {"label": "walk", "gait": GAIT_WALK, "speed_start_mps": 1.4, "speed_end_mps": 1.4}
    stop = {"label": "stop", "gait": GAIT_STAND, "speed_start_mps": 0.0, "speed_end_mps": 0.0}
    mid = _repeat(t0, t1, [(120, run), (45, walk), (90, run), (15, stop)], d / 600.0)
    return Plan("walk_breaks", d, [*head, *mid], must_not_alert=_not())


def _strap_slip_plan(d: float) -> Plan:
    segs = _lay(d, [(0.15, _warmup()), (1.0, _steady())])
    onset = _at(d, 0.5)
    return Plan(
        "strap_slip",
        d,
        segs,
        must_alert=[Expectation("sensor_moved", onset, 30.0)],
        must_not_alert=["gait_changed", "overstride", "sensor_lost"],
        strap_slip=StrapSlip(onset),
    )


def _sensor_dies_plan(d: float) -> Plan:
    segs = _lay(d, [(0.15, _warmup()), (1.0, _steady())])
    death = _at(d, 0.7)
    return Plan(
        "sensor_dies",
        d,
        segs,
        must_alert=[Expectation("sensor_lost", death, 5.0)],
        must_not_alert=["gait_changed", "overstride", "sensor_moved"],
        sensor_dies_s=death,
    )


def _track_plan(d: float) -> Plan:
    """Anticlockwise laps of a 400 m track: easy laps, 400 m and 200 m repeats, lanes 1 and 8."""
    # (metres, speed m/s, lane, label) of one workout block, repeated to fill the run
    block = [
        (800.0, 3.2, 1, "easy"),
        (400.0, 5.0, 1, "rep"),
        (200.0, 2.8, 1, "jog"),
        (200.0, 7.0, 1, "fast"),
        (400.0, 2.8, 1, "jog"),
        (800.0, 3.2, 8, "easy"),
        (400.0, 5.0, 8, "rep"),
        (200.0, 2.8, 8, "jog"),
        (200.0, 7.0, 8, "fast"),
        (400.0, 2.8, 8, "jog"),
    ]
    head = _lay(d, [(0.10, {**_warmup(3.2), "label": "warmup"})])
    t = head[-1].end_s
    segs = list(head)
    on_bend = True  # the run starts at the beginning of a bend
    done = 0.0  # share of the current bend or straight already run
    k = 0
    while t < d - 1e-9:
        dist, v, lane, _ = block[k % len(block)]
        r = track_radius_m(lane)
        left = dist
        while left > 1e-6 and t < d - 1e-9:
            length = np.pi * r if on_bend else TRACK_STRAIGHT_M
            step = min((1.0 - done) * length, left)
            end = min(t + step / v, d)
            if end - t < 1e-6:  # a rounding sliver at the end of a bend or straight
                on_bend, done = not on_bend, 0.0
                continue
            segs.append(
                Segment(
                    t,
                    end,
                    f"bend_lane{lane}" if on_bend else "straight",
                    speed_start_mps=v,
                    speed_end_mps=v,
                    curve_radius_m=r if on_bend else 0.0,
                    curve_inside_leg="L",
                )
            )
            left -= step
            done += step / length
            if (1.0 - done) * length < 0.5:  # half a metre left: a rounding sliver
                on_bend, done = not on_bend, 0.0
            t = end
        k += 1
    return Plan("track_bends", d, segs, must_not_alert=_not())


#: rolling trail terrain: (grade, duration at 600 s) — a fixed profile, the same for every seed
TRAIL_PROFILE = (
    (0.03, 40.0),
    (0.07, 30.0),
    (-0.02, 25.0),
    (-0.08, 35.0),
    (0.0, 20.0),
    (0.05, 45.0),
    (0.08, 25.0),
    (-0.05, 30.0),
    (0.02, 20.0),
    (-0.07, 25.0),
)


#: extra stride-to-stride variability on the trail: ×1.5, about twice the +26 % of step
#: parameters measured on a 2.5 cm uneven treadmill (Voloshina & Ferris 2015)
TRAIL_ROUGHNESS = 0.5


def _trail_plan(d: float) -> Plan:
    """A trail: irregular footing (variability ×1.5) on rolling ±8 % terrain."""
    head = _lay(d, [(0.15, _warmup(2.9))])
    t0 = head[-1].end_s
    blocks = [
        (
            dur,
            {
                "label": "trail",
                # uphill slower, downhill faster (about 4 % speed per 1 % grade at 3 m/s)
                "speed_start_mps": 2.9 - 4.0 * g,
                "speed_end_mps": 2.9 - 4.0 * g,
                "grade": g,
                "roughness": TRAIL_ROUGHNESS,
            },
        )
        for g, dur in TRAIL_PROFILE
    ]
    return Plan("trail", d, [*head, *_repeat(t0, d, blocks, d / 600.0)], must_not_alert=_not())


def _demo_plan(d: float) -> Plan:
    # at 600 s: stand 5, warm-up to 65, steady to 240, overstride 240-330,
    # steady 330-420, guarded gait (right leg) from 420
    f = [(t - STANDING_S) / (600.0 - STANDING_S) for t in (65.0, 240.0, 330.0, 420.0)]
    os_kw = {**_steady(3.0), "label": "overstride", "overstride_deg": 8.0}
    g = {**_steady(2.85), "label": "guarded", "guarded": 1.0, "guarded_leg": "R"}
    segs = _lay(
        d,
        [(f[0], _warmup()), (f[1], _steady()), (f[2], os_kw), (f[3], _steady()), (1.0, g)],
    )
    return Plan(
        "demo",
        d,
        segs,
        must_alert=[
            Expectation("overstride", _at(d, f[1]), 45.0),
            Expectation("gait_changed", _at(d, f[3]), 90.0, leg="R"),
        ],
        must_not_alert=["sensor_moved", "sensor_lost"],
    )


# ---- issue 15: foot strike (kept apart from the other scenarios)
def _forefoot_to_heel_plan(d: float) -> Plan:
    # a forefoot striker who, tiring in the last third, lands midfoot and then on the heel
    # (more rearfoot striking late in a race: Larson 2011)
    segs = _lay(
        d,
        [
            (0.15, _warmup(3.2)),
            (0.65, _steady(3.2)),
            (0.8, {**_steady(3.1), "label": "midfoot", "strike_index": 0.5, "fatigue_end": 0.5}),
            (
                1.0,
                {
                    **_steady(3.0),
                    "label": "rearfoot",
                    "strike_index": 0.0,
                    "fatigue_start": 0.5,
                    "fatigue_end": 1.0,
                },
            ),
        ],
    )
    return Plan(
        "forefoot_to_heel",
        d,
        segs,
        must_not_alert=["sensor_moved", "sensor_lost"],
        runner="forefoot",
    )


STRIKE_SCENARIOS = (
    Scenario(
        "forefoot_to_heel",
        "A forefoot striker (runner archetype 'forefoot') at 3.2 m/s who, tiring in the last "
        "third, lands midfoot from 65 % and on the heel from 80 % of the run (tibia angle at IC "
        "+2° and +4°, harder, sharper impacts). The landing really changes: gait_changed and "
        "overstride are allowed.",
        _forefoot_to_heel_plan,
    ),
)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "steady",
            "Quiet standing, a warm-up from 2.3 to 3.0 m/s, then a steady 3.0 m/s run. No alert.",
            _steady_plan,
        ),
        Scenario(
            "intervals",
            "Warm-up, then repeated 4.2 m/s efforts, 2.8 m/s recoveries and 12 s sprints at "
            "7.5 m/s (mid-swing gyro > 1000 °/s, impacts clip at 16 g), cool-down. Pace changes "
            "are not gait changes: no alert.",
            _intervals_plan,
        ),
        Scenario(
            "hills",
            "Flat 3.0 m/s alternating with 6 % uphill (slower, shorter, more vertical tibia, "
            "softer impacts) and 6 % downhill (faster, +3° at IC, harder impacts). No alert.",
            _hills_plan,
        ),
        Scenario(
            "long_run_fatigue",
            "Steady 2.9 m/s with slow fatigue drift over the second half (cadence -3 %, "
            "+2° at IC, longer contact, lower swing peak, more variability). Gradual drift is "
            "not an injury: no alert.",
            _fatigue_plan,
        ),
        Scenario(
            "overstride_episode",
            "Steady 3.0 m/s, then an overstriding episode from 45 % to 75 % of the run "
            "(+8° tibia angle at IC, cadence -5 %, harder impacts), then back to normal. "
            "Must cue overstride; gait_changed is allowed.",
            _overstride_plan,
        ),
        Scenario(
            "cadence_retraining",
            "Steady 3.0 m/s, then from 45 % the runner raises cadence by 8 % (tibia angle at IC "
            "-3°, softer impacts). Must not cue overstride.",
            _cadence_plan,
        ),
        Scenario(
            "guarded_onset",
            "Steady 3.0 m/s, then from 50 % an injury-like guarded gait on the right leg "
            "(mid-swing peak and late-swing deceleration -10 %, shorter contact and stride, "
            "tibia angle at IC -2°, 2.5x variability) while the runner slows to 2.85 m/s. "
            "Must alert gait_changed (right leg).",
            _guarded_plan,
        ),
        *(
            Scenario(
                name,
                f"Guarded-gait variant ({letter}) on the {'right' if leg == 'R' else 'left'} leg "
                f"from 50 % of the run: {GUARDED_PATTERNS[pattern].description.split(') ', 1)[1]}"
                + (f", growing in over {ramp:.0f} s" if ramp else "")
                + (f", while the runner slows from 3.0 to {v:.1f} m/s" if slow else "")
                + f". Must alert gait_changed ({'right' if leg == 'R' else 'left'} leg).",
                partial(guarded_plan, name),
            )
            for name, (letter, pattern, leg, v, ramp, slow) in GUARDED_VARIANTS.items()
            if name != "guarded_onset"
        ),
        Scenario(
            "track_bends",
            "Anticlockwise laps of a 400 m track: easy 3.2 m/s laps, 400 m at 5.0 m/s and "
            "200 m at 7.0 m/s with jog recoveries, in lane 1 (bend radius 36.8 m) and lane 8 "
            "(45.2 m). On the bends the inside (left) leg has longer contact, softer impacts "
            "and lands further ahead, in proportion to v²/r. No alert.",
            _track_plan,
        ),
        Scenario(
            "trail",
            "A trail run: irregular footing (stride-to-stride variability of both legs and of the "
            "stride time ×1.5) on rolling terrain between -8 % and +8 %, slower uphill. "
            "Irregularity without injury: no alert.",
            _trail_plan,
        ),
        Scenario(
            "walk_breaks",
            "Running at 3.0 m/s interrupted by 1.4 m/s walking breaks and short stops. "
            "Walking and standing are not gait changes: no alert.",
            _walk_breaks_plan,
        ),
        Scenario(
            "strap_slip",
            "Steady 3.0 m/s; at 50 % the sensor turns 25° about the tibia and tilts 8° over "
            "1.5 s. Must alert sensor_moved, not gait_changed.",
            _strap_slip_plan,
        ),
        Scenario(
            "sensor_dies",
            "Steady 3.0 m/s; the sensor stops sending at 70 % of the run. Must alert sensor_lost.",
            _sensor_dies_plan,
        ),
        Scenario(
            "demo",
            "About 10 minutes: standing, warm-up, steady running, a 90 s overstriding episode "
            "at 4:00, recovery, then injury-like guarded gait on the right leg from 7:00.",
            _demo_plan,
        ),
        *STRIKE_SCENARIOS,
    )
}


def get_scenario(name: str) -> Scenario:
    """Look a scenario up by name.

    Raises
    ------
    KeyError
        With the list of known names when ``name`` is unknown.
    """
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None


def list_scenarios(duration_s: float = 600.0) -> list[dict[str, Any]]:
    """Every scenario with its description and expected alerts.

    Parameters
    ----------
    duration_s
        Run length for which the alert onsets are given.

    Returns
    -------
    list of dict
        ``name``, ``description``, ``must_alert`` (alert, onset_s, within_s,
        leg), ``must_not_alert`` and the labelled ``changes``.
    """
    return [s.info(duration_s) for s in SCENARIOS.values()]


def custom_scenario(name: str, description: str, plan: Plan) -> Scenario:
    """Wrap a hand-made :class:`Plan` (its times are used as given)."""

    def build(d: float) -> Plan:
        return replace(plan, duration_s=d)

    return Scenario(name, description, build)
