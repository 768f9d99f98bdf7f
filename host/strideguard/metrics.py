"""Per-stride metrics (units in every name) and variability summaries.

A stride is one leg's cycle from initial contact (IC) to the next IC. The
columns of :class:`StrideTable` (all NumPy arrays of equal length, NaN where a
value cannot be measured):

=============================  ==============================================
``initial_contact_s``          IC time (recording clock)
``toe_off_s``                  TO after this IC
``mid_swing_s``                mid-swing peak before the next IC
``next_initial_contact_s``     end of the stride
``stride_time_s``              IC to next IC
``cadence_spm``                steps per minute, both legs: 2 × 60 / stride time
``contact_time_s``             IC to TO
``swing_time_s``               TO to next IC
``duty_factor``                contact time / stride time
``peak_midswing_gyr_dps``      sagittal angular velocity at mid-swing
``late_swing_duration_s``      mid-swing peak to next IC
``late_swing_peak_decel_dps2`` largest shank angular deceleration in late swing
``shank_angle_at_ic_deg``      tibia angle at IC (see :func:`shank_angle_at_ic`)
``peak_tibial_accel_g``        largest |specific force| from IC to IC + 100 ms
``peak_tibial_accel_clipped`` 1.0 if that peak is at the sensor's range
``gravity_x/y/z``              mean specific-force direction over the stride
                               in the **sensor** frame (≈ gravity: the mean
                               linear acceleration of a stride is zero); a
                               change means the sensor turned on its strap
=============================  ==============================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from strideguard.events import _window_argext
from strideguard.imudata import STANDARD_GRAVITY_MPS2, FloatArray

STRIDE_COLUMNS: tuple[str, ...] = (
    "initial_contact_s",
    "toe_off_s",
    "mid_swing_s",
    "next_initial_contact_s",
    "stride_time_s",
    "cadence_spm",
    "contact_time_s",
    "swing_time_s",
    "duty_factor",
    "peak_midswing_gyr_dps",
    "late_swing_duration_s",
    "late_swing_peak_decel_dps2",
    "shank_angle_at_ic_deg",
    "peak_tibial_accel_g",
    "peak_tibial_accel_clipped",
    "gravity_x",
    "gravity_y",
    "gravity_z",
)


@dataclass
class StrideTable:
    """Column-oriented per-stride table (what the alert engine consumes).

    Attributes
    ----------
    columns
        ``{name: array}`` with the names of :data:`STRIDE_COLUMNS` (and any
        extra columns such as overstride flags), all of equal length.
    """

    columns: dict[str, FloatArray] = field(default_factory=dict)

    def __len__(self) -> int:
        return 0 if not self.columns else int(next(iter(self.columns.values())).shape[0])

    def __getitem__(self, name: str) -> FloatArray:
        return self.columns[name]

    def rows(self) -> list[dict[str, Any]]:
        """One dict per stride, NaN as ``None`` (JSON ``null``)."""
        names = list(self.columns)
        out: list[dict[str, Any]] = []
        for i in range(len(self)):
            row: dict[str, Any] = {}
            for n in names:
                v = self.columns[n][i]
                if n == "peak_tibial_accel_clipped":
                    row[n] = None if not np.isfinite(v) else bool(v)
                elif n == "overstride":
                    row[n] = None if not np.isfinite(v) else bool(v)
                else:
                    row[n] = None if not np.isfinite(v) else round(float(v), 4)
            out.append(row)
        return out


def shank_angle_at_ic(
    gyr_sagittal_dps: FloatArray,
    acc_x_mps2: FloatArray,
    acc_z_mps2: FloatArray,
    ic_s: FloatArray,
    next_ic_s: FloatArray,
    *,
    sampling_rate_hz: float,
) -> FloatArray:
    """Tibia angle at each IC, drift-free, anchored to gravity once per stride.

    Method: within one stride (IC to next IC) the shank's angle is
    ``θ(t) = θ_ic + φ(t)`` with ``φ`` the integral of the sagittal angular
    velocity from IC, so gyroscope drift can only build up over one stride.
    The unknown ``θ_ic`` comes from gravity: over a whole stride of steady
    running the sensor returns to the same velocity, so its mean linear
    acceleration is zero and the mean specific force in the world frame is
    exactly "up" (``+g``). Rotating the shank-frame specific force ``(a_x, a_z)``
    by ``φ(t)`` and averaging over the stride gives a vector ``m`` that the
    rotation by ``θ_ic`` must turn to vertical: ``θ_ic = atan2(m_x, −m_z)``.
    All sums come from cumulative sums of ``cos Θ · a`` and ``sin Θ · a`` with
    ``Θ`` the running integral, so the computation is vectorised over strides.

    Parameters
    ----------
    gyr_sagittal_dps
        Bias-free angular velocity about the shank y axis.
    acc_x_mps2, acc_z_mps2
        Specific force along the shank x and z axes.
    ic_s, next_ic_s
        Stride start and end times (seconds from the first sample).
    sampling_rate_hz
        Sampling rate.

    Returns
    -------
    numpy.ndarray
        Angle in degrees at each IC (0 = tibia vertical, + = ankle ahead of
        knee); NaN where the stride is incomplete.
    """
    fs = sampling_rate_hz
    n = gyr_sagittal_dps.shape[0]
    w = np.radians(gyr_sagittal_dps.astype(np.float64))
    theta = np.concatenate(([0.0], np.cumsum(0.5 * (w[1:] + w[:-1])))) / fs  # trapezoidal
    c, s = np.cos(theta), np.sin(theta)
    ax = acc_x_mps2.astype(np.float64)
    az = acc_z_mps2.astype(np.float64)
    parts = np.stack([c * ax, s * ax, c * az, s * az], axis=1)
    cum = np.vstack([np.zeros((1, 4)), np.cumsum(parts, axis=0)])
    ok = np.isfinite(ic_s) & np.isfinite(next_ic_s)
    out = np.full(ic_s.shape, np.nan)
    if not ok.any():
        return out
    i0 = np.clip(np.round(ic_s[ok] * fs).astype(np.int64), 0, n - 1)
    i1 = np.clip(np.round(next_ic_s[ok] * fs).astype(np.int64), 1, n)
    sums = (cum[i1] - cum[i0]) / np.maximum(1, i1 - i0)[:, None]
    # Θ at the exact IC time (linear interpolation of the running integral)
    x = ic_s[ok] * fs
    xi = np.clip(np.floor(x).astype(np.int64), 0, n - 2)
    th_ic = theta[xi] + (x - xi) * (theta[xi + 1] - theta[xi])
    ck, sk = np.cos(th_ic), np.sin(th_ic)
    # rotate by φ = Θ − Θ_ic: x_w = cos φ a_x + sin φ a_z ; z_w = −sin φ a_x + cos φ a_z
    cos_ax = ck * sums[:, 0] + sk * sums[:, 1]
    sin_ax = ck * sums[:, 1] - sk * sums[:, 0]
    cos_az = ck * sums[:, 2] + sk * sums[:, 3]
    sin_az = ck * sums[:, 3] - sk * sums[:, 2]
    m_x = cos_ax + sin_az
    m_z = -sin_ax + cos_az
    out[ok] = np.degrees(np.arctan2(m_x, -m_z))
    return out


def late_swing_peak_decel(
    gyr_sagittal_dps: FloatArray,
    mid_swing_s: FloatArray,
    ic_s: FloatArray,
    *,
    sampling_rate_hz: float,
    smoothing_s: float = 0.01,
) -> FloatArray:
    """Largest shank angular deceleration (°/s², positive) between mid-swing and IC.

    The hamstrings brake the forward-swinging shank in late swing; the peak
    deceleration of the shank's angular velocity is their load proxy.

    Parameters
    ----------
    gyr_sagittal_dps
        Angular velocity about the shank y axis.
    mid_swing_s, ic_s
        Window start (mid-swing peak) and end (IC) per stride.
    sampling_rate_hz
        Sampling rate.
    smoothing_s
        Moving average applied to the derivative.

    Returns
    -------
    numpy.ndarray
        Peak deceleration per stride (NaN when the window is unknown).
    """
    from strideguard.align import moving_mean

    fs = sampling_rate_hz
    d1 = -np.gradient(gyr_sagittal_dps.astype(np.float64)) * fs
    d1 = moving_mean(d1, max(1, round(smoothing_s * fs)))
    out = np.full(ic_s.shape, np.nan)
    ok = np.isfinite(mid_swing_s) & np.isfinite(ic_s) & (ic_s > mid_swing_s)
    if ok.any():
        st = np.round(mid_swing_s[ok] * fs).astype(np.int64)
        en = np.round(ic_s[ok] * fs).astype(np.int64)
        k = _window_argext(d1, st, np.maximum(1, en - st + 1), mode="max")
        out[ok] = d1[k]
    return out


def peak_tibial_accel(
    acc_mps2: FloatArray,
    ic_s: FloatArray,
    *,
    sampling_rate_hz: float,
    window_s: float = 0.1,
    range_g: float | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Peak |specific force| (in g) from IC to IC + ``window_s`` and a clipping flag.

    Parameters
    ----------
    acc_mps2
        Specific force, shape ``(n, 3)``, any frame.
    ic_s
        IC times.
    sampling_rate_hz
        Sampling rate.
    window_s
        Search window after IC (the impact peak follows IC by ~10–50 ms).
    range_g
        Sensor full-scale range; if ``None`` clipping is recognised as a
        repeated identical extreme value (a flat top at the rail).

    Returns
    -------
    peak_g, clipped
        Per stride; ``clipped`` is 1.0 where any axis was at its range.
    """
    fs = sampling_rate_hz
    norm = np.sqrt(np.einsum("ij,ij->i", acc_mps2, acc_mps2))
    absmax = np.max(np.abs(acc_mps2), axis=1)
    if range_g is not None:
        rail = 0.995 * range_g * STANDARD_GRAVITY_MPS2
    else:
        top = float(absmax.max()) if absmax.size else 0.0
        at_top = np.count_nonzero(np.abs(acc_mps2) >= top * 0.9999)
        rail = top * 0.9999 if (at_top >= 3 and top > 4 * STANDARD_GRAVITY_MPS2) else np.inf
    peak = np.full(ic_s.shape, np.nan)
    clipped = np.full(ic_s.shape, np.nan)
    ok = np.isfinite(ic_s)
    if ok.any():
        st = np.maximum(0, np.round(ic_s[ok] * fs).astype(np.int64) - 1)
        w = max(2, round(window_s * fs))
        k = _window_argext(norm, st, np.full(st.shape, w), mode="max")
        peak[ok] = norm[k] / STANDARD_GRAVITY_MPS2
        kc = _window_argext(absmax, st, np.full(st.shape, w), mode="max")
        clipped[ok] = (absmax[kc] >= rail).astype(np.float64)
    return peak, clipped


def stride_gravity_direction(
    acc_mps2: FloatArray, ic_s: FloatArray, next_ic_s: FloatArray, *, sampling_rate_hz: float
) -> FloatArray:
    """Unit vector of the mean specific force over each stride (sensor frame).

    Parameters
    ----------
    acc_mps2
        Specific force in the sensor frame, shape ``(n, 3)``.
    ic_s, next_ic_s
        Stride start and end (seconds from the first sample).
    sampling_rate_hz
        Sampling rate.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_strides, 3)``; NaN rows where the stride is incomplete.
    """
    fs = sampling_rate_hz
    n = acc_mps2.shape[0]
    out = np.full((ic_s.shape[0], 3), np.nan)
    ok = np.isfinite(ic_s) & np.isfinite(next_ic_s)
    if ok.any():
        cum = np.vstack([np.zeros((1, 3)), np.cumsum(acc_mps2, axis=0)])
        i0 = np.clip(np.round(ic_s[ok] * fs).astype(np.int64), 0, n - 1)
        i1 = np.clip(np.round(next_ic_s[ok] * fs).astype(np.int64), 1, n)
        m = cum[i1] - cum[i0]
        out[ok] = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
    return out


def summarize(table: StrideTable, mask: np.ndarray | None = None) -> dict[str, Any]:
    """Mean, SD, coefficient of variation and median of the main metrics.

    Parameters
    ----------
    table
        Per-stride table.
    mask
        Strides to include (default all).

    Returns
    -------
    dict
        ``{metric: {"mean", "sd", "cv_percent", "median", "n"}}`` with ``None``
        where a metric was not measured.
    """
    out: dict[str, Any] = {}
    for name in (
        "stride_time_s",
        "cadence_spm",
        "contact_time_s",
        "swing_time_s",
        "duty_factor",
        "peak_midswing_gyr_dps",
        "late_swing_duration_s",
        "late_swing_peak_decel_dps2",
        "shank_angle_at_ic_deg",
        "peak_tibial_accel_g",
    ):
        v = table[name] if name in table.columns else np.zeros(0)
        if mask is not None and v.size:
            v = v[mask]
        v = v[np.isfinite(v)]
        if v.size == 0:
            out[name] = None
            continue
        mean = float(np.mean(v))
        sd = float(np.std(v, ddof=1)) if v.size > 1 else 0.0
        out[name] = {
            "mean": round(mean, 4),
            "sd": round(sd, 4),
            "cv_percent": round(100 * sd / abs(mean), 2)
            if mean != 0 and name != "shank_angle_at_ic_deg"
            else None,
            "median": round(float(np.median(v)), 4),
            "n": int(v.size),
        }
    return out
