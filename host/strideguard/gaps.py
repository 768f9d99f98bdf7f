"""Missing samples: where they are, how the analysis bridges them, what they touch.

A lost BLE frame, a link outage or a NaN row in a CSV file leaves a run of
missing samples. Offline (:func:`strideguard.load.make_uniform`) and live
(:class:`strideguard.live.streaming.StreamingAnalyzer`) handle them the same
way, with the functions of this module:

1. **Bridge.** Every run of missing samples is filled with a monotone cubic
   (:func:`bridge_missing`: piecewise-cubic Hermite with Fritsch–Carlson
   slopes, the PCHIP of the present samples). It is *local* — the values in a
   gap depend only on the two present samples on either side — so a live
   window and a whole file bridge a gap identically; it is C¹ — no kink whose
   jerk spike would look like a ground contact to the IC detector; and it
   never overshoots the samples around it — no mid-swing peak, impact or
   toe-off minimum is invented inside a gap.
2. **Detect on the bridged signal**, then judge each event by where it lies
   (:func:`times_in_gaps`): an event closer than :data:`EVENT_MARGIN_S` to a
   missing sample was found on (or smoothed over) bridged values, so it is not
   a measurement. A stride whose initial contact (or the next one) is such an
   event is dropped; a toe-off or mid-swing peak there is left unmeasured
   (NaN) and the stride is kept.
3. **Flag the metrics** (:func:`windows_touch_gaps`): a metric that is an
   extreme over a window (peak tibial acceleration, late-swing peak
   deceleration) is unmeasured when its window touched a gap — the extreme may
   lie in it; metrics that integrate over the stride (tibia angle at IC,
   gravity direction) keep the bridged value; either way the stride is
   flagged ``gap_in_stride``.
4. **Long gaps split.** A gap longer than :data:`MAX_BRIDGE_S` is still
   filled (so the detectors see one uniform signal) but no stride may span it.

Gaps are ``(start_s, end_s)`` pairs: the times of the last present sample
before and the first present sample after the missing ones, on the
recording's clock, sorted and not overlapping (``ImuRecording.gaps``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from strideguard.imudata import FloatArray

#: Longest gap (time of missing samples) the analysis bridges and lets a stride span. At 150–200 steps/min a
#: stride lasts 0.6–0.8 s and its events are spaced by contact (0.2–0.3 s), early
#: swing (TO to mid-swing peak, ~0.2 s) and late swing (mid-swing peak to the next
#: contact, 0.1–0.13 s, the shortest interval; docs/gait-primer.md). A gap up to
#: 100 ms can hide at most one of them (so at most the two strides sharing a
#: contact are lost), and a mid-swing peak (above half its height for ~150 ms)
#: always keeps part of its rise or fall in view, so the stride is still found.
#: Longer gaps can hide a peak and the contact after it: the recording is split.
MAX_BRIDGE_S = 0.1
#: An event this close to a missing sample is not a measurement: the detectors'
#: kernels reach this far (the mid-swing peak is picked on a 20 ms moving mean,
#: ±10 ms; the contact jerk on a 10 ms mean and two derivatives, ±8 ms at 500 Hz).
EVENT_MARGIN_S = 0.01

GapList = Sequence[tuple[float, float]]


def missing_runs(present: npt.NDArray[np.bool_]) -> tuple[np.ndarray, np.ndarray]:
    """Runs of missing samples: ``(first, stop)`` indices (``stop`` exclusive).

    Parameters
    ----------
    present
        ``(n,)`` True where a sample was received.

    Returns
    -------
    first, stop
        Int64 arrays, one entry per run of ``False``.
    """
    edges = np.diff(np.concatenate(([0], (~present).astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def bridge_missing(values: FloatArray, present: npt.NDArray[np.bool_]) -> FloatArray:
    """Fill missing samples with the monotone cubic through the present ones (PCHIP).

    For every run of missing samples between present samples ``a`` and ``b``
    the bridge is the cubic Hermite piece of the PCHIP of the present samples:
    its slopes at ``a`` and ``b`` are Fritsch–Carlson weighted harmonic means of
    the secants on either side (zero where the secants change sign, so a
    local extreme of the data stays at a data point). Only samples ``a``,
    ``b`` and their present neighbours enter (:func:`bridge_at`), so the result
    does not depend on how much data lies further away. Missing samples before
    the first or after the last present sample repeat that sample.

    Parameters
    ----------
    values
        ``(n,)`` or ``(n, k)`` samples on a uniform grid; values at missing
        positions are ignored.
    present
        ``(n,)`` True where a sample was received.

    Returns
    -------
    numpy.ndarray
        Float64 copy of ``values`` with the missing samples filled.
    """
    out = np.array(values, dtype=np.float64, copy=True)
    miss = np.flatnonzero(~present)
    if miss.size:
        have = np.flatnonzero(present)
        out[miss] = bridge_at(have, out[have], miss)
    return out


def bridge_at(
    have_idx: npt.NDArray[np.integer], have_values: FloatArray, query_idx: npt.NDArray[np.integer]
) -> FloatArray:
    """The bridge (see :func:`bridge_missing`) at missing sample indices.

    Parameters
    ----------
    have_idx
        ``(m,)`` increasing indices of the present samples.
    have_values
        ``(m,)`` or ``(m, k)`` their values.
    query_idx
        Indices of missing samples (not in ``have_idx``).

    Returns
    -------
    numpy.ndarray
        Float64 values at ``query_idx``, shape ``(q,)`` or ``(q, k)``.
    """
    if have_idx.size == 0:
        raise ValueError("no present sample to bridge from")
    yv = np.asarray(have_values, dtype=np.float64)
    two_d = yv.ndim == 2
    y = yv if two_d else yv[:, None]
    hv = np.asarray(have_idx, dtype=np.int64)
    q = np.asarray(query_idx, dtype=np.int64)
    out = np.empty((q.size, y.shape[1]))
    pos = np.searchsorted(hv, q)  # hv[pos - 1] < q < hv[pos]
    lead, tail = pos == 0, pos == hv.size
    out[lead] = y[0]
    out[tail] = y[-1]
    inner = ~(lead | tail)
    if inner.any():
        p = pos[inner]
        # positions in the present samples: a, b around the gap, a0 and b1 beyond them
        ia, ib = p - 1, p
        ia0 = np.maximum(ia - 1, 0)
        ib1 = np.minimum(ib + 1, hv.size - 1)
        a, b, a0, b1 = hv[ia], hv[ib], hv[ia0], hv[ib1]
        h = (b - a).astype(np.float64)[:, None]
        d = (y[ib] - y[ia]) / h
        hl = np.maximum(a - a0, 1).astype(np.float64)[:, None]
        hr = np.maximum(b1 - b, 1).astype(np.float64)[:, None]
        dl = np.where((ia0 < ia)[:, None], (y[ia] - y[ia0]) / hl, d)
        dr = np.where((ib1 > ib)[:, None], (y[ib1] - y[ib]) / hr, d)
        ma = _pchip_slope(dl, d, hl, h)
        mb = _pchip_slope(d, dr, h, hr)
        u = ((q[inner] - a).astype(np.float64) / h[:, 0])[:, None]
        u2, u3 = u * u, u * u * u
        out[inner] = (
            (2 * u3 - 3 * u2 + 1) * y[ia]
            + (u3 - 2 * u2 + u) * h * ma
            + (3 * u2 - 2 * u3) * y[ib]
            + (u3 - u2) * h * mb
        )
    return out if two_d else out[:, 0]


def _pchip_slope(d0: FloatArray, d1: FloatArray, h0: FloatArray, h1: FloatArray) -> FloatArray:
    """Slope at a point between secants ``d0`` (length ``h0``) and ``d1`` (length ``h1``)."""
    w1 = 2.0 * h1 + h0
    w2 = h1 + 2.0 * h0
    same = (d0 * d1) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        m = (w1 + w2) / (w1 / d0 + w2 / d1)
    return np.where(same, m, 0.0)


def fill_on_grid(
    sample_index: npt.NDArray[np.integer], *columns: FloatArray, first: int | None = None
) -> tuple[npt.NDArray[np.bool_], list[FloatArray]]:
    """Put samples with running indices on their contiguous grid and bridge the missing ones.

    Parameters
    ----------
    sample_index
        ``(m,)`` strictly increasing sample indices of the present samples.
    *columns
        ``(m,)`` or ``(m, k)`` arrays of the present samples.
    first
        First grid index (default ``sample_index[0]``); it may lie inside a
        gap, whose bridge then uses the present samples before it.

    Returns
    -------
    present, filled
        ``present`` has shape ``(n,)`` with ``n = last - first + 1``; ``filled``
        holds each column on that grid, missing samples bridged
        (:func:`bridge_at`).
    """
    idx = np.asarray(sample_index, dtype=np.int64)
    start = int(idx[0]) if first is None else int(first)
    n = int(idx[-1]) - start + 1
    j = int(np.searchsorted(idx, start))
    if idx.size - j == n:
        # nothing missing (the usual live window): the samples from ``start`` as they are
        return np.ones(n, dtype=bool), [np.array(col[j:], dtype=np.float64) for col in columns]
    sel = idx >= start
    pos = idx[sel] - start
    present = np.zeros(n, dtype=bool)
    present[pos] = True
    miss = np.flatnonzero(~present)
    filled = []
    for col in columns:
        grid = np.zeros((n, *col.shape[1:]), dtype=np.float64)
        grid[pos] = col[sel]
        if miss.size:
            grid[miss] = bridge_at(idx, col, miss + start)
        filled.append(grid)
    return present, filled


def gaps_of(time_s: FloatArray, present: npt.NDArray[np.bool_]) -> list[tuple[float, float]]:
    """The ``(start_s, end_s)`` of every interior run of missing samples on a grid.

    Parameters
    ----------
    time_s
        ``(n,)`` times of the grid.
    present
        ``(n,)`` True where a sample was received.

    Returns
    -------
    list of tuple
        Time of the last present sample before and the first after each run.
    """
    first, stop = missing_runs(present)
    keep = (first > 0) & (stop < present.shape[0])
    return [
        (float(time_s[a - 1]), float(time_s[b]))
        for a, b in zip(first[keep], stop[keep], strict=True)
    ]


def missing_mask(time_s: FloatArray, gaps: GapList) -> npt.NDArray[np.bool_]:
    """True for the samples strictly inside a gap (the bridged ones).

    Parameters
    ----------
    time_s
        ``(n,)`` sample times.
    gaps
        ``(start_s, end_s)`` pairs on the same clock.

    Returns
    -------
    numpy.ndarray
        Boolean mask, shape ``(n,)``.
    """
    mask = np.zeros(time_s.shape[0], dtype=bool)
    if not len(gaps):
        return mask
    g = np.asarray(gaps, dtype=np.float64)
    # half a sample inside each bound, so a rounding error never marks the bounds themselves
    half = 0.5 * float(np.median(np.diff(time_s))) if time_s.size > 1 else 0.0
    lo = np.searchsorted(time_s, g[:, 0] + half, side="left")
    hi = np.searchsorted(time_s, g[:, 1] - half, side="right")
    delta = np.zeros(time_s.shape[0] + 1, dtype=np.int64)
    np.add.at(delta, lo, 1)
    np.add.at(delta, np.maximum(hi, lo), -1)
    mask[:] = np.cumsum(delta[:-1]) > 0
    return mask


def gap_index(times_s: FloatArray, gaps: GapList, margin_s: float = 0.0) -> np.ndarray:
    """For each time, the index of the gap it lies in (within ``margin_s`` of its missing
    samples), or −1.

    Parameters
    ----------
    times_s
        Times (NaN is in no gap).
    gaps
        ``(start_s, end_s)`` pairs, sorted, not overlapping.
    margin_s
        How close to the missing samples counts as in the gap.

    Returns
    -------
    numpy.ndarray
        Int64, shape of ``times_s``.
    """
    t = np.asarray(times_s, dtype=np.float64)
    out = np.full(t.shape, -1, dtype=np.int64)
    if not len(gaps):
        return out
    g = np.asarray(gaps, dtype=np.float64)
    ok = np.isfinite(t)
    k = np.searchsorted(g[:, 1] + margin_s, t[ok], side="right")
    inside = k < g.shape[0]
    hit = np.full(k.shape, -1, dtype=np.int64)
    kk = k[inside]
    hit[inside] = np.where(g[kk, 0] - margin_s < t[ok][inside], kk, -1)
    out[ok] = hit
    return out


def times_in_gaps(times_s: FloatArray, gaps: GapList, margin_s: float = 0.0) -> np.ndarray:
    """True for each time that lies within ``margin_s`` of a missing sample.

    Parameters
    ----------
    times_s
        Event times (NaN counts as not in a gap).
    gaps
        ``(start_s, end_s)`` pairs, sorted, not overlapping.
    margin_s
        How close to the missing samples counts as in the gap.

    Returns
    -------
    numpy.ndarray
        Boolean, shape of ``times_s``.
    """
    t = np.asarray(times_s, dtype=np.float64)
    return windows_touch_gaps(t, t, gaps, margin_s)


def windows_touch_gaps(
    start_s: FloatArray, end_s: FloatArray, gaps: GapList, margin_s: float = 0.0
) -> np.ndarray:
    """True for each window ``[start_s, end_s]`` that comes within ``margin_s`` of a missing sample.

    The missing samples of a gap ``(g0, g1)`` lie strictly between ``g0`` and
    ``g1``: a window touches it when ``start - margin < g1`` and ``end + margin > g0``.

    Parameters
    ----------
    start_s, end_s
        Window bounds (NaN windows touch nothing).
    gaps
        ``(start_s, end_s)`` pairs, sorted, not overlapping.
    margin_s
        Widening of each window on both sides.

    Returns
    -------
    numpy.ndarray
        Boolean, shape of ``start_s``.
    """
    s = np.asarray(start_s, dtype=np.float64) - margin_s
    e = np.asarray(end_s, dtype=np.float64) + margin_s
    out = np.zeros(s.shape, dtype=bool)
    if not len(gaps):
        return out
    g = np.asarray(gaps, dtype=np.float64)
    ok = np.isfinite(s) & np.isfinite(e)
    # the first gap that ends after the window starts is the only one that can touch it first
    k = np.searchsorted(g[:, 1], s[ok], side="right")
    inside = k < g.shape[0]
    hit = np.zeros(k.shape, dtype=bool)
    hit[inside] = g[k[inside], 0] < e[ok][inside]
    out[ok] = hit
    return out


def long_gaps(
    gaps: GapList, max_bridge_s: float = MAX_BRIDGE_S, *, period_s: float
) -> list[tuple[float, float]]:
    """The gaps with more than ``max_bridge_s`` of missing samples (strides may not span them).

    A gap ``(a, b)`` misses ``b - a - period_s`` seconds of samples: one lost
    19-sample frame at 200 Hz misses 95 ms and is still bridged. (A microsecond
    of slack keeps rounding from deciding at exactly ``max_bridge_s``.)

    Parameters
    ----------
    gaps
        ``(start_s, end_s)`` pairs.
    max_bridge_s
        Longest bridged gap.
    period_s
        Sample period.
    """
    return [(a, b) for a, b in gaps if b - a - period_s > max_bridge_s + 1e-6]
