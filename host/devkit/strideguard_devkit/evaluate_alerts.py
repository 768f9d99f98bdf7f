"""Evaluation harness: the alert policy against the simulator's labelled scenarios.

For each scenario and seed the simulator produces a run with ground truth and
the alerts it must and must not cause; the run goes through the same path as
a file (``analyze`` + :func:`~strideguard.alerts.offline.alerts_for_strides`),
optionally through BLE framing with packet loss first. The harness reports,
per scenario, the detection delay in strides after the labelled onset for the
alerts that must come, and false alerts per hour for those that must not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from strideguard.alerts.config import AlertConfig
from strideguard.alerts.model import Alert, AlertState
from strideguard.alerts.offline import alerts_for_strides
from strideguard_devkit.sim.scenarios import GUARDED_VARIANTS
from strideguard_devkit.sim.transport import LinkFaults, burst_rate_for

#: scenarios of normal running (no alert may say "stop")
NORMAL_SCENARIOS = (
    "steady",
    "intervals",
    "hills",
    "long_run_fatigue",
    "walk_breaks",
    "cadence_retraining",
    "track_bends",
    "trail",
)
#: the guarded-gait variants (a)-(f) of issue 16, each with its labelled onset and leg
GUARDED_SCENARIOS: tuple[str, ...] = tuple(GUARDED_VARIANTS)
#: scenarios with a change that must be detected
CHANGE_SCENARIOS = (*GUARDED_SCENARIOS, "overstride_episode", "strap_slip")
#: alerts only the live link can raise (a file has no "sensor went silent" moment)
LIVE_ONLY_ALERTS = ("sensor_lost",)
#: largest delay (strides after the onset) per alert, one sensor
TARGET_DELAY_STRIDES = {"gait_changed": 45, "overstride": 20}
#: "gait changed" delay targets (median, max strides after the onset) per number of sensors
GAIT_TARGETS = {"one": (30, 45), "two": (15, 25)}


@dataclass
class RunOutcome:
    """One simulated run through the policy."""

    scenario: str
    seed: int
    leg: str
    hours: float
    n_strides: int
    delays: dict[str, int | None] = field(
        default_factory=dict
    )  # must-alert kind -> strides after onset, or after the ramp when there is one (None = missed)
    #: for changes that ramp in: strides from the ramp's start (information; ``delays`` counts
    #: from its end, a detection during the ramp counting 0)
    delays_from_start: dict[str, int | None] = field(default_factory=dict)
    false_alerts: dict[str, int] = field(default_factory=dict)  # must-not kind -> raised count
    stop_alerts: int = 0
    wrong_leg_stops: int = 0
    overstride_alerts: int = 0
    frames_lost_pct: float = 0.0


@dataclass
class ScenarioSummary:
    """Outcomes of one scenario over seeds."""

    scenario: str
    runs: list[RunOutcome]

    @property
    def hours(self) -> float:
        """Simulated hours."""
        return sum(r.hours for r in self.runs)

    def delays(self, kind: str) -> list[int | None]:
        """Detection delays of ``kind`` over the runs (None = missed)."""
        return [r.delays[kind] for r in self.runs if kind in r.delays]

    def delays_from_start(self, kind: str) -> list[int | None]:
        """For a change that ramps in: delays of ``kind`` from the ramp's start."""
        return [r.delays_from_start[kind] for r in self.runs if kind in r.delays_from_start]

    def false_per_hour(self, kind: str) -> float:
        """False ``kind`` alerts per simulated hour."""
        h = self.hours
        return sum(r.false_alerts.get(kind, 0) for r in self.runs) / h if h else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        kinds_delay = sorted({k for r in self.runs for k in r.delays})
        kinds_false = sorted({k for r in self.runs for k in r.false_alerts})
        return {
            "scenario": self.scenario,
            "runs": len(self.runs),
            "hours": round(self.hours, 3),
            "strides": sum(r.n_strides for r in self.runs),
            "delay_strides": {k: self.delays(k) for k in kinds_delay},
            "delay_strides_from_ramp_start": {
                k: self.delays_from_start(k)
                for k in sorted({k for r in self.runs for k in r.delays_from_start})
            },
            "false_alerts_per_hour": {k: round(self.false_per_hour(k), 3) for k in kinds_false},
            "stop_alerts": sum(r.stop_alerts for r in self.runs),
        }


@dataclass
class SimulatedRun:
    """A simulated run after analysis: what the alert policy sees, plus its labels.

    Kept separate from scoring so one simulated run can be scored under
    several alert configurations (derive them with ``dataclasses.replace``:
    settings are immutable, so scoring never changes them).
    """

    scenario: str
    seed: int
    leg: str
    duration_s: float
    rows: list[dict[str, Any]]
    pain_marks_s: list[float]
    gaps: list[tuple[float, float]]
    angle_calibrated: bool
    must_alert: list[dict[str, Any]]
    must_not_alert: list[str]
    frames_lost_pct: float = 0.0


#: how :func:`link_faults` loses frames
LOSS_KINDS = ("mixed", "random", "bursty")
#: mean burst length of the "bursty" link, in frames
BURST_MEAN_FRAMES = 5.0


def link_faults(loss: float, kind: str = "mixed") -> LinkFaults:
    """A link that loses the share ``loss`` (0–1) of all frames.

    ``"random"``: each frame independently; ``"bursty"``: in Gilbert–Elliott
    bursts of :data:`BURST_MEAN_FRAMES` frames on average; ``"mixed"``: at
    random plus a tenth as many bursts of 8 frames (the evaluation's lossy
    runs since the first version).
    """
    if kind == "random":
        return LinkFaults(loss_rate=loss)
    if kind == "bursty":
        return LinkFaults(
            burst_rate=burst_rate_for(loss, BURST_MEAN_FRAMES), burst_mean_frames=BURST_MEAN_FRAMES
        )
    if kind == "mixed":
        return LinkFaults(loss_rate=loss, burst_rate=loss / 10)
    raise ValueError(f"loss kind must be one of {', '.join(LOSS_KINDS)}, not {kind!r}")


def simulate_run(
    scenario: str,
    seed: int,
    *,
    duration_s: float,
    rate_hz: float = 200.0,
    leg: str = "R",
    loss: float = 0.0,
    loss_kind: str = "mixed",
) -> SimulatedRun:
    """Simulate one run and analyse it exactly as a file would be analysed.

    Parameters
    ----------
    scenario, seed, duration_s, rate_hz, leg
        Passed to :func:`strideguard_devkit.sim.simulate`.
    loss, loss_kind
        Frame loss (0–1, see :func:`link_faults`) applied by BLE framing (MTU
        247); the frames are then decoded and validated as a recording file is
        (:func:`strideguard.load.from_imu`: lost samples bridged, gaps listed).
    """
    from strideguard.analysis import analyze
    from strideguard_devkit.sim import simulate

    run = simulate(scenario, duration_s=duration_s, rate_hz=rate_hz, seed=seed, leg=leg)
    recording = run.recording
    lost_pct = 0.0
    if loss > 0:
        from strideguard.frames import decode_frames, to_recording
        from strideguard.load import from_imu
        from strideguard_devkit.sim.transport import make_frames

        stream = make_frames(run, mtu=247, faults=link_faults(loss, loss_kind), seed=seed)
        decoded = decode_frames(stream.payloads, stream.arrival_s)
        recording = from_imu(to_recording(decoded, source=recording.source))
        lost_pct = (
            100.0
            * decoded.report.samples_lost
            / max(1, decoded.report.samples_lost + decoded.n_samples)
        )
    result = analyze(recording, leg=leg)
    return SimulatedRun(
        scenario=scenario,
        seed=seed,
        leg=leg,
        duration_s=duration_s,
        rows=result.strides.rows(),
        pain_marks_s=[float(t) for t in recording.pain_marks_s],
        gaps=[(float(a), float(b)) for a, b in recording.gaps],
        angle_calibrated=bool(result.alignment.calibrated) if result.alignment else False,
        must_alert=[dict(e) for e in run.truth.must_alert],
        must_not_alert=[str(k) for k in run.truth.must_not_alert],
        frames_lost_pct=lost_pct,
    )


def score_run(sim: SimulatedRun, config: AlertConfig | None = None) -> RunOutcome:
    """Run the file path's alert policy over ``sim`` and score it against its labels.

    ``config`` (default: the defaults) is immutable, so one object serves any
    number of runs and each run sees exactly these settings, whatever ran before.
    """
    rows = sim.rows
    policy = alerts_for_strides(
        rows,
        pain_marks_s=sim.pain_marks_s,
        gaps=sim.gaps,
        config=config,
        leg=sim.leg,
        angle_calibrated=sim.angle_calibrated,
    )
    raised = _raised(policy.alerts_)
    out = RunOutcome(
        scenario=sim.scenario,
        seed=sim.seed,
        leg=sim.leg,
        hours=sim.duration_s / 3600.0,
        n_strides=len(rows),
        frames_lost_pct=sim.frames_lost_pct,
    )
    ic = _contacts(rows)
    for exp in sim.must_alert:
        kind = str(exp["alert"])
        if exp.get("this_leg") is False or kind in LIVE_ONLY_ALERTS:
            continue
        _score_expectation(out, kind, exp, raised, ic)
    for kind in sim.must_not_alert:
        out.false_alerts[kind] = sum(1 for a in raised if a.kind.value == kind)
    out.stop_alerts = sum(1 for a in raised if a.severity.value == "stop")
    out.overstride_alerts = sum(1 for a in raised if a.kind.value == "overstride")
    return out


def _raised(alerts: Sequence[Alert]) -> list[Alert]:
    """The alerts raised or escalated (not reminders, acknowledgements or ends)."""
    return [a for a in alerts if a.state in (AlertState.RAISED, AlertState.ESCALATED)]


def _contacts(rows: Sequence[dict[str, Any]]) -> np.ndarray:
    """The strides' initial-contact times."""
    return np.array([r["initial_contact_s"] for r in rows], dtype=float)


def detection_delay(
    ic: np.ndarray, onset_s: float, ramp_s: float, alert_s: float | None
) -> tuple[int | None, int | None]:
    """Strides from a change to its alert: (after the ramp's end, after its start).

    Parameters
    ----------
    ic
        The leg's initial-contact times (s).
    onset_s, ramp_s
        The labelled onset and how long the change takes to grow in (0: at once).
    alert_s
        When the alert was raised (``None``: missed).

    Returns
    -------
    tuple
        Strides of the leg after the end of the ramp up to the alert (an alert
        during the ramp counts 0: the change was caught before it was complete),
        and strides after the ramp's start (the same for a change without a ramp).
        ``(None, None)`` when missed.
    """
    if alert_s is None:
        return None, None
    from_start = int(np.count_nonzero((ic >= onset_s) & (ic <= alert_s)))
    if ramp_s <= 0:
        return from_start, from_start
    end = onset_s + ramp_s
    return int(np.count_nonzero((ic >= end) & (ic <= alert_s))), from_start


def _score_expectation(
    out: RunOutcome,
    key: str,
    exp: dict[str, Any],
    raised: Sequence[Alert],
    ic: np.ndarray,
) -> None:
    """Score one must-alert expectation against one leg's raised alerts into ``out.delays[key]``."""
    kind = str(exp["alert"])
    onset = float(exp["onset_s"])
    ramp = float(exp.get("ramp_s") or 0.0)
    hits = [a for a in raised if a.kind.value == kind and a.time_s >= onset - 2.0]
    after_ramp, from_start = detection_delay(ic, onset, ramp, hits[0].time_s if hits else None)
    out.delays[key] = after_ramp
    if ramp > 0:
        out.delays_from_start[key] = from_start


def evaluate_run(
    scenario: str,
    seed: int,
    *,
    duration_s: float,
    rate_hz: float = 200.0,
    leg: str = "R",
    loss: float = 0.0,
    loss_kind: str = "mixed",
    config: AlertConfig | None = None,
) -> RunOutcome:
    """Simulate one run and score the alerts the file path raises on it.

    Parameters
    ----------
    scenario, seed, duration_s, rate_hz, leg, loss, loss_kind
        See :func:`simulate_run`.
    config
        Alert settings.
    """
    sim = simulate_run(
        scenario,
        seed,
        duration_s=duration_s,
        rate_hz=rate_hz,
        leg=leg,
        loss=loss,
        loss_kind=loss_kind,
    )
    return score_run(sim, config)


@dataclass
class PairOutcome:
    """One simulated two-sensor run through both legs' policies and the symmetry monitor.

    Attributes
    ----------
    delays
        Per expected alert: strides of the leg after the onset (after the ramp,
        for a change that ramps in) until it was raised on that leg (``None``:
        missed). A one-legged expectation (a guarded gait) is keyed by its kind
        and scored on its labelled leg; one for both legs (overstriding, a
        moved sensor) by ``"<kind> L"`` and ``"<kind> R"``, each leg scored alone.
    delays_from_start
        As ``delays``, from the ramp's start, for changes that ramp in.
    false_alerts
        Per must-not-alert kind and leg (``"<kind> L"``, ``"<kind> R"``): raised count.
    stop_alerts, overstride_alerts
        Stop alerts and overstride cues raised per leg.
    wrong_leg_stops
        Stop alerts on the leg that did not change (a scenario with a labelled leg).
    """

    scenario: str
    seed: int
    hours: float
    delays: dict[str, int | None] = field(default_factory=dict)
    delays_from_start: dict[str, int | None] = field(default_factory=dict)
    false_alerts: dict[str, int] = field(default_factory=dict)
    stop_alerts: dict[str, int] = field(default_factory=dict)
    overstride_alerts: dict[str, int] = field(default_factory=dict)
    wrong_leg_stops: int = 0


def evaluate_pair_run(
    scenario: str,
    seed: int,
    *,
    duration_s: float,
    rate_hz: float = 200.0,
    config: AlertConfig | None = None,
) -> PairOutcome:
    """Simulate both legs of one run and score the two-sensor alerts against the labels.

    Both legs are analysed as files are; strides go through
    :func:`strideguard.alerts.offline.alerts_for_pair` (each leg's policy plus
    the left/right symmetry evidence), as a two-sensor live run does. Every
    expectation and every must-not-alert kind is scored per leg, like the one-sensor
    runs (see :class:`PairOutcome`).
    """
    from strideguard.alerts.offline import alerts_for_pair
    from strideguard.analysis import analyze
    from strideguard_devkit.sim import simulate_pair

    left, right = simulate_pair(scenario, duration_s=duration_s, rate_hz=rate_hz, seed=seed)
    rows: dict[str, list[dict[str, float | None]]] = {}
    pains: dict[str, list[float]] = {}
    gaps: dict[str, list[tuple[float, float]]] = {}
    calibrated: dict[str, bool] = {}
    for leg, run in (("L", left), ("R", right)):
        result = analyze(run.recording, leg=leg)
        rows[leg] = result.strides.rows()
        pains[leg] = [float(t) for t in run.recording.pain_marks_s]
        gaps[leg] = [(float(a), float(b)) for a, b in run.recording.gaps]
        calibrated[leg] = bool(result.alignment.calibrated) if result.alignment else False
    monitor = alerts_for_pair(
        rows, pain_marks_s=pains, gaps=gaps, angle_calibrated=calibrated, config=config
    )
    return score_pair(
        scenario,
        seed,
        duration_s / 3600.0,
        {leg: monitor.policies[leg].alerts_ for leg in ("L", "R")},
        rows,
        [dict(e) for e in right.truth.must_alert],
        [str(k) for k in right.truth.must_not_alert],
    )


def score_pair(
    scenario: str,
    seed: int,
    hours: float,
    alerts: dict[str, Sequence[Alert]],
    rows: dict[str, list[dict[str, Any]]],
    must_alert: Sequence[dict[str, Any]],
    must_not_alert: Sequence[str],
) -> PairOutcome:
    """Score both legs' alerts of a two-sensor run against the run's labels (see :class:`PairOutcome`)."""
    out = PairOutcome(scenario, seed, hours)
    raised = {leg: _raised(alerts[leg]) for leg in ("L", "R")}
    out.stop_alerts = {
        leg: sum(1 for a in raised[leg] if a.severity.value == "stop") for leg in raised
    }
    out.overstride_alerts = {
        leg: sum(1 for a in raised[leg] if a.kind.value == "overstride") for leg in raised
    }
    scored = RunOutcome(scenario, seed, "LR", hours, 0)
    for exp in must_alert:
        kind = str(exp["alert"])
        labelled = str(exp.get("leg") or "both")
        if kind in LIVE_ONLY_ALERTS:
            continue
        legs = ("L", "R") if labelled not in ("L", "R") else (labelled,)
        for leg in legs:
            key = kind if len(legs) == 1 else f"{kind} {leg}"
            _score_expectation(scored, key, exp, raised[leg], _contacts(rows[leg]))
        if kind == "gait_changed" and len(legs) == 1:
            out.wrong_leg_stops = out.stop_alerts["L" if legs[0] == "R" else "R"]
    out.delays = scored.delays
    out.delays_from_start = scored.delays_from_start
    for kind in must_not_alert:
        if kind in LIVE_ONLY_ALERTS:
            continue
        for leg in ("L", "R"):
            out.false_alerts[f"{kind} {leg}"] = sum(1 for a in raised[leg] if a.kind.value == kind)
    return out


def _evaluate_pairs(
    scenarios: Sequence[str],
    seeds: Sequence[int],
    duration_s: float,
    rate_hz: float,
    config: AlertConfig,
    progress: Callable[[str], None] | None,
) -> list[ScenarioSummary]:
    """:func:`evaluate` with two sensors: each run's outcome over both legs."""
    summaries = []
    for name in scenarios:
        runs = []
        for seed in seeds:
            if progress:
                progress(f"{name} seed {seed} ({duration_s / 60:.0f} min, two sensors)")
            pair = evaluate_pair_run(
                name, seed, duration_s=duration_s, rate_hz=rate_hz, config=config
            )
            out = RunOutcome(scenario=name, seed=seed, leg="LR", hours=pair.hours, n_strides=0)
            out.delays = dict(pair.delays)
            out.delays_from_start = dict(pair.delays_from_start)
            out.false_alerts = dict(pair.false_alerts)
            out.stop_alerts = sum(pair.stop_alerts.values())
            out.overstride_alerts = sum(pair.overstride_alerts.values())
            out.wrong_leg_stops = pair.wrong_leg_stops
            runs.append(out)
        summaries.append(ScenarioSummary(name, runs))
    return summaries


def evaluate_stored_baseline_run(
    scenario: str,
    seed: int,
    *,
    minutes: float = 5.0,
    onset_s: float = 120.0,
    learn_minutes: float = 15.0,
    rate_hz: float = 200.0,
    config: AlertConfig | None = None,
) -> int | None:
    """Protection from the first minute: a short run judged against a stored baseline.

    The runner's baseline is learned on a ``learn_minutes`` steady run (same
    seed: same runner and sensor mounting), stored and loaded as a profile;
    then a ``minutes``-long run of guarded-gait variant ``scenario`` whose
    guarded gait starts at ``onset_s`` is scored with it (one sensor, on the
    variant's leg).

    Returns
    -------
    int or None
        Strides after the onset until "stop" (``None``: missed).
    """
    from functools import partial

    from strideguard.alerts.baseline import PersonalBaseline
    from strideguard_devkit.sim.scenarios import Scenario, guarded_plan

    leg = GUARDED_VARIANTS[scenario][2]
    learn = simulate_run("steady", seed, duration_s=60.0 * learn_minutes, rate_hz=rate_hz, leg=leg)
    learned = alerts_for_strides(
        learn.rows, config=config, leg=leg, angle_calibrated=learn.angle_calibrated
    ).baseline_
    if learned is None:
        raise RuntimeError("the learning run learned no baseline")
    stored = PersonalBaseline.from_json(learned.to_json())
    short = Scenario(scenario, "", partial(guarded_plan, scenario, onset_s=onset_s))
    sim = simulate_run(short, seed, duration_s=60.0 * minutes, rate_hz=rate_hz, leg=leg)  # type: ignore[arg-type]
    policy = alerts_for_strides(
        sim.rows,
        pain_marks_s=sim.pain_marks_s,
        gaps=sim.gaps,
        config=config,
        baseline=stored,
        leg=leg,
        angle_calibrated=sim.angle_calibrated,
    )
    ic = np.array([r["initial_contact_s"] for r in sim.rows], dtype=float)
    hits = [
        a
        for a in policy.alerts_
        if a.kind.value == "gait_changed"
        and a.state is AlertState.RAISED
        and a.time_s >= onset_s - 2.0
    ]
    if not hits:
        return None
    return int(np.count_nonzero((ic >= onset_s) & (ic <= hits[0].time_s)))


def evaluate(
    scenarios: Sequence[str],
    seeds: Sequence[int],
    *,
    duration_s: float,
    rate_hz: float = 200.0,
    loss_every: int = 3,
    loss: float = 0.01,
    loss_kind: str = "mixed",
    config: AlertConfig | None = None,
    progress: Callable[[str], None] | None = None,
    sensors: str = "one",
) -> list[ScenarioSummary]:
    """Run :func:`evaluate_run` over scenarios × seeds.

    Every ``loss_every``-th seed (every seed with ``loss_every=1``) goes
    through BLE framing losing the share ``loss`` of its frames
    (:func:`link_faults`); legs alternate between seeds. Every run is scored
    with the same (immutable) ``config``.
    A guarded-gait variant's single sensor is on its labelled leg. With
    ``sensors="two"`` each run is both legs through :func:`evaluate_pair_run`
    instead (no frame loss).
    """
    config = config if config is not None else AlertConfig()
    if sensors == "two":
        return _evaluate_pairs(scenarios, seeds, duration_s, rate_hz, config, progress)
    summaries = []
    for name in scenarios:
        runs = []
        for k, seed in enumerate(seeds):
            leg = "R" if name == "demo" or k % 2 == 0 else "L"
            if name in GUARDED_VARIANTS:
                leg = GUARDED_VARIANTS[name][2]
            lossy = loss if loss_every and k % loss_every == loss_every - 1 else 0.0
            if progress:
                progress(
                    f"{name} seed {seed} ({duration_s / 60:.0f} min, leg {leg}{', lossy link' if lossy else ''})"
                )
            runs.append(
                evaluate_run(
                    name,
                    seed,
                    duration_s=duration_s,
                    rate_hz=rate_hz,
                    leg=leg,
                    loss=lossy,
                    loss_kind=loss_kind,
                    config=config,
                )
            )
        summaries.append(ScenarioSummary(name, runs))
    return summaries


def _delay_text(d: Sequence[int | None]) -> tuple[str, int | None, int]:
    """(median text, max, missed) of a list of delays."""
    got = [x for x in d if x is not None]
    return (f"{np.median(got):.0f}" if got else "-"), (max(got) if got else None), len(d) - len(got)


def format_table(summaries: Sequence[ScenarioSummary]) -> str:
    """Readable table: per scenario the numbers, and each target said to be met or not met.

    A report, not a test: nothing here passes or fails (``make bench`` prints it as is).
    Two-sensor tables name the leg of expectations and false alerts scored per leg
    (``overstride L``); a change that ramps in is scored from the ramp's end (a
    detection during the ramp counts 0), with the delay from its start given too.
    """
    lines = [f"{'scenario':20s} {'runs':>4s} {'hours':>6s}  result"]
    total_normal_h = 0.0
    total_stop = 0
    two = any(r.leg == "LR" for s in summaries for r in s.runs)
    for s in summaries:
        parts = []
        for key in sorted({k for r in s.runs for k in r.delays}):
            kind = key.split()[0]
            d = s.delays(key)
            med, worst, missed = _delay_text(d)
            got = [x for x in d if x is not None]
            if kind == "gait_changed":
                t_med, t_max = GAIT_TARGETS["two" if two else "one"]
                met = (
                    missed == 0 and worst is not None and np.median(got) <= t_med and worst <= t_max
                )
                target_text = f"median <= {t_med}, max <= {t_max}"
            else:
                t = TARGET_DELAY_STRIDES.get(kind)
                met = missed == 0 and worst is not None and t is not None and worst <= t
                target_text = f"<= {t}" if t is not None else ""
            ramped = s.delays_from_start(key)
            after = " after the ramp (during it = 0)" if ramped else ""
            text = (
                f"{key}: delay{after} median {med}, max {worst if worst is not None else '-'} strides"
                + (f" (target {target_text}: {'met' if met else 'not met'})" if target_text else "")
                + (f", MISSED {missed}" if missed else "")
            )
            if ramped:
                r_med, r_max, _ = _delay_text(ramped)
                text += f"; from the ramp's start median {r_med}, max {r_max if r_max is not None else '-'}"
            parts.append(text)
            if kind == "gait_changed":
                wrong = sum(r.wrong_leg_stops for r in s.runs)
                if wrong:
                    parts.append(f"stop on the other leg: {wrong}")
        for kind in sorted({k for r in s.runs for k in r.false_alerts}):
            n = sum(r.false_alerts.get(kind, 0) for r in s.runs)
            if n:
                parts.append(f"false {kind}: {n} ({s.false_per_hour(kind):.2f}/h)")
        stops = sum(r.stop_alerts for r in s.runs)
        if s.scenario in NORMAL_SCENARIOS:
            total_normal_h += s.hours
            total_stop += stops
        if not parts:
            parts.append("no false alerts")
        lines.append(f"{s.scenario:20s} {len(s.runs):4d} {s.hours:6.2f}  " + "; ".join(parts))
    over_fp = sum(
        r.overstride_alerts for s in summaries if s.scenario in NORMAL_SCENARIOS for r in s.runs
    )
    lines.append("")
    lines.append(
        f"normal running: {total_normal_h:.2f} h, 'stop' alerts: {total_stop} (target 0 over >= 30 h)"
    )
    if total_normal_h:
        legs = " (both legs together)" if two else ""
        lines.append(
            f"overstride cues on runs without overstriding{legs}: {over_fp} = "
            f"{over_fp / total_normal_h:.2f}/h (target <= 1/h)"
        )
    return "\n".join(lines)
