"""``strideguard export`` and ``strideguard protocol``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from strideguard.cli import main
from strideguard.frames import encode_frames
from strideguard.recording import RecordingWriter


def test_export_recording_to_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = np.random.default_rng(3).integers(-3000, 3000, size=(19 * 30, 6))
    frames = encode_frames(raw, rate_hz=200, mtu=247, clock_scale=1.01)
    path = tmp_path / "run.sgrec"
    with RecordingWriter(path, {"sensors": ["StrideGuard-R"]}) as rec:
        for i, f in enumerate(frames):
            if i != 7:  # one frame lost
                rec.append_frame(f, arrival_s=i * 0.1)
    assert main(["export", str(path), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "19 lost in 1 gaps" in out
    csv = tmp_path / "out" / "run_StrideGuard-R.csv"
    table = np.loadtxt(csv, delimiter=",", skiprows=1)
    header = csv.read_text().splitlines()[0]
    assert header == "time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z"
    assert table.shape == (19 * 29, 7)
    np.testing.assert_allclose(
        table[:, 4:], np.delete(raw, np.s_[7 * 19 : 8 * 19], axis=0)[:, 3:] / 16.4, atol=1e-5
    )
    # time from the board clock (1 % slow), with a hole where the frame was lost
    dt = np.diff(table[:, 0])
    assert np.median(dt) == pytest.approx(1.01 / 200, rel=1e-4)
    assert dt.max() == pytest.approx(20 * 1.01 / 200, rel=1e-3)
    info = json.loads((tmp_path / "out" / "run_StrideGuard-R.json").read_text())
    assert info["stream"]["samples_lost"] == 19
    assert info["clock_error_pct"] == pytest.approx(-0.99, abs=0.01)


def test_export_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.sgrec"
    bad.write_bytes(b"garbage")
    assert main(["export", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("strideguard: error:") and len(err.strip().splitlines()) == 1


def test_protocol_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["protocol", "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    eff = {r["mtu"]: r for r in info["efficiency"]}
    assert eff[23]["samples_per_frame"] == 0
    assert eff[247]["efficiency_pct"] == pytest.approx(92.3)
    assert eff[185]["efficiency_pct"] == pytest.approx(89.1)
    assert main(["protocol"]) == 0
    assert "cannot stream" in capsys.readouterr().out
