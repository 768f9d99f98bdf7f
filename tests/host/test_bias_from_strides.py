"""One gyro-bias fallback: without a quiet period, offline and live take it from whole strides."""

from __future__ import annotations

import numpy as np
import pytest

from strideguard.align import ShankAligner, estimate_bias_from_strides, shank_signals
from strideguard.analysis import analyze
from strideguard.events import detect_strides
from strideguard.imudata import ImuRecording
from strideguard.live.streaming import StreamingAnalyzer
from strideguard_devkit.sim import simulate
from tests.host.analysis_helpers import load_rbds


def test_bias_from_strides_returns_a_copy_along_the_sagittal_axis() -> None:
    rec, _, truth = load_rbds("RBDS0041_T25_R_mpu")
    al = ShankAligner().align(rec).alignment_
    assert al.bias_source == "none"  # the run has no quiet period
    strides = detect_strides(rec, *shank_signals(rec, al))
    est = estimate_bias_from_strides(rec, al, strides.ic_s_, strides.next_ic_s_)
    y = al.rotation[1]
    true_bias = np.array(truth["sensor"]["error_model"]["gyro_bias_dps"])
    assert est.gyro_bias_dps @ y == pytest.approx(true_bias @ y, abs=1.0)
    np.testing.assert_allclose(np.cross(est.gyro_bias_dps, y), 0.0, atol=1e-12)
    assert est.bias_source == "sagittal mean over whole strides"
    assert al.bias_source == "none" and not al.gyro_bias_dps.any()  # the input is left alone


@pytest.mark.parametrize(("scenario", "seed", "leg"), [("steady", 2, "L"), ("hills", 4, "R")])
def test_live_without_standing_estimates_the_bias_like_analyze(
    scenario: str, seed: int, leg: str
) -> None:
    run = simulate(scenario, duration_s=40, rate_hz=200, seed=seed, leg=leg)
    rec = run.recording
    assert rec.acc_mps2 is not None and rec.gyr_dps is not None
    keep = rec.time_s > 8.0  # the runner starts without standing still
    t = rec.time_s[keep] - rec.time_s[keep][0]
    acc, gyr = rec.acc_mps2[keep], rec.gyr_dps[keep]
    live = StreamingAnalyzer("S", leg)
    n = 0
    while live.alignment is None and n < t.size:
        live.push(t[n : n + 50], acc[n : n + 50], gyr[n : n + 50])
        n += 50
    al = live.alignment
    assert al is not None and not al.calibrated
    assert al.bias_source == "sagittal mean over whole strides"
    # what analyze() makes of the very samples the live path had when it fixed the frame
    seen = ImuRecording(t[:n], acc[:n], gyr[:n], (n - 1) / (t[n - 1] - t[0]), source="S")
    offline = analyze(seen)
    assert offline.alignment is not None
    np.testing.assert_allclose(al.gyro_bias_dps, offline.alignment.gyro_bias_dps, atol=1e-9)
    # and it is the sensor's bias (the mean over moving samples, used before, was 2-5 °/s off)
    true_bias = np.asarray(run.truth.sensor_errors["gyr_bias_dps"])  # drift: < 0.01 °/s here
    y = al.rotation[1]
    assert al.gyro_bias_dps @ y == pytest.approx(true_bias @ y, abs=0.3)
