"""``strideguard report [RUN]`` — the post-run report (HTML with plots); ``--trend`` for the
weekly trends and the return-to-run review, ``--episode`` for a one-page summary to take to
a doctor."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from strideguard.cliargs import whole


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` parser."""
    from strideguard.commands.history import add_db_argument

    p = subparsers.add_parser(
        "report",
        help="write the report of a run (HTML with plots; --trend: weekly trends; "
        "--episode: a one-page summary for the doctor)",
        description="Write one self-contained HTML file (plots inside) that opens in any browser "
        "and can be sent to a coach or physio. RUN is a number from `strideguard history` or "
        "'last' (default).",
    )
    p.add_argument("run", nargs="?", default=None, metavar="RUN", help="run number or 'last'")
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--trend",
        action="store_true",
        help="weekly running time, speedwork and uphill time, late-swing load, tibia angle and "
        "symmetry, and the return-to-run review",
    )
    what.add_argument(
        "--episode",
        action="store_true",
        help="one page on the run with pain or a stop alert (RUN, default the latest) and the "
        "runs before it, to take to an appointment",
    )
    p.add_argument(
        "--weeks",
        type=whole(1, 520),
        default=12,
        metavar="N",
        help="--trend: weeks shown, 1-520 (default 12)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="HTML file to write (default: in the current folder, e.g. run-12.html)",
    )
    p.add_argument("--pdf", action="store_true", help="also print it to PDF (needs Chromium)")
    p.add_argument("--open", action="store_true", help="open it in the web browser")
    p.add_argument(
        "--include-simulated",
        action="store_true",
        help="--trend/--episode: also count runs from simulated sensors",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="what to print")
    add_db_argument(p)
    p.set_defaults(_run=run)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` beside ``path`` under a temporary name, then rename it (folder created)."""
    from strideguard.atomic import atomic_write_text, reason
    from strideguard.errors import InputError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {reason(exc)}") from None
    atomic_write_text(path, text)


def run(args: argparse.Namespace) -> int:
    """Build the report and write it."""
    from strideguard.errors import InputError
    from strideguard.history import History
    from strideguard.userdirs import history_path

    if args.trend and args.run is not None:
        raise InputError("--trend covers all runs: give no RUN (use --weeks)")
    db = history_path(args.db)
    if not db.exists():
        raise InputError(
            f"no run history yet ({db}): `strideguard live` adds every run, "
            "`strideguard import FILE` adds recordings"
        )
    with History(db, create=False) as h:
        if args.trend:
            from strideguard.report.trend import trend_report_html

            html, info = trend_report_html(
                h, weeks=args.weeks, include_simulated=args.include_simulated
            )
            default = Path(f"trend-{info['end']}.html")
        elif args.episode:
            from strideguard.report.episode import episode_report_html, find_episode_run

            run_id = find_episode_run(h, args.run, include_simulated=args.include_simulated)
            html, info = episode_report_html(h, run_id, include_simulated=args.include_simulated)
            default = Path(f"episode-run-{run_id}.html")
        else:
            from strideguard.report.run import run_report_html, summary_for_json

            run_id = h.resolve(args.run)
            record = h.load_run(run_id)
            html = run_report_html(record)
            info = {"run_id": run_id, "summary": summary_for_json(record)}
            default = Path(f"run-{run_id}.html")
    out: Path = args.out or default
    write_text_atomic(out, html)
    result: dict[str, object] = {"html": str(out), **info}
    if args.pdf:
        from strideguard.report.pdf import find_chromium, print_pdf

        pdf = out.with_suffix(".pdf")
        if find_chromium() is None:
            result["pdf_error"] = "no Chromium installed: wrote the HTML only"
            print(
                f"strideguard: {result['pdf_error']} (install chromium for --pdf)", file=sys.stderr
            )
        else:
            try:
                print_pdf(out, pdf)
                result["pdf"] = str(pdf)
            except (RuntimeError, OSError) as exc:
                raise InputError(f"--pdf: {exc}") from None
    if args.format == "json":
        print(json.dumps(result, indent=1, default=str))
    else:
        print(f"wrote {out}" + (f" and {result['pdf']}" if "pdf" in result else ""))
        print(f"open it: {out.resolve().as_uri()}")
    if args.open:
        import webbrowser

        webbrowser.open(out.resolve().as_uri())
    return 0
