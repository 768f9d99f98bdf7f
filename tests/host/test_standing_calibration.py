"""Standing calibration from about one second of still data (issue 15, item 3).

A lab's static trial is often 1 s: at 200 Hz that is 199 or 200 samples, i.e. a file
that spans 0.99 s between its first and last time stamp while its samples cover
0.995–1.0 s. The calibration is judged by how well it fixes gravity (the tilt's
standard error), not by a duration.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from strideguard.align import (
    MAX_TILT_STANDARD_ERROR_DEG,
    ShankAligner,
    gravity_from_still,
)
from strideguard.analysis import analyze
from strideguard.cli import main
from strideguard.errors import InputError
from strideguard.imudata import ImuRecording, write_csv
from strideguard.load import load_recording
from tests.host.analysis_helpers import DATA, load_rbds, random_rotation, rotated

RUN = DATA / "RBDS0041_T25_R_mpu.csv"
STANDING = DATA / "standing" / "RBDS0041_T25_R_mpu.standing.csv"


def _head(path: Path, n: int, out: Path) -> Path:
    """The first ``n`` samples of a CSV."""
    lines = path.read_text().splitlines()
    out.write_text("\n".join(lines[: n + 1]) + "\n")
    return out


def _cli_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else {}), err


def test_a_0_99_s_standing_file_calibrates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = _head(STANDING, 199, tmp_path / "st.csv")  # 0.990 s from first to last stamp
    code, doc, _ = _cli_json(
        ["analyze", str(RUN), "--standing", str(short), "--format", "json"], capsys
    )
    assert code == 0
    al = doc["alignment"]
    assert al["calibrated"] and al["calibration_source"] == "standing file"
    q = al["calibration_quality"]
    assert q["still_s"] == pytest.approx(0.995, abs=0.001)  # 199 samples × 5 ms
    assert 0.0 < q["tilt_standard_error_deg"] < MAX_TILT_STANDARD_ERROR_DEG
    # the same angles as with the full 10 s of standing, within the ~0.5° a calibration may
    # miss (achieved: 0.19°; the first second of standing is not the 10-s mean posture, a slow
    # sway that one second cannot see, which is why the limit is 0.5° and not the 0.04° SE)
    code, full, _ = _cli_json(
        ["analyze", str(RUN), "--standing", str(STANDING), "--format", "json"], capsys
    )
    a = np.array([s["shank_angle_at_ic_deg"] for s in doc["strides"]])
    b = np.array([s["shank_angle_at_ic_deg"] for s in full["strides"]])
    assert np.max(np.abs(a - b)) < 0.5
    assert full["alignment"]["calibration_quality"]["still_s"] > 9.0


def test_the_text_output_reports_the_calibration_quality(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = _head(STANDING, 200, tmp_path / "st.csv")
    assert main(["analyze", str(RUN), "--standing", str(short)]) == 0
    out = capsys.readouterr().out
    assert "calibrated from standing file (1.00 s still, up ±0." in out


def test_one_second_at_100_hz_with_any_mounting() -> None:
    rec, st, _ = load_rbds("RBDS0041_T25_L_mpu")
    rot = random_rotation(np.random.default_rng(15))
    assert st.acc_mps2 is not None and st.gyr_dps is not None
    # every second sample: 100 Hz, one second
    one = ImuRecording(
        st.time_s[:200:2], st.acc_mps2[:200:2], st.gyr_dps[:200:2], 100.0, source="st100"
    )
    a = analyze(rotated(rec, rot), standing=rotated(one, rot))
    b = analyze(rotated(rec, rot), standing=rotated(st, rot))
    assert a.alignment is not None and a.alignment.calibrated
    assert a.alignment.calibration_still_s == pytest.approx(1.0)
    d = a.strides["shank_angle_at_ic_deg"] - b.strides["shank_angle_at_ic_deg"]
    assert np.max(np.abs(d)) < 0.5


def test_too_little_stillness_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = _head(STANDING, 60, tmp_path / "st.csv")  # 0.3 s
    code = main(["analyze", str(RUN), "--standing", str(short)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "without movement (need 0.5 s)" in err


def test_a_drifting_standing_file_is_refused() -> None:
    """Still by the gyro and accelerometer limits, but the tibia tilts 4° during the second."""
    fs = 200.0
    t = np.arange(200) / fs
    tilt = np.radians(4.0) * t / t[-1]
    rng = np.random.default_rng(1)
    acc = np.column_stack([9.81 * np.sin(tilt), np.zeros_like(t), 9.81 * np.cos(tilt)])
    acc += rng.normal(0.0, 0.04, acc.shape)
    gyr = np.column_stack([np.zeros_like(t), np.full_like(t, 4.0), np.zeros_like(t)])
    st = ImuRecording(t, acc, gyr, fs, source="drift.csv")
    g = gravity_from_still(acc, fs)
    assert g.tilt_standard_error_deg > MAX_TILT_STANDARD_ERROR_DEG
    rec, _, _ = load_rbds("RBDS0041_T25_R_mpu")
    with pytest.raises(InputError, match=r"drift.csv: 1.00 s still fixes gravity only to ±"):
        ShankAligner().align(rec, standing=st)


def test_tilt_standard_error_follows_noise_and_length() -> None:
    fs = 200.0
    rng = np.random.default_rng(3)

    def se(n: int, noise: float) -> float:
        acc = np.tile([0.0, 0.0, 9.81], (n, 1)) + rng.normal(0.0, noise, (n, 3))
        return gravity_from_still(acc, fs).tilt_standard_error_deg

    # white noise: σ/(g·√n) — four times the samples, half the error (within the block estimate)
    assert se(800, 0.05) < se(200, 0.05)
    assert se(200, 0.5) > 5 * se(200, 0.05)
    assert se(200, 0.05) == pytest.approx(np.degrees(0.05 / (9.81 * np.sqrt(200))), rel=1.0)


def test_a_walking_file_is_no_standing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec, _, _ = load_rbds("RBDS0041_T25_R_mpu")
    moving = ImuRecording(
        rec.time_s[:300], rec.acc_mps2[:300], rec.gyr_dps[:300], 200.0, source="moving"
    )
    path = tmp_path / "moving.csv"
    write_csv(moving, path)
    loaded, _ = load_recording(path, min_duration_s=0.0)  # any length loads ...
    with pytest.raises(InputError, match="without movement"):  # ... but it is not still
        ShankAligner().align(rec, standing=loaded)
