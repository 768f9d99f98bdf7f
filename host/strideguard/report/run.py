"""The post-run report: one run at a glance, per-minute plots with the runner's
baseline band, where the cues and alerts happened, left vs right, what to do,
and what every number means."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from strideguard.alerts.config import AlertConfig
from strideguard.history.record import SEVERITY_ORDER, LegRun, RunRecord
from strideguard.history.stats import (
    FloatArray,
    column,
    lr_symmetry_pct,
    paired_symmetry,
    paired_symmetry_per_minute,
    per_minute,
    percentile_band,
    running_mask,
    running_median,
)
from strideguard.report import page as pg
from strideguard.report import plots
from strideguard.report.texts import EXPLANATIONS, NO_DIAGNOSIS, advice

#: the per-minute plots: column, axis label, scale applied to the values
PLOTTED: tuple[tuple[str, str, float], ...] = (
    ("cadence_spm", "cadence (steps/min)", 1.0),
    ("shank_angle_at_ic_deg", "tibia angle at foot strike (°)", 1.0),
    ("peak_tibial_accel_g", "shock (g)", 1.0),
    ("late_swing_peak_decel_dps2", "late-swing braking (k°/s²)", 1e-3),
)
#: compared left vs right (column, label, unit, scale, decimals)
LR_METRICS: tuple[tuple[str, str, str, float, int], ...] = (
    ("cadence_spm", "cadence", "steps/min", 1.0, 0),
    ("contact_time_s", "contact time", "ms", 1000.0, 0),
    ("shank_angle_at_ic_deg", "tibia angle at foot strike", "°", 1.0, 1),
    ("peak_midswing_gyr_dps", "swing speed", "°/s", 1.0, 0),
    ("late_swing_peak_decel_dps2", "late-swing braking", "k°/s²", 1e-3, 1),
    ("peak_tibial_accel_g", "shock", "g", 1.0, 1),
)


#: the features of the per-minute left/right plot
LR_PER_MINUTE = ("contact_time_s", "peak_midswing_gyr_dps", "late_swing_peak_decel_dps2")


def lr_symmetry(run: RunRecord) -> dict[str, Any] | None:
    """The run's left/right symmetry from its paired strides (``None`` without both legs).

    The same pairing as the live view, ``analyze`` and the history's L/R column
    (:func:`strideguard.history.stats.paired_symmetry`): each right stride with
    the left stride that began during it.

    Returns
    -------
    dict
        ``run``: per feature the median (symmetry index % or difference °, right
        against left), IQR, pairs, unit, higher leg; ``minute``: minute indices;
        ``per_minute``: per feature of :data:`LR_PER_MINUTE`, the per-minute median
        of the pairs (NaN for a minute without pairs).
    """
    by_leg = {leg.leg: leg for leg in run.legs if leg.leg in ("L", "R")}
    if "L" not in by_leg or "R" not in by_leg:
        return None
    left, right = by_leg["L"].strides, by_leg["R"].strides
    minutes = max(len(per_minute(left, "cadence_spm")[0]), len(per_minute(right, "cadence_spm")[0]))
    minute, series = paired_symmetry_per_minute(left, right, LR_PER_MINUTE, minutes=minutes)
    return {"run": paired_symmetry(left, right), "minute": minute, "per_minute": series}


def mmss(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour)."""
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def local_text(t: datetime) -> str:
    """``Sat 5 Dec 2026, 07:12`` in local time."""
    lt = t.astimezone()
    return f"{lt:%a} {lt.day} {lt:%b %Y, %H:%M}"


def leg_name(leg: str | None, sensor: str = "") -> str:
    """``left``/``right`` or the sensor's name."""
    return {"L": "left", "R": "right"}.get(leg or "", sensor or "sensor")


def baseline_window(
    strides: dict[str, FloatArray], config: AlertConfig | None = None
) -> np.ndarray:
    """Strides in the baseline-learning window: running time from ``skip_s`` to ``skip_s + duration_s``
    (the alert engine's defaults, :class:`~strideguard.alerts.config.BaselineConfig`)."""
    cfg = (config or AlertConfig()).baseline
    run = running_mask(strides)
    st = np.where(run, np.nan_to_num(column(strides, "stride_time_s")), 0.0)
    order = np.argsort(column(strides, "initial_contact_s"), kind="stable")
    cum = np.empty_like(st)
    cum[order] = np.cumsum(st[order])
    return run & (cum >= cfg.skip_s) & (cum <= cfg.skip_s + cfg.duration_s)


def _band(legs: list[LegRun], name: str, scale: float) -> tuple[float, float] | None:
    vals = [column(leg.strides, name)[baseline_window(leg.strides)] for leg in legs]
    b = percentile_band(np.concatenate(vals) if vals else np.zeros(0))
    return None if b is None else (b[0] * scale, b[1] * scale)


def _pooled_median(legs: list[LegRun], name: str) -> float | None:
    vals = [column(leg.strides, name)[running_mask(leg.strides)] for leg in legs]
    v = np.concatenate(vals) if vals else np.zeros(0)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else None


def _fmt(v: float | None, digits: int = 0, unit: str = "", sign: bool = False) -> str:
    if v is None or not np.isfinite(v):
        return "—"
    text = f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"
    return f"{text} {unit}".rstrip() if unit and unit not in ("°", "%") else text + unit


def symmetry_words(si: float | None) -> str:
    """``right 4 % higher``, ``even``, ``—``."""
    if si is None or not np.isfinite(si):
        return "—"
    if abs(si) < 0.5:
        return "even"
    return f"{'right' if si > 0 else 'left'} {abs(si):.0f} % higher"


def verdict(run: RunRecord) -> tuple[str, str]:
    """The banner: ``(class, text)``."""
    raising = [a for leg in run.legs for a in leg.raising_alerts()]
    sev = max(
        (
            SEVERITY_ORDER.index(a["severity"])
            for a in raising
            if a.get("severity") in SEVERITY_ORDER
        ),
        default=-1,
    )
    pain = sum(len(leg.pain_marks_s) for leg in run.legs)
    if sev == 3:
        legs = sorted(
            {str(a["leg"]) for a in raising if a.get("severity") == "stop" and a.get("leg")}
        )
        where = " (" + " and ".join(leg_name(x) for x in legs) + " leg)" if legs else ""
        return "stop", f"Gait changed{where}: strideguard told you to stop and get checked."
    if pain:
        return "caution", f"You marked pain {pain} time{'s' if pain > 1 else ''} in this run."
    if sev == 2:
        return "caution", "Some unusual load in this run: see below."
    if sev == 1:
        return "coach", "Overstriding cues in this run: see what to do below."
    return "ok", "Nothing unusual in this run."


def run_report_html(run: RunRecord, *, now: datetime | None = None) -> str:
    """The complete report of one run as a self-contained HTML page (``now``: for the footer)."""
    legs = [leg for leg in run.legs if leg.n_strides]
    all_alerts = sorted(
        (
            dict(a, sensor=leg.sensor, leg=a.get("leg") or leg.leg)
            for leg in run.legs
            for a in leg.alerts
        ),
        key=lambda a: float(a.get("time_s") or 0.0),
    )
    raising = [a for a in all_alerts if a.get("state") in ("raised", "escalated")]
    n_pain = sum(len(leg.pain_marks_s) for leg in run.legs)
    summary = run.summary()
    title = f"Run {run.run_id if run.run_id is not None else ''} — {local_text(run.started_utc)}".replace(
        "Run  —", "Run —"
    )
    calibrated = run.angle_calibrated
    parts: list[str] = []
    badges = [f'<span class="badge">{esc_leg(run)}</span>']
    if run.simulated:
        badges.append('<span class="badge">simulated sensors</span>')
    parts.append(f"<h1>{pg.esc(title)}</h1>")
    parts.append(
        f'<p class="sub">{mmss(run.duration_s)} recorded · {" ".join(badges)} · '
        f"{'angles calibrated' if calibrated else 'angles relative (no standing calibration)'}</p>"
    )
    cls, text = verdict(run)
    parts.append(f'<div class="verdict {cls}">{pg.esc(text)}</div>')

    # ---- at a glance
    cad = summary["cadence_spm"]
    angle = summary["shank_angle_at_ic_deg"]
    shock = _pooled_median(legs, "peak_tibial_accel_g")
    decel = summary["late_swing_peak_decel_dps2"]
    glance = [
        (mmss(summary["running_time_s"]), "running time"),
        (str(summary["n_strides"]), "strides (all sensors)"),
        (_fmt(cad, 0), "cadence, steps/min"),
        (
            _fmt(angle, 1, "°", sign=True) + ("" if calibrated else " rel"),
            "tibia angle at foot strike",
        ),
        (_fmt(shock, 1), "shock, g"),
        (_fmt(None if decel is None else decel / 1000, 1), "late-swing braking, k°/s²"),
        (_fmt(summary["late_swing_load"], 1), "late-swing load, units"),
        (symmetry_words(summary["symmetry_pct"]), "left/right (braking)"),
        (str(len(raising)) + (f" · pain ×{n_pain}" if n_pain else ""), "alerts"),
    ]
    if run.distance_m is not None:
        glance.insert(1, (f"{run.distance_m / 1000:.2f} km", "distance"))
    parts.append("<h2>At a glance</h2>" + pg.tiles(glance))
    parts.append(
        '<p class="sub">Medians over the running strides; walking and standing are left out.</p>'
    )

    # ---- what to do
    items = advice(all_alerts, n_pain, cad)
    parts.append(
        '<h2>What to do</h2><ul class="advice">'
        + "".join(f'<li class="{c}">{pg.esc(t)}</li>' for c, t in items)
        + f"<li>{pg.esc(NO_DIAGNOSIS)}</li></ul>"
    )

    # ---- per-minute plots
    if legs:
        minutes = int(
            np.ceil(
                max(
                    float(np.nanmax(column(leg.strides, "initial_contact_s"), initial=0.0))
                    for leg in legs
                )
                / 60.0
                + 1e-9
            )
        )
        markers = [a for a in raising if a.get("severity") in ("stop", "coach", "caution")]
        parts.append("<h2>Minute by minute</h2>")
        parts.append(
            '<p class="sub">Each point is the median of one minute\'s running strides. The grey band '
            "is your baseline: the middle half of your strides in the stretch the alert engine "
            "learns your normal from (after the warm-up, minutes 1–3 of running). Vertical lines "
            "mark alerts: blue dotted = overstride cue, amber = caution, red = stop.</p>"
        )
        for name, label, scale in PLOTTED:
            series = []
            for leg in legs:
                m, v = per_minute(leg.strides, name, minutes=minutes)
                if np.isfinite(v).any():
                    series.append((leg.leg, m, v * scale))
            if not series:
                continue
            explain = EXPLANATIONS[name]
            uri = plots.per_minute_plot(
                series, ylabel=label, band=_band(legs, name, scale), markers=markers
            )
            parts.append(
                pg.figure(
                    uri, f"{explain[0]} per minute", f"{explain[0]} ({explain[1]}): {explain[2]}"
                )
            )

    # ---- alerts
    parts.append("<h2>Cues and alerts</h2>")
    if raising or n_pain:
        rows = []
        classes = []
        for a in raising:
            rows.append(
                [
                    mmss(float(a.get("time_s") or 0.0)),
                    leg_name(a.get("leg"), a.get("sensor", "")),
                    str(a.get("severity")),
                    str(a.get("title")),
                    str(a.get("reason")),
                ]
            )
            classes.append(str(a.get("severity")))
        for leg in run.legs:
            for t in leg.pain_marks_s:
                rows.append(
                    [
                        mmss(t),
                        leg_name(leg.leg, leg.sensor),
                        "pain",
                        "Pain marked",
                        "you pressed “pain now” on the sensor",
                    ]
                )
                classes.append("caution")
        order = sorted(range(len(rows)), key=lambda i: _seconds(rows[i][0]))
        parts.append(
            pg.table(
                ["time", "leg", "kind", "what", "why"],
                [rows[i] for i in order],
                row_classes=[classes[i] for i in order],
            )
        )
    else:
        parts.append("<p>No cues or alerts in this run.</p>")

    # ---- left vs right
    by_leg = {leg.leg: leg for leg in legs if leg.leg in ("L", "R")}
    sym = lr_symmetry(run)
    if "L" in by_leg and "R" in by_leg and sym is not None:
        parts.append("<h2>Left and right</h2>")
        parts.append(
            '<p class="sub">The difference is the median over pairs of strides (each right '
            "stride with the left stride that began during it), as live and in "
            "<code>analyze</code>.</p>"
        )
        rows = []
        for name, label, unit, scale, digits in LR_METRICS:
            lv = running_median(by_leg["L"].strides, name)
            rv = running_median(by_leg["R"].strides, name)
            paired = sym["run"].get(name)
            if paired is not None:
                med = paired["median"]
                if name == "shank_angle_at_ic_deg":
                    # an angle near 0° has no meaningful percentage: the difference in degrees
                    diff = "—" if med is None else f"right {med:+.1f}°"
                else:
                    diff = symmetry_words(med)
            else:  # not a per-stride feature of the pairing (cadence: shared by both legs)
                diff = symmetry_words(None if lv is None or rv is None else lr_symmetry_pct(lv, rv))
            rows.append(
                [
                    f"{label} ({unit})",
                    _fmt(None if lv is None else lv * scale, digits),
                    _fmt(None if rv is None else rv * scale, digits),
                    diff,
                ]
            )
        parts.append(pg.table(["", "left", "right", "difference"], rows, numeric=(1, 2)))
        sym_series: list[tuple[str, FloatArray, FloatArray]] = [
            (label, sym["minute"], sym["per_minute"][name])
            for name, label, _unit, _scale, _digits in LR_METRICS
            if name in LR_PER_MINUTE
        ]
        parts.append(
            pg.figure(
                plots.symmetry_plot(sym_series),
                "left/right symmetry per minute",
                f"{EXPLANATIONS['symmetry_pct'][0]} per minute: {EXPLANATIONS['symmetry_pct'][2]}",
            )
        )

    # ---- explanations
    parts.append('<h2>What the numbers mean</h2><dl class="explain">')
    for name in (
        "cadence_spm",
        "shank_angle_at_ic_deg",
        "peak_tibial_accel_g",
        "late_swing_peak_decel_dps2",
        "peak_midswing_gyr_dps",
        "contact_time_s",
        "late_swing_load",
        "symmetry_pct",
    ):
        n, unit, text = EXPLANATIONS[name]
        parts.append(f"<dt>{pg.esc(n)} ({pg.esc(unit)})</dt><dd>{pg.esc(text)}</dd>")
    parts.append("</dl>")

    # ---- details
    rows = []
    for leg in run.legs:
        lost = leg.samples_lost or 0
        total = (leg.samples or 0) + lost
        rows.append(
            [
                leg.sensor,
                leg_name(leg.leg, leg.sensor),
                str(leg.n_strides),
                f"{100 * lost / total:.1f} %" if total else "—",
                "yes" if leg.angle_calibrated else "no",
                leg.firmware_version or "—",
                baseline_text(leg),
            ]
        )
    parts.append("<h2>Details</h2>")
    parts.append(
        pg.table(
            ["sensor", "leg", "strides", "data lost", "calibrated", "firmware", "baseline"],
            rows,
            numeric=(2, 3),
        )
    )
    if run.recording_path:
        parts.append(f'<p class="sub">Recording: {pg.esc(run.recording_path)}</p>')
    parts.append(
        pg.footer(
            f"strideguard report · made {local_text(now or datetime.now(UTC))} · "
            "times are minutes:seconds from the start of the recording"
        )
    )
    return pg.page(title, "\n".join(parts))


def esc_leg(run: RunRecord) -> str:
    """``left and right shin`` / ``right shin`` / ``1 sensor``."""
    legs = run.legs_text
    if legs == "LR":
        return "left and right shin"
    if legs in ("L", "R"):
        return f"{leg_name(legs)} shin"
    return f"{len(run.legs)} sensor{'s' if len(run.legs) != 1 else ''}"


def baseline_text(leg: LegRun) -> str:
    """Where the leg's baseline came from."""
    b = leg.baseline_used or leg.baseline_learned
    how = leg.baseline_text()  # the history's words: stored / relearned / learned in run
    if leg.baseline_source == "relearned" and leg.baseline_dropped_why:
        how += f": {leg.baseline_dropped_why}"
    if b is None:
        return how
    cad = b.get("cadence_ref_spm")
    ang = b.get("shank_angle_ref_deg")
    extra = []
    if isinstance(cad, int | float):
        extra.append(f"cadence {cad:.0f}")
    if isinstance(ang, int | float):
        extra.append(f"tibia {ang:+.1f}°")
    return how + (f" ({', '.join(extra)})" if extra else "")


def _seconds(text: str) -> float:
    parts = [int(p) for p in text.split(":")]
    total = 0
    for p in parts:
        total = total * 60 + p
    return float(total)


def summary_for_json(run: RunRecord) -> dict[str, Any]:
    """Run summary numbers (for ``report --format json``).

    With two legs also ``symmetry`` (:func:`lr_symmetry`: ``run`` per feature,
    ``per_minute`` per feature with ``null`` for a minute without pairs).
    """
    out: dict[str, Any] = {"run_id": run.run_id, **run.summary()}
    out["baseline"] = run.baseline_text()
    sym = lr_symmetry(run)
    if sym is not None:
        out["symmetry"] = {
            "run": sym["run"],
            "per_minute": {
                name: [None if not np.isfinite(v) else round(float(v), 2) for v in values]
                for name, values in sym["per_minute"].items()
            },
        }
    return out
