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
from typing import Any

from strideguard_devkit.sim.kinematics import GAIT_RUN, GAIT_STAND, GAIT_WALK

STANDING_S = 5.0
MIN_DURATION_S = 30.0

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
    strike_index: float | None = None

    def speed_at(self, t: float) -> float:
        """Target speed at time ``t`` inside the segment."""
        span = max(self.end_s - self.start_s, 1e-9)
        f = min(max((t - self.start_s) / span, 0.0), 1.0)
        return self.speed_start_mps + f * (self.speed_end_mps - self.speed_start_mps)

    def fatigue_at(self, t: float) -> float:
        """Fatigue level at time ``t`` inside the segment."""
        span = max(self.end_s - self.start_s, 1e-9)
        f = min(max((t - self.start_s) / span, 0.0), 1.0)
        return self.fatigue_start + f * (self.fatigue_end - self.fatigue_start)


@dataclass(frozen=True)
class Expectation:
    """An alert the host must raise: ``alert`` within ``within_s`` after ``onset_s``."""

    alert: str
    onset_s: float
    within_s: float
    leg: str = "both"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "alert": self.alert,
            "onset_s": round(self.onset_s, 3),
            "within_s": self.within_s,
            "leg": self.leg,
        }


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
        must_not_alert=["sensor_moved", "sensor_lost"],
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
        "cadence_retraining", d, segs, must_not_alert=["overstride", "sensor_moved", "sensor_lost"]
    )


def _guarded_plan(d: float) -> Plan:
    g = {**_steady(2.85), "label": "guarded", "guarded": 1.0, "guarded_leg": "R"}
    segs = _lay(d, [(0.15, _warmup()), (0.5, _steady()), (1.0, g)])
    onset = _at(d, 0.5)
    return Plan(
        "guarded_onset",
        d,
        segs,
        must_alert=[Expectation("gait_changed", onset, 90.0, leg="R")],
        must_not_alert=["overstride", "sensor_moved", "sensor_lost"],
    )


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
