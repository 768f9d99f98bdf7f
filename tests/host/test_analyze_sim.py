"""Analysis accuracy on the gait simulator, against the issue-4 targets.

Simulated runs with the simulator's default sensor errors (noise, bias, scale,
clock error, int16 quantisation and clipping at ±16 g / ±2000 °/s) and a random
mounting rotation, standing calibration from the 5 s standing start. Scored
against the simulator's truth: stride recall/precision ≥ 99 %, IC MAE ≤ 5 ms,
TO MAE ≤ 15 ms and the *absolute* tibia angle at IC, MAE ≤ 2°. The absolute
angle needs the simulator's stride-mean specific force to be gravity (see
``test_sim.py::test_stride_mean_specific_force_is_gravity``) and the standing
calibration to be applied once (see docs/analysis.md)."""

from __future__ import annotations

import numpy as np
import pytest

from strideguard.analysis import analyze
from strideguard.load import from_imu
from tests.host.analysis_helpers import match_events

sim = pytest.importorskip("strideguard_devkit.sim", reason="simulator (issue 5) not merged yet")

SCENARIOS = ("steady", "intervals", "hills", "overstride_episode")


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("leg", ["L", "R"])
def test_simulated_runs(scenario: str, leg: str) -> None:
    run = sim.simulate(scenario, duration_s=90, rate_hz=200, seed=11, leg=leg)
    truth = run.truth
    rec = from_imu(run.recording)
    res = analyze(rec, leg=leg)
    assert res.alignment is not None and res.alignment.calibrated
    win = (float(rec.time_s[0]) + 1.0, float(rec.time_s[-1]) - 1.0)
    ic_e, rec_ic, prec_ic = match_events(
        res.strides["initial_contact_s"], truth.initial_contact_s, win
    )
    to_e, rec_to, prec_to = match_events(res.strides["toe_off_s"], truth.toe_off_s, win)
    assert rec_ic >= 0.99 and prec_ic >= 0.99
    assert rec_to >= 0.99 and prec_to >= 0.99
    # achieved (seed 11, both legs): IC 2.4–2.7 ms, TO 1.7–3.3 ms
    assert 1e3 * np.mean(np.abs(ic_e)) <= 5.0
    assert 1e3 * np.mean(np.abs(to_e)) <= 15.0
    det = res.strides["initial_contact_s"]
    j = np.argmin(np.abs(det[:, None] - truth.initial_contact_s[None, :]), axis=1)
    close = np.abs(det - truth.initial_contact_s[j]) < 0.05
    ang_err = res.strides["shank_angle_at_ic_deg"][close] - truth.shank_angle_at_ic_deg[j[close]]
    assert np.isfinite(ang_err).all() and ang_err.size >= 100
    # absolute angle (calibrated by the standing start): achieved MAE 0.9–1.6°, mean −0.8…−1.6°
    # (the analysis assumes a −3° standing tibia, the simulated runner stands at −2.4…−3.6°;
    # the impact onset found as IC is 3 ms after contact)
    assert np.mean(np.abs(ang_err)) <= 2.0
    assert abs(np.mean(ang_err)) <= 2.0
    assert np.std(ang_err) <= 2.0
