"""Alignment: any mounting orientation, sign from the gait, standing calibration."""

from __future__ import annotations

import numpy as np

from strideguard.align import ShankAligner, quiet_mask
from strideguard.imudata import ImuRecording
from tests.host.analysis_helpers import load_rbds, random_rotation, rotated


def test_same_shank_frame_for_any_mounting() -> None:
    rec, st, _ = load_rbds("RBDS0041_T25_R_clean")
    ref = ShankAligner().align(rec, standing=st).alignment_
    rng = np.random.default_rng(3)
    for _ in range(5):
        rot = random_rotation(rng)
        a = ShankAligner().align(rotated(rec, rot), standing=rotated(st, rot)).alignment_
        # shank = a.rotation @ (rot @ sensor) must equal ref.rotation @ sensor
        np.testing.assert_allclose(a.rotation @ rot, ref.rotation, atol=0.01)
        assert a.calibrated and a.calibration_source == "standing file"
        assert a.confidence > 0.8


def test_clean_frame_axes_are_found() -> None:
    # clean frame: x anterior, y superior, z to the right, gyr_z positive = ankle forward
    rec, st, _ = load_rbds("RBDS0041_T25_L_clean")
    a = ShankAligner().align(rec, standing=st).alignment_
    shank_y_in_clean = a.rotation[1]
    shank_z_in_clean = a.rotation[2]
    assert shank_y_in_clean[2] > 0.9  # sagittal axis = +z (right), sign from the gait
    assert shank_z_in_clean[1] < -0.99  # down the tibia = -y (superior)


def test_gyro_bias_from_standing_file() -> None:
    rec, st, truth = load_rbds("RBDS0041_T25_R_mpu")
    a = ShankAligner().align(rec, standing=st).alignment_
    np.testing.assert_allclose(
        a.gyro_bias_dps, truth["sensor"]["error_model"]["gyro_bias_dps"], atol=0.3
    )


def test_standing_period_at_start_is_used() -> None:
    rec, st, _ = load_rbds("RBDS0041_T25_R_mpu")
    assert (
        st.acc_mps2 is not None
        and st.gyr_dps is not None
        and rec.acc_mps2 is not None
        and rec.gyr_dps is not None
    )
    n = st.n_samples
    both = ImuRecording(
        time_s=np.arange(n + rec.n_samples) / 200.0,
        acc_mps2=np.vstack([st.acc_mps2, rec.acc_mps2]),
        gyr_dps=np.vstack([st.gyr_dps, rec.gyr_dps]),
        sampling_rate_hz=200.0,
    )
    a = ShankAligner().align(both).alignment_
    b = ShankAligner().align(rec, standing=st).alignment_
    assert (
        a.calibrated
        and a.calibration_source is not None
        and a.calibration_source.startswith("standing at start")
    )
    np.testing.assert_allclose(a.rotation, b.rotation, atol=0.02)


def test_uncalibrated_without_standing() -> None:
    rec, _, _ = load_rbds("RBDS0041_T25_R_mpu")
    a = ShankAligner().align(rec).alignment_
    assert not a.calibrated
    assert any("relative" in n for n in a.notes)


def test_quiet_mask_finds_standing_only() -> None:
    rec, st, _ = load_rbds("RBDS0041_T25_R_mpu")
    assert quiet_mask(st.acc_mps2, st.gyr_dps, 200.0).mean() > 0.9
    assert quiet_mask(rec.acc_mps2, rec.gyr_dps, 200.0).mean() < 0.01
