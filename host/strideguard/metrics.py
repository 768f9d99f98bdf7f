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
import numpy.typing as npt

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


def quat_mul(a: FloatArray, b: FloatArray) -> FloatArray:
    """Hamilton product of quaternion arrays ``(..., 4)`` stored as (w, x, y, z)."""
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def quat_rotate(q: FloatArray, v: FloatArray) -> FloatArray:
    """Rotate vectors ``v (..., 3)`` by unit quaternions ``q (..., 4)``."""
    u = q[..., 1:]
    t = 2.0 * np.cross(u, v)
    return v + q[..., :1] * t + np.cross(u, t)


def _qmul_parts(
    a: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    b: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    )


def cumulative_orientation(
    gyr_dps: FloatArray, *, sampling_rate_hz: float, block: int = 64
) -> npt.NDArray[np.float32]:
    """Orientation of the body relative to its first sample, from body-frame angular velocity.

    ``Q[:, i]`` maps vectors of the body frame at sample ``i`` into the body
    frame at sample 0. The product of the per-sample rotations is an
    associative scan, computed block-wise (a loop over the ``block`` positions
    inside a block, vectorised over all blocks, then the same scan over the
    block totals), so there is no per-sample Python loop. Components are
    stored separately (contiguous rows) in float32: the rounding error of
    an hour-long product stays below 0.01°.

    Parameters
    ----------
    gyr_dps
        Angular velocity in the body frame, shape ``(n, 3)``.
    sampling_rate_hz
        Sampling rate.
    block
        Block length of the scan.

    Returns
    -------
    numpy.ndarray
        Unit quaternions as rows (w, x, y, z), shape ``(4, n)``; column 0 is the identity.
    """
    n = gyr_dps.shape[0]
    w = np.radians(np.asarray(gyr_dps, dtype=np.float32))
    rv = (0.5 / sampling_rate_hz) * (w[1:] + w[:-1])  # trapezoidal rotation vector per step
    ang = np.sqrt(np.einsum("ij,ij->i", rv, rv))
    half = 0.5 * ang
    safe = np.where(ang > 1e-12, ang, np.float32(1.0))
    k = np.where(ang > 1e-12, np.sin(half) / safe, np.float32(0.5))
    out = np.empty((4, n), dtype=np.float32)
    out[:, 0] = (1.0, 0.0, 0.0, 0.0)
    if n > 1:
        dq = np.empty((4, n - 1), dtype=np.float32)
        dq[0] = np.cos(half)
        dq[1:] = (rv * k[:, None]).T
        out[:, 1:] = _scan(dq, block)
    return out


def _scan(dq: npt.NDArray[np.float32], block: int) -> npt.NDArray[np.float32]:
    """Inclusive product scan ``dq[:, 0] ⊗ … ⊗ dq[:, i]`` of quaternion rows ``(4, m)``."""
    m = dq.shape[1]
    nb = -(-m // block)
    pad = np.zeros((4, nb * block), dtype=dq.dtype)
    pad[0] = 1.0
    pad[:, :m] = dq
    # (4, nb, block) -> component, position-in-block, block: rows contiguous over blocks
    blk = np.ascontiguousarray(pad.reshape(4, nb, block).transpose(0, 2, 1))
    for j in range(1, block):
        prev = (blk[0, j - 1], blk[1, j - 1], blk[2, j - 1], blk[3, j - 1])
        cur = (blk[0, j], blk[1, j], blk[2, j], blk[3, j])
        blk[:, j] = np.stack(_qmul_parts(prev, cur))
    if nb > 1:
        tot = _scan(np.ascontiguousarray(blk[:, -1, :-1]), block)  # prefix of the block totals
        head = (tot[0][None, :], tot[1][None, :], tot[2][None, :], tot[3][None, :])
        tail = (blk[0, :, 1:], blk[1, :, 1:], blk[2, :, 1:], blk[3, :, 1:])
        blk[:, :, 1:] = np.stack(_qmul_parts(head, tail))
    flat = blk.transpose(0, 2, 1).reshape(4, nb * block)[:, :m]
    flat = flat / np.sqrt(np.einsum("ij,ij->j", flat, flat))[None, :]
    return flat


def shank_angle_at_ic(
    gyr_dps: FloatArray,
    acc_mps2: FloatArray,
    ic_s: FloatArray,
    next_ic_s: FloatArray,
    *,
    sampling_rate_hz: float,
) -> FloatArray:
    """Tibia angle at each IC, drift-free, anchored to gravity once per stride.

    Method: within one stride (IC to next IC) the shank's orientation relative
    to its orientation at IC comes from integrating the angular velocity (in
    3-D, as quaternions), so gyroscope drift can only build up over one
    stride. The unknown orientation at IC comes from gravity: over a whole
    stride of steady running the sensor returns to the same velocity, so its
    mean linear acceleration is zero and the mean specific force is exactly
    "up" (+g). Rotating every sample's specific force into the shank frame at
    IC and averaging over the stride therefore gives the up direction ``u``
    as seen by the shank at IC. Averaging the shank's x axis the same way and
    removing its vertical part gives the stride's mean heading ``p`` (the
    direction of progression, robust to the tibia's axial rotation). The tibia
    angle is that of the shank z axis in the plane of vertical and heading,
    ``atan2(p_z, −u_z)`` (shank frame: x anterior, z down the tibia). The
    orientation product is a block-wise associative scan, the per-stride
    means come from cumulative sums, so the whole computation is vectorised.
    The angle at the exact (sub-sample) IC adds the sagittal rotation between
    the nearest sample and IC.

    Parameters
    ----------
    gyr_dps
        Bias-free angular velocity in the shank frame, shape ``(n, 3)``.
    acc_mps2
        Specific force in the shank frame, shape ``(n, 3)``.
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
    n = gyr_dps.shape[0]
    out = np.full(ic_s.shape, np.nan)
    ok = np.isfinite(ic_s) & np.isfinite(next_ic_s)
    if not ok.any():
        return out
    i0 = np.clip(np.round(ic_s[ok] * fs).astype(np.int64), 0, n - 1)
    i1 = np.clip(np.round(next_ic_s[ok] * fs).astype(np.int64), 1, n)
    lo, hi = int(i0.min()), int(i1.max())
    q = cumulative_orientation(gyr_dps[lo:hi], sampling_rate_hz=fs)
    w, x, y, z = q[0], q[1], q[2], q[3]
    f = np.asarray(acc_mps2[lo:hi], dtype=np.float32)
    # rotation matrix of every sample (body(t) -> frame of the first IC); x axis = first column
    r00, r10, r20 = 1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)
    r01, r11, r21 = 2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)
    r02, r12, r22 = 2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)
    rows = (
        r00 * f[:, 0] + r01 * f[:, 1] + r02 * f[:, 2],
        r10 * f[:, 0] + r11 * f[:, 1] + r12 * f[:, 2],
        r20 * f[:, 0] + r21 * f[:, 1] + r22 * f[:, 2],
        r00,
        r10,
        r20,
    )
    sums = np.empty((i0.size, 6))
    for c, col in enumerate(rows):  # per column, to bound memory
        cum = np.concatenate(([0.0], np.cumsum(col, dtype=np.float64)))
        sums[:, c] = cum[i1 - lo] - cum[i0 - lo]
    del rows, r00, r01, r02, r10, r11, r12, r20, r21, r22, f
    # back into the frame at each stride's IC: conjugate of Q[i0]
    qc = q[:, i0 - lo].T.astype(np.float64) * np.array([1.0, -1.0, -1.0, -1.0])
    up = quat_rotate(qc, sums[:, :3])
    up /= np.linalg.norm(up, axis=1, keepdims=True)
    fwd = quat_rotate(qc, sums[:, 3:])
    fwd -= np.sum(fwd * up, axis=1, keepdims=True) * up  # horizontal: the stride's mean heading
    fwd /= np.linalg.norm(fwd, axis=1, keepdims=True)
    # tibia (shank z) in the plane of vertical and mean heading
    theta = np.degrees(np.arctan2(fwd[:, 2], -up[:, 2]))
    # from the nearest sample to the exact IC time (sagittal rate)
    theta += gyr_dps[i0, 1] * (ic_s[ok] - i0 / fs)
    out[ok] = theta
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
    n = acc_mps2.shape[0]
    peak = np.full(ic_s.shape, np.nan)
    clipped = np.full(ic_s.shape, np.nan)
    ok = np.isfinite(ic_s)
    if not ok.any():
        return peak, clipped
    # only the windows after IC are read (strides x window x 3), not the whole recording
    w = max(2, round(window_s * fs))
    st = np.maximum(0, np.round(ic_s[ok] * fs).astype(np.int64) - 1)
    idx = np.minimum(st[:, None] + np.arange(w)[None, :], n - 1)
    win = acc_mps2[idx]  # (strides, w, 3)
    norm = np.sqrt(np.einsum("ijk,ijk->ij", win, win))
    absmax = np.abs(win).max(axis=(1, 2))
    if range_g is not None:
        rail = 0.995 * range_g * STANDARD_GRAVITY_MPS2
    else:
        # no known range: a flat top at the largest value seen near impacts means clipping
        top = float(absmax.max())
        at_top = np.count_nonzero(np.abs(win) >= top * 0.9999)
        rail = top * 0.9999 if (at_top >= 3 and top > 4 * STANDARD_GRAVITY_MPS2) else np.inf
    peak[ok] = norm.max(axis=1) / STANDARD_GRAVITY_MPS2
    clipped[ok] = (absmax >= rail).astype(np.float64)
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
