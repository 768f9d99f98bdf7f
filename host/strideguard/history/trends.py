"""Trends across runs: weekly running time, intensity and late-swing load, and the
return-to-run rule.

:func:`run_loads` turns stored runs into per-run totals (running time, time at
speedwork intensity and uphill, late-swing load per leg, medians);
:func:`weekly` sums them per calendar week (Monday to Sunday, local time).
:func:`review_recovery` checks a return-to-run period (``strideguard recovery
start --leg R`` … ``recovery end``) against the pre-injury baseline with a
deliberately conservative rule (module constants below, reasons in
``docs/history.md``):

* the first week's late-swing load stays at or below :data:`FIRST_WEEK_MAX_SHARE`
  of the pre-injury weekly average;
* each later week's load rises by at most :data:`MAX_WEEKLY_RISE` (10 %) over the
  week before (after a week without running, over the last week with running);
* time at speedwork intensity or uphill rises by at most 10 % a week plus
  :data:`INTENSITY_ALLOWANCE_S` (so it can come back at all, slowly); the article
  behind the product: strains "hurt when running, especially uphill or doing speedwork".

Recovery weeks are 7-day blocks counted from the day recovery mode started.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import numpy as np

from strideguard.history.intensity import Reference, intensity_times
from strideguard.history.stats import (
    late_swing_load,
    nanmedian,
    paired_symmetry,
    running_mask,
    running_median,
)
from strideguard.history.store import History, RecoveryPeriod

#: the stride columns trends read
TREND_COLUMNS: tuple[str, ...] = (
    "initial_contact_s",
    "next_initial_contact_s",  # the legs' strides are paired in time for symmetry
    "stride_time_s",
    "cadence_spm",
    "contact_time_s",
    "duty_factor",
    "peak_midswing_gyr_dps",
    "late_swing_peak_decel_dps2",
    "shank_angle_at_ic_deg",
)
#: per-run medians compared with the pre-injury runs (name, unit, absolute floor or relative floor)
COMPARED: tuple[tuple[str, str], ...] = (
    ("cadence_spm", "steps/min"),
    ("shank_angle_at_ic_deg", "°"),
    ("contact_time_s", "s"),
    ("peak_midswing_gyr_dps", "°/s"),
    ("late_swing_peak_decel_dps2", "°/s²"),
)
#: the return-to-run rule (see the module docstring and docs/history.md)
MAX_WEEKLY_RISE = 0.10
FIRST_WEEK_MAX_SHARE = 0.5
INTENSITY_ALLOWANCE_S = 120.0
PRE_INJURY_DAYS = 28
#: outside recovery mode, a week-over-week load rise above this is marked as steep
#: (Nielsen 2014: novice runners who raised weekly distance by more than 30 % got more injuries)
STEEP_RISE = 0.30
#: a run differs from before the injury when it is further than 2 SD of the pre-injury
#: runs from their mean, and at least this far (relative, or absolute for the angle and symmetry)
RELATIVE_FLOOR = 0.03
ANGLE_FLOOR_DEG = 1.5
SYMMETRY_FLOOR_PCT = 3.0


@dataclass
class RunLoad:
    """One run's totals for the trends.

    Attributes
    ----------
    run_id, started_utc
        Which run.
    running_s, speedwork_s, uphill_s
        Time running, at speedwork intensity and uphill (the longest leg's).
    load
        Late-swing load (mean over the measured legs), load units.
    load_by_leg
        ``{"L": …, "R": …}`` for the legs with a sensor.
    medians_by_leg
        Per leg, the medians of :data:`COMPARED` over running strides.
    symmetry_pct
        Late-swing deceleration symmetry (right vs left), two-sensor runs only.
    max_severity, n_pain_marks
        From the listing.
    """

    run_id: int
    started_utc: datetime
    running_s: float
    speedwork_s: float
    uphill_s: float
    load: float | None
    load_by_leg: dict[str, float] = field(default_factory=dict)
    medians_by_leg: dict[str, dict[str, float | None]] = field(default_factory=dict)
    symmetry_pct: float | None = None
    max_severity: str | None = None
    n_pain_marks: int = 0

    def leg_load(self, leg: str | None) -> float | None:
        """The load of ``leg`` when it was measured, else the mean over the legs."""
        if leg is not None and leg in self.load_by_leg:
            return self.load_by_leg[leg]
        return self.load

    def median(self, name: str, leg: str | None = None) -> float | None:
        """Median of ``name`` on ``leg`` (or over the legs' medians when it has no sensor)."""
        if leg is not None and leg in self.medians_by_leg:
            return self.medians_by_leg[leg].get(name)
        vals = [m.get(name) for m in self.medians_by_leg.values()]
        good = [v for v in vals if v is not None]
        return float(np.mean(good)) if good else None

    @property
    def intensity_s(self) -> float:
        """Speedwork plus uphill time."""
        return self.speedwork_s + self.uphill_s


def run_loads(
    history: History, rows: Sequence[dict[str, Any]], reference: Reference | None
) -> list[RunLoad]:
    """Per-run totals for listing rows (from :meth:`History.list_runs`), in their order."""
    strides = history.strides_of_runs([r["id"] for r in rows], TREND_COLUMNS)
    out: list[RunLoad] = []
    for r in rows:
        legs = strides.get(r["id"], [])
        times = {"running_s": 0.0, "speedwork_s": 0.0, "uphill_s": 0.0}
        load_by_leg: dict[str, float] = {}
        medians: dict[str, dict[str, float | None]] = {}
        loads: list[float] = []
        for k, (leg, table) in enumerate(legs):
            key = leg if leg in ("L", "R") else f"?{k}"
            t = intensity_times(table, reference)
            for name in times:
                times[name] = max(times[name], t[name])
            m = running_mask(table)
            if m.any():
                val = late_swing_load(table, m)
                loads.append(val)
                load_by_leg[key] = val
            medians[key] = {name: running_median(table, name) for name, _ in COMPARED}
        sym = None
        by_leg = {leg: table for leg, table in legs if leg in ("L", "R")}
        if "L" in by_leg and "R" in by_leg and "L" in medians and "R" in medians:
            sym = paired_symmetry(by_leg["L"], by_leg["R"])["late_swing_peak_decel_dps2"]["median"]
        out.append(
            RunLoad(
                run_id=int(r["id"]),
                started_utc=datetime.fromtimestamp(r["started_unix_s"], UTC),
                load=float(np.mean(loads)) if loads else None,
                load_by_leg=load_by_leg,
                medians_by_leg=medians,
                symmetry_pct=sym,
                max_severity=r.get("max_severity"),
                n_pain_marks=int(r.get("n_pain_marks") or 0),
                **times,
            )
        )
    return out


@dataclass
class Week:
    """Totals of one week (or one recovery week).

    Attributes
    ----------
    start
        First day (a Monday for calendar weeks).
    runs
        The week's runs.
    running_s, speedwork_s, uphill_s, load
        Summed over the runs (``load``: see :meth:`RunLoad.leg_load`).
    shank_angle_deg, symmetry_pct
        Medians of the runs' values (``None`` without any).
    change
        Load relative to the previous week (0.25 = +25 %), ``None`` when the
        previous week had no load.
    """

    start: date
    runs: list[RunLoad]
    running_s: float
    speedwork_s: float
    uphill_s: float
    load: float
    shank_angle_deg: float | None
    symmetry_pct: float | None
    change: float | None = None

    @property
    def intensity_s(self) -> float:
        """Speedwork plus uphill time."""
        return self.speedwork_s + self.uphill_s


def local_date(t: datetime, tz: tzinfo | None = None) -> date:
    """The calendar day of ``t`` in ``tz`` (default: this machine's time zone)."""
    return t.astimezone(tz).date()


def _week(start: date, runs: list[RunLoad], leg: str | None) -> Week:
    angles = [a for a in (r.median("shank_angle_at_ic_deg", leg) for r in runs) if a is not None]
    syms = [r.symmetry_pct for r in runs if r.symmetry_pct is not None]
    return Week(
        start=start,
        runs=runs,
        running_s=sum(r.running_s for r in runs),
        speedwork_s=sum(r.speedwork_s for r in runs),
        uphill_s=sum(r.uphill_s for r in runs),
        load=sum(r.leg_load(leg) or 0.0 for r in runs),
        shank_angle_deg=float(np.median(angles)) if angles else None,
        symmetry_pct=float(np.median(syms)) if syms else None,
    )


def _with_changes(weeks: list[Week]) -> list[Week]:
    last_load = 0.0
    for w in weeks:
        w.change = (w.load / last_load - 1.0) if last_load > 0 and w.runs else None
        if w.runs:
            last_load = w.load
    return weeks


def weekly(
    loads: Sequence[RunLoad], *, tz: tzinfo | None = None, leg: str | None = None
) -> list[Week]:
    """Calendar weeks (Monday to Sunday, local time) from the first run's to the last run's,
    empty weeks included, each with its totals and its load change."""
    if not loads:
        return []
    days = [local_date(r.started_utc, tz) for r in loads]
    first = min(days) - timedelta(days=min(days).weekday())
    last = max(days)
    weeks: list[Week] = []
    start = first
    while start <= last:
        end = start + timedelta(days=7)
        runs = [r for r, d in zip(loads, days, strict=True) if start <= d < end]
        weeks.append(_week(start, runs, leg))
        start = end
    return _with_changes(weeks)


@dataclass
class Deviation:
    """One compared number of a recovery run against the pre-injury runs."""

    name: str
    unit: str
    value: float
    pre_mean: float
    pre_sd: float
    flagged: bool

    @property
    def delta(self) -> float:
        """``value − pre_mean``."""
        return self.value - self.pre_mean


@dataclass
class RecoveryReview:
    """A return-to-run period checked against the rule (see the module docstring).

    Attributes
    ----------
    period
        The period.
    pre_runs
        Runs in the :data:`PRE_INJURY_DAYS` before it started.
    pre_weekly_load, pre_weekly_running_s, pre_weekly_intensity_s
        Their weekly averages (``None`` without pre-injury runs).
    weeks
        7-day blocks from the start, up to the period's end (or now).
    warnings
        ``(week index, text)`` for every week the rule was broken.
    comparisons
        Per run in the period: its :class:`Deviation` list.
    """

    period: RecoveryPeriod
    pre_runs: list[RunLoad]
    pre_weekly_load: float | None
    pre_weekly_running_s: float | None
    pre_weekly_intensity_s: float | None
    weeks: list[Week]
    warnings: list[tuple[int, str]]
    comparisons: list[tuple[RunLoad, list[Deviation]]]


def _pre_weeks(pre: Sequence[RunLoad], start: datetime) -> float:
    """Weeks the pre-injury runs cover: up to 4, at least 1 (a short history is not diluted)."""
    if not pre:
        return 1.0
    span_days = (start - min(r.started_utc for r in pre)).total_seconds() / 86400.0
    return float(min(PRE_INJURY_DAYS / 7, max(1, int(np.ceil(span_days / 7.0)))))


def review_recovery(
    period: RecoveryPeriod, loads: Sequence[RunLoad], *, now: datetime | None = None
) -> RecoveryReview:
    """Check a return-to-run period: weekly load and intensity rises, and each run
    against the pre-injury runs.

    Parameters
    ----------
    period
        The period (its leg is the injured one).
    loads
        Runs (any order) covering at least the pre-injury days and the period.
    now
        End of an open period (default: now).
    """
    leg = period.leg
    start = period.started_utc
    end = period.ended_utc or (now or datetime.now(UTC))
    pre = [r for r in loads if start - timedelta(days=PRE_INJURY_DAYS) <= r.started_utc < start]
    inside = sorted((r for r in loads if start <= r.started_utc < end), key=lambda r: r.started_utc)
    n_pre_weeks = _pre_weeks(pre, start)
    pre_load = sum(r.leg_load(leg) or 0.0 for r in pre) / n_pre_weeks if pre else None
    pre_run = sum(r.running_s for r in pre) / n_pre_weeks if pre else None
    pre_int = sum(r.intensity_s for r in pre) / n_pre_weeks if pre else None
    weeks: list[Week] = []
    k = 0
    while start + timedelta(days=7 * k) < end:
        a = start + timedelta(days=7 * k)
        b = a + timedelta(days=7)
        runs = [r for r in inside if a <= r.started_utc < b]
        weeks.append(_week(a.astimezone().date(), runs, leg))
        k += 1
    _with_changes(weeks)
    warnings: list[tuple[int, str]] = []
    last_load: float | None = None
    last_int: float | None = None
    for i, w in enumerate(weeks):
        label = f"Recovery week {i + 1} (from {w.start:%a %d %b})"
        if not w.runs:
            continue
        if last_load is None:
            if pre_load and w.load > FIRST_WEEK_MAX_SHARE * pre_load:
                warnings.append(
                    (
                        i,
                        f"{label}: late-swing load {w.load:.1f} is "
                        f"{100 * w.load / pre_load:.0f} % of your pre-injury weekly "
                        f"{pre_load:.1f}; start at no more than "
                        f"{100 * FIRST_WEEK_MAX_SHARE:.0f} %.",
                    )
                )
            if w.intensity_s > INTENSITY_ALLOWANCE_S:
                warnings.append(
                    (
                        i,
                        f"{label}: {w.intensity_s / 60:.1f} min of speedwork or uphill running "
                        "in the first week back; keep the first week easy and flat.",
                    )
                )
        else:
            if last_load > 0 and w.load > (1.0 + MAX_WEEKLY_RISE) * last_load:
                warnings.append(
                    (
                        i,
                        f"{label}: late-swing load {w.load:.1f} is "
                        f"{100 * (w.load / last_load - 1):.0f} % above the previous running "
                        f"week's {last_load:.1f}; the return-to-run rule allows at most "
                        f"+{100 * MAX_WEEKLY_RISE:.0f} % a week.",
                    )
                )
            allowed = (1.0 + MAX_WEEKLY_RISE) * (last_int or 0.0) + INTENSITY_ALLOWANCE_S
            if w.intensity_s > allowed:
                warnings.append(
                    (
                        i,
                        f"{label}: {w.intensity_s / 60:.1f} min of speedwork or uphill running "
                        f"after {(last_int or 0.0) / 60:.1f} min the week before; add at most "
                        f"{100 * MAX_WEEKLY_RISE:.0f} % a week (+{INTENSITY_ALLOWANCE_S / 60:.0f} min).",
                    )
                )
        last_load, last_int = w.load, w.intensity_s
    comparisons = [(r, compare_with_pre_injury(r, pre, leg)) for r in inside]
    return RecoveryReview(
        period=period,
        pre_runs=pre,
        pre_weekly_load=pre_load,
        pre_weekly_running_s=pre_run,
        pre_weekly_intensity_s=pre_int,
        weeks=weeks,
        warnings=warnings,
        comparisons=comparisons,
    )


def compare_with_pre_injury(
    run: RunLoad, pre: Iterable[RunLoad], leg: str | None
) -> list[Deviation]:
    """The run's medians (``leg``'s when it had a sensor) against the pre-injury runs'."""
    pre = list(pre)
    out: list[Deviation] = []
    for name, unit in COMPARED:
        value = run.median(name, leg)
        ref = [v for v in (r.median(name, leg) for r in pre) if v is not None]
        if value is None or not ref:
            continue
        mean = float(np.mean(ref))
        sd = float(np.std(ref, ddof=1)) if len(ref) > 1 else 0.0
        floor = ANGLE_FLOOR_DEG if name == "shank_angle_at_ic_deg" else RELATIVE_FLOOR * abs(mean)
        out.append(Deviation(name, unit, value, mean, sd, abs(value - mean) > max(2 * sd, floor)))
    if run.symmetry_pct is not None:
        ref = [r.symmetry_pct for r in pre if r.symmetry_pct is not None]
        if ref:
            mean = float(np.mean(ref))
            sd = float(np.std(ref, ddof=1)) if len(ref) > 1 else 0.0
            out.append(
                Deviation(
                    "symmetry_pct",
                    "%",
                    run.symmetry_pct,
                    mean,
                    sd,
                    abs(run.symmetry_pct - mean) > max(2 * sd, SYMMETRY_FLOOR_PCT),
                )
            )
    return out


def median_or_none(values: Iterable[float | None]) -> float | None:
    """Median of the given numbers, ignoring ``None``."""
    return nanmedian(np.array([v for v in values if v is not None], dtype=float))
