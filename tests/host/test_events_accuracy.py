"""Event and angle accuracy on the real-data-derived recordings (force-plate truth).

The sensor frame is randomly rotated in every test and the standing file is
given, as a runner would. Numbers achieved (see docs/analysis.md) are asserted
with a small margin; the issue's targets that are not reached are kept as
strict xfails that say what limits them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from strideguard.analysis import AnalysisResult, analyze
from strideguard.imudata import ImuRecording
from strideguard.load import read_csv
from tests.host.analysis_helpers import (
    RBDS,
    load_rbds,
    match_events,
    random_rotation,
    rotated,
    shared_data_file,
)


def _score(name: str, seed: int) -> dict[str, Any]:
    rec, st, truth = load_rbds(name)
    rot = random_rotation(np.random.default_rng(seed))
    res: AnalysisResult = analyze(rotated(rec, rot), standing=rotated(st, rot))
    win = tuple(truth["score_window_s"])
    ic_t = np.array([s["initial_contact_s"] for s in truth["strides"]])
    to_t = np.array([s["toe_off_s"] for s in truth["strides"]])
    ang_t = np.array([s["shank_angle_at_ic_deg"] for s in truth["strides"]])
    ic_e, ic_r, ic_p = match_events(res.strides["initial_contact_s"], ic_t, win)
    to_e, to_r, to_p = match_events(res.strides["toe_off_s"], to_t, win)
    det = res.strides["initial_contact_s"]
    ang = res.strides["shank_angle_at_ic_deg"]
    j = np.argmin(np.abs(det[:, None] - ic_t[None, :]), axis=1)
    close = np.abs(det - ic_t[j]) < 0.05
    ang_e = ang[close] - ang_t[j[close]]
    return {
        "result": res,
        "ic_mae_ms": 1e3 * np.mean(np.abs(ic_e)),
        "ic_recall": ic_r,
        "ic_precision": ic_p,
        "to_mae_ms": 1e3 * np.mean(np.abs(to_e)),
        "to_recall": to_r,
        "to_precision": to_p,
        "angle_mae_deg": float(np.mean(np.abs(ang_e))),
        "angle_sd_deg": float(np.std(ang_e)),
    }


@pytest.fixture(scope="module")
def scores() -> dict[str, dict[str, Any]]:
    return {name: _score(name, seed) for seed, name in enumerate(RBDS)}


@pytest.mark.parametrize("name", RBDS)
def test_all_strides_found_none_invented(scores: dict[str, dict[str, Any]], name: str) -> None:
    s = scores[name]
    assert s["ic_recall"] >= 0.99 and s["ic_precision"] >= 0.99
    assert s["to_recall"] >= 0.99 and s["to_precision"] >= 0.99


@pytest.mark.parametrize("name", RBDS)
def test_event_errors_per_file(scores: dict[str, dict[str, Any]], name: str) -> None:
    s = scores[name]
    # achieved: IC 4.8 ms (L) / 3.8 ms (R); TO 7.7 ms (L) / 18.9 ms (R)
    assert s["ic_mae_ms"] <= 6.0
    assert s["to_mae_ms"] <= 21.0


def test_toe_off_target_over_all_files(scores: dict[str, dict[str, Any]]) -> None:
    assert np.mean([s["to_mae_ms"] for s in scores.values()]) <= 15.0


@pytest.mark.parametrize("name", RBDS)
def test_angle_precision_and_bias(scores: dict[str, dict[str, Any]], name: str) -> None:
    s = scores[name]
    # stride-to-stride error SD is 0.8–1.0°; MAE 0.8–0.9° (R), 1.5–2.3° (L: the swing anchor
    # lands 4.5 ms before the force IC on this leg, and this runner stands at −1.8°, not −3°)
    assert s["angle_sd_deg"] <= 1.3
    assert s["angle_mae_deg"] <= 2.8


def test_initial_contact_target_5ms(scores: dict[str, dict[str, Any]]) -> None:
    # the swing anchor (late-swing zero crossing + retraction) instead of the contact jerk:
    # achieved 3.8 ms (R) / 4.8 ms (L), mean 4.3 ms (the jerk-based IC: 10.7 / 3.3, mean 7.0)
    assert np.mean([s["ic_mae_ms"] for s in scores.values()]) <= 5.0


def test_angle_target_2deg(scores: dict[str, dict[str, Any]]) -> None:
    assert np.mean([s["angle_mae_deg"] for s in scores.values()]) <= 2.0


def test_rotation_does_not_change_the_events() -> None:
    rec, st, _ = load_rbds("RBDS0041_T25_L_mpu")
    a = analyze(rec, standing=st)
    rot = random_rotation(np.random.default_rng(42))
    b = analyze(rotated(rec, rot), standing=rotated(st, rot))
    # within 10 µs (0.002 samples): the shank axes are estimated from the data, so the
    # rotated copy's sagittal signal differs in the last digits
    np.testing.assert_allclose(
        a.strides["initial_contact_s"], b.strides["initial_contact_s"], atol=1e-5
    )
    np.testing.assert_allclose(
        a.strides["shank_angle_at_ic_deg"], b.strides["shank_angle_at_ic_deg"], atol=0.02
    )


@pytest.mark.parametrize("name", ["BACH_T01", "BACH_T07"])
def test_accelerometer_only_initial_contact(name: str) -> None:
    import json

    csv, truth_file = shared_data_file(f"{name}.csv"), shared_data_file(f"{name}.truth.json")
    if csv is None or truth_file is None:
        pytest.skip(
            f"{name}.csv/.truth.json not found: the BACH files (GPL-3.0) are not redistributed in "
            "tests/data; put the shared data folder at ../shared/data or set STRIDEGUARD_SHARED_DATA"
        )
    rec, _ = read_csv(csv)
    truth = json.loads(truth_file.read_text())
    res = analyze(rotated(rec, random_rotation(np.random.default_rng(7))))
    assert res.events_source == "accelerometer"
    ic_t = np.array([s["initial_contact_s"] for s in truth["strides"]])
    err, recall, precision = match_events(
        res.strides["initial_contact_s"], ic_t, tuple(truth["score_window_s"])
    )
    assert recall >= 0.99 and precision >= 0.99
    assert 1e3 * np.std(err) <= 5.0
    # the mean offset (≈ +27 ms) is reported, not tuned away: the source has a sync lag (data README)
    assert 0.0 < 1e3 * np.mean(err) < 45.0
    assert all(r["shank_angle_at_ic_deg"] is None for r in res.to_dict()["strides"])


def test_impact_refines_gyro_initial_contact() -> None:
    """6-axis data with a tibial impact at 500 Hz: IC moves to the impact onset."""
    rec, st, truth = load_rbds("RBDS0041_T25_R_mpu")
    assert rec.acc_mps2 is not None and rec.gyr_dps is not None
    fs = 500.0
    t = np.arange(0, rec.time_s[-1], 1 / fs)
    acc = np.column_stack([np.interp(t, rec.time_s, rec.acc_mps2[:, j]) for j in range(3)])
    gyr = np.column_stack([np.interp(t, rec.time_s, rec.gyr_dps[:, j]) for j in range(3)])
    ic_t = np.array([s["initial_contact_s"] for s in truth["strides"]])
    rng = np.random.default_rng(5)
    up = -np.array(
        truth["sensor"]["mounting"]["shank_long_axis_in_sensor_frame"]
    )  # sensor "up" along the tibia
    for ic in ic_t:
        dt = t - ic
        amp = rng.uniform(40, 90)  # 4–9 g impacts
        rise = 0.008
        shape = np.where((dt > 0) & (dt <= rise), dt / rise, 0.0)
        after = dt > rise
        shape[after] = np.exp(-(dt[after] - rise) / 0.012) * np.cos(
            2 * np.pi * 40 * (dt[after] - rise)
        )
        acc += amp * shape[:, None] * up[None, :]
    six = ImuRecording(t, acc, gyr, fs, source="impact")
    res = analyze(six, standing=st)
    assert res.events_source == "gyroscope+impact"
    err, recall, precision = match_events(
        res.strides["initial_contact_s"], ic_t, tuple(truth["score_window_s"])
    )
    assert recall >= 0.99 and precision >= 0.99
    assert 1e3 * np.mean(np.abs(err)) <= 2.0
    assert np.all(res.strides["peak_tibial_accel_g"] > 3.5)


def test_causal_mid_swing_detection_matches_offline() -> None:
    """The live path can use the detector without look-ahead and finds the same peaks."""
    from strideguard.align import ShankAligner
    from strideguard.events import MidSwingDetector

    rec, st, _ = load_rbds("RBDS0041_T25_R_mpu")
    al = ShankAligner().align(rec, standing=st).alignment_
    _, gyr = al.to_shank(rec)
    assert gyr is not None
    off = MidSwingDetector().detect(gyr[:, 1], sampling_rate_hz=200.0)
    live = MidSwingDetector(causal=True).detect(gyr[:, 1], sampling_rate_hz=200.0)
    np.testing.assert_array_equal(off.peaks_, live.peaks_)


def test_detectors_need_only_bounded_look_ahead() -> None:
    """Events found in a truncated window equal the full-recording events up to ~1.5 s before its end."""
    from strideguard.align import ShankAligner
    from strideguard.events import GyroEventDetector, MidSwingDetector

    rec, st, _ = load_rbds("RBDS0041_T25_L_mpu")
    al = ShankAligner().align(rec, standing=st).alignment_
    acc, gyr = al.to_shank(rec)
    assert gyr is not None and acc is not None
    fs = 200.0

    def events(n: int) -> tuple[np.ndarray, np.ndarray]:
        g, up = gyr[:n, 1], -acc[:n, 2]
        ms = MidSwingDetector(causal=True).detect(g, sampling_rate_hz=fs)
        ev = GyroEventDetector().detect(g, ms.peaks_, up, sampling_rate_hz=fs)
        return ev.ic_s_, ev.to_s_

    ic_full, to_full = events(gyr.shape[0])
    for end_s in (8.0, 15.3, 22.7):
        ic, to = events(int(end_s * fs))
        done = ic < end_s - 1.5
        k = int(done.sum())
        np.testing.assert_allclose(ic[:k], ic_full[:k], atol=1e-9)
        ok = np.isfinite(to[:k]) & (to[:k] < end_s - 1.5)
        np.testing.assert_allclose(to[:k][ok], to_full[:k][ok], atol=1e-9)
