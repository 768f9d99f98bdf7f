"""``strideguard live`` — receive from one or two shin sensors, analyse and alert live."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``live`` parser."""
    from strideguard.commands.history import add_history_arguments
    from strideguard.live.sinkargs import add_sink_arguments

    p = subparsers.add_parser(
        "live",
        help="connect to the sensors (one or two shins), show strides and alerts live, record the run",
        description="Connect to strideguard sensors over Bluetooth LE, analyse every stride live and alert. "
        "Stand still for a few seconds first (calibration). Every run is recorded (raw frames) so it can be "
        "replayed with `strideguard replay`.",
    )
    p.add_argument(
        "--sensor",
        action="append",
        default=[],
        metavar="NAME|ADDRESS",
        help="sensor to use (repeat for two; default: the sensors found by a scan)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="stop after S seconds (default: until Ctrl-C)",
    )
    p.add_argument(
        "--record",
        type=Path,
        default=None,
        metavar="FILE",
        help="recording file (default: recordings/run-<time>.sgrec)",
    )
    p.add_argument(
        "--alert-config",
        type=Path,
        default=None,
        metavar="FILE",
        help="alert settings (TOML or JSON, see docs/alerts.md)",
    )
    p.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="FILE",
        help="stored personal baseline profile (JSON)",
    )
    p.add_argument(
        "--save-baseline",
        type=Path,
        default=None,
        metavar="FILE",
        help="save the baseline learned in this run",
    )
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="end-of-run summary: text, or JSON alone on stdout (the view then goes to stderr)",
    )
    add_history_arguments(p)
    g = p.add_argument_group("without hardware")
    g.add_argument(
        "--virtual",
        metavar="SCENARIO",
        default=None,
        help="simulated sensors (both legs; --one-leg for the right only) on a virtual "
        "Bluetooth link, e.g. demo (needs the dev kit)",
    )
    g.add_argument(
        "--virtual-duration",
        type=float,
        default=600.0,
        metavar="S",
        help="length of the simulated run (default 600)",
    )
    g.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="simulated time runs this many times faster (virtual sensors)",
    )
    g.add_argument("--seed", type=int, default=1, help="simulator seed")
    g.add_argument("--one-leg", action="store_true", help="virtual: only the right-leg sensor")
    g.add_argument(
        "--board",
        choices=("firmware", "model"),
        default="firmware",
        help="virtual: the real firmware in the MicroPython Unix port (default) or a pure-Python sensor model",
    )
    add_sink_arguments(p)
    p.set_defaults(_run=run)


def default_recording_path() -> Path:
    """``recordings/run-YYYYmmdd-HHMMSS.sgrec``."""
    return Path("recordings") / time.strftime("run-%Y%m%d-%H%M%S.sgrec")


def run(args: argparse.Namespace) -> int:
    """Run a live session."""
    import asyncio

    from strideguard.alerts import PersonalBaseline, load_config
    from strideguard.errors import InputError
    from strideguard.live.sinkargs import open_sinks

    config = load_config(args.alert_config)
    baseline = PersonalBaseline.load(args.baseline) if args.baseline else None
    if args.speed <= 0 or args.speed > 100:
        raise InputError("--speed must be in (0, 100]")
    path: Path = args.record or default_recording_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {path.parent}: {exc.strerror or exc}") from exc
    hub = open_sinks(args)
    ask_on_phone(args, hub)
    started_utc, t0 = datetime.now(UTC), time.monotonic()
    try:
        if args.virtual:
            live_run, _names = asyncio.run(_virtual(args, hub, path, config, baseline))
        else:
            live_run, _names = asyncio.run(_real(args, hub, path, config, baseline))
        summary = live_run.finish()
    finally:
        hub.close()
    summary["recording"] = str(path)
    if args.save_baseline:
        for p in live_run.pipelines:
            if p.policy.baseline_ is not None:
                p.policy.baseline_.save(args.save_baseline)
                summary["baseline_saved"] = str(args.save_baseline)
                break
    add_to_history(
        args, live_run, summary, path, started_utc=started_utc, wall_s=time.monotonic() - t0
    )
    _print_summary(summary, args.format)
    return 0


def ask_on_phone(args: argparse.Namespace, hub: Any) -> None:
    """Show the day-after question on the phone page at the start of the run, if one is due.

    The answer (from any phone) is stored in the history; the terminal says
    that the question is waiting there. See :mod:`strideguard.history.dayafter`.
    """
    import sys

    from strideguard.errors import StrideguardError
    from strideguard.history import History, dayafter
    from strideguard.live.web_sink import WebSink
    from strideguard.userdirs import history_path

    web = next((s for s in hub.sinks if isinstance(s, WebSink)), None)
    if web is None or getattr(args, "no_history", False):
        return
    db = history_path(getattr(args, "db", None))
    if not db.exists():
        return
    try:
        with History(db, create=False) as h:
            question = dayafter.pending_question(h)
    except StrideguardError:
        return
    if question is None:
        return

    def on_answer(answer: str) -> str:
        try:
            with History(db, create=False) as h:
                h.record_answer(question.run_id, answer, channel="phone")
        except StrideguardError as exc:
            print(f"strideguard: the answer was not stored: {exc}", file=sys.stderr)
        return dayafter.advice_for(answer)

    web.ask(question.run_id, question.text, on_answer)
    print(f"On the phone page: {question.text}", file=sys.stderr)


def add_to_history(
    args: argparse.Namespace,
    live_run: Any,
    summary: dict[str, Any],
    path: Path,
    *,
    started_utc: datetime | None = None,
    wall_s: float = 0.0,
) -> None:
    """Add the finished run to the run history (``--db``; skipped with ``--no-history``).

    Called once wherever the run's summary is produced (also after Ctrl-C/SIGTERM).
    The start time comes from the recording's header (``started_utc`` and
    ``wall_s`` only when it cannot be read). A history that cannot be written
    does not fail the run: the recording is on disk, the summary says why and
    how to add it later (``strideguard import``).
    """
    import sys

    from strideguard.history import History, HistoryError
    from strideguard.history.ingest import record_from_live
    from strideguard.userdirs import history_path

    if getattr(args, "no_history", False):
        return
    db = history_path(getattr(args, "db", None))
    try:
        started = started_utc or datetime.now(UTC) - timedelta(seconds=wall_s)
        record = record_from_live(
            live_run.pipelines, summary, path, started_utc=started, wall_duration_s=wall_s
        )
        with History(db) as history:
            result = history.add_run(record)
    except HistoryError as exc:
        summary["history_error"] = str(exc)
        print(f"strideguard: the run was not added to the history: {exc}", file=sys.stderr)
        return
    summary["history"] = {"run_id": result.run_id, "db": str(db), "added": result.added}


async def _real(
    args: argparse.Namespace, hub: Any, path: Path, config: Any, baseline: Any
) -> tuple[Any, list[str]]:
    from strideguard.ble.receiver import scan
    from strideguard.errors import InputError
    from strideguard.live.run import run_ble
    from strideguard.recording import RecordingWriter

    targets: list[Any] = list(args.sensor)
    if not targets:
        found = await scan(5.0)
        if not found:
            raise InputError(
                "no strideguard sensor found (is it switched on and near? try `strideguard scan`)"
            )
        targets = found[:2]
    names = [t if isinstance(t, str) else (t.name or t.address) for t in targets]
    with RecordingWriter(path, {"sensors": names, "mode": "live"}) as rec:
        live_run = await run_ble(
            targets,
            names,
            hub.handle,
            recording=rec,
            duration_s=args.duration,
            config=config,
            baseline=baseline,
        )
    return live_run, names


async def _virtual(
    args: argparse.Namespace, hub: Any, path: Path, config: Any, baseline: Any
) -> tuple[Any, list[str]]:
    from strideguard import plugins
    from strideguard.ble.receiver import scan
    from strideguard.live.run import run_ble
    from strideguard.recording import RecordingWriter

    provider = plugins.virtual_sensors("live --virtual")
    async with provider.for_live(args) as sensors:
        found = await scan(3.0, backend=sensors.backend)
        order = {name: k for k, name in enumerate(sensors.names)}
        found = sorted([f for f in found if f.name in order], key=lambda f: order[f.name])
        names = [f.name for f in found]
        lengths = sensors.sample_counts

        def finished(run: Any) -> bool:
            # the simulated run is over when every sensor's samples have all arrived
            return lengths is not None and all(
                p.samples + p.samples_lost >= n - 10
                for p, n in zip(run.pipelines, lengths, strict=True)
            )

        meta = {"sensors": names, "mode": sensors.mode, "speed": args.speed}
        with RecordingWriter(path, meta) as rec:
            live_run = await run_ble(
                found,
                names,
                hub.handle,
                recording=rec,
                backend=sensors.backend,
                duration_s=args.duration,
                config=config,
                baseline=baseline,
                until=finished,
            )
    return live_run, names


#: alert states the text summary lists (reminders repeat an alert already listed)
LISTED_ALERT_STATES = ("raised", "escalated", "ended")


def _print_summary(summary: dict[str, Any], fmt: str) -> None:
    import json

    if fmt == "json":
        print(json.dumps(summary, indent=1))
        return
    print("\n=== run summary ===")
    for s in summary["sensors"]:
        listed = [a for a in s["alerts"] if a["state"] in LISTED_ALERT_STATES]
        reminders = len(s["alerts"]) - len(listed)
        print(
            f"{s['sensor']}: {s['strides']} strides, {s['samples']} samples ({s['loss_pct']} % lost), "
            f"{len(listed)} alert events"
            + (
                f" (and {reminders} {_plural(reminders, 'reminder')}, not listed)"
                if reminders
                else ""
            )
        )
        for a in listed:
            print(
                f"  {a['time_s']:7.1f} s  {a['severity']:7s} {a['state']:9s} {a['title']}: {a['reason']}"
            )
    print(f"recording: {summary['recording']}")
    print(f"replay it: {command_name()} replay {summary['recording']} --fast")
    if "history" in summary:
        h = summary["history"]
        print(f"run history: run {h['run_id']} — the report: {command_name()} report {h['run_id']}")
    elif "history_error" in summary:
        print(f"not in the run history: add it with {command_name()} import {summary['recording']}")


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def command_name() -> str:
    """How to call this installation's ``strideguard`` from the current shell.

    ``strideguard`` when it is on PATH, else the script beside this Python
    (``.venv/bin/strideguard`` after ``make demo``, relative to the current folder).
    """
    import os
    import shutil
    import sys

    script = Path(sys.executable).with_name("strideguard")
    on_path = shutil.which("strideguard")
    if on_path and (not script.exists() or Path(on_path).resolve() == script.resolve()):
        return "strideguard"
    if not script.exists():
        return f"{Path(sys.executable).name} -m strideguard"
    try:
        return os.path.relpath(script)
    except ValueError:
        return str(script)
