"""MPU6050-like sensor model: mounting, errors, quantisation, clipping, clock.

A reading is ``q(M·(I + E)·v + b + noise)`` where ``v`` is the true shank-frame
vector, ``M`` the mounting (rows = the sensor's axes expressed in the shank
frame, so ``M @ v`` gives sensor-frame components), ``E`` the scale and
cross-axis error, ``b`` the bias (gyroscope bias drifts slowly) and ``q`` the
int16 quantisation at ±16 g (2048 LSB/g) and ±2000 °/s (16.4 LSB per °/s) with
saturation at the int16 rails. The sensor's sample clock runs ``1 + ε`` times
its nominal rate (ε within ±1.5 % by default, like the MPU6050's internal
oscillator).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from strideguard import protocol as proto
from strideguard.imudata import STANDARD_GRAVITY_MPS2

FloatArray = npt.NDArray[np.float64]

ACC_LSB_PER_MPS2 = proto.ACC_LSB_PER_G / STANDARD_GRAVITY_MPS2
GYR_LSB_PER_DPS = proto.GYR_LSB_PER_DPS_X10 / 10.0
ACC_SCALE_MPS2 = STANDARD_GRAVITY_MPS2 / proto.ACC_LSB_PER_G
GYR_SCALE_DPS = 10.0 / proto.GYR_LSB_PER_DPS_X10
INT16_MIN = -32768
INT16_MAX = 32767

#: the board flat on the front of the shin, sensor x up the tibia, y to the right
TYPICAL_MOUNTING = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def rot_z(a_rad: float) -> FloatArray:
    """Rotation matrix about z."""
    c, s = np.cos(a_rad), np.sin(a_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _proper_axis_permutations() -> list[FloatArray]:
    """The 24 signed permutation matrices with determinant +1."""
    out = []
    for perm in ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)):
        for signs in np.ndindex(2, 2, 2):
            m = np.zeros((3, 3))
            for row, col in enumerate(perm):
                m[row, col] = 1.0 if signs[row] == 0 else -1.0
            if np.linalg.det(m) > 0:
                out.append(m)
    return out


AXIS_PERMUTATIONS = _proper_axis_permutations()


def random_mounting(rng: np.random.Generator) -> FloatArray:
    """Any axis assignment, any rotation about the tibia, 5–15° tilt.

    Returns
    -------
    numpy.ndarray
        ``(3, 3)`` proper rotation ``M`` with ``sensor = M @ shank``.
    """
    perm = AXIS_PERMUTATIONS[int(rng.integers(len(AXIS_PERMUTATIONS)))]
    about_tibia = rot_z(rng.uniform(-np.pi, np.pi))
    azimuth = rng.uniform(0, 2 * np.pi)
    tilt_axis = np.array([np.cos(azimuth), np.sin(azimuth), 0.0])
    tilt = axis_angle(tilt_axis, np.deg2rad(rng.uniform(5.0, 15.0)))
    body = tilt @ about_tibia  # the sensor body's orientation in the shank frame
    return perm @ body.T


def axis_angle(axis: FloatArray, angle_rad: float) -> FloatArray:
    """Rotation matrix for ``angle_rad`` about unit ``axis`` (Rodrigues)."""
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])
    return np.eye(3) + np.sin(angle_rad) * k + (1.0 - np.cos(angle_rad)) * (k @ k)


def resolve_mounting(mounting: object, rng: np.random.Generator) -> FloatArray:
    """Turn a mounting spec into ``M``.

    Parameters
    ----------
    mounting
        ``None`` or ``"random"`` (drawn from ``rng``), ``"identity"`` (sensor
        axes = shank axes), ``"typical"`` (:data:`TYPICAL_MOUNTING`), or a
        ``(3, 3)`` rotation matrix.
    rng
        Random source for ``"random"``.
    """
    if mounting is None or (isinstance(mounting, str) and mounting == "random"):
        return random_mounting(rng)
    if isinstance(mounting, str):
        if mounting == "identity":
            return np.eye(3)
        if mounting == "typical":
            return TYPICAL_MOUNTING.copy()
        raise ValueError(
            f"unknown mounting {mounting!r}: use random, identity, typical or a 3x3 matrix"
        )
    m = np.asarray(mounting, dtype=float)
    if m.shape != (3, 3) or not np.allclose(m @ m.T, np.eye(3), atol=1e-6) or np.linalg.det(m) < 0:
        raise ValueError("mounting must be a proper 3x3 rotation matrix")
    return m


@dataclass(frozen=True)
class SensorErrors:
    """Error parameters of one simulated MPU6050.

    Attributes
    ----------
    gyr_bias_dps, acc_bias_mps2
        Constant biases per axis.
    gyr_bias_drift_dps_per_h
        Linear gyroscope bias drift per axis.
    gyr_matrix, acc_matrix
        ``I + E``: scale (±1.5 %) and cross-axis (±0.5 %) errors.
    gyr_noise_dps, acc_noise_mps2
        White-noise SD per sample.
    clock_error
        Relative sample-rate error ε (true rate = nominal · (1 + ε)).
    """

    gyr_bias_dps: FloatArray
    acc_bias_mps2: FloatArray
    gyr_bias_drift_dps_per_h: FloatArray
    gyr_matrix: FloatArray
    acc_matrix: FloatArray
    gyr_noise_dps: float
    acc_noise_mps2: float
    clock_error: float

    @classmethod
    def draw(cls, rng: np.random.Generator, *, clock_error: float | None = None) -> SensorErrors:
        """Typical errors of a calibrated-at-factory MPU6050."""

        def mat() -> FloatArray:
            e = rng.normal(0.0, 0.005, (3, 3))
            e[np.diag_indices(3)] = rng.uniform(-0.015, 0.015, 3)
            return np.eye(3) + e

        eps = float(rng.uniform(-0.015, 0.015)) if clock_error is None else float(clock_error)
        return cls(
            gyr_bias_dps=rng.normal(0.0, 1.5, 3),
            acc_bias_mps2=rng.normal(0.0, 0.15, 3),
            gyr_bias_drift_dps_per_h=rng.normal(0.0, 0.5, 3),
            gyr_matrix=mat(),
            acc_matrix=mat(),
            gyr_noise_dps=0.07,
            acc_noise_mps2=0.05,
            clock_error=eps,
        )

    @classmethod
    def ideal(cls, *, clock_error: float = 0.0) -> SensorErrors:
        """No bias, no scale error, no noise (quantisation and clipping remain)."""
        z = np.zeros(3)
        return cls(z, z, z, np.eye(3), np.eye(3), 0.0, 0.0, clock_error)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "gyr_bias_dps": np.round(self.gyr_bias_dps, 5).tolist(),
            "acc_bias_mps2": np.round(self.acc_bias_mps2, 5).tolist(),
            "gyr_bias_drift_dps_per_h": np.round(self.gyr_bias_drift_dps_per_h, 5).tolist(),
            "gyr_scale_cross_matrix": np.round(self.gyr_matrix, 6).tolist(),
            "acc_scale_cross_matrix": np.round(self.acc_matrix, 6).tolist(),
            "gyr_noise_sd_dps": self.gyr_noise_dps,
            "acc_noise_sd_mps2": self.acc_noise_mps2,
            "clock_error": self.clock_error,
        }


def quantise(
    acc_mps2: FloatArray, gyr_dps: FloatArray
) -> tuple[npt.NDArray[np.int16], FloatArray, FloatArray]:
    """int16 counts at ±16 g / ±2000 °/s with saturation, and their values.

    Returns
    -------
    raw, acc, gyr
        ``(n, 6)`` int16 counts (ax ay az gx gy gz) and the physical values
        the counts stand for (m/s², °/s).
    """
    a = np.clip(np.rint(acc_mps2 * ACC_LSB_PER_MPS2), INT16_MIN, INT16_MAX)
    g = np.clip(np.rint(gyr_dps * GYR_LSB_PER_DPS), INT16_MIN, INT16_MAX)
    raw = np.concatenate([a, g], axis=1).astype(np.int16)
    return raw, a * ACC_SCALE_MPS2, g * GYR_SCALE_DPS


def apply_sensor(
    acc_sensor_mps2: FloatArray,
    gyr_sensor_dps: FloatArray,
    time_s: FloatArray,
    errors: SensorErrors,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.int16], FloatArray, FloatArray]:
    """Add sensor errors to ideal sensor-frame signals and quantise.

    Parameters
    ----------
    acc_sensor_mps2, gyr_sensor_dps
        ``(n, 3)`` true specific force and angular velocity in the sensor frame.
    time_s
        ``(n,)`` sample times (for the bias drift).
    errors
        Error parameters.
    rng
        Noise source.

    Returns
    -------
    raw, acc, gyr
        See :func:`quantise`.
    """
    n = time_s.shape[0]
    hours = (time_s - (time_s[0] if n else 0.0))[:, None] / 3600.0
    acc = acc_sensor_mps2 @ errors.acc_matrix.T + errors.acc_bias_mps2
    gyr = (
        gyr_sensor_dps @ errors.gyr_matrix.T
        + errors.gyr_bias_dps
        + hours * errors.gyr_bias_drift_dps_per_h
    )
    if errors.acc_noise_mps2 > 0:
        acc = acc + rng.normal(0.0, errors.acc_noise_mps2, (n, 3))
    if errors.gyr_noise_dps > 0:
        gyr = gyr + rng.normal(0.0, errors.gyr_noise_dps, (n, 3))
    return quantise(acc, gyr)
