"""Per-stride metrics on signals with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from strideguard.imudata import STANDARD_GRAVITY_MPS2
from strideguard.metrics import (
    EXPORTED_STRIDE_COLUMNS,
    STRIDE_COLUMNS,
    SUMMARY_METRICS,
    StrideTable,
    late_swing_peak_decel,
    peak_tibial_accel,
    shank_angle_at_ic,
    summarize,
)
from strideguard.overstride import OverstrideAssessor


def _gyr(omega_y_dps: np.ndarray) -> np.ndarray:
    z = np.zeros_like(omega_y_dps)
    return np.column_stack([z, omega_y_dps, z])


def _acc(ax: np.ndarray, az: np.ndarray) -> np.ndarray:
    return np.column_stack([ax, np.zeros_like(ax), az])


def test_shank_angle_at_ic_recovers_a_known_swing() -> None:
    fs = 500.0
    t = np.arange(0, 10, 1 / fs)
    f = 1.3
    theta = np.radians(-30 + 40 * np.sin(2 * np.pi * f * t) + 10 * np.sin(4 * np.pi * f * t + 1))
    omega_dps = np.degrees(np.gradient(theta, 1 / fs))
    # pure rotation about the knee, no linear acceleration: specific force = gravity seen by the shank
    ax = STANDARD_GRAVITY_MPS2 * np.sin(theta)
    az = -STANDARD_GRAVITY_MPS2 * np.cos(theta)
    ic = np.arange(0.3, 9.0, 1 / f)
    ang = shank_angle_at_ic(_gyr(omega_dps), _acc(ax, az), ic[:-1], ic[1:], sampling_rate_hz=fs)
    expected = np.degrees(np.interp(ic[:-1], t, theta))
    np.testing.assert_allclose(ang, expected, atol=0.1)


def test_shank_angle_ignores_gyro_offset_between_strides() -> None:
    fs = 200.0
    t = np.arange(0, 8, 1 / fs)
    theta = np.radians(5 + 30 * np.sin(2 * np.pi * t))
    omega = np.degrees(np.gradient(theta, 1 / fs)) + 1.0  # 1 °/s bias
    ax, az = 9.81 * np.sin(theta), -9.81 * np.cos(theta)
    ic = np.arange(0.25, 7.0, 1.0)
    ang = shank_angle_at_ic(_gyr(omega), _acc(ax, az), ic[:-1], ic[1:], sampling_rate_hz=fs)
    # drift-free: the error stays bounded (about bias × stride/2), not growing with time
    err = ang - np.degrees(np.interp(ic[:-1], t, theta))
    assert np.all(np.abs(err) < 1.0)
    # the same for every stride (the first one, with no stride before it, averages forward:
    # the bias tilts it the other way)
    assert np.ptp(err[1:]) < 0.05


def test_shank_angle_in_3d_with_axial_rotation() -> None:
    """Sagittal swing plus rotation about the tibia: the 3-D integration keeps the angle exact."""
    from scipy.spatial.transform import Rotation

    fs = 500.0
    t = np.arange(0, 6, 1 / fs)
    f = 1.25
    theta = np.radians(-25 + 40 * np.sin(2 * np.pi * f * t))
    psi = np.radians(15 * np.sin(2 * np.pi * f * t + 0.7))  # internal/external rotation
    # body -> world: sagittal tilt about world y, then axial rotation about the body z
    rot = Rotation.from_euler("YZ", np.column_stack([theta, psi]))
    # angular velocity in the body frame by finite differences of the orientation
    rel = rot[:-1].inv() * rot[1:]
    w_body = np.degrees(rel.as_rotvec() * fs)
    w_body = np.vstack([w_body[:1], 0.5 * (w_body[1:] + w_body[:-1]), w_body[-1:]])
    up_world = np.array([0.0, 0.0, -9.80665])  # specific force at rest points up (-z, z down)
    acc_body = rot.inv().apply(up_world)
    ic = np.arange(0.2, 5.0, 1 / f)
    ang = shank_angle_at_ic(w_body, acc_body, ic[:-1], ic[1:], sampling_rate_hz=fs)
    # truth: angle of the tibia (body z) from vertical in the world x-z plane
    z_world = rot.apply([0.0, 0.0, 1.0])
    truth = np.degrees(np.arctan2(z_world[:, 0], z_world[:, 2]))
    np.testing.assert_allclose(ang, np.interp(ic[:-1], t, truth), atol=0.15)


def test_late_swing_peak_decel() -> None:
    fs = 1000.0
    t = np.arange(0, 1, 1 / fs)
    g = 500 - 4000 * np.clip(t - 0.2, 0, None)  # decelerates at 4000 °/s² after 0.2 s
    d = late_swing_peak_decel(g, np.array([0.1]), np.array([0.5]), sampling_rate_hz=fs)
    assert d[0] == pytest.approx(4000, rel=0.01)


def test_peak_tibial_accel_and_clipping() -> None:
    fs = 500.0
    n = 2000
    acc = np.tile([0.0, 0.0, 9.81], (n, 1))
    acc[510, 2] = 8 * 9.80665  # 8 g spike after IC at 1.0 s
    acc[1510:1514, 2] = 16 * 9.80665 * 0.999  # flat top at the ±16 g rail
    peak, clipped = peak_tibial_accel(acc, np.array([1.0, 3.0]), sampling_rate_hz=fs, range_g=16)
    assert peak[0] == pytest.approx(8.0, rel=1e-3)
    assert clipped.tolist() == [0.0, 1.0]
    _peak2, clipped2 = peak_tibial_accel(acc, np.array([1.0, 3.0]), sampling_rate_hz=fs)
    assert clipped2.tolist() == [0.0, 1.0]


def test_summary_statistics() -> None:
    tab = StrideTable(
        {"stride_time_s": np.array([0.7, 0.8, np.nan]), "cadence_spm": np.array([1.0, 2.0, 3.0])}
    )
    s = summarize(tab)
    assert s["stride_time_s"]["n"] == 2
    assert s["stride_time_s"]["mean"] == pytest.approx(0.75)
    assert s["contact_time_s"] is None


def test_rows_give_flags_as_booleans_and_nan_as_none() -> None:
    tab = StrideTable(
        {
            "cadence_spm": np.array([160.123456, np.nan, 1.0]),
            "peak_tibial_accel_clipped": np.array([1.0, 0.0, np.nan]),
            "overstride": np.array([0.0, 1.0, np.nan]),
        }
    )
    assert tab.rows() == [
        {"cadence_spm": 160.1235, "peak_tibial_accel_clipped": True, "overstride": False},
        {"cadence_spm": None, "peak_tibial_accel_clipped": False, "overstride": True},
        {"cadence_spm": 1.0, "peak_tibial_accel_clipped": None, "overstride": None},
    ]


def test_the_one_column_list_names_the_table() -> None:
    from strideguard.analysis import analyze
    from tests.host.analysis_helpers import load_rbds

    rec, st, _ = load_rbds("RBDS0041_T25_L_mpu")
    res = analyze(rec, standing=st)
    assert list(res.strides.columns) == [c.name for c in STRIDE_COLUMNS]
    doc = res.to_dict()
    assert list(doc["strides"][0]) == list(EXPORTED_STRIDE_COLUMNS)
    assert "next_initial_contact_s" not in EXPORTED_STRIDE_COLUMNS
    assert list(doc["summary"]["metrics"]) == list(SUMMARY_METRICS)
    assert all(doc["summary"]["metrics"][m] is not None for m in SUMMARY_METRICS)


def test_overstride_flags_and_cadence_advice() -> None:
    ang = np.r_[np.full(20, 8.0), np.full(20, 15.0)]
    cad = np.full(40, 160.0)
    o = OverstrideAssessor().assess(ang, cad)
    assert o.reference_angle_deg_ == pytest.approx(8.0)
    assert np.nansum(o.overstride_) == 20
    assert o.cadence_target_spm_ == (168, 176)
    assert "168–176 steps/min" in o.advice_
    calm = OverstrideAssessor().assess(np.full(40, 8.0), cad)
    assert calm.advice_ == "" and calm.share_ == 0.0
    prof = OverstrideAssessor().assess(np.full(40, 8.0), cad, reference_angle_deg=2.0)
    assert prof.reference_source_ == "profile" and prof.share_ == 1.0


def test_overstride_without_angles() -> None:
    o = OverstrideAssessor().assess(np.full(10, np.nan), np.full(10, 160.0))
    assert o.share_ is None and o.reference_angle_deg_ is None
    assert o.to_dict()["overstride_share"] is None
