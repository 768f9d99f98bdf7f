"""Numeric helpers on sampled signals, shared by the analysis stages.

Alignment, event detection, metrics and the overstride assessment all need
the same few windowed operations: a centred moving mean, the extreme of many
windows at once, the first crossing of a level, a running median over
neighbouring values and sub-sample peak interpolation. They live here, once,
vectorised (no per-sample Python loop).

The module is not called ``signal`` so it cannot be mistaken for, or
shadow, the standard library's ``signal`` (which the live runner imports) or
be confused with :mod:`scipy.signal` next to it in an import block.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from strideguard.imudata import FloatArray


def moving_mean(x: FloatArray, window: int) -> FloatArray:
    """Centred moving average along axis 0.

    Parameters
    ----------
    x
        Signal, shape ``(n,)`` or ``(n, k)``.
    window
        Window length in samples; made odd (centred without a half-sample
        shift). ``1`` returns a copy.

    Returns
    -------
    numpy.ndarray
        Float64 array of the shape of ``x``; the edges repeat the end value.
    """
    from scipy.ndimage import uniform_filter1d

    window = max(1, int(window)) | 1
    if window == 1:
        return np.asarray(x, dtype=np.float64).copy()
    return np.asarray(
        uniform_filter1d(np.asarray(x, dtype=np.float64), window, axis=0, mode="nearest")
    )


def parabolic_offset(y: FloatArray, idx: np.ndarray) -> FloatArray:
    """Sub-sample offset of extrema by a parabola through three points.

    Parameters
    ----------
    y
        Signal, shape ``(n,)``.
    idx
        Sample index of each extremum (clipped to ``1 … n - 2``).

    Returns
    -------
    numpy.ndarray
        Offset in samples, −0.5 … 0.5, to add to ``idx``.
    """
    idx = np.clip(idx, 1, y.shape[0] - 2)
    a, b, c = y[idx - 1], y[idx], y[idx + 1]
    d = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.where(np.abs(d) > 1e-12, 0.5 * (a - c) / d, 0.0)
    return np.clip(off, -0.5, 0.5)


def local_median(values: FloatArray, half_width: int, *, causal: bool = False) -> FloatArray:
    """Median of each value's neighbourhood.

    Parameters
    ----------
    values
        Shape ``(n,)``.
    half_width
        Centred: ``±half_width`` values (edges padded by reflection). Causal:
        the value and the ``2 * half_width`` values before it (no look-ahead,
        for the live path; the start is padded with the first value).
    causal
        Use only the value and those before it.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``.
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
    if np.isnan(values).any():
        return np.median(win, axis=1)  # NaN where a window holds one, as np.median says
    # an odd window: the median is its middle order statistic (np.median's own answer, without
    # its overhead, which dominates on the few values the live path passes)
    return np.partition(win, half_width, axis=1)[:, half_width].astype(np.float64)


def window_argext(
    x: FloatArray, start: np.ndarray, length: np.ndarray, *, mode: Literal["max", "min"]
) -> np.ndarray:
    """Index of the maximum or minimum of ``x[start:start + length]`` for every window.

    Parameters
    ----------
    x
        Signal, shape ``(n,)``.
    start, length
        Window starts and lengths in samples, one per window (samples outside
        ``x`` are ignored).
    mode
        ``"max"`` or ``"min"``.

    Returns
    -------
    numpy.ndarray
        Int64 sample index of the extreme of each window (the first one on ties).
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


def first_crossing_below(
    x: FloatArray, start: np.ndarray, max_len: int, level: float = 0.0
) -> np.ndarray:
    """First index ``i >= start`` with ``x[i] < level`` within ``max_len`` samples.

    Parameters
    ----------
    x
        Signal, shape ``(n,)``.
    start
        Search start per window.
    max_len
        Search length in samples.
    level
        The level to fall below.

    Returns
    -------
    numpy.ndarray
        Sample index per window, ``-1`` where ``x`` stays at or above ``level``.
    """
    n = x.shape[0]
    cols = np.arange(max_len)
    idx = start[:, None] + cols[None, :]
    below = (x[np.clip(idx, 0, n - 1)] < level) & (idx < n)
    has = below.any(axis=1)
    return np.where(has, start + np.argmax(below, axis=1), -1)
