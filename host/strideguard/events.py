"""Gait-event detectors on shank signals (gaitmap-style algorithm objects).

Every detector takes signals already in the shank frame (see
:mod:`strideguard.align`; frames and event definitions in
``docs/gait-primer.md``) and returns event times in seconds from the first
sample, with sub-sample precision. They work on any window of data and need
only a bounded look-ahead, so the live path can run them on a sliding buffer.
Each keeps its parameters (with units) from ``__init__``, has one action
method ``detect(..., *, sampling_rate_hz) -> Self`` and leaves its results in
attributes ending in ``_``:

* :class:`MidSwingDetector` – the positive sagittal angular-velocity peak of
  each stride; adaptive height threshold relative to the neighbouring peaks
  (pace changes), an absolute floor (standing, stops: nothing invented).
* :class:`GyroEventDetector` – per mid-swing peak: initial contact (IC), the
  next toe-off (TO). Needs the next mid-swing peak for TO only.
* :class:`ImpactDetector` – initial contact from the accelerometer alone: the
  onset of the tibial impact.
* :class:`StrikeClassifier` – the foot strike of each contact (rearfoot,
  midfoot, forefoot) from the timing of the shank's contact response.
* :class:`StrideDetector` – the stage :func:`strideguard.analysis.analyze`
  runs: the detectors above for whichever sensors a recording has, IC taken
  from the impact onset where a real tibial impact agrees with the swing, the
  strike and a timing confidence per stride, and only plausible strides kept.

Initial contact (gyroscope). After the mid-swing peak the hamstrings brake the
shank (late swing) and its angular velocity crosses zero: the end of the
forward swing, the shank's largest forward angle. The shank then rotates back
(swing-leg retraction) until the foot lands :data:`RETRACTION_S` later. This
anchor lies *before* contact, in the air, so how the foot lands cannot move it.
The features *after* contact can: the angular jerk and the impact of a heel
strike peak early, while a forefoot contact is taken up by the plantarflexed
ankle and the tibia keeps rotating, so the same features come 20–30 ms later
(docs/analysis.md, "Initial contact for every foot strike"). Where the
accelerometer shows a real tibial impact whose onset agrees with the swing
anchor, the onset is IC (it starts at contact for every strike pattern; see
:func:`impact_onsets` and :class:`StrideDetector`).

Toe-off. In running TO is not the angular-velocity minimum before swing (that
walking rule lands ~80 ms late, docs/gait-primer.md). When the foot leaves the
ground the tibia is unloaded: the specific force along the tibia drops to its
minimum. TO = the minimum of the long-axis specific force in the
``to_search_s`` before the push-off angular-velocity minimum. Without an
accelerometer: the steepest descent of the angular velocity into that minimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Self

import numpy as np
from scipy.signal import find_peaks

from strideguard.gaps import (
    EVENT_MARGIN_S,
    MAX_BRIDGE_S,
    gap_index,
    long_gaps,
    times_in_gaps,
    windows_touch_gaps,
)
from strideguard.imudata import FloatArray, ImuRecording
from strideguard.sigproc import (
    first_crossing_below,
    local_median,
    moving_mean,
    parabolic_offset,
    window_argext,
)

#: a peak is compared with the median of this many peaks on either side (about
#: four strides: long enough to ignore one odd stride, short enough to follow a pace change)
NEIGHBOUR_PEAKS = 4

#: swing-leg retraction: from the late-swing zero crossing of the sagittal angular velocity
#: (end of the forward swing) to initial contact. Measured against force plates: 19.8 ± 5.0 ms
#: (RBDS0041 right, rearfoot), 24.5 ± 4.5 ms (left), 15–20 ms (a held-out forefoot striker,
#: issue #15); a swing-phase event, so the foot strike does not shift it (docs/analysis.md)
RETRACTION_S = 0.020
#: spread of that time between strides and runners (its SD on the lab data is 4.5–5 ms, of
#: which the force plate's own contact timing makes up part; runners differ by ±3 ms)
RETRACTION_SD_S = 0.005
#: timing uncertainty (SD) of an IC taken from a sharp tibial impact onset (Sinclair 2013:
#: ~5 ms mean absolute error at 1 kHz; the onset SD on the real shin accelerometer is 3.6–4.5 ms)
IMPACT_ONSET_SD_S = 0.003
#: event-timing confidence = probability that IC lies within this of the true contact
CONFIDENCE_TOLERANCE_S = 0.010
#: SD of a contact estimated as the midpoint of its neighbours: half the SD of consecutive
#: stride-time differences. Stride time SD 6.5 ms on the lab data (docs/gait-primer.md) gives
#: √2 · 6.5 / 2 ≈ 4.6 ms for independent strides (less if they are correlated); the link-loss
#: bench measured 5.3 ms on the simulator (docs/link-loss.md)
MIDPOINT_SD_S = 0.005
#: a midpoint this far outside the zone of the contact it estimates (3 SD) is still consistent
#: with it; a missed or spurious neighbour puts it half a stride (≥ 200 ms) away
MIDPOINT_TOLERANCE_S = 3 * MIDPOINT_SD_S

EventsSource = Literal["gyroscope", "gyroscope+impact", "accelerometer"]
#: names of the foot-strike codes in :attr:`StrideDetector.foot_strike_`
FOOT_STRIKES = ("rearfoot", "midfoot", "forefoot")


def timing_confidence(sd_s: FloatArray) -> FloatArray:
    """Probability that an event with Gaussian timing error ``sd_s`` is within ±10 ms.

    Parameters
    ----------
    sd_s
        Timing uncertainty (standard deviation) per event, seconds (NaN: unknown).

    Returns
    -------
    numpy.ndarray
        ``erf(0.010 / (sd·√2))`` (:data:`CONFIDENCE_TOLERANCE_S`); NaN where ``sd_s`` is NaN.
    """
    from scipy.special import erf

    sd = np.asarray(sd_s, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(erf(CONFIDENCE_TOLERANCE_S / (np.sqrt(2.0) * sd)), dtype=np.float64)


def _estimated_sd(ic_s: FloatArray, sd_s: FloatArray, estimated: np.ndarray) -> FloatArray:
    """Timing uncertainty of the contacts estimated across a gap (others unchanged).

    The midpoint of the contacts either side is off by half the difference
    of the two strides it splits, so its SD is half the SD of the run's
    consecutive stride-time differences (robust: 1.4826 × their median
    absolute deviation), combined with the neighbours' own uncertainty.
    """
    if not estimated.any():
        return sd_s
    d = np.diff(np.diff(ic_s))
    d = d[np.isfinite(d)]
    spread = 1.4826 * float(np.median(np.abs(d - np.median(d)))) if d.size >= 3 else 0.01
    prev_sd = np.concatenate(([np.nan], sd_s[:-1]))
    next_sd = np.concatenate((sd_s[1:], [np.nan]))
    return np.where(estimated, np.hypot(0.5 * spread, 0.5 * np.hypot(prev_sd, next_sd)), sd_s)


class _AdaptivePeakDetector:
    """Shared by the peak-based detectors: one peak per stride, judged by its neighbours.

    Candidates are peaks above an absolute floor (with at least that
    prominence) and at least ``min_stride_s`` apart; a candidate is kept
    when it reaches ``relative_height`` × the median of the
    :data:`NEIGHBOUR_PEAKS` candidates on either side (or, causal, before it).
    """

    relative_height: float
    min_stride_s: float

    def _adaptive_peaks(
        self, x: FloatArray, floor: float, *, sampling_rate_hz: float, causal: bool = False
    ) -> np.ndarray:
        cand, props = find_peaks(
            x,
            height=floor,
            distance=max(1, int(self.min_stride_s * sampling_rate_hz)),
            prominence=floor,
        )
        heights = props["peak_heights"]
        keep = heights >= self.relative_height * local_median(
            heights, NEIGHBOUR_PEAKS, causal=causal
        )
        return np.asarray(cand[keep], dtype=np.int64)


class MidSwingDetector(_AdaptivePeakDetector):
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
        the live path). Default: the :data:`NEIGHBOUR_PEAKS` peaks on either side.

    Attributes
    ----------
    peaks_
        Sample indices of the mid-swing peaks.
    peak_times_s_
        Their times (sub-sample) in seconds from the first sample.
    peak_values_dps_
        Angular velocity at each peak sample (unsmoothed signal).
    """

    peaks_: np.ndarray
    peak_times_s_: FloatArray
    peak_values_dps_: FloatArray

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
        gs = moving_mean(g, max(1, round(self.smoothing_s * fs)))
        peaks = self._adaptive_peaks(gs, self.min_peak_dps, sampling_rate_hz=fs, causal=self.causal)
        off = parabolic_offset(g, peaks) if peaks.size else np.zeros(0)
        self.peaks_ = peaks
        self.peak_times_s_ = (peaks + off) / fs
        self.peak_values_dps_ = g[peaks] if peaks.size else np.zeros(0)
        return self


class GyroEventDetector:
    """Initial contact and toe-off from the sagittal angular velocity.

    IC is the late-swing zero crossing of the angular velocity (end of the
    forward swing) plus the swing-leg retraction time ``retraction_s``: an
    anchor in the air, before contact, that no foot-strike pattern moves
    (module docstring). TO: see the module docstring.

    Parameters
    ----------
    retraction_s
        Zero crossing → IC (default :data:`RETRACTION_S`).
    zero_crossing_max_s
        The late-swing zero crossing must follow the mid-swing peak within this time.
    to_search_s
        TO is searched this long before the push-off angular-velocity minimum.
    min_contact_s
        The push-off minimum is searched from IC + this time, or a quarter of
        the way to the next mid-swing peak if later (past the post-contact dip).
    jerk_smoothing_s
        Moving average on the angular acceleration (gyroscope-only TO).

    Attributes
    ----------
    ic_s_, to_s_
        IC after each mid-swing peak, TO after that IC (NaN if not found).
    zero_crossing_s_
        Late-swing zero crossing (maximal forward shank angle) per peak.
    crossing_slope_dps2_
        Angular acceleration at that crossing (negative; a shallow crossing is
        less precise in time).
    """

    ic_s_: FloatArray
    to_s_: FloatArray
    zero_crossing_s_: FloatArray
    crossing_slope_dps2_: FloatArray

    def __init__(
        self,
        retraction_s: float = RETRACTION_S,
        zero_crossing_max_s: float = 0.35,
        to_search_s: float = 0.15,
        min_contact_s: float = 0.08,
        jerk_smoothing_s: float = 0.01,
    ) -> None:
        self.retraction_s = retraction_s
        self.zero_crossing_max_s = zero_crossing_max_s
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
        fs = sampling_rate_hz
        g = gyr_sagittal_dps.astype(np.float64)
        n = g.shape[0]
        p = np.asarray(mid_swing_idx, dtype=np.int64)
        zc = first_crossing_below(g, p, max(2, int(self.zero_crossing_max_s * fs)))
        ok = zc > 0
        zc_t = np.full(p.shape, np.nan)
        slope = np.full(p.shape, np.nan)
        zci = zc[ok]
        zc_t[ok] = (zci - 1 + g[zci - 1] / (g[zci - 1] - g[zci])) / fs
        slope[ok] = (g[zci] - g[zci - 1]) * fs
        ic = zc_t + self.retraction_s
        ic[ic * fs > n - 1] = np.nan

        # toe-off: between IC + min_contact and the next mid-swing peak
        to = np.full(p.shape, np.nan)
        nxt = np.append(p[1:], n - 1)
        has_next = (
            np.append(np.ones(p.size - 1, dtype=bool), False) if p.size else np.zeros(0, dtype=bool)
        )
        sel = ok & has_next & np.isfinite(ic)
        if sel.any():
            hi = nxt[sel]
            # skip the post-contact dip: start a quarter of the way to the next swing peak
            gap = np.maximum(self.min_contact_s * fs, 0.25 * (hi - ic[sel] * fs))
            lo = (ic[sel] * fs + gap).astype(np.int64)
            length = np.maximum(1, hi - lo)
            # push-off minimum = lowest angular velocity before the next swing peak
            dip = window_argext(g, lo, length, mode="min")
            wt = max(3, round(self.to_search_s * fs))
            st = np.maximum(lo, dip - wt)
            if acc_long_up_mps2 is not None:
                a = acc_long_up_mps2.astype(np.float64)
                q = window_argext(a, st, dip - st + 1, mode="min")
                t = (q + parabolic_offset(a, q)) / fs
            else:
                d1 = np.gradient(g) * fs
                d1 = moving_mean(d1, max(1, round(self.jerk_smoothing_s * fs)))
                q = window_argext(d1, st, dip - st + 1, mode="min")
                t = (q + parabolic_offset(d1, q)) / fs
            to[sel] = t
        self.ic_s_ = ic
        self.to_s_ = to
        self.zero_crossing_s_ = zc_t
        self.crossing_slope_dps2_ = slope
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
    span = max(1, round(0.004 * fs))
    slope = rise_slope(a, sampling_rate_hz=fs)
    st = np.maximum(0, peak_idx - w)
    length = np.maximum(1, peak_idx - st)
    kmax = window_argext(slope, st, length, mode="max")
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
    base_i = window_argext(a, np.maximum(0, k - wb), np.full(k.shape, wb + 1), mode="min")
    base_i = np.minimum(base_i, k)
    base = a[base_i]
    s = np.maximum(slope[k], 1e-9)
    # tangent through the midpoint of the steep segment, extended back to the pre-impact level
    t_mid = k + 0.5 * span
    a_mid = 0.5 * (a[k] + a[np.minimum(k + span, n - 1)])
    onset = t_mid - (a_mid - base) * fs / s
    return np.maximum(onset, base_i) / fs


def rise_slope(acc_mps2_1d: FloatArray, *, sampling_rate_hz: float) -> FloatArray:
    """Forward slope over a fixed ~4 ms span (m/s³ for m/s²): noise does not grow with the rate."""
    fs = sampling_rate_hz
    a = acc_mps2_1d.astype(np.float64)
    n = a.shape[0]
    span = max(1, round(0.004 * fs))
    slope = np.zeros(n)
    if n > span:
        slope[: n - span] = (a[span:] - a[:-span]) * fs / span
    return slope


class ImpactDetector(_AdaptivePeakDetector):
    """Initial contact from the accelerometer alone (tibial impact onset).

    One peak of |a| per stride is found (judged by its neighbours like the
    mid-swing peaks). That peak need not be the impact: a fast swing's late
    deceleration can read as much as a soft forefoot impact (3–5 g) just
    before contact. An impact is recognised by its *rise*: contact arrests the
    foot within milliseconds, so |a| rises far more steeply than anything the
    swing does. The impact is the steepest rise (:func:`rise_slope`) within
    ``rise_near_peak_s`` of the peak, its peak the largest |a| within
    ``peak_after_rise_s`` after that rise, and IC its onset (:func:`impact_onsets`).

    Parameters
    ----------
    min_impact_mps2
        Absolute floor of a peak above the signal's median.
    relative_height
        A peak must reach this share of the median of its neighbouring peaks.
    min_stride_s
        Shortest plausible stride; stronger peaks win within it.
    rise_near_peak_s
        The impact's steepest rise is searched this far on either side of the peak.
    peak_after_rise_s
        The impact's peak is searched this long after its steepest rise.
    rise_search_s
        See :func:`impact_onsets`.

    Attributes
    ----------
    peaks_
        Sample index of each impact peak.
    peak_values_mps2_
        |a| at each peak.
    ic_s_
        Impact onset times (= IC) in seconds from the first sample.
    """

    peaks_: np.ndarray
    peak_values_mps2_: FloatArray
    ic_s_: FloatArray

    def __init__(
        self,
        min_impact_mps2: float = 15.0,
        relative_height: float = 0.5,
        min_stride_s: float = 0.45,
        rise_near_peak_s: float = 0.06,
        peak_after_rise_s: float = 0.03,
        rise_search_s: float = 0.04,
    ) -> None:
        self.min_impact_mps2 = min_impact_mps2
        self.rise_near_peak_s = rise_near_peak_s
        self.relative_height = relative_height
        self.min_stride_s = min_stride_s
        self.peak_after_rise_s = peak_after_rise_s
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
        tops = self._adaptive_peaks(a - base, self.min_impact_mps2, sampling_rate_hz=fs)
        wr = max(2, round(self.rise_near_peak_s * fs))
        st = np.maximum(0, tops - wr)
        rises = window_argext(
            rise_slope(a, sampling_rate_hz=fs), st, np.full(st.shape, 2 * wr), mode="max"
        )
        wp = max(2, round(self.peak_after_rise_s * fs))
        peaks = window_argext(a, rises, np.full(rises.shape, wp), mode="max")
        self.peaks_ = peaks
        self.peak_values_mps2_ = a[peaks]
        self.ic_s_ = impact_onsets(a, peaks, sampling_rate_hz=fs, rise_search_s=self.rise_search_s)
        return self


class StrikeClassifier:
    """Foot strike of each contact from the timing of the shank's contact response.

    What the shank does after contact depends on how the foot lands
    (docs/analysis.md): after a heel strike the GRF acts behind the ankle, the
    shank's backward rotation is briefly arrested and the large post-contact
    dip comes when the foot slaps flat, ~55–60 ms after contact (both legs of
    the lab rearfoot striker); after a forefoot contact the plantarflexed
    ankle yields, the tibia keeps rotating and the response comes ~25–30 ms
    after contact. The timing is measured as the *centroid* of the angular
    velocity's fall below its value at IC over ``window_s`` (an integral
    measure, robust to impact ringing and noise). The strike index is its
    linear position between a typical rearfoot (index 0) and forefoot
    (index 1) centroid; the outer thirds read as rearfoot and forefoot, the
    middle third as midfoot. A shank sensor separates heel from forefoot
    landings clearly (centroids ~53 vs ~38 ms); a midfoot landing lies between
    and is the least certain class (docs/analysis.md).

    Parameters
    ----------
    window_s
        Length of the response window after IC (within the live look-ahead).
    rearfoot_centroid_s, forefoot_centroid_s
        Centroid of a typical rearfoot response (lab rearfoot striker: 53 ms
        right, 58 ms left; simulated heel strikers 51–55 ms) and forefoot
        response (simulated forefoot strikers, whose contact features peak
        20–30 ms after IC like the held-out forefoot runner's: 38 ms).

    Attributes
    ----------
    centroid_s_
        Response centroid after each IC (NaN where the window is incomplete
        or the shank does not rotate back).
    strike_index_
        0 (rearfoot) … 1 (forefoot), clipped; NaN where unknown.
    strike_code_
        Index into :data:`FOOT_STRIKES` (0, 1, 2) as float; NaN where unknown.
    """

    centroid_s_: FloatArray
    strike_index_: FloatArray
    strike_code_: FloatArray

    def __init__(
        self,
        window_s: float = 0.09,
        rearfoot_centroid_s: float = 0.053,
        forefoot_centroid_s: float = 0.038,
    ) -> None:
        self.window_s = window_s
        self.rearfoot_centroid_s = rearfoot_centroid_s
        self.forefoot_centroid_s = forefoot_centroid_s

    def detect(
        self, gyr_sagittal_dps: FloatArray, ic_s: FloatArray, *, sampling_rate_hz: float
    ) -> Self:
        """Classify the contact at each IC.

        Parameters
        ----------
        gyr_sagittal_dps
            Angular velocity about the shank y axis.
        ic_s
            Initial contacts, seconds from the first sample.
        sampling_rate_hz
            Sampling rate.

        Returns
        -------
        Self
        """
        fs = sampling_rate_hz
        g = gyr_sagittal_dps
        n = g.shape[0]
        w = max(3, round(self.window_s * fs))
        centroid = np.full(ic_s.shape, np.nan)
        fin = np.isfinite(ic_s)
        i0 = np.zeros(ic_s.shape, np.int64)
        i0[fin] = np.round(ic_s[fin] * fs).astype(np.int64)
        ok = fin & (i0 >= 0) & (i0 + w <= n)
        if ok.any():
            idx = i0[ok, None] + np.arange(w)[None, :]
            seg = g[idx]
            fall = np.maximum(0.0, seg[:, :1] - seg)
            tot = fall.sum(axis=1)
            cen = (fall @ (np.arange(w) / fs)) / np.where(tot > 0, tot, 1.0)
            # the sub-sample IC position: the window starts at the rounded sample
            cen += i0[ok] / fs - ic_s[ok]
            centroid[ok] = np.where(tot > 0, cen, np.nan)
        span = self.rearfoot_centroid_s - self.forefoot_centroid_s
        index = np.clip((self.rearfoot_centroid_s - centroid) / span, 0.0, 1.0)
        third = 1.0 / 3.0
        code = np.where(
            np.isnan(index),
            np.nan,
            np.where(index < third, 0.0, np.where(index > 2 * third, 2.0, 1.0)),
        )
        self.centroid_s_ = centroid
        self.strike_index_ = index
        self.strike_code_ = code
        return self


class StrideDetector:
    """Strides (one leg's cycle, IC to the next IC) with their TO and mid-swing.

    The event-detection stage of :func:`strideguard.analysis.analyze`, for
    whichever sensors a recording has:

    * **gyroscope** (with or without accelerometer): mid-swing peaks
      (:class:`MidSwingDetector`), IC from the swing anchor and TO
      (:class:`GyroEventDetector`). Stride *k* runs from IC *k* over TO *k*
      and mid-swing peak *k + 1* to IC *k + 1*, so its late swing is
      ``mid_swing_s_ → next_ic_s_``. Where the accelerometer shows a real
      tibial impact near the swing anchor (a rise of |a| steeper than
      ``impact_min_slope_mps3``) and its onset (:func:`impact_onsets`) agrees
      with the anchor within ``impact_max_shift_s``, the onset is IC: two
      independent estimates, one before contact and one caused by it. The
      foot strike of each contact comes from :class:`StrikeClassifier`;
    * **accelerometer only**: IC from the impact onsets
      (:class:`ImpactDetector`); no TO, no mid-swing, no strike.

    Every IC gets a timing uncertainty (SD): :data:`IMPACT_ONSET_SD_S` from an
    agreeing impact onset (or the accelerometer alone, :data:`IMPACT_ONSET_SD_S`
    + 1 ms), :data:`RETRACTION_SD_S` (⊕ the crossing's own timing noise) from the
    swing anchor, twice that when a sharp impact disagreed with the anchor.
    :func:`timing_confidence` turns it into the probability that IC is within
    ±10 ms of the true contact (``event_timing_confidence_``).

    A stride is kept when it is plausible: ``min_stride_time_s`` to
    ``max_stride_time_s`` long, within ``min_share_of_local_median`` to
    ``max_share_of_local_median`` of the median of the
    ``local_median_strides`` strides on either side, not across a gap in the
    data longer than ``max_bridge_s``, and (gyroscope) with its events in
    order IC < TO < mid-swing < next IC.

    Gaps (:mod:`strideguard.gaps`). The detectors run on the bridged signal;
    an event within ``gap_event_margin_s`` of a missing sample is not a
    measurement. A TO or mid-swing peak there is set to NaN (index −1) and
    the stride is kept. A contact there is estimated from the measured
    contacts either side when that estimate is consistent with the gap
    (within ``midpoint_tolerance_s`` of it; the two strides sharing it are
    kept, see ``ic_estimated_``); otherwise both are dropped.

    Parameters
    ----------
    retraction_s
        End of the forward swing → IC (:class:`GyroEventDetector`).
    impact_min_slope_mps3
        Steepest rise of |a| that counts as a tibial impact. Marker-derived or
        heavily filtered data stay below it (≤ 2300 m/s³ on the lab data) and
        keep the swing anchor.
    impact_max_shift_s
        Largest distance between the impact onset and the swing anchor for the
        two to be the same contact: 5 × the anchor's SD (:data:`RETRACTION_SD_S`).
    impact_search_before_ic_s, impact_search_s
        The impact is searched from ``impact_search_before_ic_s`` before the
        swing anchor for ``impact_search_s`` (−30 … +80 ms by default: the
        impact peak follows contact by 10–50 ms, docs/gait-primer.md).
    impact_rise_search_s
        See :func:`impact_onsets` (short: the rise lies just before the peak).
    impact_peak_after_rise_s
        The impact's peak is the largest |a| this long after its steepest rise.
    min_stride_time_s, max_stride_time_s
        Plausible stride duration: 0.4 s is 300 steps/min, faster than any
        sprint cadence; 2.5 s is 48 steps/min, slower than slow walking
        (longer intervals are stops, not strides).
    local_median_strides
        Half width, in strides, of the local median stride time.
    min_share_of_local_median, max_share_of_local_median
        A missed contact makes a stride ~2× the local median and a spurious
        contact one ≤ 0.5×; both fall outside 0.6–1.6, while a pace change
        over a few strides stays inside.
    max_bridge_s, gap_event_margin_s
        Longest gap a stride may span, and how close to a missing sample an
        event is not a measurement (:mod:`strideguard.gaps`).
    midpoint_tolerance_s
        How far outside its gap's zone a contact estimated from its
        neighbours may fall (:data:`MIDPOINT_TOLERANCE_S`).

    Attributes
    ----------
    ic_s_, to_s_, mid_swing_s_, next_ic_s_
        Per kept stride: IC, TO, mid-swing peak and the next IC, in seconds
        from the first sample (TO and mid-swing NaN without gyroscope).
    ic_estimated_, next_ic_estimated_
        Whether that contact was hidden in a gap and estimated from the
        contacts either side (see :meth:`_contacts_across_gaps`).
    mid_swing_idx_
        Sample index of each stride's mid-swing peak (−1 without gyroscope).
    peak_midswing_gyr_dps_
        Sagittal angular velocity at that peak (NaN without gyroscope).
    foot_strike_
        Foot strike of the stride's contact: index into :data:`FOOT_STRIKES`
        as float (NaN without gyroscope).
    strike_index_
        The same as a continuous index, 0 rearfoot … 1 forefoot.
    ic_sd_s_, event_timing_confidence_
        Timing uncertainty of the stride's IC and the probability that it is
        within ±10 ms of the true contact.
    ic_from_impact_
        True where the IC is an impact onset (else the swing anchor).
    events_source_
        ``"gyroscope"``, ``"gyroscope+impact"`` (an impact was seen) or
        ``"accelerometer"``.
    """

    ic_s_: FloatArray
    to_s_: FloatArray
    mid_swing_s_: FloatArray
    next_ic_s_: FloatArray
    ic_estimated_: np.ndarray
    next_ic_estimated_: np.ndarray
    mid_swing_idx_: np.ndarray
    peak_midswing_gyr_dps_: FloatArray
    foot_strike_: FloatArray
    strike_index_: FloatArray
    ic_sd_s_: FloatArray
    event_timing_confidence_: FloatArray
    ic_from_impact_: np.ndarray
    events_source_: EventsSource

    def __init__(
        self,
        retraction_s: float = RETRACTION_S,
        impact_min_slope_mps3: float = 3500.0,
        impact_max_shift_s: float = 5 * RETRACTION_SD_S,
        impact_search_before_ic_s: float = 0.03,
        impact_search_s: float = 0.11,
        impact_rise_search_s: float = 0.04,
        impact_peak_after_rise_s: float = 0.03,
        min_stride_time_s: float = 0.4,
        max_stride_time_s: float = 2.5,
        local_median_strides: int = 5,
        min_share_of_local_median: float = 0.6,
        max_share_of_local_median: float = 1.6,
        max_bridge_s: float = MAX_BRIDGE_S,
        gap_event_margin_s: float = EVENT_MARGIN_S,
        midpoint_tolerance_s: float = MIDPOINT_TOLERANCE_S,
    ) -> None:
        self.retraction_s = retraction_s
        self.impact_min_slope_mps3 = impact_min_slope_mps3
        self.impact_max_shift_s = impact_max_shift_s
        self.impact_search_before_ic_s = impact_search_before_ic_s
        self.impact_search_s = impact_search_s
        self.impact_rise_search_s = impact_rise_search_s
        self.impact_peak_after_rise_s = impact_peak_after_rise_s
        self.min_stride_time_s = min_stride_time_s
        self.max_stride_time_s = max_stride_time_s
        self.local_median_strides = local_median_strides
        self.min_share_of_local_median = min_share_of_local_median
        self.max_share_of_local_median = max_share_of_local_median
        self.max_bridge_s = max_bridge_s
        self.gap_event_margin_s = gap_event_margin_s
        self.midpoint_tolerance_s = midpoint_tolerance_s

    def detect(
        self,
        gyr_sagittal_dps: FloatArray | None,
        acc_mps2: FloatArray | None,
        *,
        acc_long_up_mps2: FloatArray | None = None,
        sampling_rate_hz: float,
        gaps_s: Sequence[tuple[float, float]] = (),
    ) -> Self:
        """Detect the strides.

        Parameters
        ----------
        gyr_sagittal_dps
            Angular velocity about the shank y axis, shape ``(n,)``, or ``None``.
        acc_mps2
            Specific force in any frame, shape ``(n, 3)``, or ``None``; its
            magnitude shows the impacts.
        acc_long_up_mps2
            Specific force along the tibia, positive up (for TO, see
            :class:`GyroEventDetector`).
        sampling_rate_hz
            Sampling rate.
        gaps_s
            ``(start, end)`` of gaps in the data, seconds from the first sample
            (the last sample before and the first after the missing ones; the
            signals hold bridged values in between).

        Returns
        -------
        Self

        Raises
        ------
        ValueError
            If neither signal is given.
        """
        fs = sampling_rate_hz
        source: EventsSource
        norm = np.sqrt(np.einsum("ij,ij->i", acc_mps2, acc_mps2)) if acc_mps2 is not None else None
        if gyr_sagittal_dps is not None:
            g = gyr_sagittal_dps
            ms = MidSwingDetector().detect(g, sampling_rate_hz=fs)
            ev = GyroEventDetector(retraction_s=self.retraction_s).detect(
                g, ms.peaks_, acc_long_up_mps2, sampling_rate_hz=fs
            )
            ic_all, source = ev.ic_s_, "gyroscope"
            # the crossing's own timing noise: ~1 °/s of gyro noise over its slope
            cross_sd = 1.0 / np.maximum(np.abs(ev.crossing_slope_dps2_), 1.0)
            sd_all = np.hypot(RETRACTION_SD_S, cross_sd)
            from_impact = np.zeros(ic_all.shape, dtype=bool)
            if norm is not None and ic_all.size:
                ic_all, impact_seen, from_impact, rejected = self._refine_to_impact(
                    ic_all, norm, fs
                )
                source = "gyroscope+impact" if impact_seen else source
                sd_all = np.where(from_impact, IMPACT_ONSET_SD_S, sd_all)
                sd_all = np.where(rejected, 2.0 * sd_all, sd_all)
            ic_all, estimated, unknown = self._contacts_across_gaps(ic_all, gaps_s, 1.0 / fs)
            sd_all = _estimated_sd(ic_all, sd_all, estimated)
            from_impact = from_impact & ~estimated
            strike = StrikeClassifier().detect(g, ic_all, sampling_rate_hz=fs)
            # stride k: IC_k, TO_k, mid-swing k+1, IC_k+1
            ic, nxt = ic_all[:-1], ic_all[1:]
            to, mid = ev.to_s_[:-1], ms.peak_times_s_[1:]
            peak_idx = ms.peaks_[1:] if ms.peaks_.size > 1 else np.zeros(0, np.int64)
            peak_dps = ms.peak_values_dps_[1:] if ms.peaks_.size > 1 else np.zeros(0)
            # the strike of a contact hidden in a gap is not measured
            code = np.where(estimated[:-1], np.nan, strike.strike_code_[:-1])
            index = np.where(estimated[:-1], np.nan, strike.strike_index_[:-1])
            sd, imp = sd_all[:-1], from_impact[:-1]
            ok = self._plausible(ic, nxt, gaps_s, 1.0 / fs) & ~unknown[:-1] & ~unknown[1:]
            ok &= np.isfinite(to) & (to > ic) & (to < mid) & (mid < nxt)
            if len(gaps_s):
                # TO or mid-swing peak found on bridged values: unmeasured, the stride stays
                m = self.gap_event_margin_s
                to = np.where(times_in_gaps(to, gaps_s, m), np.nan, to)
                hidden = times_in_gaps(mid, gaps_s, m)
                mid = np.where(hidden, np.nan, mid)
                peak_idx = np.where(hidden, -1, peak_idx)
                peak_dps = np.where(hidden, np.nan, peak_dps)
        elif norm is not None:
            imp_det = ImpactDetector().detect(norm, sampling_rate_hz=fs)
            ic_all, estimated, unknown = self._contacts_across_gaps(imp_det.ic_s_, gaps_s, 1.0 / fs)
            ic, nxt, source = ic_all[:-1], ic_all[1:], "accelerometer"
            to = mid = peak_dps = code = index = np.full(ic.shape, np.nan)
            peak_idx = np.full(ic.shape, -1, np.int64)
            sd_all = _estimated_sd(
                ic_all, np.full(ic_all.shape, IMPACT_ONSET_SD_S + 0.001), estimated
            )
            sd = sd_all[:-1]
            imp = ~estimated[:-1]
            ok = self._plausible(ic, nxt, gaps_s, 1.0 / fs) & ~unknown[:-1] & ~unknown[1:]
        else:
            raise ValueError("need the sagittal angular velocity or the specific force")
        self.ic_s_, self.next_ic_s_ = ic[ok], nxt[ok]
        self.ic_estimated_, self.next_ic_estimated_ = estimated[:-1][ok], estimated[1:][ok]
        self.to_s_, self.mid_swing_s_ = to[ok], mid[ok]
        self.mid_swing_idx_ = peak_idx[ok]
        self.peak_midswing_gyr_dps_ = np.asarray(peak_dps[ok], dtype=np.float64)
        self.foot_strike_ = np.asarray(code[ok], dtype=np.float64)
        self.strike_index_ = np.asarray(index[ok], dtype=np.float64)
        self.ic_sd_s_ = np.asarray(sd[ok], dtype=np.float64)
        self.event_timing_confidence_ = timing_confidence(self.ic_sd_s_)
        self.ic_from_impact_ = np.asarray(imp[ok], dtype=bool)
        self.events_source_ = source
        return self

    def select(self, first: int, stop: int, shift_samples: int, sampling_rate_hz: float) -> Self:
        """Strides ``first:stop`` as seen from ``shift_samples`` samples later (a copy).

        The live path measures the strides it releases on the span of samples
        they need instead of its whole window: times move back by
        ``shift_samples / sampling_rate_hz``, sample indices by ``shift_samples``.
        """
        import copy

        out = copy.copy(self)
        shift_s = shift_samples / sampling_rate_hz
        sl = slice(first, stop)
        out.ic_s_ = self.ic_s_[sl] - shift_s
        out.next_ic_s_ = self.next_ic_s_[sl] - shift_s
        out.to_s_ = self.to_s_[sl] - shift_s
        out.mid_swing_s_ = self.mid_swing_s_[sl] - shift_s
        idx = self.mid_swing_idx_[sl]
        out.mid_swing_idx_ = np.where(idx >= 0, idx - shift_samples, idx)
        for name in (
            "peak_midswing_gyr_dps_",
            "foot_strike_",
            "strike_index_",
            "ic_sd_s_",
            "event_timing_confidence_",
            "ic_from_impact_",
            "ic_estimated_",
            "next_ic_estimated_",
        ):
            setattr(out, name, getattr(self, name)[sl])
        return out

    def _refine_to_impact(
        self, ic_s: FloatArray, acc_norm_mps2: FloatArray, fs: float
    ) -> tuple[FloatArray, bool, np.ndarray, np.ndarray]:
        """IC moved to the impact onset where a sharp impact agrees with it.

        Returns the ICs, whether any impact was sharp, which ICs moved, and
        which had a sharp impact whose onset disagreed (kept at the anchor).
        """
        fin = np.isfinite(ic_s)
        moved = np.zeros(ic_s.shape, dtype=bool)
        rejected = np.zeros(ic_s.shape, dtype=bool)
        st = np.maximum(
            0, np.round((ic_s[fin] - self.impact_search_before_ic_s) * fs).astype(np.int64)
        )
        w = max(3, round(self.impact_search_s * fs))
        slope = np.diff(acc_norm_mps2, append=acc_norm_mps2[-1]) * fs
        ks = window_argext(slope, st, np.full(st.shape, w), mode="max")
        sharp = slope[ks] >= self.impact_min_slope_mps3
        if not sharp.any():
            return ic_s, False, moved, rejected
        # the impact's peak follows its steepest rise: look there, not at the window's maximum
        # (a fast swing can read more before contact than a soft forefoot impact after it)
        wp = max(2, round(self.impact_peak_after_rise_s * fs))
        pk = window_argext(acc_norm_mps2, ks[sharp], np.full(int(sharp.sum()), wp), mode="max")
        on = impact_onsets(
            acc_norm_mps2, pk, sampling_rate_hz=fs, rise_search_s=self.impact_rise_search_s
        )
        idx = np.flatnonzero(fin)[sharp]
        # the two estimates must agree: an onset far from the swing anchor is not this contact
        agree = np.abs(on - ic_s[idx]) <= self.impact_max_shift_s
        out = ic_s.copy()
        out[idx[agree]] = on[agree]
        moved[idx[agree]] = True
        rejected[idx[~agree]] = True
        return out, True, moved, rejected

    def _plausible(
        self,
        ic: FloatArray,
        nxt: FloatArray,
        gaps_s: Sequence[tuple[float, float]],
        period_s: float,
    ) -> np.ndarray:
        """Strides of plausible length, like their neighbours, not across a long gap,
        with both contacts measured (not in a gap)."""
        st = nxt - ic
        ok = np.isfinite(st) & (st > self.min_stride_time_s) & (st < self.max_stride_time_s)
        if ok.any():
            med = np.full(st.shape, np.nan)
            med[ok] = local_median(st[ok], self.local_median_strides)
            ok &= (st > self.min_share_of_local_median * med) & (
                st < self.max_share_of_local_median * med
            )
        if len(gaps_s):
            ok &= ~windows_touch_gaps(
                ic, nxt, long_gaps(gaps_s, self.max_bridge_s, period_s=period_s)
            )
        return ok

    def _contacts_across_gaps(
        self, ic: FloatArray, gaps_s: Sequence[tuple[float, float]], period_s: float
    ) -> tuple[FloatArray, np.ndarray, np.ndarray]:
        """Contacts hidden in a short gap: estimated from the contacts either side, or unknown.

        A contact found within ``gap_event_margin_s`` of a missing sample was
        found on bridged values: the true contact lies somewhere in that zone,
        but where is not measured. Consecutive strides of a run differ by
        about 1 % (stride time SD 6.5 ms on the lab data, docs/gait-primer.md),
        so the midpoint of the contacts before and after it (both measured,
        no long gap between them) estimates it to a few ms
        (:data:`MIDPOINT_SD_S`). The estimate is used when it is consistent
        with that zone: inside it or within :data:`MIDPOINT_TOLERANCE_S`
        (3 SD) of it, and then put at the nearest point of the zone (the most
        likely contact given both). A midpoint further away means a neighbour
        is not the adjacent contact (missed or spurious): the contact is
        unknown and both strides sharing it are dropped. (A hard check at the
        zone's edge dropped a contact just after a gap whenever the midpoint
        erred late by more than the margin, one time in two.)

        Returns
        -------
        ic, estimated, unknown
            Contacts with the estimates put in; which were estimated; which are unknown.
        """
        none = np.zeros(ic.shape, dtype=bool)
        if not len(gaps_s) or ic.size == 0:
            return ic, none, none
        m = self.gap_event_margin_s
        zone = gap_index(ic, gaps_s, m)
        hidden = zone >= 0
        if not hidden.any():
            return ic, none, none
        prev = np.concatenate(([np.nan], ic[:-1]))
        after = np.concatenate((ic[1:], [np.nan]))
        measured = np.isfinite(ic) & ~hidden
        both = np.concatenate(([False], measured[:-1])) & np.concatenate((measured[1:], [False]))
        mid = 0.5 * (prev + after)
        longer = set(long_gaps(gaps_s, self.max_bridge_s, period_s=period_s))
        short = np.array([(a, b) not in longer for a, b in gaps_s])
        # the zone of each hidden contact: within the margin of its gap's missing samples
        g = np.asarray(gaps_s, dtype=np.float64)
        lo, hi = g[zone, 0] - m, g[zone, 1] + m
        tol = self.midpoint_tolerance_s
        estimated = hidden & both & short[zone] & (mid > lo - tol) & (mid < hi + tol)
        out = np.where(estimated, np.clip(mid, lo, hi), ic)
        return out, estimated, hidden & ~estimated


def detect_strides(
    recording: ImuRecording,
    gyr_sagittal_dps: FloatArray | None,
    acc_shank_mps2: FloatArray | None,
) -> StrideDetector:
    """Run :class:`StrideDetector` on a recording and its shank signals.

    Parameters
    ----------
    recording
        The recording (its specific force, rate and gaps are used).
    gyr_sagittal_dps, acc_shank_mps2
        From :func:`strideguard.align.shank_signals`.

    Returns
    -------
    StrideDetector
        With the strides found.
    """
    t0 = float(recording.time_s[0])
    return StrideDetector().detect(
        gyr_sagittal_dps,
        recording.acc_mps2,
        acc_long_up_mps2=None if acc_shank_mps2 is None else -acc_shank_mps2[:, 2],
        sampling_rate_hz=recording.sampling_rate_hz,
        gaps_s=[(a - t0, b - t0) for a, b in recording.gaps],
    )
