"""The one-page episode summary: the run with the pain mark or the stop alert and the
runs of the four weeks before it, to take to a doctor or physiotherapist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from strideguard.errors import InputError
from strideguard.history.intensity import Reference
from strideguard.history.store import History
from strideguard.history.trends import PRE_INJURY_DAYS, run_loads, weekly
from strideguard.report import page as pg
from strideguard.report import plots
from strideguard.report.run import leg_name, local_text, mmss, symmetry_words
from strideguard.report.texts import NO_DIAGNOSIS

#: print on one A4 page: smaller type and plots
EPISODE_STYLE = """
@page { size: A4; margin: 12mm; }
@media print { body { font-size: 10.5px; } h1 { font-size: 15px; } h2 { font-size: 12px; margin: 8px 0 4px; }
  figure img { max-height: 55mm; width: auto; max-width: 100%; } table { font-size: 9.5px; } }
"""


def find_episode_run(history: History, ref: str | None, *, include_simulated: bool = False) -> int:
    """The run to summarise: ``ref`` if given, else the latest with a stop alert or pain mark.

    Raises
    ------
    InputError
        No such run.
    """
    if ref is not None:
        return history.resolve(ref)
    runs = history.list_runs(include_simulated=include_simulated)
    for r in reversed(runs):
        if r["max_severity"] == "stop" or r["n_pain_marks"]:
            return int(r["id"])
    raise InputError(
        "no run with a pain mark or a stop alert in the history: give the run (report --episode RUN)"
    )


def episode_report_html(
    history: History,
    run_id: int,
    *,
    include_simulated: bool = False,
    now: datetime | None = None,
) -> tuple[str, dict[str, Any]]:
    """The episode page for ``run_id``; returns the HTML and ``{"run_id", "runs_before"}``
    (``now``: for the footer)."""
    run = history.load_run(run_id)
    start = run.started_utc
    rows = history.list_runs(
        since=start - timedelta(days=PRE_INJURY_DAYS),
        until=start + timedelta(seconds=1),
        include_simulated=include_simulated or run.simulated,
    )
    if not any(r["id"] == run_id for r in rows):
        rows.append(next(r for r in history.list_runs(include_simulated=True) if r["id"] == run_id))
    before = [r for r in rows if r["id"] != run_id]
    ref = Reference.from_runs(before, "your runs before it") or Reference.from_runs(
        rows, "these runs"
    )
    loads = run_loads(history, rows, ref)
    pain = [(leg.leg, t) for leg in run.legs for t in leg.pain_marks_s]
    raising = sorted(
        (dict(a, leg=a.get("leg") or leg.leg) for leg in run.legs for a in leg.raising_alerts()),
        key=lambda a: float(a["time_s"]),
    )
    legs = sorted(
        {x for x, _ in pain if x}
        | {a["leg"] for a in raising if a.get("severity") == "stop" and a.get("leg")}
    )
    which = (
        " and ".join(leg_name(x) for x in legs) + (" leg" if len(legs) == 1 else " legs")
        if legs
        else "a leg"
    )
    title = f"Running summary for an appointment — {which}, {local_text(start)}"
    answer = history.answer_for(run_id)
    parts = [f"<h1>{pg.esc(title)}</h1>"]
    parts.append(
        f'<p class="sub">From a shin-mounted running sensor (strideguard). {pg.esc(NO_DIAGNOSIS)}</p>'
    )
    facts = [
        (mmss(run.duration_s), "run length"),
        (str(len(pain)), "pain marks"),
        (str(sum(1 for a in raising if a.get("severity") == "stop")), "stop alerts"),
        (
            {"yes": "still hurt", "no": "no pain", "skipped": "skipped"}.get(
                answer or "", "not asked yet"
            ),
            "next day",
        ),
    ]
    parts.append("<h2>The run</h2>" + pg.tiles(facts))
    events = [
        [mmss(t), leg_name(x), "pain marked", "the runner pressed “pain now”"] for x, t in pain
    ] + [
        [
            mmss(float(a["time_s"])),
            leg_name(a.get("leg")),
            str(a.get("title")),
            str(a.get("reason")),
        ]
        for a in raising
        if a.get("severity") in ("stop", "caution")
    ]
    events.sort(key=lambda e: [int(p) for p in e[0].split(":")])
    if events:
        parts.append(pg.table(["time", "leg", "what", "details"], events))
    # the affected leg's swing speed and late-swing braking through the run
    series = []
    for leg in run.legs:
        from strideguard.history.stats import per_minute

        if leg.leg in legs or not legs:
            m, v = per_minute(leg.strides, "late_swing_peak_decel_dps2")
            if np.isfinite(v).any():
                series.append((leg.leg, m, v / 1000.0))
    if series:
        parts.append(
            pg.figure(
                plots.per_minute_plot(
                    series,
                    ylabel="late-swing braking (k°/s²)",
                    markers=[a for a in raising if a.get("severity") == "stop"],
                ),
                "late-swing braking through the run",
                "Late-swing braking per minute (how hard the hamstrings slowed the shin before foot "
                "strike); red line: stop alert.",
            )
        )
    parts.append(f"<h2>The {PRE_INJURY_DAYS} days before</h2>")
    if before:
        table_rows = []
        for r, load in zip(rows, loads, strict=True):
            alerts = []
            if r["max_severity"]:
                alerts.append(str(r["max_severity"]))
            if r["n_pain_marks"]:
                alerts.append("pain")
            table_rows.append(
                [
                    local_text(datetime.fromtimestamp(r["started_unix_s"], UTC)),
                    mmss(r["duration_s"]),
                    "—" if r["cadence_spm"] is None else f"{r['cadence_spm']:.0f}",
                    "—"
                    if r["shank_angle_at_ic_deg"] is None
                    else f"{r['shank_angle_at_ic_deg']:+.1f}°",
                    "—" if load.load is None else f"{load.load:.1f}",
                    f"{load.intensity_s / 60:.0f}",
                    symmetry_words(r["symmetry_pct"]),
                    ", ".join(alerts) or "—",
                ]
            )
        parts.append(
            pg.table(
                [
                    "run",
                    "length",
                    "cadence",
                    "tibia angle",
                    "late-swing load",
                    "fast/uphill min",
                    "L/R braking",
                    "alerts",
                ],
                table_rows,
                numeric=(1, 2, 3, 4, 5),
                row_classes=["caution" if r["id"] == run_id else "" for r in rows],
            )
        )
        weeks = weekly(loads)
        parts.append(
            "<p>Weekly late-swing load (hamstring-load budget): "
            + pg.esc(", ".join(f"week of {w.start:%d %b}: {w.load:.1f}" for w in weeks))
            + ".</p>"
        )
    else:
        parts.append("<p>No runs recorded in the four weeks before.</p>")
    parts.append(
        '<p class="sub">Cadence in steps/min; tibia angle at foot strike (positive: the ankle lands '
        "ahead of the knee); late-swing load: strides weighted by how hard the hamstrings braked "
        "the shin before foot strike (10⁶ °/s² per unit); L/R braking: which leg braked harder.</p>"
    )
    parts.append(
        pg.footer(
            f"strideguard episode summary · run {run_id} · made {local_text(now or datetime.now(UTC))}"
        )
    )
    return pg.page(title, "\n".join(parts), extra_style=EPISODE_STYLE), {
        "run_id": run_id,
        "runs_before": len(before),
    }
