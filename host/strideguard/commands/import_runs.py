"""``strideguard import FILE…`` — add recordings or CSV files to the run history.

Each file is analysed like ``strideguard analyze`` does it and stored with its
strides, alerts and baseline. A file already in the history (same SHA-256,
whether it came in live or by an earlier import) is not added again.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``import`` parser."""
    from strideguard.commands.history import add_db_argument

    p = subparsers.add_parser(
        "import",
        help="add recordings (.sgrec) or CSV files to the run history",
        description="Analyse each file (as `strideguard analyze` does) and add it to the run "
        "history. Importing a file twice does not duplicate it.",
    )
    p.add_argument("files", type=Path, nargs="+", metavar="FILE", help=".sgrec or .csv files")
    p.add_argument("--leg", choices=("L", "R"), help="leg of a CSV file's sensor")
    p.add_argument(
        "--started",
        metavar="TIME",
        default=None,
        help="start time (ISO 8601, local when no zone is given) for files that do not carry "
        "one (CSV; default: the file's modification time minus its length)",
    )
    p.add_argument(
        "--alert-config", type=Path, metavar="FILE", help="alert settings (TOML or JSON)"
    )
    p.add_argument(
        "--baseline", type=Path, metavar="FILE", help="stored personal baseline profile (JSON)"
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="output on stdout")
    add_db_argument(p)
    p.set_defaults(_run=run)


def run(args: argparse.Namespace) -> int:
    """Import the files; one line per file. Exit 2 when any file could not be imported."""
    import sys
    from datetime import UTC, datetime

    from strideguard.alerts import PersonalBaseline, load_config
    from strideguard.errors import InputError
    from strideguard.history import History, HistoryError
    from strideguard.history.ingest import record_from_file
    from strideguard.userdirs import history_path

    config = load_config(args.alert_config)
    baseline = PersonalBaseline.load(args.baseline) if args.baseline else None
    started = None
    if args.started:
        try:
            t = datetime.fromisoformat(args.started.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"--started: {args.started!r} is not an ISO 8601 time") from None
        started = (t if t.tzinfo else t.astimezone()).astimezone(UTC)
    db = history_path(args.db)
    results: list[dict[str, object]] = []
    failed = 0
    with History(db) as history:
        for path in args.files:
            try:
                record = record_from_file(
                    path, config=config, baseline=baseline, leg=args.leg, started_utc=started
                )
                res = history.add_run(record)
            except HistoryError:
                raise
            except InputError as exc:
                failed += 1
                results.append({"file": str(path), "error": str(exc)})
                print(f"strideguard: {path}: not imported: {exc}", file=sys.stderr)
                continue
            results.append({"file": str(path), "run_id": res.run_id, "added": res.added})
            if args.format == "text":
                if res.added:
                    n = sum(leg.n_strides for leg in record.legs)
                    print(f"{path}: added as run {res.run_id} ({n} strides)")
                else:
                    print(f"{path}: already in the history as run {res.run_id}")
    if args.format == "json":
        print(json.dumps({"db": str(db), "files": results}, indent=1))
    return 2 if failed else 0
