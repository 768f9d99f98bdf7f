"""Per-stride metrics (units in every name), the stride table and variability summaries.

A stride is one leg's cycle from initial contact (IC) to the next IC
(definitions in ``docs/gait-primer.md``). :func:`stride_table` measures every
stride the event stage (:class:`~strideguard.events.StrideDetector`) found and
returns a :class:`StrideTable`: NumPy arrays of equal length, NaN where a
value cannot be measured, one per entry of :data:`STRIDE_COLUMNS` — the one
list of stride columns, their meaning, which are exported (JSON, CSV) and
which are summarised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from strideguard.events import FOOT_STRIKES, StrikeClassifier
from strideguard.gaps import EVENT_MARGIN_S, windows_touch_gaps
from strideguard.imudata import STANDARD_GRAVITY_MPS2, FloatArray, ImuRecording
from strideguard.sigproc import moving_mean, window_argext

if TYPE_CHECKING:
    from strideguard.align import Alignment
    from strideguard.events import StrideDetector

#: the per-stride gravity anchor of the shank angle lies this long after IC where
#: mid-stance cannot be found (no TO); see :func:`shank_angle_at_ic`
ANGLE_ANCHOR_DELAY_S = 0.05
#: a stride on the ground for more than half its time has double support: walking
#: (running has a flight phase, so its duty factor stays below one half)
WALKING_DUTY_FACTOR = 0.5
#: peak tibial acceleration is searched this long after IC (the impact peak follows IC by ~10–50 ms)
PEAK_ACCEL_WINDOW_S = 0.1
#: cadence counts steps of both legs; a stride is one leg's cycle
STEPS_PER_STRIDE = 2
SECONDS_PER_MINUTE = 60.0


@dataclass(frozen=True)
class StrideColumn:
    """One column of the stride table.

    Attributes
    ----------
    name
        Column name (unit in the name).
    description
        What it holds.
    flag
        A yes/no value stored as 1.0/0.0: rows and JSON give ``true``/``false``.
    categories
        Names of a categorical value stored as its index (0.0, 1.0, …): rows,
        JSON and ``strides.csv`` give the name.
    exported
        Part of the JSON strides and ``strides.csv``.
    summarized
        Part of the run summary statistics (:func:`summarize`).
    """

    name: str
    description: str
    flag: bool = False
    exported: bool = True
    summarized: bool = False
    categories: tuple[str, ...] = ()


#: every stride column, in output order
STRIDE_COLUMNS: tuple[StrideColumn, ...] = (
    StrideColumn("initial_contact_s", "IC time (recording clock)"),
    StrideColumn("toe_off_s", "TO after this IC"),
    StrideColumn("mid_swing_s", "mid-swing peak before the next IC"),
    StrideColumn("next_initial_contact_s", "end of the stride", exported=False),
    StrideColumn(
        "foot_strike",
        "how the foot landed, from the timing of the shank's contact response "
        "(StrikeClassifier): rearfoot, midfoot or forefoot; null without gyroscope or when walking",
        categories=FOOT_STRIKES,
    ),
    StrideColumn(
        "strike_index",
        "the same as a number: 0 rearfoot … 1 forefoot (null without gyroscope or when walking)",
    ),
    StrideColumn(
        "ic_from_impact",
        "the IC is the onset of a tibial impact that agreed with the swing (else the swing anchor)",
        flag=True,
        exported=False,
    ),
    StrideColumn(
        "event_timing_confidence",
        "probability that the IC is within ±10 ms of the true contact, from the evidence "
        "behind it (impact onset agreeing with the swing, or the swing anchor alone)",
    ),
    StrideColumn(
        "shank_angle_at_ic_deg",
        "tibia angle at IC (see shank_angle_at_ic)",
        summarized=True,
    ),
    StrideColumn(
        "cadence_spm", "steps per minute, both legs: 2 × 60 / stride time", summarized=True
    ),
    StrideColumn("stride_time_s", "IC to next IC", summarized=True),
    StrideColumn("contact_time_s", "IC to TO", summarized=True),
    StrideColumn("swing_time_s", "TO to next IC", summarized=True),
    StrideColumn("duty_factor", "contact time / stride time", summarized=True),
    StrideColumn(
        "peak_midswing_gyr_dps", "sagittal angular velocity at mid-swing", summarized=True
    ),
    StrideColumn("late_swing_duration_s", "mid-swing peak to next IC", summarized=True),
    StrideColumn(
        "late_swing_peak_decel_dps2",
        "largest shank angular deceleration in late swing",
        summarized=True,
    ),
    StrideColumn(
        "peak_tibial_accel_g", "largest |specific force| from IC to IC + 100 ms", summarized=True
    ),
    StrideColumn("peak_tibial_accel_clipped", "that peak is at the sensor's range", flag=True),
    StrideColumn(
        "gap_in_stride",
        "samples were missing (lost frames) where this stride's metrics are measured: "
        "peaks and integrals whose window touched the gap are null, a contact hidden in it "
        "is estimated from its neighbours (docs/analysis.md, Gaps)",
        flag=True,
    ),
    StrideColumn(
        "overstride",
        "lands more than the threshold ahead of the runner's reference (OverstrideAssessor)",
        flag=True,
    ),
    *(
        StrideColumn(
            f"gravity_{axis}",
            "mean specific-force direction over the stride in the sensor frame (≈ gravity: "
            "the mean linear acceleration of a stride is zero); a change means the sensor "
            "turned on its strap",
        )
        for axis in "xyz"
    ),
    *(
        StrideColumn(
            f"swing_axis_{axis}",
            "direction of the angular velocity at the mid-swing peak in the sensor frame (the "
            "knee's flexion axis as the sensor sees it); it turns with the sensor when the "
            "strap slips about the tibia, which gravity hardly shows",
        )
        for axis in "xyz"
    ),
)
#: the columns in the JSON strides and ``strides.csv``, in order
EXPORTED_STRIDE_COLUMNS: tuple[str, ...] = tuple(c.name for c in STRIDE_COLUMNS if c.exported)
#: the metrics :func:`summarize` describes, in order
SUMMARY_METRICS: tuple[str, ...] = tuple(c.name for c in STRIDE_COLUMNS if c.summarized)
_FLAG_COLUMNS = frozenset(c.name for c in STRIDE_COLUMNS if c.flag)
_CATEGORY_COLUMNS = {c.name: c.categories for c in STRIDE_COLUMNS if c.categories}


@dataclass
class StrideTable:
    """Column-oriented per-stride table (what the alert engine consumes).

    Attributes
    ----------
    columns
        ``{name: array}`` with the names of :data:`STRIDE_COLUMNS`, all of
        equal length.
    """

    columns: dict[str, FloatArray] = field(default_factory=dict)

    def __len__(self) -> int:
        return 0 if not self.columns else int(next(iter(self.columns.values())).shape[0])

    def __getitem__(self, name: str) -> FloatArray:
        return self.columns[name]

    def rows(self, select: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """One dict per stride, NaN as ``None`` (JSON ``null``), flags as booleans, categories as names.

        Parameters
        ----------
        select
            Only these strides (indices), in this order; default all.
        """
        names = list(self.columns)
        out: list[dict[str, Any]] = []
        for i in range(len(self)) if select is None else select:
            row: dict[str, Any] = {}
            for n in names:
                v = self.columns[n][i]
                if not np.isfinite(v):
                    row[n] = None
                elif n in _FLAG_COLUMNS:
                    row[n] = bool(v)
                elif n in _CATEGORY_COLUMNS:
                    row[n] = _CATEGORY_COLUMNS[n][int(v)]
                else:
                    row[n] = round(float(v), 4)
            out.append(row)
        return out


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
        # a short span (the live path measures one stride) is scanned by doubling: log2(n)
        # whole-array steps instead of a Python loop over the positions of a block
        out[:, 1:] = _scan_doubling(dq) if n - 1 <= DOUBLING_SCAN_MAX else _scan(dq, block)
    return out


#: :func:`cumulative_orientation` scans spans up to this long by doubling (Hillis–Steele:
#: log2(n) steps of n products; the block scan's ~2·block Python steps cost more below it)
DOUBLING_SCAN_MAX = 4096


def _scan_doubling(dq: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Inclusive product scan of quaternion rows ``(4, m)`` by doubling (same result as :func:`_scan`)."""
    out: Any = dq.copy()  # float32 rows (``_qmul_parts`` is typed for float64, works for both)
    m = out.shape[1]
    shift = 1
    while shift < m:
        head = (out[0, :-shift], out[1, :-shift], out[2, :-shift], out[3, :-shift])
        tail = (out[0, shift:], out[1, shift:], out[2, shift:], out[3, shift:])
        out[:, shift:] = np.stack(_qmul_parts(head, tail))  # earlier segment ⊗ later segment
        shift *= 2
    return out / np.sqrt(np.einsum("ij,ij->j", out, out))[None, :]


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
    anchor_delay_s: float | FloatArray = 0.0,
    window_start_s: FloatArray | None = None,
) -> FloatArray:
    """Tibia angle at each IC, drift-free, anchored to gravity once per stride.

    Method: within one stride (IC to next IC) the shank's orientation relative
    to its orientation at IC comes from integrating the angular velocity (in
    3-D, as quaternions), so gyroscope drift can only build up over one
    stride. The unknown orientation at IC comes from gravity: over a whole
    stride of steady running the sensor returns to the same velocity, so its
    mean linear acceleration is zero and the mean specific force is exactly
    "up" (+g). Rotating every sample's specific force into the shank frame at
    IC and averaging over one stride's length therefore gives the up direction ``u``
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
    anchor_delay_s
        Scalar or per stride: where the one-stride gravity window is anchored,
        relative to IC. The window *ends* at IC + ``anchor_delay_s`` and starts
        one stride earlier (so it needs no data after the stride's own stance:
        the live path's look-ahead), or, where that would start before the
        data, starts there and runs one stride on. The anchor should be a
        moment whose velocity repeats from stride to stride: mid-stance
        (:func:`mid_stance_offset`), when the foot is flat for every strike
        pattern and the shank turns slowly about the planted ankle, so the
        sensor point barely moves. (Just before IC the touchdown velocity
        varies; 50 ms after IC a heel strike's foot slap and a forefoot
        contact's heel drop are at different stages, which tilted the angle of
        a runner who mixes the two by ±4°.)
    window_start_s
        Per stride, where the window starts (the previous IC + this stride's
        anchor offset when the strides are contiguous: exactly the previous
        cycle); NaN or ``None``: one stride length (``next_ic_s − ic_s``)
        before the end.

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
    d = np.round(np.broadcast_to(np.asarray(anchor_delay_s, float), ic_s.shape)[ok] * fs).astype(
        np.int64
    )
    length = np.maximum(1, np.round((next_ic_s[ok] - ic_s[ok]) * fs).astype(np.int64))
    # one stride ending at the anchor; forward from the anchor where the data start too late
    i1 = np.clip(i0 + d, 1, n)
    a0 = i1 - length
    if window_start_s is not None:
        ws = window_start_s[ok]
        given = np.isfinite(ws)
        a0 = np.where(given, np.round(np.where(given, ws, 0.0) * fs).astype(np.int64), a0)
        a0 = np.minimum(a0, i1 - 1)
    early = a0 < 0
    a0 = np.where(early, np.clip(i0 + d, 0, n - 1), a0)
    i1 = np.where(early, np.clip(a0 + length, 1, n), i1)
    lo, hi = int(min(i0.min(), a0.min())), int(max(i1.max(), i0.max() + 1))
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
        sums[:, c] = cum[i1 - lo] - cum[a0 - lo]
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


def mid_stance_offset(
    gyr_sagittal_dps: FloatArray,
    ic_s: FloatArray,
    to_s: FloatArray,
    *,
    sampling_rate_hz: float,
    smoothing_s: float = 0.02,
    fallback_s: float = ANGLE_ANCHOR_DELAY_S,
) -> FloatArray:
    """Time from IC to mid-stance: the slowest sagittal rotation in the middle of contact.

    Between 20 % and 80 % of the contact (IC to TO) the foot is flat for every
    strike pattern and the shank turns about the planted ankle; where it
    turns slowest the sensor point's velocity is smallest and most repeatable
    (the anchor of :func:`shank_angle_at_ic`).

    Parameters
    ----------
    gyr_sagittal_dps
        Angular velocity about the shank y axis.
    ic_s, to_s
        IC and TO per stride (seconds from the first sample).
    sampling_rate_hz
        Sampling rate.
    smoothing_s
        Moving average on ``|ω|`` before taking the minimum.
    fallback_s
        Offset used where TO is unknown.

    Returns
    -------
    numpy.ndarray
        Offset from IC per stride, seconds.
    """
    fs = sampling_rate_hz
    n = gyr_sagittal_dps.shape[0]
    out = np.full(ic_s.shape, fallback_s, dtype=np.float64)
    ok = np.isfinite(ic_s) & np.isfinite(to_s) & (to_s > ic_s)
    if not ok.any():
        return out
    g = moving_mean(np.abs(gyr_sagittal_dps.astype(np.float64)), max(1, round(smoothing_s * fs)))
    contact = to_s[ok] - ic_s[ok]
    st = np.clip(np.round((ic_s[ok] + 0.2 * contact) * fs).astype(np.int64), 0, n - 1)
    length = np.clip(np.round(0.6 * contact * fs).astype(np.int64), 1, n - st)
    k = window_argext(g, st, length, mode="min")
    out[ok] = k / fs - ic_s[ok]
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
    fs = sampling_rate_hz
    d1 = -np.gradient(gyr_sagittal_dps.astype(np.float64)) * fs
    d1 = moving_mean(d1, max(1, round(smoothing_s * fs)))
    out = np.full(ic_s.shape, np.nan)
    ok = np.isfinite(mid_swing_s) & np.isfinite(ic_s) & (ic_s > mid_swing_s)
    if ok.any():
        st = np.round(mid_swing_s[ok] * fs).astype(np.int64)
        en = np.round(ic_s[ok] * fs).astype(np.int64)
        k = window_argext(d1, st, np.maximum(1, en - st + 1), mode="max")
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


def stride_table(
    strides: StrideDetector,
    recording: ImuRecording,
    alignment: Alignment | None,
    *,
    gyr_sagittal_dps: FloatArray | None,
    acc_shank_mps2: FloatArray | None,
    angle_anchor_delay_s: float = ANGLE_ANCHOR_DELAY_S,
    measure: npt.NDArray[np.bool_] | None = None,
) -> StrideTable:
    """Measure every stride: the columns of :data:`STRIDE_COLUMNS`.

    Parameters
    ----------
    strides
        The detected strides (times in seconds from the first sample).
    recording
        The recording they come from (sensor frame).
    alignment
        Sensor-to-shank alignment with the gyroscope bias (``None`` without gyroscope).
    gyr_sagittal_dps
        Sagittal angular velocity the events were detected on (``None`` without gyroscope).
    acc_shank_mps2
        Specific force in the shank frame (``None`` without accelerometer or gyroscope).
    angle_anchor_delay_s
        Anchor of :func:`shank_angle_at_ic` where mid-stance is unknown
        (:func:`mid_stance_offset` otherwise).
    measure
        Strides whose tibia angle is wanted (default all); the others get NaN.
        The angle is the one costly column (an orientation integrated over the
        strides' span): the live path, which analyses a window of several
        strides to release one, asks only for the new one. Each stride's value
        depends on its own samples and its neighbour's events only, so it is
        the same whichever strides are measured with it.

    Returns
    -------
    StrideTable
        Times on the recording's clock; ``overstride`` is NaN (filled by the
        overstride assessment).
    """
    fs = recording.sampling_rate_hz
    t0 = float(recording.time_s[0])
    ic, to, mid, nxt = strides.ic_s_, strides.to_s_, strides.mid_swing_s_, strides.next_ic_s_
    acc, gyr = recording.acc_mps2, recording.gyr_dps
    nan = np.full(ic.shape, np.nan)
    stride_time = nxt - ic
    cols: dict[str, FloatArray] = {
        "initial_contact_s": ic + t0,
        "toe_off_s": to + t0,
        "mid_swing_s": mid + t0,
        "next_initial_contact_s": nxt + t0,
        "stride_time_s": stride_time,
        "cadence_spm": STEPS_PER_STRIDE * SECONDS_PER_MINUTE / stride_time,
        "contact_time_s": to - ic,
        "swing_time_s": nxt - to,
        "duty_factor": (to - ic) / stride_time,
        "peak_midswing_gyr_dps": strides.peak_midswing_gyr_dps_,
        "late_swing_duration_s": nxt - mid,
        "overstride": nan.copy(),
        "event_timing_confidence": strides.event_timing_confidence_,
        "ic_from_impact": strides.ic_from_impact_.astype(np.float64),
    }
    # how the foot lands is a running matter: walking strides (double support) get none
    walking = cols["duty_factor"] > WALKING_DUTY_FACTOR
    cols["foot_strike"] = np.where(walking, np.nan, strides.foot_strike_)
    cols["strike_index"] = np.where(walking, np.nan, strides.strike_index_)
    cols["late_swing_peak_decel_dps2"] = (
        late_swing_peak_decel(gyr_sagittal_dps, mid, nxt, sampling_rate_hz=fs)
        if gyr_sagittal_dps is not None
        else nan.copy()
    )
    if gyr is not None and acc_shank_mps2 is not None and alignment is not None:
        # absolute when calibrated: the shank frame's tibia axis already stands at
        # standing_tibia_angle_deg in the standing posture (do not add it again)
        anchor = (
            mid_stance_offset(gyr_sagittal_dps, ic, to, sampling_rate_hz=fs)
            if gyr_sagittal_dps is not None
            else np.full(ic.shape, angle_anchor_delay_s)
        )
        # contiguous strides: the window is the previous stride, shifted by this stride's anchor
        # (the same offset at both ends: exactly one cycle, whatever the anchor's jitter)
        contiguous = np.zeros(ic.shape, dtype=bool)
        contiguous[1:] = np.abs(nxt[:-1] - ic[1:]) < 0.5 / fs
        start = np.full(ic.shape, np.nan)
        start[1:] = np.where(contiguous[1:], ic[:-1] + anchor[1:], np.nan)
        wanted = np.ones(ic.shape, dtype=bool) if measure is None else np.asarray(measure, bool)
        cols["shank_angle_at_ic_deg"] = shank_angle_at_ic(
            (gyr - alignment.gyro_bias_dps) @ np.ascontiguousarray(alignment.rotation.T),
            acc_shank_mps2,
            np.where(wanted, ic, np.nan),
            np.where(wanted, nxt, np.nan),
            sampling_rate_hz=fs,
            anchor_delay_s=anchor,
            window_start_s=start,
        )
        # the samples the angle reads (for the gap flags): one stride ending at the anchor,
        # or starting there where the data start later
        angle_end = ic + anchor
        angle_start = np.where(np.isfinite(start), start, angle_end - (nxt - ic))
        early = angle_start < 0
        angle_window = (
            np.where(early, angle_end, angle_start),
            np.where(early, angle_end + (nxt - ic), angle_end),
        )
    else:
        cols["shank_angle_at_ic_deg"] = nan.copy()
        angle_window = (nan.copy(), nan.copy())
    if acc is not None:
        peak_g, clipped = peak_tibial_accel(
            acc,
            ic,
            sampling_rate_hz=fs,
            window_s=PEAK_ACCEL_WINDOW_S,
            range_g=recording.acc_range_g,
        )
        grav = stride_gravity_direction(acc, ic, nxt, sampling_rate_hz=fs)
    else:
        peak_g, clipped = nan.copy(), nan.copy()
        grav = np.full((ic.shape[0], 3), np.nan)
    cols["peak_tibial_accel_g"], cols["peak_tibial_accel_clipped"] = peak_g, clipped
    cols["gravity_x"], cols["gravity_y"], cols["gravity_z"] = grav.T
    peak_idx = strides.mid_swing_idx_
    swing_axis = np.full((ic.shape[0], 3), np.nan)
    has_peak = peak_idx >= 0
    if gyr is not None and alignment is not None and has_peak.any():
        w = gyr[peak_idx[has_peak]] - alignment.gyro_bias_dps
        swing_axis[has_peak] = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-9)
    cols["swing_axis_x"], cols["swing_axis_y"], cols["swing_axis_z"] = swing_axis.T
    _mark_gaps(cols, recording, t0, angle_window)
    return StrideTable({c.name: cols[c.name] for c in STRIDE_COLUMNS})


def _mark_gaps(
    cols: dict[str, FloatArray],
    recording: ImuRecording,
    t0: float,
    angle_window: tuple[FloatArray, FloatArray],
) -> None:
    """Flag strides whose metric windows touched a gap; null the metrics read from the bridge.

    A window touches a gap when it comes within :data:`~strideguard.gaps.EVENT_MARGIN_S`
    (the detectors' reach) of a missing sample. Then a peak over it (tibial
    acceleration after IC, late-swing deceleration) is not measured: the
    bridge never overshoots, so the true peak may be hidden in the gap. Nor is
    a value that integrates the signal (tibia angle at IC over its one-stride
    gravity window, gravity direction over the stride) or reads its shape
    (the foot strike, from the response after IC): a bridge cannot restore the
    rotation of a post-contact dip, and the integrated orientation is off by up
    to tens of degrees (docs/analysis.md). Event times outside the gap, and
    contacts estimated across it
    (:meth:`~strideguard.events.StrideDetector._contacts_across_gaps`), keep
    their durations.

    Parameters
    ----------
    cols
        The stride columns (recording clock), changed in place.
    recording
        For its gaps.
    t0
        Time of the recording's first sample.
    angle_window
        Start and end of the samples each stride's tibia angle reads, seconds
        from the first sample.
    """
    ic = cols["initial_contact_s"] - t0
    n = ic.shape[0]
    if not recording.gaps or n == 0:
        cols["gap_in_stride"] = np.zeros(n)
        return
    gaps = [(a - t0, b - t0) for a, b in recording.gaps]
    nxt = cols["next_initial_contact_s"] - t0
    mid = cols["mid_swing_s"] - t0
    m = EVENT_MARGIN_S

    def null(names: tuple[str, ...], touched: np.ndarray) -> None:
        for name in names:
            cols[name] = np.where(touched, np.nan, cols[name])

    null(
        ("peak_tibial_accel_g", "peak_tibial_accel_clipped"),
        windows_touch_gaps(ic, ic + PEAK_ACCEL_WINDOW_S, gaps, m),
    )
    null(
        ("foot_strike", "strike_index"),
        windows_touch_gaps(ic, ic + StrikeClassifier().window_s, gaps, m),
    )
    null(("late_swing_peak_decel_dps2",), windows_touch_gaps(mid, nxt, gaps, m))
    a0, a1 = angle_window
    null(("shank_angle_at_ic_deg",), windows_touch_gaps(a0, a1, gaps, m))
    null(("gravity_x", "gravity_y", "gravity_z"), windows_touch_gaps(ic, nxt, gaps, m))
    start = np.fmin(a0, ic)
    end = np.fmax(np.fmax(a1, nxt), ic + PEAK_ACCEL_WINDOW_S)
    cols["gap_in_stride"] = windows_touch_gaps(start, end, gaps, m).astype(np.float64)


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
    for name in SUMMARY_METRICS:
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
