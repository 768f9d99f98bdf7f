"""The trend report: per week running time, time at speedwork intensity and uphill,
late-swing load (the runner's hamstring-load budget), tibia angle at foot strike and
symmetry — and in return-to-run mode the review against the pre-injury runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from strideguard.history.intensity import Reference
from strideguard.history.store import History, RecoveryPeriod
from strideguard.history.trends import (
    FIRST_WEEK_MAX_SHARE,
    INTENSITY_ALLOWANCE_S,
    MAX_WEEKLY_RISE,
    PRE_INJURY_DAYS,
    STEEP_RISE,
    RecoveryReview,
    RunLoad,
    Week,
    review_recovery,
    run_loads,
    weekly,
)
from strideguard.report import page as pg
from strideguard.report import plots
from strideguard.report.run import leg_name, local_text, mmss, symmetry_words
from strideguard.report.texts import EXPLANATIONS, NO_DIAGNOSIS

COMPARED_LABELS = {
    "cadence_spm": ("cadence", "steps/min", 1.0, 0),
    "shank_angle_at_ic_deg": ("tibia angle", "°", 1.0, 1),
    "contact_time_s": ("contact time", "ms", 1000.0, 0),
    "peak_midswing_gyr_dps": ("swing speed", "°/s", 1.0, 0),
    "late_swing_peak_decel_dps2": ("late-swing braking", "k°/s²", 1e-3, 1),
    "symmetry_pct": ("L/R braking", "%", 1.0, 1),
}


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f}"


def _week_label(w: Week) -> str:
    return f"{w.start.day} {w.start:%b}"


def trend_report_html(
    history: History,
    *,
    weeks: int = 12,
    include_simulated: bool = False,
    now: datetime | None = None,
) -> tuple[str, dict[str, Any]]:
    """The trend report over the last ``weeks`` calendar weeks.

    Returns
    -------
    html, info
        The page, and ``{"end": "YYYY-MM-DD", "runs": n, "warnings": [...]}``.
    """
    now = now or datetime.now(UTC)
    today = now.astimezone().date()
    first_day = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    start = datetime.combine(first_day, datetime.min.time()).astimezone().astimezone(UTC)
    periods = [p for p in history.recovery_periods() if p.ended_utc is None or p.ended_utc >= start]
    load_from = min([start] + [p.started_utc - timedelta(days=PRE_INJURY_DAYS) for p in periods])
    rows = history.list_runs(since=load_from, include_simulated=include_simulated)
    period = periods[-1] if periods else None
    if period is not None:
        pre_rows = [
            r
            for r in rows
            if period.started_utc - timedelta(days=PRE_INJURY_DAYS)
            <= datetime.fromtimestamp(r["started_unix_s"], UTC)
            < period.started_utc
        ]
        ref = Reference.from_runs(pre_rows, "your runs in the 4 weeks before the injury")
    else:
        ref = None
    if ref is None:
        ref = Reference.from_runs(
            [r for r in rows if r["started_unix_s"] >= start.timestamp()],
            "your runs in this period",
        )
    loads = run_loads(history, rows, ref)
    shown = [r for r in loads if r.started_utc >= start]
    week_rows = weekly(shown, leg=None)
    review = review_recovery(period, loads, now=now) if period is not None else None
    title = f"Training trend — {weeks} week{'s' if weeks != 1 else ''} to {today:%d %b %Y}"
    parts = [f"<h1>{pg.esc(title)}</h1>"]
    parts.append(
        f'<p class="sub">{len(shown)} run{"s" if len(shown) != 1 else ""} since '
        f"{first_day:%a %d %b %Y}"
        + ("" if include_simulated else " (simulated runs left out)")
        + "</p>"
    )
    if not shown:
        parts.append("<p>No runs in this period.</p>")
    else:
        parts.append(_weekly_section(week_rows, ref))
        parts.append(_runs_section(shown))
    if review is not None:
        parts.append(_recovery_section(review))
    parts.append('<h2>How this is worked out</h2><dl class="explain">')
    for key in ("late_swing_load", "speedwork", "uphill", "symmetry_pct", "shank_angle_at_ic_deg"):
        n, unit, text = EXPLANATIONS[key]
        parts.append(f"<dt>{pg.esc(n)} ({pg.esc(unit)})</dt><dd>{pg.esc(text)}</dd>")
    parts.append(
        f"<dt>Reference</dt><dd>{pg.esc('Intensity is judged against ' + (ref.source if ref else 'nothing (no runs)') + '.')}</dd>"
    )
    parts.append(
        "<dt>Weeks</dt><dd>Calendar weeks, Monday to Sunday, local time. Recovery weeks are "
        "7-day blocks from the day return-to-run mode started.</dd></dl>"
    )
    parts.append(f"<p>{pg.esc(NO_DIAGNOSIS)}</p>")
    parts.append(pg.footer(f"strideguard trend report · made {local_text(now)}"))
    info: dict[str, Any] = {
        "end": f"{today:%Y-%m-%d}",
        "runs": len(shown),
        "warnings": [t for _, t in review.warnings] if review else [],
    }
    return pg.page(title, "\n".join(parts)), info


def _weekly_section(week_rows: list[Week], ref: Reference | None) -> str:
    parts = ["<h2>Week by week</h2>"]
    rows = []
    cell_classes = []
    for w in week_rows:
        change = "—" if w.change is None else f"{100 * w.change:+.0f} %"
        steep = w.change is not None and w.change > STEEP_RISE
        rows.append(
            [
                f"{w.start:%d %b}",
                str(len(w.runs)),
                mmss(w.running_s) if w.runs else "—",
                _minutes(w.speedwork_s) if w.runs else "—",
                _minutes(w.uphill_s) if w.runs else "—",
                f"{w.load:.1f}" if w.runs else "—",
                change + (" steep" if steep else ""),
                "—" if w.shank_angle_deg is None else f"{w.shank_angle_deg:+.1f}°",
                symmetry_words(w.symmetry_pct),
            ]
        )
        cell_classes.append(["", "", "", "", "", "", "flag" if steep else "", "", ""])
    parts.append(
        pg.table(
            [
                "week of",
                "runs",
                "running",
                "speedwork min",
                "uphill min",
                "late-swing load",
                "load change",
                "tibia angle",
                "L/R braking",
            ],
            rows,
            numeric=(1, 2, 3, 4, 5, 6),
            cell_classes=cell_classes,
        )
    )
    parts.append(
        f'<p class="sub">"steep": more than {100 * STEEP_RISE:.0f} % above the week before '
        "(Nielsen 2014: novice runners who raised their weekly distance by more than 30 % got "
        "injured more often).</p>"
    )
    labels = [_week_label(w) for w in week_rows]
    easy = [max(w.running_s - w.speedwork_s - w.uphill_s, 0.0) / 60 for w in week_rows]
    parts.append(
        pg.figure(
            plots.weekly_bars(
                labels,
                [
                    ("easy/steady", easy, "#90a4ae"),
                    ("speedwork", [w.speedwork_s / 60 for w in week_rows], "#d84315"),
                    ("uphill", [w.uphill_s / 60 for w in week_rows], "#6d4c41"),
                ],
                ylabel="running time (min)",
            ),
            "running time per week",
            "Running time per week, split into easy/steady, speedwork and uphill running.",
        )
    )
    runs_load = [w.load if w.runs else None for w in week_rows]
    parts.append(
        pg.figure(
            plots.weekly_bars(
                labels,
                [("late-swing load", [v or 0.0 for v in runs_load], "#5e35b1")],
                ylabel="late-swing load (units)",
            ),
            "late-swing load per week",
            "Late-swing load per week: your hamstring-load budget (strides weighted by how hard "
            "each braked before foot strike).",
        )
    )
    parts.append(
        pg.figure(
            plots.weekly_line(
                labels,
                [("tibia angle", [w.shank_angle_deg for w in week_rows], "#00897b")],
                ylabel="tibia angle at foot strike (°)",
            ),
            "tibia angle per week",
            "Median tibia angle at foot strike per week (lower is closer to vertical).",
        )
    )
    if any(w.symmetry_pct is not None for w in week_rows):
        parts.append(
            pg.figure(
                plots.weekly_line(
                    labels,
                    [("right vs left", [w.symmetry_pct for w in week_rows], "#3949ab")],
                    ylabel="L/R braking (%)",
                ),
                "symmetry per week",
                "Left/right symmetry of the late-swing braking per week (two-sensor runs; "
                "positive: the right leg brakes harder).",
            )
        )
    return "\n".join(parts)


def _runs_section(loads: list[RunLoad]) -> str:
    """Every run of the period with its own late-swing load and intensity."""
    rows = []
    classes = []
    for r in loads:
        lt = r.started_utc.astimezone()
        alerts = []
        if r.max_severity:
            alerts.append(str(r.max_severity))
        if r.n_pain_marks:
            alerts.append("pain")
        rows.append(
            [
                f"{lt:%a} {lt.day} {lt:%b %H:%M}",
                mmss(r.running_s),
                "—" if r.load is None else f"{r.load:.1f}",
                _minutes(r.speedwork_s),
                _minutes(r.uphill_s),
                ", ".join(alerts) or "—",
            ]
        )
        classes.append(
            "stop" if r.max_severity == "stop" else ("caution" if r.n_pain_marks else "")
        )
    return "<h3>Runs</h3>" + pg.table(
        ["run", "running", "late-swing load", "speedwork min", "uphill min", "alerts"],
        rows,
        numeric=(1, 2, 3, 4),
        row_classes=classes,
    )


def _recovery_section(review: RecoveryReview) -> str:
    p: RecoveryPeriod = review.period
    leg = leg_name(p.leg)
    parts = [f"<h2>Return to run: {pg.esc(leg)} leg</h2>"]
    span = (
        f"since {local_text(p.started_utc)}"
        if p.ended_utc is None
        else f"{local_text(p.started_utc)} – {local_text(p.ended_utc)}"
    )
    parts.append(
        f"<p>Return-to-run mode {pg.esc(span)}"
        + (f" ({pg.esc(p.note)})" if p.note else "")
        + ". Each run is compared with your runs in the "
        f"{PRE_INJURY_DAYS} days before, using the {pg.esc(leg)} leg where it had a sensor.</p>"
    )
    parts.append(
        '<ul class="advice"><li class="coach">'
        + pg.esc(
            f"The rule (conservative, see docs/history.md): the first week at most "
            f"{100 * FIRST_WEEK_MAX_SHARE:.0f} % of your pre-injury weekly late-swing load; then "
            f"at most +{100 * MAX_WEEKLY_RISE:.0f} % a week; speedwork and uphill time at most "
            f"+{100 * MAX_WEEKLY_RISE:.0f} % a week plus {INTENSITY_ALLOWANCE_S / 60:.0f} min. "
            "Pain while running, especially uphill or in speedwork, means back off."
        )
        + "</li></ul>"
    )
    if review.pre_weekly_load is not None:
        parts.append(
            pg.tiles(
                [
                    (f"{review.pre_weekly_load:.1f}", "pre-injury late-swing load per week"),
                    (mmss(review.pre_weekly_running_s or 0.0), "pre-injury running per week"),
                    (
                        f"{(review.pre_weekly_intensity_s or 0.0) / 60:.0f} min",
                        "pre-injury speedwork + uphill per week",
                    ),
                    (str(len(review.pre_runs)), "pre-injury runs"),
                ]
            )
        )
    else:
        parts.append(
            "<p>No runs in the 4 weeks before the injury: only the week-to-week rule applies.</p>"
        )
    if review.warnings:
        parts.append("<h3>Warnings</h3>")
        parts += [f'<div class="warn">{pg.esc(t)}</div>' for _, t in review.warnings]
    else:
        parts.append(
            '<ul class="advice"><li class="ok">No week broke the return-to-run rule so far.</li></ul>'
        )
    if review.weeks:
        labels = [f"wk {i + 1}" for i in range(len(review.weeks))]
        loads = [w.load for w in review.weeks]
        allowed: list[float | None] = []
        last: float | None = None
        for w in review.weeks:
            if last is None:
                allowed.append(
                    None
                    if review.pre_weekly_load is None
                    else FIRST_WEEK_MAX_SHARE * review.pre_weekly_load
                )
            else:
                allowed.append((1 + MAX_WEEKLY_RISE) * last)
            if w.runs:
                last = w.load
        pre = [review.pre_weekly_load] * len(loads)
        rows = []
        warned = {i for i, _ in review.warnings}
        for i, w in enumerate(review.weeks):
            rows.append(
                [
                    f"{labels[i]} ({w.start:%d %b})",
                    str(len(w.runs)),
                    mmss(w.running_s),
                    f"{w.load:.1f}",
                    "—" if allowed[i] is None else f"{allowed[i]:.1f}",
                    _minutes(w.intensity_s),
                    "over" if i in warned else "ok",
                ]
            )
        parts.append(
            pg.table(
                [
                    "recovery week",
                    "runs",
                    "running",
                    "load",
                    "allowed",
                    "speedwork+uphill min",
                    "rule",
                ],
                rows,
                numeric=(1, 2, 3, 4, 5),
                cell_classes=[
                    [
                        "",
                        "",
                        "",
                        "flag" if i in warned else "",
                        "",
                        "",
                        "flag" if i in warned else "",
                    ]
                    for i in range(len(rows))
                ],
            )
        )
        parts.append(
            pg.figure(
                plots.weekly_bars(
                    labels,
                    [("late-swing load", loads, "#5e35b1")],
                    ylabel="late-swing load (units)",
                    lines=[
                        ("allowed by the rule", allowed, "#c62828", "--o"),
                        ("pre-injury weekly", pre, "#2e7d32", ":"),
                    ],
                ),
                "recovery load per week",
                "Late-swing load per recovery week against what the rule allows and your "
                "pre-injury weekly level.",
            )
        )
    if review.comparisons:
        parts.append("<h3>Each run against before the injury</h3>")
        names = [
            n
            for n in COMPARED_LABELS
            if any(d.name == n for _, devs in review.comparisons for d in devs)
        ]
        head = ["run"] + [f"{COMPARED_LABELS[n][0]} ({COMPARED_LABELS[n][1]})" for n in names]
        rows = []
        classes = []
        for run, devs in review.comparisons:
            by = {d.name: d for d in devs}
            lt = run.started_utc.astimezone()
            row = [f"{lt:%a} {lt.day} {lt:%b}"]
            cls = [""]
            for n in names:
                d = by.get(n)
                _, _unit, scale, digits = COMPARED_LABELS[n]
                if d is None:
                    row.append("—")
                    cls.append("")
                    continue
                row.append(f"{d.value * scale:.{digits}f} ({d.delta * scale:+.{digits}f})")
                cls.append("flag" if d.flagged else "")
            rows.append(row)
            classes.append(cls)
        parts.append(pg.table(head, rows, numeric=tuple(range(1, len(head))), cell_classes=classes))
        parts.append(
            '<p class="sub">Value (difference from the pre-injury mean). Highlighted: further '
            "from the pre-injury runs than 2 standard deviations of their run-to-run spread "
            "(and at least 3 %, 1.5° or 3 points): the leg still runs differently.</p>"
        )
    return "\n".join(parts)
