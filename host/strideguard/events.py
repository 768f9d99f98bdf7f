"""Gait-event detectors on shank signals (gaitmap-style algorithm objects).

Every detector takes signals already in the shank frame (see
:mod:`strideguard.align`) and returns event times in seconds from the first
sample, with sub-sample precision. They work on any window of data and need
only a bounded look-ahead, so the live path can run them on a sliding buffer:

* :class:`MidSwingDetector` – the positive sagittal angular-velocity peak of
  each stride; adaptive height threshold relative to the neighbouring peaks
  (pace changes), an absolute floor (standing, stops: nothing invented).
* :class:`GyroEventDetector` – per mid-swing peak: initial contact (IC), the
  next toe-off (TO). Needs the next mid-swing peak for TO only.
* :class:`ImpactDetector` – initial contact from the accelerometer alone: the
  onset of the tibial impact.

Initial contact (gyroscope). After the mid-swing peak the shank decelerates
(late swing) and its angular velocity crosses zero (maximal forward angle).
Ground contact then adds a sudden change in angular *acceleration*: the
sharpest rise of the angular acceleration (maximum angular jerk) in
``ic_search_s`` after the zero crossing marks IC. Where an impact is visible in
the accelerometer the time is refined to the impact onset (see
:func:`impact_onsets`).

Toe-off. In running TO is not the angular-velocity minimum before swing (that
walking rule lands ~80 ms late, DESIGN.md §2). When the foot leaves the
ground the tibia is unloaded: the specific force along the tibia drops to its
minimum. TO = the minimum of the long-axis specific force in the
``to_search_s`` before the push-off angular-velocity minimum. Without an
accelerometer: the steepest descent of the angular velocity into that minimum.
"""

from __future__ import annotations

from typing import Self

import numpy as np
from scipy.signal import find_peaks

from strideguard.imudata import FloatArray


def parabolic_offset(y: FloatArray, idx: np.ndarray) -> FloatArray:
    """Sub-sample offset (−0.5…0.5) of extrema at ``idx`` by a parabola through 3 points."""
    idx = np.clip(idx, 1, y.shape[0] - 2)
    a, b, c = y[idx - 1], y[idx], y[idx + 1]
    d = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.where(np.abs(d) > 1e-12, 0.5 * (a - c) / d, 0.0)
    return np.clip(off, -0.5, 0.5)


def _local_median(values: FloatArray, half_width: int, *, causal: bool = False) -> FloatArray:
    """Median of each value's neighbourhood.

    Centred: ``±half_width`` values (edges padded by reflection). Causal: the
    value and the ``2 * half_width`` values before it (no look-ahead, for the
    live path; the start is padded with the first values).
    """
    if values.size == 0:
        return values
    width = 2 * half_width + 1
    if causal:
        pad = np.concatenate([np.repeat(values[:1], 2 * half_width), values])
    elif values.size > 1:
        pad = np.pad(values, half_width, mode="reflect")
    else:
        pad = np.repeat(values, width)
    win = np.lib.stride_tricks.sliding_window_view(pad, width)
    return np.median(win, axis=1)


def _window_argext(
    x: FloatArray, start: np.ndarray, length: np.ndarray, *, mode: str
) -> np.ndarray:
    """Index of the max (``mode='max'``) or min of ``x[start:start+length]`` for every window.

    Vectorised: windows are gathered into a padded 2-D array.
    """
    n = x.shape[0]
    if start.size == 0:
        return start.astype(np.int64)
    width = int(max(1, length.max()))
    cols = np.arange(width)
    idx = start[:, None] + cols[None, :]
    valid = (cols[None, :] < length[:, None]) & (idx < n) & (idx >= 0)
    vals = x[np.clip(idx, 0, n - 1)]
    fill = -np.inf if mode == "max" else np.inf
    vals = np.where(valid, vals, fill)
    k = np.argmax(vals, axis=1) if mode == "max" else np.argmin(vals, axis=1)
    return (start + k).astype(np.int64)


def _first_crossing_below(
    x: FloatArray, start: np.ndarray, max_len: int, level: float = 0.0
) -> np.ndarray:
    """First index ``i >= start`` with ``x[i] < level`` within ``max_len`` samples (−1 if none)."""
    n = x.shape[0]
    cols = np.arange(max_len)
    idx = start[:, None] + cols[None, :]
    below = (x[np.clip(idx, 0, n - 1)] < level) & (idx < n)
    has = below.any(axis=1)
    return np.where(has, start + np.argmax(below, axis=1), -1)


class MidSwingDetector:
    """Mid-swing peaks of the sagittal angular velocity.

    Parameters
    ----------
    min_peak_dps
        Absolute floor: peaks below it are never strides (standing, fidgeting).
    relative_height
        A peak must reach this share of the median of its neighbouring peaks.
    min_stride_s
        Shortest plausible stride (one leg's cycle); peaks closer are merged.
    smoothing_s
        Moving average applied before peak picking (removes impact ripple).
    causal
        Compare each peak with the peaks before it only (no look-ahead; for
        the live path). Default: the 4 peaks on either side.

    Attributes
    ----------
    peaks_
        Sample indices of the mid-swing peaks.
    peak_times_s_
        Their times (sub-sample) in seconds from the first sample.
    peak_values_dps_
        Peak angular velocity (unsmoothed signal, parabolic interpolation).
    """

    def __init__(
        self,
        min_peak_dps: float = 120.0,
        relative_height: float = 0.5,
        min_stride_s: float = 0.45,
        smoothing_s: float = 0.02,
        causal: bool = False,
    ) -> None:
        self.min_peak_dps = min_peak_dps
        self.relative_height = relative_height
        self.min_stride_s = min_stride_s
        self.smoothing_s = smoothing_s
        self.causal = causal

    def detect(self, gyr_sagittal_dps: FloatArray, *, sampling_rate_hz: float) -> Self:
        """Find the mid-swing peaks.

        Parameters
        ----------
        gyr_sagittal_dps
            Angular velocity about the shank y axis, shape ``(n,)``.
        sampling_rate_hz
            Sampling rate.

        Returns
        -------
        Self
        """
        fs = sampling_rate_hz
        g = gyr_sagittal_dps
        from strideguard.align import moving_mean

        gs = moving_mean(g, max(1, round(self.smoothing_s * fs)))
        cand, props = find_peaks(
            gs,
            height=self.min_peak_dps,
            distance=max(1, int(self.min_stride_s * fs)),
            prominence=self.min_peak_dps,
        )
        heights = props["peak_heights"]
        keep = heights >= self.relative_height * _local_median(heights, 4, causal=self.causal)
        peaks = cand[keep]
        off = parabolic_offset(g, peaks) if peaks.size else np.zeros(0)
        self.peaks_ = peaks
        self.peak_times_s_ = (peaks + off) / fs
        self.peak_values_dps_ = g[peaks] if peaks.size else np.zeros(0)
        return self


class GyroEventDetector:
    """Initial contact and toe-off from the sagittal angular velocity.

    Parameters
    ----------
    zero_crossing_max_s
        The late-swing zero crossing must follow the mid-swing peak within this time.
    ic_search_s
        IC is searched this long after the late-swing zero crossing.
    to_search_s
        TO is searched this long before the push-off angular-velocity minimum.
    min_contact_s
        The push-off minimum is searched from IC + this time, or a quarter of
        the way to the next mid-swing peak if later (past the post-contact dip).
    jerk_smoothing_s
        Moving average on the angular acceleration before taking the jerk.

    Attributes
    ----------
    ic_s_, to_s_
        IC after each mid-swing peak, TO after that IC (NaN if not found).
    zero_crossing_s_
        Late-swing zero crossing (maximal forward shank angle) per peak.
    """

    def __init__(
        self,
        zero_crossing_max_s: float = 0.35,
        ic_search_s: float = 0.05,
        to_search_s: float = 0.15,
        min_contact_s: float = 0.08,
        jerk_smoothing_s: float = 0.01,
    ) -> None:
        self.zero_crossing_max_s = zero_crossing_max_s
        self.ic_search_s = ic_search_s
        self.to_search_s = to_search_s
        self.min_contact_s = min_contact_s
        self.jerk_smoothing_s = jerk_smoothing_s

    def detect(
        self,
        gyr_sagittal_dps: FloatArray,
        mid_swing_idx: np.ndarray,
        acc_long_up_mps2: FloatArray | None = None,
        *,
        sampling_rate_hz: float,
    ) -> Self:
        """Detect IC after each mid-swing peak and the TO that follows.

        Parameters
        ----------
        gyr_sagittal_dps
            Angular velocity about the shank y axis.
        mid_swing_idx
            Mid-swing peak indices (from :class:`MidSwingDetector`).
        acc_long_up_mps2
            Specific force along the tibia, positive up (``-acc_z`` in the shank
            frame); used for TO. ``None`` for gyroscope-only data.
        sampling_rate_hz
            Sampling rate.

        Returns
        -------
        Self
        """
        from strideguard.align import moving_mean

        fs = sampling_rate_hz
        g = gyr_sagittal_dps.astype(np.float64)
        n = g.shape[0]
        p = np.asarray(mid_swing_idx, dtype=np.int64)
        zc = _first_crossing_below(g, p, max(2, int(self.zero_crossing_max_s * fs)))
        ok = zc > 0
        zc_t = np.full(p.shape, np.nan)
        zci = zc[ok]
        zc_t[ok] = (zci - 1 + g[zci - 1] / (g[zci - 1] - g[zci])) / fs
        d1 = np.gradient(g) * fs
        d1 = moving_mean(d1, max(1, round(self.jerk_smoothing_s * fs)))
        d2 = np.gradient(d1) * fs
        w = max(3, round(self.ic_search_s * fs))
        k = _window_argext(d2, zci, np.full(zci.shape, w), mode="max")
        ic = np.full(p.shape, np.nan)
        ic[ok] = (k + parabolic_offset(d2, k)) / fs

        # toe-off: between IC + min_contact and the next mid-swing peak
        to = np.full(p.shape, np.nan)
        nxt = np.append(p[1:], n - 1)
        has_next = (
            np.append(np.ones(p.size - 1, dtype=bool), False) if p.size else np.zeros(0, dtype=bool)
        )
        sel = ok & has_next
        if sel.any():
            hi = nxt[sel]
            # skip the post-contact dip: start a quarter of the way to the next swing peak
            gap = np.maximum(self.min_contact_s * fs, 0.25 * (hi - ic[sel] * fs))
            lo = (ic[sel] * fs + gap).astype(np.int64)
            length = np.maximum(1, hi - lo)
            # push-off minimum = lowest angular velocity before the next swing peak
            dip = _window_argext(g, lo, length, mode="min")
            wt = max(3, round(self.to_search_s * fs))
            st = np.maximum(lo, dip - wt)
            if acc_long_up_mps2 is not None:
                a = acc_long_up_mps2.astype(np.float64)
                q = _window_argext(a, st, dip - st + 1, mode="min")
                t = (q + parabolic_offset(a, q)) / fs
            else:
                q = _window_argext(d1, st, dip - st + 1, mode="min")
                t = (q + parabolic_offset(d1, q)) / fs
            to[sel] = t
        self.ic_s_ = ic
        self.to_s_ = to
        self.zero_crossing_s_ = zc_t
        return self


def impact_onsets(
    acc_mps2_1d: FloatArray,
    peak_idx: np.ndarray,
    *,
    sampling_rate_hz: float,
    rise_search_s: float = 0.1,
) -> FloatArray:
    """Onset time of each impact: the steepest-rise tangent met with the pre-impact level.

    Slopes are taken over a fixed ~4 ms span. For each impact peak, within
    ``rise_search_s`` before it, the first segment rising at least half as
    steeply as the steepest one is found; the tangent there is extended back
    to the lowest value of the 15 ms before the rise. The crossing is the onset
    (sub-sample, independent of the sampling grid).

    Parameters
    ----------
    acc_mps2_1d
        Magnitude of the specific force (or the long-axis specific force).
    peak_idx
        Sample index of each impact peak.
    sampling_rate_hz
        Sampling rate.
    rise_search_s
        How far before the peak to look for the rise.

    Returns
    -------
    numpy.ndarray
        Onset times in seconds from the first sample.
    """
    fs = sampling_rate_hz
    a = acc_mps2_1d.astype(np.float64)
    n = a.shape[0]
    w = max(2, round(rise_search_s * fs))
    # slope over a fixed ~4 ms span, so noise does not grow with the sampling rate
    span = max(1, round(0.004 * fs))
    slope = np.zeros(n)
    slope[: n - span] = (a[span:] - a[:-span]) * fs / span
    st = np.maximum(0, peak_idx - w)
    length = np.maximum(1, peak_idx - st)
    kmax = _window_argext(slope, st, length, mode="max")
    # the first segment that rises at least half as steeply as the steepest one:
    # a later, larger spike (e.g. a second impact) does not move the onset
    cols = np.arange(int(length.max()) if length.size else 1)
    idx = np.clip(st[:, None] + cols[None, :], 0, n - 1)
    steep = (slope[idx] >= 0.5 * slope[kmax][:, None]) & (cols[None, :] < length[:, None])
    k = st + np.argmax(steep, axis=1)
    # walk up to the local slope maximum of that rise
    for _ in range(3 * span):
        nxt = np.minimum(k + 1, n - 1)
        k = np.where(slope[nxt] > slope[k], nxt, k)
    # pre-impact level: the lowest value shortly before the rise
    wb = max(2, round(0.015 * fs)) + span
    base_i = _window_argext(a, np.maximum(0, k - wb), np.full(k.shape, wb + 1), mode="min")
    base_i = np.minimum(base_i, k)
    base = a[base_i]
    s = np.maximum(slope[k], 1e-9)
    # tangent through the midpoint of the steep segment, extended back to the pre-impact level
    t_mid = k + 0.5 * span
    a_mid = 0.5 * (a[k] + a[np.minimum(k + span, n - 1)])
    onset = t_mid - (a_mid - base) * fs / s
    return np.maximum(onset, base_i) / fs


class ImpactDetector:
    """Initial contact from the accelerometer alone (tibial impact onset).

    Parameters
    ----------
    min_impact_mps2
        Absolute floor of an impact peak above the signal's median.
    relative_height
        A peak must reach this share of the median of its neighbouring peaks.
    min_stride_s
        Shortest plausible stride; stronger peaks win within it.
    rise_search_s
        See :func:`impact_onsets`.

    Attributes
    ----------
    peaks_
        Sample index of each impact peak.
    peak_values_mps2_
        Long-axis specific force at each peak.
    ic_s_
        Impact onset times (= IC) in seconds from the first sample.
    """

    def __init__(
        self,
        min_impact_mps2: float = 15.0,
        relative_height: float = 0.5,
        min_stride_s: float = 0.45,
        rise_search_s: float = 0.1,
    ) -> None:
        self.min_impact_mps2 = min_impact_mps2
        self.relative_height = relative_height
        self.min_stride_s = min_stride_s
        self.rise_search_s = rise_search_s

    def detect(self, acc_norm_mps2: FloatArray, *, sampling_rate_hz: float) -> Self:
        """Find impacts and their onsets.

        Parameters
        ----------
        acc_norm_mps2
            Magnitude of the specific force (orientation-free; the impact shows
            on every axis). The long-axis specific force works too.
        sampling_rate_hz
            Sampling rate.

        Returns
        -------
        Self
        """
        fs = sampling_rate_hz
        a = acc_norm_mps2.astype(np.float64)
        base = float(np.median(a))
        cand, props = find_peaks(
            a - base,
            height=self.min_impact_mps2,
            distance=max(1, int(self.min_stride_s * fs)),
            prominence=self.min_impact_mps2,
        )
        h = props["peak_heights"]
        keep = h >= self.relative_height * _local_median(h, 4)
        peaks = cand[keep]
        self.peaks_ = peaks
        self.peak_values_mps2_ = a[peaks]
        self.ic_s_ = impact_onsets(a, peaks, sampling_rate_hz=fs, rise_search_s=self.rise_search_s)
        return self
