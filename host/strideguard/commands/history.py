"""``strideguard history`` — the runs in the run history, one line each.

Also holds the options every history-using command shares (:func:`add_db_argument`)
and the parsing of ``--since``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from strideguard.cliargs import whole


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--db FILE`` (default: the per-user data folder, see :mod:`strideguard.userdirs`)."""
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        metavar="FILE",
        help="run history database (default: history.sqlite in the per-user data folder, "
        "or $STRIDEGUARD_DATA_DIR)",
    )


def add_history_arguments(parser: argparse.ArgumentParser) -> None:
    """``--db`` and ``--no-history`` for commands that add runs (``live``)."""
    g = parser.add_argument_group("run history")
    g.add_argument(
        "--db",
        type=Path,
        default=None,
        metavar="FILE",
        help="run history database the run is added to (default: history.sqlite in the "
        "per-user data folder, or $STRIDEGUARD_DATA_DIR)",
    )
    g.add_argument(
        "--no-history", action="store_true", help="do not add this run to the run history"
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``history`` parser."""
    p = subparsers.add_parser(
        "history",
        help="list the runs in the run history (date, duration, cadence, tibia angle, load, alerts)",
        description="List the runs in the run history: every `live` run is added at its end, "
        "`strideguard import FILE` adds recordings. Times are local.",
    )
    p.add_argument(
        "--since",
        metavar="WHEN",
        default=None,
        help="only runs from then on: a date (2026-03-01), a date and time, or a span back "
        "from now (7d, 4w)",
    )
    p.add_argument(
        "--last", type=whole(1, 1_000_000), default=None, metavar="N", help="only the latest N runs"
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="output on stdout")
    p.add_argument(
        "--no-simulated", action="store_true", help="leave out runs from simulated sensors"
    )
    add_db_argument(p)
    p.set_defaults(_run=run)


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """``--since`` as an aware datetime: ``7d``/``4w``/``12h`` back from ``now``, or an ISO date/time (local time when naive).

    Raises
    ------
    InputError
        If ``text`` is neither.
    """
    from strideguard.errors import InputError

    now = now or datetime.now(UTC)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([hdw])\s*", text.lower())
    if m:
        n, unit = float(m.group(1)), m.group(2)
        return now - timedelta(hours=n * {"h": 1, "d": 24, "w": 168}[unit])
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"--since: {text!r} is neither a date (2026-03-01), a date and time, nor a span (7d, 4w)"
        ) from None
    if t.tzinfo is None:
        t = t.astimezone()  # local time
    return t.astimezone(UTC)


def run(args: argparse.Namespace) -> int:
    """List the runs."""
    from strideguard.history import History
    from strideguard.userdirs import history_path

    since = parse_since(args.since) if args.since else None
    db = history_path(args.db)
    if not db.exists():
        if args.format == "json":
            print("[]")
        else:
            print(
                f"No runs yet ({db} does not exist): `strideguard live` adds every run, "
                "`strideguard import FILE` adds recordings."
            )
        return 0
    with History(db, create=False) as h:
        runs = h.list_runs(since=since, last=args.last, include_simulated=not args.no_simulated)
    if args.format == "json":
        print(json.dumps([json_row(r) for r in runs], indent=1, allow_nan=False))
    else:
        sys.stdout.write(format_table(runs))
    return 0


def json_row(r: dict[str, Any]) -> dict[str, Any]:
    """One run of the listing as JSON (units in the names, ``null`` where unknown)."""
    keys = (
        "id",
        "started_utc",
        "duration_s",
        "distance_m",
        "running_time_s",
        "legs",
        "n_sensors",
        "n_strides",
        "cadence_spm",
        "shank_angle_at_ic_deg",
        "angle_calibrated",
        "contact_time_s",
        "peak_midswing_gyr_dps",
        "late_swing_peak_decel_dps2",
        "late_swing_load",
        "symmetry_pct",
        "n_alerts",
        "max_severity",
        "n_pain_marks",
        "source",
        "simulated",
        "firmware_version",
        "recording_path",
    )
    out: dict[str, Any] = {}
    for k in keys:
        v = r.get(k)
        out[k] = round(v, 4) if isinstance(v, float) else v
    out["baseline"] = baseline_text(r)
    out["baselines"] = [
        {
            "leg": b.get("leg"),
            "source": b.get("source"),
            "stored_created": b.get("created"),
            "dropped_why": b.get("dropped_why"),
        }
        for b in r.get("baselines", [])
    ]
    return out


def baseline_text(r: dict[str, Any]) -> str:
    """Which normal judged the run (per leg when the legs differ), in the report's words."""
    from strideguard.alerts import texts
    from strideguard.history.record import baseline_text_of_legs

    return baseline_text_of_legs(
        [
            (
                b.get("leg"),
                # a relearned leg whose run ended before it could relearn says so in the report;
                # the listing keeps it short
                texts.baseline_used(b.get("source"), b.get("created")),
            )
            for b in r.get("baselines", [])
        ]
    )


def format_duration(seconds: float | None) -> str:
    """``h:mm:ss`` or ``m:ss``."""
    if seconds is None:
        return "—"
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def local_time(unix_s: float) -> str:
    """``Sat 2026-12-05 07:12`` in the machine's time zone."""
    return datetime.fromtimestamp(unix_s, UTC).astimezone().strftime("%a %Y-%m-%d %H:%M")


def symmetry_text(si: float | None) -> str:
    """``R +4 %`` (right larger), ``L +3 %``, ``even`` or ``—``."""
    if si is None:
        return "—"
    if abs(si) < 0.5:
        return "even"
    return f"{'R' if si > 0 else 'L'} +{abs(si):.0f} %"


def alerts_text(r: dict[str, Any]) -> str:
    """``stop ×2``, ``pain``, ``—`` … for the alerts column."""
    parts = []
    if r.get("n_alerts"):
        parts.append(
            f"{r['max_severity']} ×{r['n_alerts']}" if r["n_alerts"] > 1 else str(r["max_severity"])
        )
    if r.get("n_pain_marks"):
        parts.append("pain")
    return ", ".join(parts) if parts else "—"


def format_table(runs: list[dict[str, Any]]) -> str:
    """The listing as a fixed-width text table."""
    if not runs:
        return "No runs match.\n"
    head = (
        "#",
        "date",
        "duration",
        "distance",
        "cadence",
        "tibia@IC",
        "LS load",
        "L/R",
        "alerts",
        "baseline",
    )
    rows: list[tuple[str, ...]] = []
    for r in runs:
        angle = r.get("shank_angle_at_ic_deg")
        angle_text = (
            "—" if angle is None else f"{angle:+.1f}°" + ("" if r["angle_calibrated"] else " rel")
        )
        rows.append(
            (
                str(r["id"]),
                local_time(r["started_unix_s"]) + (" sim" if r["simulated"] else ""),
                format_duration(r["duration_s"]),
                "—" if r.get("distance_m") is None else f"{r['distance_m'] / 1000:.2f} km",
                "—" if r.get("cadence_spm") is None else f"{r['cadence_spm']:.0f}",
                angle_text,
                "—" if r.get("late_swing_load") is None else f"{r['late_swing_load']:.1f}",
                symmetry_text(r.get("symmetry_pct")),
                alerts_text(r),
                baseline_text(r),
            )
        )
    widths = [max(len(h), *(len(row[k]) for row in rows)) for k, h in enumerate(head)]
    right = {0, 2, 3, 4, 5, 6}

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if k in right else c.ljust(w)
            for k, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(head), *(line(r) for r in rows)]
    out.append(
        "cadence in steps/min; tibia@IC: median tibia angle at foot strike (rel = not calibrated); "
        "LS load: late-swing load (10⁶ °/s²); L/R: late-swing braking, which leg is higher; "
        "baseline: which normal judged the run"
    )
    return "\n".join(out) + "\n"
