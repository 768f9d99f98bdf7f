"""The run history from the command line: a live run is added by itself, ``import`` adds
files once, ``history`` lists them."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from strideguard import protocol as proto
from strideguard.cli import main
from strideguard.history import History
from strideguard.userdirs import history_path


def history_json(capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict]:
    assert main(["history", "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_a_live_run_appears_in_the_history_without_any_extra_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "run.sgrec"
    argv = [
        "live",
        "--virtual",
        "steady",
        "--virtual-duration",
        "40",
        "--speed",
        "20",
        "--board",
        "model",
    ]
    assert main([*argv, "--record", str(rec), "--plain", "--no-sound", "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["history"] == {"run_id": 1, "db": str(history_path()), "added": True}
    (row,) = history_json(capsys)
    assert row["id"] == 1 and row["source"] == "live" and row["legs"] == "LR"
    assert row["simulated"] is True and row["recording_path"] == str(rec.resolve())
    assert row["n_strides"] == sum(s["strides"] for s in summary["sensors"]) > 40
    # read from the sensors' status records (the virtual sensor runs the current firmware)
    assert row["firmware_version"] == proto.FIRMWARE_VERSION
    assert 150 < row["cadence_spm"] < 200
    # the same recording imported later is recognised: no second copy
    assert main(["import", str(rec)]) == 0
    assert "already in the history as run 1" in capsys.readouterr().out
    with History(history_path()) as h:
        run = h.load_run(1)
        assert [leg.n_strides for leg in run.legs] == [s["strides"] for s in summary["sensors"]]
        assert [leg.alerts for leg in run.legs] == [s["alerts"] for s in summary["sensors"]]


def test_a_history_that_cannot_be_written_does_not_fail_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from strideguard.commands import live as live_cmd

    bad = tmp_path / "garbage.sqlite"
    bad.write_bytes(b"not sqlite" * 500)
    policy = SimpleNamespace(
        baseline=None,
        baseline_=None,
        baseline_source_=None,
        baseline_dropped_=None,
        pain_marks_s=[],
    )
    pipe = SimpleNamespace(sensor="StrideGuard-R", leg="R", strides=[], alerts=[], policy=policy)
    live_run = SimpleNamespace(pipelines=[pipe])
    now = datetime.now(UTC)
    summary: dict = {"sensors": [{"samples": 100, "rate_hz": 500.0}]}
    args = SimpleNamespace(db=bad, no_history=False)
    live_cmd.add_to_history(args, live_run, summary, tmp_path / "missing.sgrec", started_utc=now)  # type: ignore[arg-type]
    assert "damaged" in summary["history_error"]
    assert "not added to the history" in capsys.readouterr().err
    live_cmd._print_summary({**summary, "sensors": [], "recording": "missing.sgrec"}, "text")
    assert "import missing.sgrec" in capsys.readouterr().out
    # --no-history: nothing is tried at all
    args = SimpleNamespace(db=tmp_path / "never.sqlite", no_history=True)
    summary = {"sensors": []}
    live_cmd.add_to_history(args, live_run, summary, tmp_path / "missing.sgrec")  # type: ignore[arg-type]
    assert summary == {"sensors": []} and not args.db.exists()


def test_import_adds_each_file_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sg = tmp_path / "sim.sgrec"
    csv = tmp_path / "pair.csv"
    assert main(["simulate", "steady", "--duration", "60", "--frames", str(sg), "--seed", "3"]) == 0
    assert (
        main(
            [
                "simulate",
                "steady",
                "--duration",
                "60",
                "--leg",
                "both",
                "--out",
                str(csv),
                "--seed",
                "4",
            ]
        )
        == 0
    )
    capsys.readouterr()
    left, right = tmp_path / "pair.L.csv", tmp_path / "pair.R.csv"
    assert (
        main(["import", str(sg), str(left), "--leg", "L", "--started", "2026-03-01T08:00:00+01:00"])
        == 0
    )
    out = capsys.readouterr().out
    assert "added as run 1" in out and "added as run 2" in out
    # again, and a copy under another name: the same content is the same run
    copy = tmp_path / "copy.sgrec"
    shutil.copy(sg, copy)
    assert main(["import", str(sg), str(copy), str(left)]) == 0
    out = capsys.readouterr().out
    assert out.count("already in the history") == 3
    rows = history_json(capsys)
    assert [r["id"] for r in rows] == [1, 2] or [r["id"] for r in rows] == [2, 1]
    by_id = {r["id"]: r for r in rows}
    assert by_id[1]["simulated"] is True and by_id[1]["source"] == "import"  # a simulator file
    assert by_id[2]["legs"] == "L" and by_id[2]["started_utc"] == "2026-03-01T07:00:00Z"
    # a damaged file: one line, the others still go in, exit 2
    bad = tmp_path / "bad.sgrec"
    bad.write_bytes(b"nonsense" * 100)
    assert main(["import", str(bad), str(right), "--leg", "R"]) == 2
    captured = capsys.readouterr()
    assert "bad.sgrec: not imported" in captured.err and "Traceback" not in captured.err
    assert "added as run 3" in captured.out
    assert [r["id"] for r in history_json(capsys, "--last", "1", "--no-simulated")] in ([3], [2])


def test_history_text_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "one.csv"
    assert (
        main(
            [
                "simulate",
                "overstride_episode",
                "--duration",
                "240",
                "--out",
                str(csv),
                "--seed",
                "2",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["import", str(csv), "--leg", "R", "--started", "2026-03-02T07:00"]) == 0
    capsys.readouterr()
    assert main(["history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["#", "date", "duration", "distance"]
    assert lines[1].split()[0] == "1" and "2026-03-02 07:00" in lines[1] and "4:00" in lines[1]
    # the overstriding cue in the alerts column (the most severe; "coach ×2" when the
    # simulated runner's harder landings also clip the accelerometer, an info notice)
    # and which normal judged it: no stored baseline, a 4-min run learns one
    assert lines[1].endswith("  learned in run"), lines[1]
    before = lines[1].removesuffix("learned in run").split()
    assert before[-2:] in (["—", "coach"], ["coach", "×2"]), lines[1]
    assert main(["history", "--since", "2026-03-03"]) == 0
    assert "No runs match" in capsys.readouterr().out
