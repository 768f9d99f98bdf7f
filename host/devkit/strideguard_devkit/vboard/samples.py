"""What the virtual board's simulated MPU6050 measures: ``(n, 6)`` int16 counts.

The counts are at the firmware's ranges (±16 g: 2048 LSB/g, ±2000 °/s:
16.4 LSB/(°/s)), columns ax ay az gx gy gz in the sensor frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from strideguard import protocol as proto

G_MPS2 = 9.80665
ACC_LSB_PER_G = 2048.0
GYR_LSB_PER_DPS = proto.GYR_LSB_PER_DPS_X10 / 10.0

Counts = npt.NDArray[np.int16]


def counts_from_physical(acc_mps2: npt.ArrayLike, gyr_dps: npt.ArrayLike) -> Counts:
    """m/s² and °/s -> int16 counts (rounded, clipped to the int16 rails like the sensor).

    Parameters
    ----------
    acc_mps2, gyr_dps
        ``(n, 3)`` specific force and angular velocity in the sensor frame.
    """
    acc = np.asarray(acc_mps2, float) / G_MPS2 * ACC_LSB_PER_G
    gyr = np.asarray(gyr_dps, float) * GYR_LSB_PER_DPS
    raw = np.round(np.hstack([acc, gyr]))
    return np.clip(raw, -32768, 32767).astype(np.int16)


def as_counts(samples: Any) -> tuple[Counts, float | None]:
    """Counts and their rate from an array, a ``SimRun`` or an ``ImuRecording``.

    Returns
    -------
    counts, rate_hz
        ``rate_hz`` is ``None`` for a bare array.
    """
    raw = getattr(samples, "raw", None)
    if raw is not None and hasattr(samples, "nominal_rate_hz"):  # strideguard_devkit.sim.SimRun
        return np.asarray(raw, np.int16), float(samples.nominal_rate_hz)
    acc = getattr(samples, "acc_mps2", None)
    if acc is not None:  # ImuRecording
        gyr = samples.gyr_dps
        if gyr is None:
            raise ValueError("the recording has no gyroscope: the board needs 6 axes")
        return counts_from_physical(acc, gyr), float(samples.sampling_rate_hz)
    arr = np.asarray(samples)
    if arr.ndim != 2 or arr.shape[1] != 6 or arr.shape[0] == 0:
        raise ValueError("samples must be a non-empty (n, 6) array of int16 counts")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError("samples must be integer counts (use counts_from_physical)")
    return np.clip(arr, -32768, 32767).astype(np.int16), None


def synthetic_gait(
    duration_s: float,
    rate_hz: float = 500,
    *,
    stride_s: float = 0.7,
    noise_lsb: float = 30.0,
    seed: int = 0,
) -> Counts:
    """A simple periodic running gait (shank gyro about y, gravity on z) with noise.

    A mid-swing burst of ~450 °/s over 40 % of the stride and a ~-300 °/s dip
    after initial contact; ``120 / stride_s`` steps/min. For tests and quick
    demos; the gait simulator (``strideguard_devkit.sim``) is the realistic source.
    """
    n = round(duration_s * rate_hz)
    t = np.arange(n) / rate_hz
    ph = (t % stride_s) / stride_s
    g = np.where(ph < 0.4, 450 * np.sin(np.pi * ph / 0.4), 0.0)
    dip = (ph > 0.45) & (ph < 0.53)
    g = np.where(dip, -300 * np.sin(np.pi * (ph - 0.45) / 0.08), g)
    acc = np.zeros((n, 3))
    acc[:, 2] = G_MPS2
    acc[:, 0] = 4 * np.sin(2 * np.pi * ph)
    gyr = np.zeros((n, 3))
    gyr[:, 1] = g
    counts = counts_from_physical(acc, gyr).astype(np.int32)
    rng = np.random.default_rng(seed)
    counts += np.round(rng.normal(0, noise_lsb, counts.shape)).astype(np.int32)
    return np.clip(counts, -32768, 32767).astype(np.int16)
