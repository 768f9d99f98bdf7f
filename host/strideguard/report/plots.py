"""matplotlib figures for the reports, returned as SVG ``data:`` URIs to embed.

Figures are made with :class:`matplotlib.figure.Figure` directly (no pyplot and
no global backend), sized for a phone screen and scaled by the page. Text stays
text in the SVG (``svg.fonttype = none``), so the files stay small.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from strideguard.history.stats import FloatArray

#: line colours per leg (colour-blind safe pair) and alert severities
LEG_COLOURS = {"L": "#1f77b4", "R": "#d95f02", None: "#444444"}
SEVERITY_COLOURS = {"stop": "#c62828", "caution": "#ef8f00", "coach": "#1565c0", "info": "#777777"}
#: sized so that 9-pt labels read at about 11 px on a 400-px phone screen
FIG_W_IN = 4.6
FIG_H_IN = 2.7


def _figure(height_in: float = FIG_H_IN) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(FIG_W_IN, height_in), dpi=100)
    fig.set_layout_engine("constrained")
    return fig


def to_data_uri(fig: Any) -> str:
    """The figure as an SVG ``data:`` URI."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "strideguard"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _style(ax: Any, ylabel: str, xlabel: str | None = None) -> None:
    ax.set_ylabel(ylabel, fontsize=9.5)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=9.5)
    ax.tick_params(labelsize=8.5)
    ax.grid(True, alpha=0.25, linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _integer_minutes(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def per_minute_plot(
    series: Sequence[tuple[str | None, FloatArray, FloatArray]],
    *,
    ylabel: str,
    band: tuple[float, float] | None = None,
    band_label: str = "your baseline",
    markers: Sequence[Mapping[str, Any]] = (),
) -> str:
    """One metric per minute, one line per leg, the baseline band and alert markers.

    Parameters
    ----------
    series
        ``(leg, minute, median)`` per leg.
    ylabel
        Axis label with unit.
    band
        ``(low, high)`` of the runner's baseline, shaded.
    markers
        Alert events (``time_s``, ``severity``, ``title``): a vertical line each.
    """
    fig = _figure()
    ax = fig.add_subplot()
    if band is not None:
        ax.axhspan(band[0], band[1], color="#9e9e9e", alpha=0.22, lw=0, label=band_label)
    for leg, minute, values in series:
        name = {"L": "left", "R": "right"}.get(leg or "", "sensor")
        ax.plot(
            minute + 0.5,
            values,
            "-o",
            ms=2.5,
            lw=1.4,
            color=LEG_COLOURS.get(leg, "#444"),
            label=name,
        )
    seen: set[str] = set()
    for m in markers:
        sev = str(m.get("severity"))
        colour = SEVERITY_COLOURS.get(sev, "#777")
        label = {"stop": "stop alert", "coach": "overstride cue", "caution": "caution"}.get(
            sev, sev
        )
        ax.axvline(
            float(m["time_s"]) / 60.0,
            color=colour,
            lw=1.2,
            ls="-" if sev == "stop" else ":",
            label=None if label in seen else label,
        )
        seen.add(label)
    _style(ax, ylabel, "minute of the run")
    _integer_minutes(ax)
    ax.legend(fontsize=8, loc="best", frameon=False, ncol=3)
    return to_data_uri(fig)


def symmetry_plot(series: Sequence[tuple[str, FloatArray, FloatArray]]) -> str:
    """Per-minute left/right symmetry (%) of several metrics, 0 = even."""
    fig = _figure()
    ax = fig.add_subplot()
    ax.axhline(0.0, color="#555", lw=0.8)
    for name, minute, si in series:
        ax.plot(minute + 0.5, si, "-o", ms=2.5, lw=1.3, label=name)
    _style(ax, "right vs left (%)", "minute of the run")
    _integer_minutes(ax)
    ax.legend(fontsize=8, loc="best", frameon=False)
    return to_data_uri(fig)


def weekly_bars(
    labels: Sequence[str],
    stacks: Sequence[tuple[str, Sequence[float], str]],
    *,
    ylabel: str,
    lines: Sequence[tuple[str, Sequence[float | None], str, str]] = (),
) -> str:
    """Stacked bars per week, optionally with reference lines.

    Parameters
    ----------
    labels
        Week labels.
    stacks
        ``(name, values, colour)`` stacked bottom to top.
    lines
        ``(name, values, colour, linestyle)`` drawn over the bars (``None`` = no point).
    """
    fig = _figure(FIG_H_IN + 0.3)
    ax = fig.add_subplot()
    x = np.arange(len(labels))
    bottom = np.zeros(len(labels))
    for name, values, colour in stacks:
        v = np.asarray(values, dtype=float)
        ax.bar(x, v, bottom=bottom, color=colour, label=name, width=0.7)
        bottom = bottom + np.nan_to_num(v)
    for name, points, colour, style in lines:
        y = np.array([np.nan if v is None else v for v in points], dtype=float)
        ax.plot(x, y, style, color=colour, lw=1.4, ms=4, label=name)
    ax.set_xticks(
        x,
        labels,
        fontsize=8,
        rotation=45 if len(labels) > 6 else 0,
        ha="right" if len(labels) > 6 else "center",
    )
    _style(ax, ylabel)
    ax.legend(fontsize=8, loc="best", frameon=False)
    return to_data_uri(fig)


def weekly_line(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None], str]], *, ylabel: str
) -> str:
    """One or more values per week as lines with points."""
    fig = _figure()
    ax = fig.add_subplot()
    x = np.arange(len(labels))
    for name, values, colour in series:
        y = np.array([np.nan if v is None else v for v in values], dtype=float)
        ax.plot(x, y, "-o", color=colour, lw=1.4, ms=4, label=name)
    ax.set_xticks(
        x,
        labels,
        fontsize=8,
        rotation=45 if len(labels) > 6 else 0,
        ha="right" if len(labels) > 6 else "center",
    )
    _style(ax, ylabel)
    if len(series) > 1:
        ax.legend(fontsize=8, loc="best", frameon=False)
    return to_data_uri(fig)
