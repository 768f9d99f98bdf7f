"""Run-level numbers from per-stride tables: running strides, medians, per-minute series,
late-swing load and left/right symmetry.

Everything the history listing, the report and the trends show about a run is
computed here from the stored per-stride table (one ``{column: array}`` dict per
leg, the columns of :data:`strideguard.metrics.STRIDE_COLUMNS`), vectorised.

Late-swing load
    The sum, over a leg's running strides, of the peak shank deceleration in late
    swing (``late_swing_peak_decel_dps2``), in units of :data:`LOAD_UNIT_DPS2`
    (10⁶ °/s²). The shank's angular deceleration before foot strike is what the
    hamstrings (knee flexors) brake, so each stride's peak is a proxy of its
    hamstring load; the sum counts strides weighted by how hard each one braked
    (about 75 easy strides make one unit). A linear weighting is the simplest
    choice: how hamstring damage grows with the size of each load is not known
    (see ``docs/history.md``). A run's load is the mean over its measured legs
    (per leg, so one- and two-sensor runs compare).

Symmetry
    A run's left/right symmetry (:func:`paired_symmetry`, the history's ``symmetry_pct``)
    is the live path's: strides paired in time and summarised by
    :mod:`strideguard.symmetry` (Robinson's index, median over the pairs of
    running strides; positive: the right leg's value is larger).
    :func:`lr_symmetry_pct` (``100 × (R − L) / ((R + L) / 2)``, the same index
    of two medians) remains for the report's per-minute series.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from strideguard.alerts.config import RunningConfig
from strideguard.metrics import WALKING_DUTY_FACTOR

if TYPE_CHECKING:
    from strideguard.symmetry import StridePair

FloatArray = npt.NDArray[np.float64]
Strides = Mapping[str, FloatArray]

#: one unit of late-swing load: 10⁶ °/s² of summed per-stride peak late-swing deceleration
LOAD_UNIT_DPS2 = 1.0e6
#: strides slower than this cadence are walking (the alert engine's running threshold)
MIN_RUNNING_CADENCE_SPM = RunningConfig().min_cadence_spm
SECONDS_PER_MINUTE = 60.0


def column(strides: Strides, name: str) -> FloatArray:
    """One column as a float array (all NaN when the table lacks it)."""
    n = n_strides(strides)
    v = strides.get(name)
    return np.full(n, np.nan) if v is None else np.asarray(v, dtype=float)


def n_strides(strides: Strides) -> int:
    """Number of strides in the table."""
    for v in strides.values():
        return int(np.asarray(v).shape[0])
    return 0


def running_mask(strides: Strides) -> npt.NDArray[np.bool_]:
    """Running strides: cadence at or above :data:`MIN_RUNNING_CADENCE_SPM` and a flight phase.

    Strides without a duty factor (accelerometer-only data) count when their
    cadence says running.
    """
    cad = column(strides, "cadence_spm")
    duty = column(strides, "duty_factor")
    with np.errstate(invalid="ignore"):
        return (
            np.isfinite(cad)
            & (cad >= MIN_RUNNING_CADENCE_SPM)
            & ~(np.isfinite(duty) & (duty > WALKING_DUTY_FACTOR))
        )


def nanmedian(values: FloatArray) -> float | None:
    """Median of the finite values, ``None`` when there are none."""
    v = values[np.isfinite(values)]
    return float(np.median(v)) if v.size else None


def running_median(strides: Strides, name: str) -> float | None:
    """Median of ``name`` over the running strides."""
    return nanmedian(column(strides, name)[running_mask(strides)])


def running_time_s(strides: Strides) -> float:
    """Seconds spent running: the summed stride times of the running strides."""
    st = column(strides, "stride_time_s")[running_mask(strides)]
    return float(np.nansum(st))


def late_swing_load(strides: Strides, mask: npt.NDArray[np.bool_] | None = None) -> float:
    """Late-swing load of one leg's strides (see the module docstring), in load units."""
    m = running_mask(strides) if mask is None else mask
    return float(np.nansum(column(strides, "late_swing_peak_decel_dps2")[m])) / LOAD_UNIT_DPS2


def lr_symmetry_pct(left: npt.ArrayLike, right: npt.ArrayLike) -> Any:
    """Left/right symmetry index ``100 × (R − L) / ((R + L) / 2)`` in %.

    0 is perfect symmetry; positive means the right leg's value is larger. NaN
    where either side is missing or the mean is zero. Works on scalars and arrays.
    """
    lv = np.asarray(left, dtype=float)
    rv = np.asarray(right, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        si = 100.0 * (rv - lv) / ((rv + lv) / 2.0)
    si = np.where(np.isfinite(si), si, np.nan)
    return float(si) if si.ndim == 0 else si


def per_minute(
    strides: Strides, name: str, *, minutes: int | None = None
) -> tuple[FloatArray, FloatArray]:
    """Per-minute medians of ``name`` over the running strides, by initial-contact time.

    Returns
    -------
    minute, median
        Minute index (0 = the first minute of the run) and the median of that
        minute's running strides (NaN for a minute without any). ``minutes``
        fixes the number of minutes (default: up to the last stride).
    """
    t = column(strides, "initial_contact_s")
    v = column(strides, name)
    return minute_medians(t, v, running_mask(strides), minutes=minutes)


def minute_medians(
    time_s: FloatArray,
    values: FloatArray,
    keep: npt.NDArray[np.bool_] | None = None,
    *,
    minutes: int | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Per-minute medians of ``values`` by ``time_s`` (finite, non-negative, where ``keep``).

    Returns
    -------
    minute, median
        Minute index and median (NaN for a minute without values); ``minutes``
        fixes the number of minutes (default: up to the last value).
    """
    t = np.asarray(time_s, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(t) & np.isfinite(v) & (t >= 0)
    if keep is not None:
        ok &= keep
    minute = np.floor(t[ok] / SECONDS_PER_MINUTE).astype(np.int64)
    n = minutes if minutes is not None else (int(minute.max()) + 1 if minute.size else 0)
    out = np.full(n, np.nan)
    if n == 0 or minute.size == 0:
        return np.arange(n, dtype=float), out
    keep_n = minute < n
    minute, vals = minute[keep_n], v[ok][keep_n]
    order = np.lexsort((vals, minute))
    minute, vals = minute[order], vals[order]
    starts = np.searchsorted(minute, np.arange(n), side="left")
    ends = np.searchsorted(minute, np.arange(n), side="right")
    counts = ends - starts
    has = counts > 0
    lo = starts + (counts - 1) // 2
    hi = starts + counts // 2
    out[has] = 0.5 * (vals[lo[has]] + vals[hi[has]])
    return np.arange(n, dtype=float), out


def percentile_band(
    values: FloatArray, lo_pct: float = 25.0, hi_pct: float = 75.0
) -> tuple[float, float] | None:
    """The ``lo``–``hi`` percentile range of the finite values (``None`` if fewer than 10)."""
    v = values[np.isfinite(values)]
    if v.size < 10:
        return None
    lo, hi = np.percentile(v, [lo_pct, hi_pct])
    return float(lo), float(hi)


def paired_symmetry(left: Strides, right: Strides) -> dict[str, dict[str, Any]]:
    """Left/right symmetry of a run from its two legs' stride tables, by the live path's code.

    Strides are paired in time (:func:`strideguard.symmetry.pair_stride_tables`;
    both tables' times count from the start of the same recording) and the pairs
    whose two strides are running are summarised
    (:func:`strideguard.symmetry.symmetry_summary`).

    Returns
    -------
    dict
        Per feature: ``median`` (symmetry index % or difference °, right against
        left), ``iqr``, ``pairs``, ``unit``, ``higher``.
    """
    from strideguard.symmetry import symmetry_summary

    return symmetry_summary(running_pairs(left, right))


def running_pairs(left: Strides, right: Strides) -> list[StridePair]:
    """The two legs' strides paired in time (as live and ``analyze`` pair them), only the
    pairs whose two strides are running.

    Both tables' times count from the start of the same recording.
    """
    from strideguard.symmetry import SYMMETRY_FEATURE_NAMES, pair_stride_tables

    names = ("initial_contact_s", "next_initial_contact_s", *SYMMETRY_FEATURE_NAMES)

    def rows(table: Strides) -> list[dict[str, Any]]:
        cols = {n: column(table, n).tolist() for n in names}
        running = running_mask(table).tolist()
        return [
            {"running": running[i], **{n: cols[n][i] for n in names}}
            for i in range(n_strides(table))
        ]

    pairs = pair_stride_tables(rows(right), rows(left))
    return [p for p in pairs if p.strides["R"]["running"] and p.strides["L"]["running"]]


def paired_symmetry_per_minute(
    left: Strides, right: Strides, names: Sequence[str], *, minutes: int | None = None
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """Per-minute left/right symmetry from the paired strides (:func:`running_pairs`).

    Per minute (by the pair's right-leg contact time) and feature: the median of
    the pairs' ``log(R / L)`` (or ``R − L``) shown as the symmetry index (%) or
    the difference (°) — the same measure as :func:`paired_symmetry`, the live
    view and ``analyze``, not the index of two per-minute medians.

    Returns
    -------
    minute, per feature
        Minute index and, per name in ``names``, the per-minute values (NaN
        for a minute without pairs).
    """
    from strideguard.symmetry import display_value

    pairs = running_pairs(left, right)
    t = np.array([p.time_s for p in pairs], dtype=np.float64)
    n = minutes
    if n is None:
        n = int(np.floor(np.nanmax(t) / SECONDS_PER_MINUTE)) + 1 if np.isfinite(t).any() else 0
    minute = np.arange(n, dtype=float)
    out: dict[str, FloatArray] = {}
    for name in names:
        v = np.array([p.values[name] for p in pairs], dtype=np.float64)
        _, med = minute_medians(t, v, minutes=n)
        # one value per minute: shown as the live view and analyze show it
        out[name] = np.array([display_value(name, float(m)) for m in med], dtype=np.float64)
    return minute, out


def run_summary(legs: Sequence[tuple[str | None, Strides]]) -> dict[str, Any]:
    """The run-level numbers the history lists, from each leg's stride table.

    Parameters
    ----------
    legs
        ``(leg, strides)`` per sensor (``leg`` ``"L"``, ``"R"`` or ``None``).

    Returns
    -------
    dict
        ``running_time_s`` (the longest of the legs), ``n_strides`` (all legs),
        medians over all running strides of ``cadence_spm``,
        ``shank_angle_at_ic_deg``, ``contact_time_s``, ``peak_midswing_gyr_dps``
        and ``late_swing_peak_decel_dps2``, ``late_swing_load`` (mean over the
        legs) and ``symmetry_pct`` (late-swing deceleration, right vs left, by
        :func:`paired_symmetry`; ``None`` without both legs).
    """
    names = (
        "cadence_spm",
        "shank_angle_at_ic_deg",
        "contact_time_s",
        "peak_midswing_gyr_dps",
        "late_swing_peak_decel_dps2",
    )
    pooled: dict[str, list[FloatArray]] = {n: [] for n in names}
    loads: list[float] = []
    run_s = 0.0
    total = 0
    by_leg: dict[str, Strides] = {}
    for leg, strides in legs:
        total += n_strides(strides)
        m = running_mask(strides)
        for n in names:
            pooled[n].append(column(strides, n)[m])
        if m.any():
            loads.append(late_swing_load(strides, m))
        run_s = max(run_s, running_time_s(strides))
        if leg in ("L", "R"):
            by_leg[leg] = strides
    out: dict[str, Any] = {"running_time_s": run_s, "n_strides": total}
    for n in names:
        out[n] = nanmedian(np.concatenate(pooled[n])) if pooled[n] else None
    out["late_swing_load"] = float(np.mean(loads)) if loads else None
    out["symmetry_pct"] = None
    if "L" in by_leg and "R" in by_leg:
        sym = paired_symmetry(by_leg["L"], by_leg["R"])
        out["symmetry_pct"] = sym["late_swing_peak_decel_dps2"]["median"]
    return out


def quiet_nanmedian(a: FloatArray, axis: int) -> FloatArray:
    """``np.nanmedian`` without the all-NaN warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanmedian(a, axis=axis), dtype=float)
