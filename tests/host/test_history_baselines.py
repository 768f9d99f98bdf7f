"""Which baseline the history records for a run (#16): the one that really judged it.

A stored baseline the fit check dropped was not used: the history says
"relearned (stored baseline did not fit)" with the reason, keeps the dropped
profile apart (``dropped``), and the listing, its JSON and the report agree.
Version-1 databases, which recorded the dropped profile as ``used``, are
corrected by the migration to version 2.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest

from strideguard.alerts import AlertKind, PersonalBaseline
from strideguard.cli import main
from strideguard.history import History, schema
from strideguard.history.record import LegRun, baselines_of_policy
from strideguard.report.run import baseline_text
from tests.host.test_alert_policy import strides
from tests.host.test_history_store import synthetic_run
from tests.host.test_profiles import learned_baseline, policy_with, with_orientation


def _leg_after(turn_deg: float, leg: LegRun) -> tuple[LegRun, str | None]:
    """``leg`` with the baselines of a real policy that started with a stored baseline and
    ran 900 strides from a sensor turned ``turn_deg`` about the tibia."""
    stored = learned_baseline(seed=1)
    stored.created = "2026-12-03T07:30:00+00:00"
    policy = policy_with(stored)
    alerts = policy.run(with_orientation(strides(900, seed=2), turn_deg=turn_deg))
    refused = [a for a in alerts if a.kind is AlertKind.BASELINE_REFUSED]
    fields = baselines_of_policy(policy)
    return dataclasses.replace(leg, **fields), (refused[0].reason if refused else None)


def test_a_dropped_stored_baseline_is_recorded_as_relearned(tmp_path: Path) -> None:
    run = synthetic_run(300)
    right, why = _leg_after(35.0, run.legs[1])  # remounted: the fit check drops it
    left, kept_why = _leg_after(0.0, run.legs[0])  # same mounting: the stored one judges
    assert why is not None and kept_why is None
    run.legs = [left, right]
    assert right.baseline_used is None and right.baseline_dropped is not None
    assert right.baseline_learned is not None  # learned afresh in the run
    assert right.baseline_source == "relearned" and left.baseline_source == "stored"
    with History(tmp_path / "h.sqlite") as h:
        run_id = h.add_run(run).run_id
        back = h.load_run(run_id)
        listed = h.list_runs()[0]
    r_back = next(lr for lr in back.legs if lr.leg == "R")
    l_back = next(lr for lr in back.legs if lr.leg == "L")
    assert r_back.baseline_used is None
    assert r_back.baseline_dropped is not None
    assert r_back.baseline_dropped.get("created") == "2026-12-03T07:30:00+00:00"
    assert r_back.baseline_dropped_why and "turned" in r_back.baseline_dropped_why
    assert r_back.baseline_source == "relearned" and l_back.baseline_source == "stored"
    assert l_back.baseline_used is not None and l_back.baseline_learned is None
    assert [(b["leg"], b["source"]) for b in listed["baselines"]] == [
        ("L", "stored"),
        ("R", "relearned"),
    ]
    # the report's details say the same, with the reason
    assert baseline_text(r_back).startswith("relearned (stored baseline did not fit): ")
    assert "turned" in baseline_text(r_back)
    assert baseline_text(l_back).startswith("your baseline from 3 Dec")
    assert back.baseline_text() == (
        "L: your baseline from 3 Dec; R: relearned (stored baseline did not fit)"
    )


def test_the_listing_and_its_json_name_the_baseline_per_leg(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.sqlite"
    run = synthetic_run(300)
    right, _ = _leg_after(35.0, run.legs[1])
    left, _ = _leg_after(0.0, run.legs[0])
    run.legs = [left, right]
    learned_only = synthetic_run(300, seed=4)  # no stored baseline: learned in the run
    learned_only.started_utc = learned_only.started_utc.replace(hour=9)
    with History(db) as h:
        h.add_run(run)
        h.add_run(learned_only)
    assert main(["history", "--db", str(db), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["baseline"] == (
        "L: your baseline from 3 Dec; R: relearned (stored baseline did not fit)"
    )
    assert rows[0]["baselines"][1]["source"] == "relearned"
    assert "turned" in rows[0]["baselines"][1]["dropped_why"]
    assert rows[0]["baselines"][0]["stored_created"] == "2026-12-03T07:30:00+00:00"
    assert rows[1]["baseline"] == "learned in run"
    assert main(["history", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-1] == "baseline"
    assert lines[1].endswith("R: relearned (stored baseline did not fit)")
    assert lines[2].endswith("learned in run")


def _v1_database(path: Path) -> None:
    """A version-1 history with one run: L used a stored baseline that fitted, R's stored
    baseline was dropped by the fit check (v1 kept it as ``used`` beside the one learned)."""
    conn = sqlite3.connect(path)
    schema.MIGRATIONS[0](conn)
    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO runs (id, started_utc, started_unix_s, duration_s, source, n_sensors, legs, "
        "angle_calibrated, n_strides, n_alerts, n_pain_marks, added_utc) "
        "VALUES (1, '2026-12-04T07:00:00Z', 1796367600, 600, 'live', 2, 'LR', 1, 0, 0, 0, "
        "'2026-12-04T08:00:00Z')"
    )
    for stream, leg in enumerate("LR"):
        conn.execute(
            "INSERT INTO run_sensors (run_id, stream, sensor, leg, angle_calibrated, n_strides) "
            "VALUES (1, ?, ?, ?, 1, 0)",
            (stream, f"StrideGuard-{leg}", leg),
        )
    stored = json.dumps({**learned_baseline().to_json(), "created": "2026-12-03T07:30:00+00:00"})
    rows = [(0, "used", stored), (1, "used", stored), (1, "learned", stored)]
    conn.executemany(
        "INSERT INTO baselines (run_id, stream, role, profile_json) VALUES (1, ?, ?, ?)", rows
    )
    conn.commit()
    conn.close()


def test_version_1_histories_are_corrected_by_the_migration(tmp_path: Path) -> None:
    db = tmp_path / "v1.sqlite"
    _v1_database(db)
    with History(db) as h:
        assert h.schema_version == schema.SCHEMA_VERSION == 2
        run = h.load_run(1)
        listed = h.list_runs()[0]
        roles = h.conn.execute(
            "SELECT stream, role FROM baselines ORDER BY stream, role"
        ).fetchall()
    assert roles == [(0, "used"), (1, "dropped"), (1, "learned")]
    left, right = run.legs
    assert left.baseline_source == "stored" and left.baseline_created is not None
    assert right.baseline_source == "relearned" and right.baseline_used is None
    assert right.baseline_dropped_why == schema.DROPPED_BEFORE_V2
    assert [b["source"] for b in listed["baselines"]] == ["stored", "relearned"]
    assert listed["baselines"][0]["created"] == "2026-12-03T07:30:00+00:00"


def test_a_stored_baseline_that_fits_is_the_one_used() -> None:
    stored = PersonalBaseline.from_json(learned_baseline(seed=1).to_json())
    policy = policy_with(stored)
    policy.run(with_orientation(strides(300, seed=2)))
    fields = baselines_of_policy(policy)
    assert fields["baseline_used"] is not None and fields["baseline_dropped"] is None
    assert fields["baseline_learned"] is None and fields["baseline_dropped_why"] is None
