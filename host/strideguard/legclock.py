"""Two legs' files without a shared clock: the offset between them, from the stride rhythm.

Two CSV files (one per shin) carry each their own ``time_s``; nothing says how
one file's clock relates to the other's. Pairing strides across legs
(:mod:`strideguard.symmetry`) needs a common clock to within about a quarter of
a stride. ``analyze FILE --pair OTHER`` takes it from ``--pair-offset-s S``
when the user knows it (``0`` when both files share a clock, as the two files
of ``simulate --leg both --out`` do), and otherwise estimates it here.

The physics the estimate rests on
---------------------------------
The two legs are one runner: the left foot lands between two right-foot
landings, and every stride of one leg *shares a step* with the stride of the
other leg that began just before it and with the one that began during it
(right stride = step R→L + step L→R; the left stride that begins during it
starts with that L→R step). Whatever makes a step longer or shorter — a
stumble, a surge, the runner's own stride-to-stride variability — therefore
shows in both legs' stride times at those two neighbouring pairings and
nowhere else. So:

1. each leg's stride times (from consecutive initial contacts) are detrended
   (a centred moving mean over :data:`DETREND_STRIDES` strides is removed: pace
   changes are shared by every pairing and would blur the match);
2. they are cross-correlated over every index lag; the lag ``k`` whose
   correlation plus that of ``k − 1`` is largest says that left stride
   ``j + k`` began during right stride ``j``;
3. the sub-stride part comes from the alternation prior: the left foot lands
   half a stride after the right one (running is symmetric to within a few %,
   far less than the quarter stride the pairing tolerates), so the offset is the
   median of ``right mid-stride − left IC`` over the strides, each matched in time to the
   nearest left landing (so a stride missed in one leg does not shift the others).

When is it refused
------------------
The stride times must vary by at least :data:`MIN_RHYTHM_SD_S` (else there is
no fingerprint to match), and the match must stand out: at least
:data:`MIN_STRIDES` strides compared, a summed correlation of at least
:data:`MIN_MATCH`, and a peak :data:`MIN_PEAK_Z` robust SDs above the
correlations at the other lags. These numbers are our guesses (not fitted to a dataset): on simulated two-leg
runs the peak is a summed correlation of about 1.3 and far above the rest; a
runner so regular (or a recording so short) that the stride times carry no
fingerprint is refused with a one-line reason that names ``--pair-offset-s``.
Two independent device clocks also drift (tens of ppm, i.e. ~0.1 s an hour):
the offset is estimated on each half of the run as well and a drift of more
than :data:`MAX_DRIFT_STRIDE` of a stride between them is refused, since one
offset then cannot pair the whole run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from strideguard.errors import InputError

FloatArray = npt.NDArray[np.float64]

#: strides in the centred moving mean removed from each leg's stride times
DETREND_STRIDES = 9
#: fewest strides compared at the matching lag
MIN_STRIDES = 60
#: least summed correlation (two neighbouring lags) of a match
MIN_MATCH = 0.5
#: how far (robust SDs) the match must stand above the other lags
MIN_PEAK_Z = 5.0
#: least stride-to-stride variation (SD of the detrended stride times, s) that can carry a
#: fingerprint: below about a millisecond it is beneath the timing resolution of a detected
#: landing (a sample is 2–5 ms at 200–500 Hz), whatever the correlation says
MIN_RHYTHM_SD_S = 0.001
#: largest change of the offset between the run's two halves, in strides
MAX_DRIFT_STRIDE = 0.2


@dataclass(frozen=True)
class RhythmMatch:
    """How two legs' clocks were matched by their stride rhythms.

    Attributes
    ----------
    offset_s
        Seconds to add to the left file's times to put them on the right file's clock.
    match
        Summed correlation of the detrended stride times at the two matching lags.
    peak_z
        How far the match stands above the other lags (robust SDs).
    strides
        Strides compared at the matching lag.
    drift_s
        Offset of the run's second half minus that of its first half (the
        right leg's clock against the left's).
    """

    offset_s: float
    match: float
    peak_z: float
    strides: int
    drift_s: float


def _detrended_stride_times(ic_s: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Stride times minus their centred moving mean, and which are usable (not a gap)."""
    t = np.diff(ic_s)
    med = float(np.median(t)) if t.size else float("nan")
    ok = np.isfinite(t) & (t > 0.5 * med) & (t < 2.0 * med)  # a pause or a missed stride: out
    v = np.where(ok, t, 0.0)
    kernel = np.ones(DETREND_STRIDES)
    count = np.convolve(ok.astype(float), kernel, mode="same")
    mean = np.convolve(v, kernel, mode="same") / np.maximum(count, 1.0)
    return np.where(ok, t - mean, 0.0), ok


def _xcorr(a: FloatArray, b: FloatArray) -> FloatArray:
    """``out[k + len(a) - 1] = sum_j a[j] * b[j + k]`` for every lag ``k`` (FFT)."""
    n = a.size + b.size - 1
    size = 1 << (n - 1).bit_length()
    fa = np.fft.rfft(a[::-1], size)
    fb = np.fft.rfft(b, size)
    return np.asarray(np.fft.irfft(fa * fb, size)[:n], dtype=np.float64)


def _lag_correlations(
    x: FloatArray, xok: FloatArray, y: FloatArray, yok: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per lag ``k`` (index ``k + len(x) - 1``): correlation of ``x[j]`` with ``y[j + k]``
    over the usable overlap, and the number of strides compared."""
    num = _xcorr(x, y)
    n = np.rint(_xcorr(xok, yok))
    sxx = _xcorr(x * x, yok)  # x energy where y is usable, per lag
    syy = _xcorr(xok, y * y)
    den = np.sqrt(np.maximum(sxx, 0.0) * np.maximum(syy, 0.0))
    corr = np.where((n >= 3) & (den > 0), num / np.where(den > 0, den, 1.0), 0.0)
    return corr, n


def _offset_at(ic_r: FloatArray, ic_l: FloatArray, lag: int) -> float:
    """Median of ``right IC + half the right stride − left IC`` for left stride ``j + lag``
    (a first estimate: a stride missed in one leg shifts the indices after it)."""
    j = np.arange(ic_r.size - 1)
    i = j + lag
    keep = (i >= 0) & (i < ic_l.size)
    j, i = j[keep], i[keep]
    if j.size == 0:
        return float("nan")
    d = ic_r[j] + 0.5 * (ic_r[j + 1] - ic_r[j]) - ic_l[i]
    return float(np.median(d))


def _by_time(ic_r: FloatArray, ic_l: FloatArray, offset_s: float) -> tuple[FloatArray, FloatArray]:
    """Per right stride: its start and ``mid-stride − the nearest left IC (+ offset)``, for
    those whose nearest left IC lies within a quarter stride of the mid-stride."""
    t = np.diff(ic_r)
    med = float(np.median(t))
    ok = (t > 0.5 * med) & (t < 2.0 * med)
    mid = (ic_r[:-1] + 0.5 * t)[ok]
    start = ic_r[:-1][ok]
    lt = ic_l + offset_s
    k = np.clip(np.searchsorted(lt, mid), 1, lt.size - 1)
    before, after = mid - lt[k - 1], mid - lt[k]
    resid = np.where(np.abs(before) < np.abs(after), before, after)
    near = np.abs(resid) < 0.25 * med
    return start[near], resid[near]


def _refined(ic_r: FloatArray, ic_l: FloatArray, offset_s: float) -> tuple[float, float, int]:
    """The offset refined by matching in time (robust to strides missed in one leg), the
    drift between the run's halves, and the strides matched."""
    for _ in range(2):
        _, resid = _by_time(ic_r, ic_l, offset_s)
        if resid.size == 0:
            return offset_s, float("nan"), 0
        offset_s += float(np.median(resid))
    start, resid = _by_time(ic_r, ic_l, offset_s)
    if resid.size < 2:
        return offset_s, float("nan"), int(resid.size)
    halfway = float(np.median(start))
    first, second = resid[start < halfway], resid[start >= halfway]
    drift = float(np.median(first) - np.median(second)) if first.size and second.size else 0.0
    return offset_s, drift, int(resid.size)


def rhythm_offset_s(right_ic_s: npt.ArrayLike, left_ic_s: npt.ArrayLike) -> RhythmMatch:
    """The offset that puts the left leg's times on the right leg's clock, from the rhythms.

    Parameters
    ----------
    right_ic_s, left_ic_s
        Each leg's initial-contact times (every stride, walking too, in order),
        each on its own clock.

    Returns
    -------
    RhythmMatch
        ``left time + offset_s`` is on the right leg's clock.

    Raises
    ------
    InputError
        The rhythms do not identify one offset (too few strides, no distinct
        match, or the clocks drift apart): the reason, in one line.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> steps = 0.36 + 0.01 * rng.standard_normal(801)  # one runner's steps, R, L, R, L…
    >>> landings = np.cumsum(steps)
    >>> right, left = landings[0::2], landings[1::2] - 1000.0  # the left file's clock is off
    >>> m = rhythm_offset_s(right, left)
    >>> round(m.offset_s)
    1000
    """
    ic_r = np.sort(np.asarray(right_ic_s, dtype=np.float64))
    ic_l = np.sort(np.asarray(left_ic_s, dtype=np.float64))
    ic_r, ic_l = ic_r[np.isfinite(ic_r)], ic_l[np.isfinite(ic_l)]
    if min(ic_r.size, ic_l.size) < MIN_STRIDES + 1:
        raise InputError(
            f"too few strides to match the two legs' rhythms ({min(ic_r.size, ic_l.size)} in "
            f"one leg, {MIN_STRIDES + 1} needed)"
        )
    x, xok = _detrended_stride_times(ic_r)
    y, yok = _detrended_stride_times(ic_l)
    spread = min(float(np.std(x[xok])), float(np.std(y[yok])))
    if not spread >= MIN_RHYTHM_SD_S:
        raise InputError(
            "the two legs' stride rhythms do not identify one offset between the files (the "
            f"stride times vary by {1000 * spread:.2f} ms: too regular to carry a fingerprint)"
        )
    corr, n = _lag_correlations(x, xok.astype(float), y, yok.astype(float))
    lags = np.arange(corr.size) - (x.size - 1)
    valid = n >= MIN_STRIDES
    if valid.sum() < 2:
        raise InputError("the two legs' strides overlap too little to match their rhythms")
    pair_sum = np.full(corr.size, -np.inf)
    both = valid[1:] & valid[:-1]
    pair_sum[1:][both] = corr[1:][both] + corr[:-1][both]
    best = int(np.argmax(pair_sum))
    match = float(pair_sum[best])
    others = pair_sum[np.isfinite(pair_sum) & (np.abs(lags - lags[best]) > 2)]
    if others.size >= 5:
        spread = 1.4826 * float(np.median(np.abs(others - np.median(others))))
        peak_z = (match - float(np.median(others))) / max(spread, 1e-9)
    else:
        peak_z = 0.0
    lag = int(lags[best])
    strides = int(n[best])
    if match < MIN_MATCH or peak_z < MIN_PEAK_Z:
        raise InputError(
            "the two legs' stride rhythms do not identify one offset between the files "
            f"(best match {match:.2f} over {strides} strides, {peak_z:.1f} SD above the rest)"
        )
    offset, drift, matched = _refined(ic_r, ic_l, _offset_at(ic_r, ic_l, lag))
    stride_s = float(np.median(np.diff(ic_r)))
    if matched < MIN_STRIDES:
        raise InputError(
            f"only {matched} strides of the two legs alternate at the matched offset "
            f"({MIN_STRIDES} needed)"
        )
    if not abs(drift) <= MAX_DRIFT_STRIDE * stride_s:
        raise InputError(
            f"the two files' clocks drift apart by {drift:+.2f} s over the run: one offset "
            "cannot pair all its strides"
        )
    return RhythmMatch(
        offset_s=offset, match=match, peak_z=float(peak_z), strides=strides, drift_s=drift
    )
