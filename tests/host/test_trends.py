"""Trends across runs: intensity from the shin signal, weekly totals, and the return-to-run
rule checked on simulated multi-week histories of one runner."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from strideguard.cli import main
from strideguard.history import History
from strideguard.history.intensity import Reference, intensity_times
from strideguard.history.record import RunRecord
from strideguard.history.trends import MAX_WEEKLY_RISE, review_recovery, run_loads, weekly
from strideguard.report.trend import trend_report_html
from strideguard_devkit.sim import simulate

from .history_helpers import RATE_HZ, RUNNER_SEED, intervals, sim_record, steady

#: a Monday
PRE_START = datetime(2026, 2, 2, 12, 0, tzinfo=UTC)
RECOVERY_START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def strides_of(scenario: str, duration_s: float = 300.0):  # type: ignore[no-untyped-def]
    from strideguard.history.ingest import record_from_imus

    sim = simulate(scenario, duration_s=duration_s, rate_hz=RATE_HZ, seed=RUNNER_SEED, leg="R")
    rec = record_from_imus([(0, "StrideGuard-R", "R", sim.recording)], started_utc=PRE_START)
    return rec.legs[0].strides, sim.truth


def labelled_time(truth, strides, labels: set[str]) -> float:  # type: ignore[no-untyped-def]
    """Seconds of the simulated run whose truth label is in ``labels`` (after the settle time)."""
    lab = np.array(truth.labels)
    st = np.asarray(truth.stride_time_s, float)
    return float(np.nansum(st[np.isin(lab, list(labels))]))


def test_speedwork_and_climbs_are_told_from_steady_running() -> None:
    steady_s, _ = strides_of("steady")
    ref = Reference.from_strides(steady_s, "steady run")
    assert ref is not None
    t = intensity_times(steady_s, ref)
    assert t["speedwork_s"] < 0.02 * t["running_s"] and t["uphill_s"] < 0.02 * t["running_s"]

    fast_s, truth = strides_of("intervals")
    t = intensity_times(fast_s, ref)
    fast_time = labelled_time(truth, fast_s, {"fast", "sprint"})
    assert 0.6 * fast_time < t["speedwork_s"] < 1.15 * fast_time
    assert t["uphill_s"] < 0.05 * t["running_s"]

    hill_s, truth = strides_of("hills")
    t = intensity_times(hill_s, ref)
    up_time = labelled_time(truth, hill_s, {"hill_up"})
    assert 0.5 * up_time < t["uphill_s"] < 1.15 * up_time
    # running downhill faster is not speedwork
    assert t["speedwork_s"] < 0.05 * t["running_s"]

    # a deliberately higher cadence at the same speed is neither
    retrain_s, _ = strides_of("cadence_retraining")
    t = intensity_times(retrain_s, ref)
    assert t["uphill_s"] < 0.05 * t["running_s"] and t["speedwork_s"] < 0.05 * t["running_s"]


def _pre_injury_runs() -> list[RunRecord]:
    runs = []
    for week in range(4):
        for day in (1, 5):  # Tuesday and Saturday
            runs.append(
                sim_record(PRE_START + timedelta(weeks=week, days=day), steady(), duration_s=240)
            )
    return runs


@pytest.fixture(scope="module")
def pre_runs() -> list[RunRecord]:
    return _pre_injury_runs()


def _history(tmp_path: Path, runs: list[RunRecord]) -> Path:
    db = tmp_path / "h.sqlite"
    with History(db) as h:
        for r in runs:
            h.add_run(r)
        h.start_recovery("R", now=RECOVERY_START)
    return db


def test_weekly_totals_add_up(pre_runs: list[RunRecord], tmp_path: Path) -> None:
    db = _history(tmp_path, pre_runs)
    with History(db) as h:
        rows = h.list_runs()
        ref = Reference.from_runs(rows, "all")
        loads = run_loads(h, rows, ref)
    weeks = weekly(loads, tz=UTC)
    assert [w.start.weekday() for w in weeks] == [0, 0, 0, 0]
    assert [len(w.runs) for w in weeks] == [2, 2, 2, 2]
    assert sum(w.load for w in weeks) == pytest.approx(sum(r.load or 0 for r in loads))
    assert sum(w.load for w in weeks) == pytest.approx(sum(r["late_swing_load"] for r in rows))
    assert all(abs(w.change or 0.0) < 0.05 for w in weeks)  # the same running every week
    # two 240-s runs a week, less the standing start
    assert all(w.running_s == pytest.approx(2 * (240 - 5), rel=0.03) for w in weeks)


@pytest.mark.slow
def test_a_careful_return_to_run_raises_no_warning(
    pre_runs: list[RunRecord], tmp_path: Path
) -> None:
    back = [
        sim_record(RECOVERY_START + timedelta(days=2), steady(2.8), duration_s=200),
        sim_record(RECOVERY_START + timedelta(days=9), steady(2.8), duration_s=212),
        sim_record(RECOVERY_START + timedelta(days=16), steady(2.9), duration_s=224),
    ]
    db = _history(tmp_path, pre_runs + back)
    now = RECOVERY_START + timedelta(days=20)
    with History(db) as h:
        html, info = trend_report_html(h, weeks=8, now=now)
        period = h.recovery_periods()[0]
        loads = run_loads(h, h.list_runs(), Reference.from_runs(h.list_runs()[:8], "pre"))
    review = review_recovery(period, loads, now=now)
    assert info["warnings"] == [] and review.warnings == []
    assert len(review.pre_runs) == 8 and len(review.weeks) == 3
    assert review.pre_weekly_load == pytest.approx(sum(r.load or 0 for r in review.pre_runs) / 4)
    loads_w = [w.load for w in review.weeks]
    assert loads_w[0] < 0.5 * review.pre_weekly_load
    assert all(b <= (1 + MAX_WEEKLY_RISE) * a for a, b in itertools.pairwise(loads_w))
    assert "No week broke the return-to-run rule" in html and "Return to run: right leg" in html
    # the load of every run, and of every week
    runs_table = html.split("<h3>Runs</h3>")[1].split("</table>")[0]
    assert runs_table.count("<tr") == 1 + 11
    with History(db) as h:
        for r in h.list_runs():
            assert f'<td class="num">{r["late_swing_load"]:.1f}</td>' in runs_table


@pytest.mark.slow
def test_rising_too_fast_is_warned_about(pre_runs: list[RunRecord], tmp_path: Path) -> None:
    back = [
        # week 1: an interval session right away (about 2.5 min fast)
        sim_record(RECOVERY_START + timedelta(days=2), intervals(block_s=50, n=7), duration_s=280),
        # week 2: twice the running (one of them with the right leg guarding)
        sim_record(RECOVERY_START + timedelta(days=8), steady(2.9), duration_s=300),
        sim_record(
            RECOVERY_START + timedelta(days=11),
            steady(2.85, guarded=1.0, guarded_leg="R"),
            duration_s=300,
            legs="LR",
        ),
    ]
    db = _history(tmp_path, pre_runs + back)
    now = RECOVERY_START + timedelta(days=13)
    with History(db) as h:
        html, info = trend_report_html(h, weeks=8, now=now)
    warnings = info["warnings"]
    assert any("Recovery week 1" in w and "speedwork or uphill" in w for w in warnings)
    assert any("Recovery week 2" in w and "above the previous running week" in w for w in warnings)
    assert all("Recovery week 3" not in w for w in warnings)
    assert html.count('class="warn"') == len(warnings)
    # the guarded run stands out against the pre-injury runs on the right leg's swing
    assert "flag" in html.split("Each run against before the injury")[1]

    with History(db) as h:
        rows = h.list_runs()
        pre = Reference.from_runs(rows[:8], "pre")
        review = review_recovery(h.recovery_periods()[0], run_loads(h, rows, pre), now=now)
    guarded = review.comparisons[-1][1]
    swing = next(d for d in guarded if d.name == "peak_midswing_gyr_dps")
    assert swing.flagged and swing.delta < 0


def test_recovery_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "h.sqlite")
    assert main(["recovery", "status", "--db", db]) == 0
    assert "never been on" in capsys.readouterr().out
    assert main(["recovery", "start", "--db", db]) == 2
    assert "--leg" in capsys.readouterr().err
    assert main(["recovery", "start", "--leg", "R", "--db", db, "--note", "grade 1 strain"]) == 0
    assert "right leg" in capsys.readouterr().out
    assert main(["recovery", "start", "--leg", "L", "--db", db]) == 2
    assert "already on" in capsys.readouterr().err
    assert main(["recovery", "end", "--db", db]) == 0
    assert main(["recovery", "end", "--db", db]) == 2
    assert "not on" in capsys.readouterr().err
    with History(db) as h:
        (p,) = h.recovery_periods()
    assert p.leg == "R" and p.ended_utc is not None and p.note == "grade 1 strain"
