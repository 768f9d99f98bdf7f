"""The alert engine against simulated labelled runs (reduced scale) and real recordings.

Full scale (>= 10 h of normal running, seeds 1..7) is ``make bench`` / ``strideguard
eval-alerts``; the defaults were tuned on seeds 100-119, these tests use seeds 1-2.
"""

from __future__ import annotations

import numpy as np
import pytest

from strideguard.alerts import AlertKind, AlertState, Severity
from strideguard.alerts.config import config_from_dict
from strideguard.alerts.offline import alerts_for_strides
from strideguard.analysis import analyze
from strideguard_devkit.evaluate_alerts import (
    RunOutcome,
    ScenarioSummary,
    evaluate,
    format_table,
    score_run,
    simulate_run,
)
from tests.host.analysis_helpers import RBDS, load_rbds


def test_guarded_onset_detected_and_normal_runs_do_not_stop() -> None:
    summaries = evaluate(
        ["guarded_onset", "steady", "intervals", "walk_breaks"],
        [1, 2],
        duration_s=900.0,
        rate_hz=200.0,
        loss_every=2,  # seed 2 goes through lossy BLE framing
    )
    table = format_table(summaries)
    by = {s.scenario: s for s in summaries}
    delays = by["guarded_onset"].delays("gait_changed")
    # target 30 strides; the engine does not meet it on every run yet (see docs/alerts.md)
    assert all(d is not None and d <= 60 for d in delays), table
    for name in ("steady", "intervals", "walk_breaks"):
        assert sum(r.stop_alerts for r in by[name].runs) == 0, table


def test_table_reports_targets_met_or_not_without_pass_fail() -> None:
    """``make bench`` prints numbers against targets; the README promises no pass/fail."""

    def outcome(seed: int, **delays: int | None) -> RunOutcome:
        return RunOutcome("x", seed, "R", 0.25, 600, delays=dict(delays))

    table = format_table(
        [
            ScenarioSummary(
                "guarded_onset", [outcome(1, gait_changed=20), outcome(2, gait_changed=46)]
            ),
            ScenarioSummary(
                "overstride_episode", [outcome(1, overstride=12), outcome(2, overstride=15)]
            ),
            ScenarioSummary(
                "strap_slip", [outcome(1, sensor_moved=5), outcome(2, sensor_moved=None)]
            ),
        ]
    )
    lines = {ln.split()[0]: ln for ln in table.splitlines() if ln}
    assert "max 46 strides (target median <= 30, max <= 45: not met)" in lines["guarded_onset"]
    assert "max 15 strides (target <= 20: met)" in lines["overstride_episode"]
    assert lines["strap_slip"].endswith("sensor_moved: delay median 5, max 5 strides, MISSED 1")
    assert "FAIL" not in table


def test_overstride_episode_detected_within_20_strides() -> None:
    out = score_run(simulate_run("overstride_episode", 1, duration_s=600.0, rate_hz=200.0))
    assert out.delays["overstride"] is not None and out.delays["overstride"] <= 20, out


def test_real_recordings_never_stop() -> None:
    # 30 s each: learn the baseline from the first 12 s so the detector runs on the rest
    cfg = config_from_dict({"baseline": {"skip_s": 0, "duration_s": 20, "min_strides": 10}})
    for name in RBDS:
        rec, _, _ = load_rbds(name)
        leg = "L" if "_L_" in name else "R"
        rows = analyze(rec, leg=leg).strides.rows()
        policy = alerts_for_strides(rows, config=cfg, leg=leg, end_time_s=30.0)
        assert policy.baseline_ is not None, name
        stops = [a for a in policy.alerts_ if a.severity == Severity.STOP]
        assert stops == [], (name, [a.one_line() for a in stops])
        assert AlertKind.GAIT_CHANGED not in [
            a.kind for a in policy.alerts_ if a.state == AlertState.RAISED
        ]
        assert np.isfinite([s[2] for s in policy.scores_]).all()


def test_eval_alerts_cli(capsys: pytest.CaptureFixture[str]) -> None:
    from strideguard.cli import main

    assert main(["eval-alerts", "--scenarios", "steady", "--seeds", "1", "--minutes", "4"]) == 0
    out = capsys.readouterr()
    assert "--- one sensor ---" in out.out and "--- two sensors ---" in out.out
    assert "steady" in out.out and "normal running" in out.out
    assert "eval-alerts: steady seed 1" in out.err and "two sensors" in out.err
    assert main(["eval-alerts", "--scenarios", "nope"]) == 2
    # seeds nobody tuned on: from --first-seed
    args = ["--scenarios", "steady", "--seeds", "2", "--minutes", "2", "--sensors", "one"]
    assert main(["eval-alerts", *args, "--first-seed", "200"]) == 0
    err = capsys.readouterr().err
    assert "steady seed 200 " in err and "steady seed 201 " in err and "seed 1 " not in err


# ---------------------------------------------------------------- two sensors (#16)


@pytest.mark.slow
def test_two_sensors_catch_every_guarded_variant_on_the_right_leg_fast() -> None:
    """Small-scale version of the two-sensor table (full scale: ``make bench``)."""
    from strideguard_devkit.evaluate_alerts import GUARDED_SCENARIOS, evaluate_pair_run
    from strideguard_devkit.sim.scenarios import GUARDED_VARIANTS

    for name in GUARDED_SCENARIOS:
        out = evaluate_pair_run(name, 2, duration_s=600.0)
        delay = out.delays["gait_changed"]
        # gradual (e): counted from the end of its 150-s ramp (caught during it = 0)
        assert delay is not None and delay <= 25, (name, out)
        if GUARDED_VARIANTS[name][4] > 0:
            from_start = out.delays_from_start["gait_changed"]
            assert from_start is not None and from_start <= 190, (name, out)
        assert out.wrong_leg_stops == 0, (name, out)


@pytest.mark.slow
def test_two_sensors_never_stop_on_bends_or_a_trail() -> None:
    from strideguard_devkit.evaluate_alerts import evaluate_pair_run

    for name in ("track_bends", "trail", "hills"):
        out = evaluate_pair_run(name, 3, duration_s=900.0)
        assert out.stop_alerts == {"L": 0, "R": 0}, (name, out)


def test_a_five_minute_run_with_a_stored_baseline_is_protected_from_minute_two() -> None:
    from strideguard_devkit.evaluate_alerts import evaluate_stored_baseline_run

    # the classic guarded gait from 2:00 of a 5-minute run: caught as fast as in a long run
    delay = evaluate_stored_baseline_run("guarded_onset", 2, minutes=5.0, onset_s=120.0)
    assert delay is not None and delay <= 45, delay


def test_eval_alerts_through_a_lossy_link(capsys: pytest.CaptureFixture[str]) -> None:
    from strideguard.cli import main
    from strideguard_devkit.evaluate_alerts import link_faults, simulate_run

    # bursts of 5 frames on average, random frames, or both; a bad kind is refused
    assert link_faults(0.02, "bursty").burst_mean_frames == 5.0
    assert link_faults(0.02, "random").burst_rate == 0.0
    with pytest.raises(ValueError, match="loss kind"):
        link_faults(0.02, "sometimes")
    sim = simulate_run(
        "steady", 1, duration_s=240, rate_hz=200, leg="R", loss=0.03, loss_kind="random"
    )
    # the lost samples are gaps on the recording's own time grid, strides around them flagged
    assert 1.5 < sim.frames_lost_pct < 5.0 and len(sim.gaps) > 10
    assert any(r["gap_in_stride"] for r in sim.rows)
    argv = ["eval-alerts", "--scenarios", "steady", "--seeds", "1", "--minutes", "3"]
    assert main([*argv, "--loss", "3", "--loss-kind", "bursty"]) == 0
    assert "normal running" in capsys.readouterr().out
    assert main([*argv, "--loss", "80"]) == 2
    assert "--loss" in (err := capsys.readouterr().err) and "must be" in err


def test_a_pain_mark_catches_what_one_sensor_cannot_tell_from_a_hill() -> None:
    """(b) slower swing without irregularity: one sensor alone is slow (like a hill), but
    "pain now" 15 s after the onset turns it into "stop" at once (docs/alerts.md)."""
    from strideguard_devkit.sim.scenarios import GUARDED_VARIANTS

    leg = GUARDED_VARIANTS["guarded_regular"][2]
    sim = simulate_run("guarded_regular", 3, duration_s=600.0, rate_hz=200.0, leg=leg)
    onset = float(sim.must_alert[0]["onset_s"])
    mark = onset + 15.0
    policy = alerts_for_strides(
        sim.rows, pain_marks_s=[mark], gaps=sim.gaps, leg=leg, angle_calibrated=sim.angle_calibrated
    )
    stops = [a for a in policy.alerts_ if a.severity == Severity.STOP]
    assert stops and mark <= stops[0].time_s <= mark + 5.0, [a.one_line() for a in stops]
    # without the mark, nothing within those 5 s
    quiet = alerts_for_strides(
        sim.rows, gaps=sim.gaps, leg=leg, angle_calibrated=sim.angle_calibrated
    )
    assert not [a for a in quiet.alerts_ if a.severity == Severity.STOP and a.time_s <= mark + 5.0]


# ---------------------------------------------------------------- scoring (#16 follow-up)


def test_a_change_that_ramps_in_is_scored_from_the_ramps_end() -> None:
    from strideguard_devkit.evaluate_alerts import detection_delay

    ic = np.arange(0.0, 600.0, 0.75)  # one leg's contacts
    # no ramp: strides from the onset to the alert
    assert detection_delay(ic, 300.0, 0.0, 315.0) == (21, 21)
    # a 150-s ramp: caught during it counts 0 strides late; the start is still reported
    assert detection_delay(ic, 300.0, 150.0, 390.0) == (0, 121)
    # caught after it: strides from its end
    assert detection_delay(ic, 300.0, 150.0, 465.0) == (21, 221)
    assert detection_delay(ic, 300.0, 150.0, None) == (None, None)


def test_the_gradual_variant_reports_both_delays() -> None:
    out = score_run(simulate_run("guarded_gradual", 1, duration_s=600.0, rate_hz=200.0))
    after, start = out.delays["gait_changed"], out.delays_from_start["gait_changed"]
    assert after is not None and start is not None and start >= after
    table = format_table([ScenarioSummary("guarded_gradual", [out])])
    assert "after the ramp (during it = 0)" in table and "from the ramp's start" in table


@pytest.mark.slow
def test_two_sensor_strap_slip_is_scored_per_leg_and_never_stops() -> None:
    """Both sensors slip at once: each leg's sensor_moved is scored like one sensor's, and the
    must-not alerts (a stop, an overstride cue) are counted per leg."""
    from strideguard_devkit.evaluate_alerts import evaluate_pair_run

    out = evaluate_pair_run("strap_slip", 2, duration_s=600.0)
    for leg in ("L", "R"):
        d = out.delays[f"sensor_moved {leg}"]
        assert d is not None and d <= 10, out
        assert out.false_alerts[f"gait_changed {leg}"] == 0, out
        assert f"overstride {leg}" in out.false_alerts
    assert out.stop_alerts == {"L": 0, "R": 0}


@pytest.mark.slow
def test_two_sensor_overstride_episode_is_scored_per_leg() -> None:
    from strideguard_devkit.evaluate_alerts import evaluate_pair_run

    out = evaluate_pair_run("overstride_episode", 1, duration_s=600.0)
    for leg in ("L", "R"):
        d = out.delays[f"overstride {leg}"]
        assert d is not None and d <= 20, out
    assert out.false_alerts["sensor_moved L"] == 0 and out.false_alerts["sensor_moved R"] == 0


@pytest.mark.slow
def test_one_sensor_catches_the_limp_within_its_target() -> None:
    """(c) limp, one sensor on the guarded leg: within 45 strides (small scale of the
    one-sensor table; seeds 1-2 are among the reported seeds, the defaults were tuned on
    100-119)."""
    for seed in (1, 2):
        out = score_run(
            simulate_run("guarded_limp", seed, duration_s=600.0, rate_hz=200.0, leg="R")
        )
        d = out.delays["gait_changed"]
        assert d is not None and d <= 45, (seed, out)
        assert out.false_alerts["overstride"] == 0, out


def test_a_sprint_round_a_bend_is_not_a_moved_sensor() -> None:
    """Simulated track session (seed 122, a tuning seed): a sprint at twice the runner's
    normal swing speed round a bend turns the per-stride gravity and swing-axis directions by
    more than the mounting limit; it used to raise "sensor moved" (and 30 strides of
    re-measuring). Strides much faster than the runner's normal are left out of the
    mounting check; a real strap slip is still found (strap_slip tests)."""
    sim = simulate_run("track_bends", 122, duration_s=900.0, rate_hz=200.0, leg="R")
    peaks = [r["peak_midswing_gyr_dps"] for r in sim.rows if r["peak_midswing_gyr_dps"]]
    assert max(peaks) > 1.8 * float(np.median(peaks))  # the sprint is in the run
    out = score_run(sim)
    assert out.false_alerts["sensor_moved"] == 0
    assert out.stop_alerts == 0


def test_a_gradual_onset_whose_level_evidence_flickers_is_not_taken_for_rough_ground() -> None:
    """Gradual variant (e), one sensor (seed 237, a validation seed): its irregularity shows
    early in the 150-s ramp, its level evidence a little later and then dips for a few
    strides. Judged by the restarted level episode, the irregularity had begun "long before"
    and was taken for a trail's rough ground — stop 210 strides after the ramp's end. Judged
    by the first level evidence of the irregular episode, it is caught during the ramp."""
    out = score_run(simulate_run("guarded_gradual", 237, duration_s=900.0, rate_hz=200.0, leg="R"))
    assert out.delays["gait_changed"] is not None and out.delays["gait_changed"] <= 45
