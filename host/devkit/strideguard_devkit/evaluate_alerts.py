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
from strideguard.alerts.model import AlertState
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
    )  # must-alert kind -> strides after onset (None = missed)
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
    raised = [a for a in policy.alerts_ if a.state in (AlertState.RAISED, AlertState.ESCALATED)]
    ic = np.array([r["initial_contact_s"] for r in rows], dtype=float)
    out = RunOutcome(
        scenario=sim.scenario,
        seed=sim.seed,
        leg=sim.leg,
        hours=sim.duration_s / 3600.0,
        n_strides=len(rows),
        frames_lost_pct=sim.frames_lost_pct,
    )
    for exp in sim.must_alert:
        kind = str(exp["alert"])
        if exp.get("this_leg") is False or kind in LIVE_ONLY_ALERTS:
            continue
        onset = float(exp["onset_s"])
        hits = [a for a in raised if a.kind.value == kind and a.time_s >= onset - 2.0]
        if hits:
            out.delays[kind] = int(np.count_nonzero((ic >= onset) & (ic <= hits[0].time_s)))
        else:
            out.delays[kind] = None
    for kind in sim.must_not_alert:
        out.false_alerts[kind] = sum(1 for a in raised if a.kind.value == kind)
    out.stop_alerts = sum(1 for a in raised if a.severity.value == "stop")
    out.overstride_alerts = sum(1 for a in raised if a.kind.value == "overstride")
    return out


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
        Per expected alert kind: strides of the labelled leg after the onset
        until it was raised on that leg (``None``: missed).
    stop_alerts
        Stop alerts raised per leg.
    wrong_leg_stops
        Stop alerts on the leg that did not change (a scenario with a labelled leg).
    """

    scenario: str
    seed: int
    hours: float
    delays: dict[str, int | None] = field(default_factory=dict)
    stop_alerts: dict[str, int] = field(default_factory=dict)
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
    the left/right symmetry evidence), as a two-sensor live run does.
    """
    from strideguard.alerts.offline import alerts_for_pair
    from strideguard.analysis import analyze
    from strideguard_devkit.sim import simulate_pair

    left, right = simulate_pair(scenario, duration_s=duration_s, rate_hz=rate_hz, seed=seed)
    rows: dict[str, list[dict[str, float | None]]] = {}
    pains: dict[str, list[float]] = {}
    for leg, run in (("L", left), ("R", right)):
        rows[leg] = analyze(run.recording, leg=leg).strides.rows()
        pains[leg] = [float(t) for t in run.recording.pain_marks_s]
    monitor = alerts_for_pair(rows, pain_marks_s=pains, config=config)
    out = PairOutcome(scenario, seed, duration_s / 3600.0)
    raised = {
        leg: [
            a
            for a in monitor.policies[leg].alerts_
            if a.state in (AlertState.RAISED, AlertState.ESCALATED)
        ]
        for leg in ("L", "R")
    }
    out.stop_alerts = {
        leg: sum(1 for a in raised[leg] if a.severity.value == "stop") for leg in raised
    }
    for exp in right.truth.must_alert:
        kind = str(exp["alert"])
        leg = str(exp.get("leg") or "R")
        if kind in LIVE_ONLY_ALERTS or leg not in rows:
            continue
        onset = float(exp["onset_s"])
        ic = np.array([r["initial_contact_s"] for r in rows[leg]], dtype=float)
        hits = [a for a in raised[leg] if a.kind.value == kind and a.time_s >= onset - 2.0]
        out.delays[kind] = (
            int(np.count_nonzero((ic >= onset) & (ic <= hits[0].time_s))) if hits else None
        )
        if kind == "gait_changed":
            other = "L" if leg == "R" else "R"
            out.wrong_leg_stops = out.stop_alerts[other]
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
            out.stop_alerts = sum(pair.stop_alerts.values())
            if name in NORMAL_SCENARIOS:
                out.false_alerts["gait_changed"] = out.stop_alerts
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


def format_table(summaries: Sequence[ScenarioSummary]) -> str:
    """Readable table: per scenario the numbers, and each target said to be met or not met.

    A report, not a test: nothing here passes or fails (``make bench`` prints it as is).
    """
    lines = [f"{'scenario':20s} {'runs':>4s} {'hours':>6s}  result"]
    total_normal_h = 0.0
    total_stop = 0
    for s in summaries:
        parts = []
        for kind in sorted({k for r in s.runs for k in r.delays}):
            d = s.delays(kind)
            got = [x for x in d if x is not None]
            missed = len(d) - len(got)
            worst = max(got) if got else None
            med = f"{np.median(got):.0f}" if got else "-"
            if kind == "gait_changed":
                two = any(r.leg == "LR" for r in s.runs)
                t_med, t_max = GAIT_TARGETS["two" if two else "one"]
                met = (
                    missed == 0 and worst is not None and np.median(got) <= t_med and worst <= t_max
                )
                target_text = f"median <= {t_med}, max <= {t_max}"
            else:
                t = TARGET_DELAY_STRIDES.get(kind)
                met = missed == 0 and worst is not None and t is not None and worst <= t
                target_text = f"<= {t}" if t is not None else ""
            parts.append(
                f"{kind}: delay median {med}, max {worst if worst is not None else '-'} strides"
                + (f" (target {target_text}: {'met' if met else 'not met'})" if target_text else "")
                + (f", MISSED {missed}" if missed else "")
            )
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
    over_h = sum(
        s.hours
        for s in summaries
        if s.scenario in NORMAL_SCENARIOS and s.scenario != "cadence_retraining"
    )
    over_fp = sum(
        r.overstride_alerts for s in summaries if s.scenario in NORMAL_SCENARIOS for r in s.runs
    )
    lines.append("")
    lines.append(
        f"normal running: {total_normal_h:.2f} h, 'stop' alerts: {total_stop} (target 0 over >= 30 h)"
    )
    if over_h:
        lines.append(
            f"overstride cues on runs without overstriding: {over_fp} = {over_fp / max(total_normal_h, 1e-9):.2f}/h (target <= 1/h)"
        )
    return "\n".join(lines)
