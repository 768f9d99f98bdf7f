"""``strideguard simulate`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from strideguard.cli import main
from strideguard.recording import load_imu, read_recording


def test_list_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--list"]) == 0
    out = capsys.readouterr().out
    assert "guarded_onset" in out and "must alert: gait_changed" in out
    assert main(["simulate", "--list", "--format", "json"]) == 0
    infos = json.loads(capsys.readouterr().out)
    assert {i["name"] for i in infos} >= {"steady", "demo", "strap_slip"}


def test_writes_csv_and_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.csv"
    rc = main(
        [
            "simulate",
            "overstride_episode",
            "--duration",
            "60",
            "--rate",
            "200",
            "--seed",
            "3",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    assert "strides" in capsys.readouterr().out
    data = np.genfromtxt(out, delimiter=",", names=True)
    assert data.dtype.names == ("time_s", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
    assert data.shape[0] == pytest.approx(60 * 200, rel=0.02)
    truth = json.loads((tmp_path / "run.truth.json").read_text())
    assert truth["scenario"] == "overstride_episode" and truth["seed"] == 3
    assert truth["strides"] and truth["must_alert"][0]["alert"] == "overstride"


def test_both_legs_and_frames(tmp_path: Path) -> None:
    out = tmp_path / "pair.csv"
    frames = tmp_path / "pair.sgrec"
    rc = main(
        [
            "simulate",
            "guarded_onset",
            "--duration",
            "40",
            "--leg",
            "both",
            "--out",
            str(out),
            "--frames",
            str(frames),
            "--mtu",
            "185",
            "--loss",
            "0.02",
            "--format",
            "json",
        ]
    )
    assert rc == 0
    assert (tmp_path / "pair.L.csv").exists() and (tmp_path / "pair.R.truth.json").exists()
    rec = read_recording(frames)
    assert rec.streams() == [0, 1]
    imu = load_imu(frames, stream=1)
    assert imu.n_samples > 0.9 * 40 * 500
    assert imu.gaps  # 2 % loss leaves holes


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "nope", "--out", "x.csv"],
        ["simulate", "steady", "--rate", "50", "--out", "x.csv"],
        ["simulate", "steady", "--duration", "5", "--out", "x.csv"],
        ["simulate", "steady", "--leg", "middle", "--out", "x.csv"],
        ["simulate", "steady"],
        ["simulate", "--out", "x.csv"],
        ["simulate", "steady", "--frames", "f.sgrec", "--mtu", "23"],
        ["simulate", "steady", "--frames", "f.sgrec", "--rate", "300"],
        ["simulate", "steady", "--frames", "f.sgrec", "--loss", "2"],
        ["simulate", "steady", "--out", "/nonexistent-dir/x.csv"],
    ],
)
def test_bad_input_is_one_line_exit_2(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("strideguard: error:")
    assert "Traceback" not in err[0]
