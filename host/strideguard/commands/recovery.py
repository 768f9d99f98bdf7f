"""``strideguard recovery start --leg R`` / ``recovery end`` / ``recovery status`` — return-to-run mode.

While it is on, ``strideguard report --trend`` compares every run with the pre-injury
runs and warns when a week's late-swing load or intensity rises faster than the
return-to-run rule (:mod:`strideguard.history.trends`, ``docs/history.md``).
"""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``recovery`` parser."""
    from strideguard.commands.history import add_db_argument

    p = subparsers.add_parser(
        "recovery",
        help="return-to-run mode after an injury: start (--leg L|R), end, status",
        description="Return-to-run mode: from `recovery start --leg R` until `recovery end`, "
        "`strideguard report --trend` compares each run with your pre-injury runs and warns "
        "when weekly load or intensity rises faster than the return-to-run rule (10 % a week).",
    )
    p.add_argument("action", choices=("start", "end", "status"))
    p.add_argument("--leg", choices=("L", "R"), help="start: the injured leg")
    p.add_argument("--note", default=None, help="start: a note (e.g. what the physio said)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="what to print")
    add_db_argument(p)
    p.set_defaults(_run=run)


def run(args: argparse.Namespace) -> int:
    """Start, end or show return-to-run mode."""
    from strideguard.errors import InputError
    from strideguard.history import History
    from strideguard.report.run import local_text
    from strideguard.userdirs import history_path

    db = history_path(args.db)
    with History(db) as h:
        if args.action == "start":
            if args.leg is None:
                raise InputError("recovery start needs --leg L or --leg R (the injured leg)")
            period = h.start_recovery(args.leg, note=args.note)
            text = (
                f"Return-to-run mode on for the {'left' if period.leg == 'L' else 'right'} leg "
                f"since {local_text(period.started_utc)}. `strideguard report --trend` compares "
                "each run with the 4 weeks before and checks the weekly rise (at most 10 %)."
            )
        elif args.action == "end":
            period = h.end_recovery()
            text = f"Return-to-run mode ended ({local_text(period.started_utc)} – {local_text(period.ended_utc or period.started_utc)})."
        else:
            periods = h.recovery_periods()
            open_ = [p for p in periods if p.ended_utc is None]
            period = open_[0] if open_ else (periods[-1] if periods else None)  # type: ignore[assignment]
            if period is None:
                text = "Return-to-run mode has never been on."
            elif period.ended_utc is None:
                text = f"Return-to-run mode is on for the {'left' if period.leg == 'L' else 'right'} leg since {local_text(period.started_utc)}."
            else:
                text = f"Return-to-run mode is off (last: {local_text(period.started_utc)} – {local_text(period.ended_utc)})."
    if args.format == "json":
        d = None
        if period is not None:
            d = {
                "leg": period.leg,
                "started_utc": period.started_utc.isoformat(),
                "ended_utc": None if period.ended_utc is None else period.ended_utc.isoformat(),
                "note": period.note,
            }
        print(json.dumps({"recovery": d}, indent=1))
    else:
        print(text)
    return 0
