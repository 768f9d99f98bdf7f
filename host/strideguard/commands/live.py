"""``strideguard live`` — receive from one or two shin sensors, analyse and alert live."""

from __future__ import annotations

import argparse
import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from strideguard.cliargs import SEED_MAX, real, whole
from strideguard.profiles import DEFAULT_RUNNER as DEFAULT_RUNNER_NAME

#: longest run `live --duration` accepts (two days)
MAX_DURATION_S = 172_800.0
#: simulated run lengths of `live --virtual` (those of `strideguard simulate`)
VIRTUAL_DURATION_S = (30.0, 21_600.0)
#: `--end-still` range and default (minutes): a stop at a traffic light must not end the run
END_STILL_MIN = (0.25, 240.0)
DEFAULT_END_STILL_MIN = 5.0
#: `--end-gone` range and default (seconds): longer than a reconnect, shorter than a coffee
END_GONE_S = (2.0, 3600.0)
DEFAULT_END_GONE_S = 60.0


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
        type=real(0, MAX_DURATION_S, lo_open=True),
        default=None,
        metavar="S",
        help="stop after S seconds (default: until Ctrl-C or SIGTERM)",
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
    g_runner = p.add_argument_group("runner profile (stored baselines)")
    g_runner.add_argument(
        "--runner",
        default=DEFAULT_RUNNER_NAME,
        metavar="NAME",
        help="whose stored baselines are loaded at the start and saved at the end of a run "
        f"without a stop alert (default {DEFAULT_RUNNER_NAME!r})",
    )
    g_runner.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="per-user data folder for stored baselines and the run history (default: the "
        "platform's user data folder, or $STRIDEGUARD_DATA_DIR)",
    )
    g_runner.add_argument(
        "--no-stored-baseline",
        action="store_true",
        help="neither load nor save the runner's stored baselines (learn from this run only)",
    )
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="end-of-run summary: text, or JSON alone on stdout (the view then goes to stderr)",
    )
    add_history_arguments(p)
    h = p.add_argument_group(
        "pocket host (no screen, e.g. a Raspberry Pi in a running belt; see docs/pocket-host.md)"
    )
    h.add_argument(
        "--headless",
        action="store_true",
        help="no terminal view, no prompts: wait for the sensors, start a run when they stream, end "
        "it when the runner stands still or the sensors go away, record it, add it to the history, "
        "and wait for the next one (what `strideguard service install` runs)",
    )
    add_headless_arguments(h, service=False)
    h.add_argument(
        "--runs",
        type=whole(1, 100_000),
        default=None,
        metavar="N",
        help="--headless: end the session after N runs (default: run until stopped)",
    )
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
        type=real(*VIRTUAL_DURATION_S),
        default=600.0,
        metavar="S",
        help="length of the simulated run (default 600)",
    )
    g.add_argument(
        "--speed",
        type=real(0, 100, lo_open=True),
        default=1.0,
        help="simulated time runs this many times faster (virtual sensors)",
    )
    g.add_argument("--seed", type=whole(0, SEED_MAX), default=1, help="simulator seed")
    g.add_argument("--one-leg", action="store_true", help="virtual: only the right-leg sensor")
    g.add_argument(
        "--virtual-runs",
        type=whole(1, 20),
        default=1,
        metavar="N",
        help="virtual + --headless: the runner switches the sensors on N times (seeds SEED, SEED+1…)",
    )
    g.add_argument(
        "--virtual-standing",
        type=real(0, 3600),
        default=0.0,
        metavar="S",
        help="virtual + --headless: after each run but the last the runner stands still S seconds "
        "(the last run ends with the sensors switched off)",
    )
    g.add_argument(
        "--virtual-off",
        type=real(0, 600),
        default=2.0,
        metavar="S",
        help="virtual + --headless: the sensors stay off S wall seconds between runs",
    )
    g.add_argument(
        "--board",
        choices=("firmware", "model"),
        default="firmware",
        help="virtual: the real firmware in the MicroPython Unix port (default) or a pure-Python sensor model",
    )
    add_sink_arguments(p)
    p.set_defaults(_run=run)


def add_headless_arguments(group: Any, *, service: bool) -> None:
    """``--recordings``, ``--end-still`` and ``--end-gone``: how a headless session ends runs.

    The same options, ranges and defaults for ``live --headless`` and ``service install``.

    Parameters
    ----------
    group
        The parser or argument group to add them to.
    service
        ``service install`` (the defaults are filled in, the unit always names them);
        else ``live`` (``None`` when not given: only allowed with ``--headless``).
    """
    when = "" if service else "--headless: "
    group.add_argument(
        "--recordings",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"{when}folder of the runs' recordings (default: recordings/ in the per-user "
        "data folder)",
    )
    group.add_argument(
        "--end-still",
        type=real(*END_STILL_MIN),
        default=DEFAULT_END_STILL_MIN if service else None,
        metavar="MIN",
        help=f"{when}end a run after MIN minutes of standing still (default {DEFAULT_END_STILL_MIN:g})",
    )
    group.add_argument(
        "--end-gone",
        type=real(*END_GONE_S),
        default=DEFAULT_END_GONE_S if service else None,
        metavar="S",
        help=f"{when}end a run when no sensor has sent anything for S seconds "
        f"(default {DEFAULT_END_GONE_S:g})",
    )


def default_recording_path() -> Path:
    """``recordings/run-YYYYmmdd-HHMMSS.sgrec``."""
    return Path("recordings") / time.strftime("run-%Y%m%d-%H%M%S.sgrec")


def run(args: argparse.Namespace) -> int:
    """Run a live session.

    Everything that can be checked is checked before anything starts (options,
    option files, where the recording and the baseline go, Bluetooth); then the
    phone page, the recording and the links start. Ctrl-C or SIGTERM end the run
    like ``--duration`` does: summary printed, baseline saved.
    """
    import asyncio

    from strideguard.alerts import load_config
    from strideguard.atomic import check_writable
    from strideguard.live.stopping import StopSignals

    _check_headless_options(args)
    config = load_config(args.alert_config)
    use_data_dir(args)
    # a --baseline FILE that does not exist is refused here, before anything starts
    baseline, baseline_refused = baselines_for_run(args, config)
    if args.headless:
        from strideguard.live.headless_cli import run_headless

        # every run of the session reads the stored baselines again at its start: a
        # baseline stored at the end of one run is used from the first minute of the next
        return run_headless(args, config, lambda: run_start_baselines(args, config))
    if args.save_baseline is not None:
        check_writable(args.save_baseline, "--save-baseline")
    path: Path = args.record or default_recording_path()
    _check_recording_path(path)
    with StopSignals() as signals:
        outcome = asyncio.run(_session(args, signals, path, config, baseline, baseline_refused))
        return _conclude(args, outcome)


def _check_headless_options(args: argparse.Namespace) -> None:
    """Options that only make sense with (or without) ``--headless``: one line, exit 2."""
    from strideguard.errors import InputError

    only_headless = {
        "--recordings": args.recordings is not None,
        "--end-still": args.end_still is not None,
        "--end-gone": args.end_gone is not None,
        "--runs": args.runs is not None,
        "--virtual-runs": args.virtual_runs != 1,
        "--virtual-standing": args.virtual_standing != 0.0,
    }
    if not args.headless:
        given = [o for o, on in only_headless.items() if on]
        if given:
            raise InputError(f"{given[0]} is only for --headless")
        return
    if args.record is not None:
        raise InputError(
            "--record names one file: with --headless every run gets its own in --recordings DIR"
        )
    if args.save_baseline is not None:
        raise InputError("--save-baseline is not available with --headless")


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


def offer_acknowledge(hub: Any) -> Any:
    """Give the phone page its "Acknowledge" button (when there is a page); the action or ``None``."""
    from strideguard.live.acknowledge import AcknowledgeAction
    from strideguard.live.web_sink import WebSink

    web = next((s for s in hub.sinks if isinstance(s, WebSink)), None)
    if web is None:
        return None
    action = AcknowledgeAction()
    web.offer_acknowledge(action)
    return action


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


def baselines_for_run(args: argparse.Namespace, config: Any) -> tuple[Any, str | None]:
    """The baseline(s) a run starts with, and why a stored one is not used.

    ``--baseline FILE`` (one profile), else the runner's stored baselines per
    leg (:func:`_runner_baselines`), else none (``--no-stored-baseline``, ``demo``).

    Raises
    ------
    InputError
        ``--baseline FILE`` does not exist or is not a file.
    """
    if args.baseline is not None:
        return _stored_baseline(args.baseline)
    if not uses_stored_baselines(args):
        return None, None
    return _runner_baselines(args.runner, config)


def run_start_baselines(args: argparse.Namespace, config: Any) -> tuple[Any, str | None]:
    """:func:`baselines_for_run` at the start of each run of a headless session.

    Read afresh for every run (the previous run may have stored a new one). A
    ``--baseline FILE`` removed while the session goes on does not end the
    session: that run learns from scratch and says why.
    """
    from strideguard.errors import InputError

    try:
        return baselines_for_run(args, config)
    except InputError as exc:
        return None, str(exc)


def _stored_baseline(path: Path | None) -> tuple[Any, str | None]:
    """``--baseline``: the profile, or why it is refused (the run then learns from scratch).

    A file that cannot be read at all is a usage mistake (one line, exit 2,
    before anything starts); one that can be read but is not a valid profile
    is announced during the run, which learns the runner's normal afresh.
    """
    from strideguard.alerts.baseline_validate import load_baseline_or_reason
    from strideguard.errors import InputError

    if path is None:
        return None, None
    if not path.exists():
        raise InputError(f"--baseline {path}: no such file")
    if not path.is_file():
        raise InputError(f"--baseline {path}: not a regular file")
    return load_baseline_or_reason(path)


def use_data_dir(args: argparse.Namespace) -> None:
    """``--data-dir``: the data folder for this process (stored baselines, run history).

    Set through ``$STRIDEGUARD_DATA_DIR`` so that every part that stores
    something for the runner (:mod:`strideguard.userdirs`) uses the same folder.
    Also checks ``--runner``.
    """
    import os

    from strideguard.profiles import check_runner_name
    from strideguard.userdirs import DATA_DIR_ENV

    check_runner_name(getattr(args, "runner", DEFAULT_RUNNER_NAME))
    if getattr(args, "data_dir", None) is not None:
        if args.data_dir.exists() and not args.data_dir.is_dir():
            from strideguard.errors import InputError

            raise InputError(f"--data-dir {args.data_dir}: not a folder")
        os.environ[DATA_DIR_ENV] = str(args.data_dir.expanduser().resolve())


def uses_stored_baselines(args: argparse.Namespace) -> bool:
    """Whether this run loads and saves the runner's stored baselines: ``live`` does unless
    ``--baseline`` or ``--no-stored-baseline`` is given (``demo`` sets the latter: a
    simulated runner's normal is not the user's)."""
    return (
        hasattr(args, "runner")
        and not getattr(args, "no_stored_baseline", True)
        and args.baseline is None
    )


def _runner_baselines(runner: str, config: Any) -> tuple[Any, str | None]:
    """The runner's stored baselines per leg, and why any was not used.

    A stored baseline older than ``baseline.max_age_days`` (a long break) is
    not used; an invalid one is refused by the validator. Either way that leg
    learns from scratch and the run says why at its start.
    """
    import datetime as dt

    from strideguard.alerts import texts
    from strideguard.profiles import LEGS, load_baseline

    out: dict[str, Any] = {}
    reasons: list[str] = []
    now = dt.datetime.now(dt.UTC)
    limit = config.baseline.max_age_days
    for leg in LEGS:
        base, reason = load_baseline(runner, leg)
        if base is not None and base.created is not None:
            created = dt.datetime.fromisoformat(base.created)
            if created.tzinfo is None:
                created = created.replace(tzinfo=dt.UTC)
            if (now - created).total_seconds() > limit * 86400.0:
                reason = texts.baseline_too_old(base.created, limit)
                base = None
        if reason is not None:
            reasons.append(f"{texts.LEG_NAMES[leg]} leg: {reason}")
        out[leg] = base
    if not any(out.values()):
        return None, "; ".join(reasons) or None
    return out, "; ".join(reasons) or None


def save_runner_baselines(runner: str, live_run: Any, summary: dict[str, Any]) -> None:
    """At the end of a run without a stop alert: store each leg's baseline learned in it.

    A run that raised "stop" on any leg saves nothing (it may have learned a
    guarded gait as normal). The summary says what was saved, or why not.
    """
    import sys

    from strideguard.alerts.model import Severity
    from strideguard.errors import StrideguardError
    from strideguard.profiles import save_baseline

    stopped = any(a.severity is Severity.STOP for p in live_run.pipelines for a in p.alerts)
    if stopped:
        summary["stored_baseline"] = {"runner": runner, "saved": [], "why_not": "stop alert"}
        return
    saved: list[str] = []
    errors: list[str] = []
    monitor = getattr(live_run, "symmetry", None)
    for p in live_run.pipelines:
        base = p.policy.baseline_
        if p.leg not in ("L", "R") or base is None or base.source != "learned":
            continue
        if monitor is not None and monitor.model_source_ == "learned":
            base.symmetry = monitor.balance_for(p.leg)  # the runner's own left/right balance
        try:
            saved.append(str(save_baseline(base, runner, p.leg)))
        except StrideguardError as exc:
            errors.append(str(exc))
            print(f"strideguard: the {p.leg} baseline was not stored: {exc}", file=sys.stderr)
    summary["stored_baseline"] = {"runner": runner, "saved": saved}
    if errors:
        summary["stored_baseline"]["errors"] = errors


def _check_recording_path(path: Path) -> None:
    """The recording must be new and its folder creatable (nothing is created yet)."""
    from strideguard.atomic import check_writable
    from strideguard.errors import InputError

    if path.exists():
        raise InputError(f"--record {path}: exists; not overwriting a recording")
    existing = path.parent
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"--record {path}: {existing} is not a folder")
    check_writable(existing / path.name, "--record")


async def _session(
    args: argparse.Namespace,
    signals: Any,
    path: Path,
    config: Any,
    baseline: Any,
    baseline_refused: str | None,
) -> LiveOutcome:
    """Find the sensors, then start the sinks, the recording and the run."""
    stop = signals.attach()
    common = {
        "stop": stop,
        "path": path,
        "config": config,
        "baseline": baseline,
        "baseline_refused": baseline_refused,
    }
    if args.virtual:
        from strideguard import plugins

        provider = plugins.virtual_sensors("live --virtual")
        async with provider.for_live(args) as sensors:
            found = await _unless_stopped(
                scan_until(sensors.names, 3.0, backend=sensors.backend), stop
            )
            order = {name: k for k, name in enumerate(sensors.names)}
            found = sorted([f for f in found if f.name in order], key=lambda f: order[f.name])
            lengths = sensors.sample_counts

            def finished(run: Any) -> bool:
                # the simulated run is over when every sensor's samples have all arrived
                return lengths is not None and all(
                    p.samples + p.samples_lost >= n - 10
                    for p, n in zip(run.pipelines, lengths, strict=True)
                )

            meta = {"sensors": [f.name for f in found], "mode": sensors.mode, "speed": args.speed}
            return await _run(args, found, meta, backend=sensors.backend, until=finished, **common)
    targets = await _unless_stopped(_real_targets(args), stop)
    names = [t if isinstance(t, str) else (t.name or t.address) for t in targets]
    return await _run(args, targets, {"sensors": names, "mode": "live"}, **common)


async def _unless_stopped(coro: Any, stop: Any) -> Any:
    """Await ``coro`` unless a stop comes first (then: interrupted, nothing started)."""
    import asyncio

    task = asyncio.ensure_future(coro)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise KeyboardInterrupt
    return task.result()


async def scan_until(
    wanted: list[str], timeout_s: float, *, backend: Any = None, step_s: float = 0.5
) -> list[Any]:
    """Scan in short rounds until every wanted name (or address) was seen, or time runs out.

    Returns
    -------
    list of SensorInfo
        Everything seen in the last round.

    Raises
    ------
    strideguard.ble.receiver.BluetoothUnavailableError
        No usable Bluetooth (from the first round, at once).
    """
    import time as _time

    from strideguard.ble.receiver import scan

    deadline = _time.monotonic() + timeout_s
    while True:
        found = await scan(min(step_s, timeout_s), backend=backend)
        seen = {f.name for f in found} | {f.address.upper() for f in found}
        if all(w in seen or w.upper() in seen for w in wanted):
            return found
        if _time.monotonic() >= deadline:
            return found


async def _real_targets(args: argparse.Namespace) -> list[Any]:
    """The sensors to connect to; Bluetooth is checked here, before anything starts."""
    from strideguard.ble.receiver import scan
    from strideguard.errors import InputError

    wanted: list[str] = list(args.sensor)
    # a scan either way: it says at once when there is no Bluetooth, and finds the devices
    found = await (scan_until(wanted, 2.0) if wanted else scan(5.0))
    if not wanted:
        if not found:
            raise InputError(
                "no strideguard sensor found (is it switched on and near? try `strideguard scan`)"
            )
        return found[:2]
    targets: list[Any] = []
    for w in wanted:
        match = [f for f in found if w in (f.name, f.address) or w.upper() == f.address.upper()]
        targets.append(match[0] if match else w)  # not seen yet: the link keeps looking
    return targets


async def _run(
    args: argparse.Namespace,
    targets: list[Any],
    meta: dict[str, Any],
    *,
    stop: Any,
    path: Path,
    config: Any,
    baseline: Any,
    baseline_refused: str | None,
    backend: Any = None,
    until: Any = None,
) -> LiveOutcome:
    """Phone page, recording and links; the run until its end, then its summary."""
    from strideguard.errors import InputError
    from strideguard.live.run import run_ble
    from strideguard.live.sinkargs import open_sinks
    from strideguard.recording import RecordingError, RecordingWriter

    hub = open_sinks(args)
    ask_on_phone(args, hub)
    acknowledge = offer_acknowledge(hub)
    started_utc, t0 = datetime.now(UTC), time.monotonic()
    try:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create {path.parent}: {exc.strerror or exc}") from None
        rec = RecordingWriter(path, meta)
        try:
            live_run = await run_ble(
                targets,
                meta["sensors"],
                hub.handle,
                recording=rec,
                backend=backend,
                duration_s=args.duration,
                config=config,
                baseline=baseline,
                stop=stop,
                until=until,
                baseline_refused=baseline_refused,
                on_run=acknowledge.attach if acknowledge is not None else None,
            )
        except BaseException:
            with contextlib.suppress(RecordingError):
                rec.close()
            if rec.frames_written == 0:  # nothing was received: no junk recording
                with contextlib.suppress(OSError):
                    path.unlink()
            raise
        if acknowledge is not None:
            acknowledge.attach(None)  # the run is over: nothing left to acknowledge
        try:
            rec.close()
        except RecordingError:
            live_run.notice_recording_stopped(rec.stopped or "write failed", path=str(path))
        if rec.stopped is not None:
            live_run.notice_recording_stopped(
                rec.stopped, path=str(path), after_s=rec.stopped_after_s
            )
        summary = live_run.finish()
    finally:
        hub.close()
    summary["recording"] = str(path)
    if rec.frames_written == 0:  # stopped before any sensor sent anything
        with contextlib.suppress(OSError):
            path.unlink()
        summary["recording"] = None
    return LiveOutcome(summary, live_run, path, started_utc, time.monotonic() - t0)


@dataclass
class LiveOutcome:
    """What a finished live run leaves: its summary, pipelines, recording and times."""

    summary: dict[str, Any]
    live_run: Any
    path: Path
    started_utc: datetime
    wall_s: float


def _conclude(args: argparse.Namespace, outcome: LiveOutcome) -> int:
    """Save the baseline if asked, add the run to the history, print the summary.

    Returns 2 when the baseline could not be saved (after the summary).
    """
    from strideguard.errors import StrideguardError

    summary, live_run = outcome.summary, outcome.live_run
    if uses_stored_baselines(args):
        save_runner_baselines(args.runner, live_run, summary)
    failed: str | None = None
    if args.save_baseline:
        learned = [p.policy.baseline_ for p in live_run.pipelines if p.policy.baseline_]
        if not learned:
            failed = "the run was too short to learn a baseline (needs about 3 minutes of running)"
        else:
            try:
                learned[0].save(args.save_baseline)
                summary["baseline_saved"] = str(args.save_baseline)
            except StrideguardError as exc:
                failed = str(exc)
        if failed is not None:
            summary["baseline_not_saved"] = failed
    if summary.get("recording") is not None:
        add_to_history(
            args,
            live_run,
            summary,
            outcome.path,
            started_utc=outcome.started_utc,
            wall_s=outcome.wall_s,
        )
    _print_summary(summary, args.format)
    if failed is not None:
        from strideguard.cliargs import main_error

        main_error(f"--save-baseline: {failed}")
        return 2
    return 0


#: alert states the text summary lists (reminders repeat an alert already listed)
LISTED_ALERT_STATES = ("raised", "escalated", "acknowledged", "ended")


def _print_summary(summary: dict[str, Any], fmt: str) -> None:
    """Print the end-of-run summary: text, or JSON alone on stdout."""
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
            + (f"; normal: {s['baseline']['text']}" if s.get("baseline") else "")
        )
        for a in listed:
            print(
                f"  {a['time_s']:7.1f} s  {a['severity']:7s} {a['state']:9s} {a['title']}: {a['reason']}"
            )
    for line in summary.get("file_damage", []):
        print(f"recording damaged: {line}")
    for a in summary.get("notices", []):
        print(f"notice: {a['title']}: {a['reason']}")
    stopped = summary.get("recording_stopped")
    if stopped:
        at = stopped.get("run_time_s")
        when = f" at {at:.1f} s of the run" if isinstance(at, int | float) else ""
        print(
            f"recording: {summary['recording']} (stopped{when}: {stopped['reason']}; "
            "what was written is readable)"
        )
    elif summary.get("recording") is None:
        print("recording: none (no sensor sent anything)")
        return
    else:
        print(f"recording: {summary['recording']}")
    if summary.get("baseline_saved"):
        print(f"baseline saved: {summary['baseline_saved']}")
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
