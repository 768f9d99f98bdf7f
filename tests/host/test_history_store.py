"""The run history's database: schema and migrations, round trips, no duplicates,
crash safety, damaged and foreign files, and the private data folder."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from strideguard.cli import main
from strideguard.history import History, HistoryError, schema
from strideguard.history.record import LegRun, RunRecord
from strideguard.history.schema import STRIDE_METRICS
from strideguard.metrics import STRIDE_COLUMNS
from strideguard.userdirs import data_dir, history_path

T0 = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)


def synthetic_run(
    n: int = 500, *, started: datetime = T0, seed: int = 0, legs: str = "LR", fp: str | None = None
) -> RunRecord:
    """A run with random but plausible stride numbers (NaN holes included)."""
    rng = np.random.default_rng(seed)
    out = []
    for stream, leg in enumerate(legs):
        st = rng.normal(0.72, 0.02, n)
        ic = np.cumsum(st) + 5.0 + 0.36 * stream
        cols = {name: rng.normal(1.0, 0.1, n) for name in STRIDE_METRICS}
        cols.update(
            initial_contact_s=ic,
            next_initial_contact_s=ic + st,
            stride_time_s=st,
            cadence_spm=120.0 / st,
            duty_factor=rng.normal(0.35, 0.02, n),
            contact_time_s=rng.normal(0.26, 0.01, n),
            late_swing_peak_decel_dps2=rng.normal(13000, 800, n),
            peak_midswing_gyr_dps=rng.normal(520, 20, n),
            shank_angle_at_ic_deg=rng.normal(6.0, 1.5, n),
            overstride=(rng.random(n) < 0.1).astype(float),
        )
        cols["shank_angle_at_ic_deg"][::17] = np.nan
        out.append(
            LegRun(
                stream=stream,
                sensor=f"StrideGuard-{leg}",
                leg=leg,
                strides=cols,
                alerts=[
                    {
                        "kind": "overstride",
                        "severity": "coach",
                        "state": "raised",
                        "time_s": 100.0,
                        "stride_index": 120,
                        "title": "Overstriding",
                        "reason": "tibia angle +6° above your reference",
                        "advice": "cadence 170",
                        "numbers": {"angle_deg": 6.2, "nan": float("nan")},
                        "leg": leg,
                    }
                ],
                pain_marks_s=[200.5] if leg == "R" else [],
                baseline_learned={"schema": "strideguard.baseline/1", "cadence_ref_spm": 166.0},
                samples=150000,
                samples_lost=120,
                rate_hz=500.0,
                angle_calibrated=True,
                firmware_version="0.1.0",
            )
        )
    dur = float(max(np.nanmax(leg.strides["next_initial_contact_s"]) for leg in out)) + 3.0
    return RunRecord(
        started_utc=started,
        duration_s=dur,
        source="live",
        legs=out,
        fingerprint=fp,
        recording_path="/x/run.sgrec",
    )


def test_the_test_suite_never_touches_the_real_user_folder(_private_user_data: Path) -> None:
    assert data_dir() == _private_user_data
    assert history_path().parent == _private_user_data
    assert Path.home() not in history_path().parents or str(_private_user_data).startswith(
        str(Path.home())
    )


def test_new_database_has_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "h.sqlite"
    with History(db) as h:
        assert h.schema_version == schema.SCHEMA_VERSION
        assert h.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert h.conn.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID
        cols = [r[1] for r in h.conn.execute("PRAGMA table_info(strides)")]
    # every stride column of the analysis has its column, in order
    assert cols[3:] == [c.name for c in STRIDE_COLUMNS]


def test_run_round_trip_keeps_every_value(tmp_path: Path) -> None:
    run = synthetic_run(fp="abc")
    with History(tmp_path / "h.sqlite") as h:
        res = h.add_run(run)
        assert res.added and res.run_id == 1
        back = h.load_run(res.run_id)
    assert back.started_utc == T0
    assert back.duration_s == pytest.approx(run.duration_s)
    assert [leg.leg for leg in back.legs] == ["L", "R"]
    for a, b in zip(run.legs, back.legs, strict=True):
        for name in STRIDE_METRICS:
            np.testing.assert_array_equal(a.strides[name], b.strides[name])  # NaN where NaN
        assert b.alerts[0]["numbers"] == {"angle_deg": 6.2, "nan": None}
        assert b.alerts[0]["title"] == "Overstriding"
        assert b.pain_marks_s == a.pain_marks_s
        assert b.baseline_learned == a.baseline_learned and b.baseline_used is None
        assert (b.samples, b.samples_lost, b.rate_hz, b.firmware_version) == (
            150000,
            120,
            500.0,
            "0.1.0",
        )


def test_same_fingerprint_is_not_added_twice(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite") as h:
        first = h.add_run(synthetic_run(fp="same"))
        again = h.add_run(synthetic_run(fp="same", seed=5))
        other = h.add_run(synthetic_run(fp="other"))
        assert (first.added, again.added, other.added) == (True, False, True)
        assert again.run_id == first.run_id
        assert h.count_runs() == 2
        assert h.conn.execute("SELECT count(*) FROM strides").fetchone()[0] == 2 * 2 * 500


def test_listing_summary_filters_and_order(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite") as h:
        for k in range(6):
            h.add_run(synthetic_run(started=T0 + timedelta(days=k), seed=k, fp=str(k)))
        rows = h.list_runs()
        assert [r["id"] for r in rows] == [1, 2, 3, 4, 5, 6]
        assert [r["id"] for r in h.list_runs(last=2)] == [5, 6]
        assert [r["id"] for r in h.list_runs(since=T0 + timedelta(days=3, hours=-1))] == [4, 5, 6]
        r = rows[0]
        # medians over the running strides, the mean leg load, alerts and pain counted
        assert r["cadence_spm"] == pytest.approx(120 / 0.72, rel=0.01)
        assert r["late_swing_load"] == pytest.approx(500 * 13000 / 1e6, rel=0.03)
        assert r["n_alerts"] == 2 and r["max_severity"] == "coach" and r["n_pain_marks"] == 1
        assert r["legs"] == "LR" and r["symmetry_pct"] is not None
        assert (
            h.resolve("last") == 6
            and h.resolve(None) == 6
            and h.resolve("-2") == 5
            and h.resolve("3") == 3
        )
        with pytest.raises(HistoryError, match="no run 99"):
            h.resolve("99")
        with pytest.raises(HistoryError, match="which run"):
            h.resolve("yesterday")


def test_old_schema_is_migrated_and_new_metric_columns_appear(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    # a version-1 database whose stride table lacks a metric added since
    conn = sqlite3.connect(db)
    schema.MIGRATIONS[0](conn)
    conn.execute("ALTER TABLE strides DROP COLUMN swing_axis_z")
    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with History(db) as h:
        assert "swing_axis_z" in [r[1] for r in h.conn.execute("PRAGMA table_info(strides)")]
        h.add_run(synthetic_run())
    # a database from an empty file migrates from version 0
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    with History(empty) as h:
        assert h.schema_version == schema.SCHEMA_VERSION


def test_newer_foreign_and_damaged_files_give_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    newer = tmp_path / "newer.sqlite"
    with History(newer) as h:
        h.conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    with pytest.raises(HistoryError, match="newer strideguard"):
        History(newer)
    foreign = tmp_path / "foreign.sqlite"
    c = sqlite3.connect(foreign)
    c.execute("CREATE TABLE t (x)")
    c.commit()
    c.close()
    with pytest.raises(HistoryError, match="not a strideguard run history"):
        History(foreign)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(HistoryError, match="damaged"):
        History(garbage)
    # a real database with its pages overwritten in the middle
    db = tmp_path / "h.sqlite"
    with History(db) as h:
        for k in range(3):
            h.add_run(synthetic_run(seed=k, fp=str(k)))
    data = bytearray(db.read_bytes())
    assert len(data) > 40000
    data[8192:40000] = os.urandom(40000 - 8192)
    db.write_bytes(bytes(data))
    for argv in (
        ["history", "--db", str(db)],
        ["report", "--db", str(db)],
        ["history", "--db", str(garbage)],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "strideguard: error:" in err and "Traceback" not in err


@pytest.mark.slow
def test_history_survives_a_crash_in_the_middle_of_a_write(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    writer = tmp_path / "writer.py"
    writer.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n"
        "from tests.host.test_history_store import synthetic_run\n"
        "from strideguard.history import History\n"
        f"h = History({str(db)!r})\n"
        "k = 0\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    h.add_run(synthetic_run(n=4000, seed=k, fp=str(k)))\n"
        "    k += 1\n"
    )
    for kill_after_s in (0.4, 1.1):
        proc = subprocess.Popen([sys.executable, str(writer)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(kill_after_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
        with History(db) as h:
            assert h.integrity_ok()
            # every run that is there is complete: its strides and alerts all arrived
            for run_id, n_strides, n_sensors in h.conn.execute(
                "SELECT id, n_strides, n_sensors FROM runs"
            ):
                got = h.conn.execute(
                    "SELECT count(*) FROM strides WHERE run_id = ?", (run_id,)
                ).fetchone()[0]
                assert got == n_strides == 2 * 4000
                assert (
                    h.conn.execute(
                        "SELECT count(*) FROM run_sensors WHERE run_id = ?", (run_id,)
                    ).fetchone()[0]
                    == n_sensors
                )
            # no orphan rows from a torn transaction
            assert (
                h.conn.execute(
                    "SELECT count(*) FROM strides WHERE run_id NOT IN (SELECT id FROM runs)"
                ).fetchone()[0]
                == 0
            )
    with History(db) as h:
        assert h.count_runs() >= 1


def test_json_listing_uses_units_in_names_and_null_for_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.sqlite"
    with History(db) as h:
        h.add_run(synthetic_run(legs="R", fp="1"))
    assert main(["history", "--db", str(db), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["symmetry_pct"] is None and rows[0]["distance_m"] is None
    assert rows[0]["duration_s"] > 300 and rows[0]["legs"] == "R"
    assert main(["history", "--db", str(tmp_path / "none.sqlite")]) == 0
    assert "No runs yet" in capsys.readouterr().out
    assert not (tmp_path / "none.sqlite").exists()
    assert main(["history", "--db", str(db), "--since", "yesterday-ish"]) == 2
    assert "--since" in capsys.readouterr().err
