"""A pocket host: ``strideguard live --headless`` starts and ends runs by itself.

The runner only switches the sensors on and off. A headless session:

1. **scans** for the runner's sensors (``--sensor NAME|ADDRESS``, else the
   strideguard sensors it finds), for as long as it takes; without Bluetooth it
   says so and tries again every :attr:`HeadlessSettings.bluetooth_retry_s`;
2. **starts a run** as soon as one of them is found: connects, starts the
   stream, records (a new file in ``--recordings``) and analyses exactly like
   ``strideguard live``; a second sensor joins when it comes;
3. **ends the run** after :attr:`HeadlessSettings.end_still_s` of standing
   still (no sensor moving: :mod:`strideguard.live.activity`), or when no
   sensor has sent anything for :attr:`HeadlessSettings.end_gone_s` (switched
   off, out of range), then closes the links, adds the run to the history and
   logs its summary — and goes back to 1.

A run in which no stride was found (the sensor lay on a table until the
standing-still end) is no run: its recording is removed and the history is
left alone (logged). The phone page stays up for the whole session with a
lasting token (:mod:`strideguard.service.webtoken`); between runs it says it
waits for the next run. What the session does is in a small state file
(:mod:`strideguard.service.state`) for ``strideguard service status``. SIGTERM
or Ctrl-C end the current run cleanly and then the session.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from strideguard.live.run import LiveRun
from strideguard.live.updates import SessionUpdate, run_clock
from strideguard.service.state import SessionState, now_utc

log = logging.getLogger(__name__)

#: end reasons of a run
END_STILL, END_GONE, END_STOPPED, END_SESSION_TIME = "still", "gone", "stopped", "session time"
WAITING_MESSAGE = "Waiting for the sensors: switch them on to start a run."


@dataclass(frozen=True)
class HeadlessSettings:
    """How a headless session finds sensors and ends runs.

    Attributes
    ----------
    recordings
        Folder of the runs' recordings (created).
    end_still_s
        A run ends after this long with no sensor moving (run time).
    end_gone_s
        A run ends when no sensor has sent anything for this long (wall time).
    max_runs
        End the session after this many runs with strides (``None``: never).
    session_s
        End the session after this long (wall time; ``None``: never).
    scan_round_s
        Length of one scan round while waiting for the sensors.
    join_grace_s
        After the first sensor is seen, one more scan this long for the second.
    bluetooth_retry_s
        Wait between tries when Bluetooth is not available.
    """

    recordings: Path
    end_still_s: float = 300.0
    end_gone_s: float = 60.0
    max_runs: int | None = None
    session_s: float | None = None
    scan_round_s: float = 3.0
    join_grace_s: float = 4.0
    bluetooth_retry_s: float = 10.0


def end_reason(
    run: LiveRun, settings: HeadlessSettings, started_wall_s: float, now_s: float
) -> str | None:
    """Why the run should end now (:data:`END_STILL`, :data:`END_GONE`), or ``None``.

    Parameters
    ----------
    run
        The run (its pipelines' :class:`~strideguard.live.activity.ActivityMonitor`).
    settings
        The limits.
    started_wall_s
        ``time.monotonic()`` when the run started (a run that never gets data
        ends ``end_gone_s`` after it).
    now_s
        ``time.monotonic()`` now.
    """
    monitors = [p.activity for p in run.pipelines]
    arrivals = [m.last_data_wall_s for m in monitors if m.last_data_wall_s is not None]
    last = max(arrivals) if arrivals else started_wall_s
    if now_s - last >= settings.end_gone_s:
        return END_GONE
    # the sensors still sending: all of them standing still long enough
    sending = [
        m
        for m in monitors
        if m.last_data_wall_s is not None and now_s - m.last_data_wall_s < settings.end_gone_s
    ]
    if sending and all(m.still_for_s() >= settings.end_still_s for m in sending):
        return END_STILL
    return None


def run_progress(run: LiveRun) -> dict[str, Any]:
    """What ``service status`` shows about the run going on."""
    sensors = []
    for p in run.pipelines:
        sensors.append(
            {
                "sensor": p.sensor,
                "leg": p.leg,
                "strides": len(p.strides),
                "battery_pct": p.battery_pct,
                "samples": p.samples,
                "still_for_s": round(p.activity.still_for_s(), 1),
            }
        )
    active = [
        {"sensor": p.sensor, "kind": k.value, "severity": a.severity.value, "title": a.title}
        for p in run.pipelines
        for k, a in p.policy.unacknowledged().items()
    ]
    return {
        "run_time_s": round(run.run_time_s(), 1),
        "run_time": run_clock(run.run_time_s()),
        "sensors": sensors,
        "alerts_waiting": active,
    }


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def _matches(info: Any, wanted: str) -> bool:
    return wanted in (info.name, info.address) or wanted.upper() == str(info.address).upper()


async def find_sensors(
    wanted: list[str],
    settings: HeadlessSettings,
    stop: asyncio.Event,
    *,
    backend: Any = None,
    on_state: Callable[..., None] | None = None,
) -> list[Any] | None:
    """Scan until one of the runner's sensors is seen; ``None`` when stopped first.

    Returns
    -------
    list
        The targets of the run: with ``wanted``, one entry per wanted sensor
        (its scan result, or the name/address when not seen yet: the link keeps
        looking); without, the sensors seen (at most two, left before right).
    """
    from strideguard.ble.receiver import BluetoothUnavailableError, scan

    said_unavailable = False
    while not stop.is_set():
        try:
            found = await scan(settings.scan_round_s, backend=backend)
        except BluetoothUnavailableError as exc:
            if not said_unavailable:
                said_unavailable = True
                log.warning(
                    "Bluetooth is not available (%s): trying again every %.0f s",
                    exc,
                    settings.bluetooth_retry_s,
                )
            if on_state is not None:
                on_state(state="no_bluetooth", message=f"Bluetooth is not available: {exc}")
            await _wait(stop, settings.bluetooth_retry_s)
            continue
        if said_unavailable:
            said_unavailable = False
            log.info("Bluetooth is available again")
            if on_state is not None:
                on_state(state="scanning", message=WAITING_MESSAGE)
        mine = [f for f in found if any(_matches(f, w) for w in wanted)] if wanted else found
        if not mine:
            continue
        complete = len(mine) >= len(wanted) if wanted else len(mine) >= 2
        if not complete and not stop.is_set():
            # both sensors are usually switched on together: give the other one a moment
            with contextlib.suppress(BluetoothUnavailableError):
                more = await scan(settings.join_grace_s, backend=backend)
                seen = {f.address for f in mine}
                extra = [f for f in more if f.address not in seen]
                mine += (
                    [f for f in extra if any(_matches(f, w) for w in wanted)] if wanted else extra
                )
        if wanted:
            return [next((f for f in mine if _matches(f, w)), w) for w in wanted]
        return sorted(mine, key=lambda f: (f.leg or "~", f.name, f.address))[:2]
    return None


def recording_path(folder: Path) -> Path:
    """A new ``run-YYYYmmdd-HHMMSS.sgrec`` in ``folder`` (``-2``, ``-3``… if taken)."""
    base = time.strftime("run-%Y%m%d-%H%M%S")
    path = folder / f"{base}.sgrec"
    k = 2
    while path.exists():
        path = folder / f"{base}-{k}.sgrec"
        k += 1
    return path


def describe_baselines(baseline: Any, refused: str | None) -> str:
    """One journal line on what a run starts with: the stored baselines per leg, or learning."""
    from strideguard.alerts.baseline import PersonalBaseline

    if isinstance(baseline, PersonalBaseline):
        parts = [f"stored profile from {baseline.created or 'an unknown date'}"]
    elif isinstance(baseline, dict):
        parts = [
            f"{leg}: stored {b.created or ''}".rstrip()
            if b is not None
            else f"{leg}: none stored, learning"
            for leg, b in sorted(baseline.items())
        ]
    else:
        parts = ["none stored, learning the runner's normal in this run"]
    if refused is not None:
        parts.append(f"not used: {refused}")
    return "; ".join(parts)


@dataclass
class HeadlessOutcome:
    """What a headless session did."""

    runs: list[dict[str, Any]]


async def headless_session(
    args: argparse.Namespace,
    stop: asyncio.Event,
    hub: Any,
    settings: HeadlessSettings,
    state: SessionState,
    *,
    config: Any = None,
    baselines: Callable[[], tuple[Any, str | None]] | None = None,
    wanted: list[str] | None = None,
    backend: Any = None,
    mode: str = "live",
    acknowledge: Any = None,
) -> HeadlessOutcome:
    """Scan, run, end, add to the history — until stopped (see the module docstring).

    Parameters
    ----------
    args
        The ``live`` options (history, format).
    stop
        Set by SIGTERM/Ctrl-C: the current run ends cleanly, then the session.
    hub
        The sinks, open for the whole session.
    settings
        Limits and timings.
    state
        The state file.
    config
        Alert settings.
    baselines
        Called at the start of every run: the stored baseline(s) the run starts
        with (one profile, or one per leg) and why a stored one is not used
        (announced in that run). Read per run, so that a baseline stored at the
        end of one run judges the next from its first stride; each run's fit
        check and screen state ("using your baseline from 3 Dec") are its own.
        ``None``: every run learns from scratch.
    wanted
        The runner's sensors (names or addresses); empty: any strideguard sensor.
    backend
        bleak backend (virtual sensors).
    mode
        Recorded in each recording's header.
    acknowledge
        An :class:`~strideguard.live.acknowledge.AcknowledgeAction` to attach
        each run to (the phone page's button).
    """
    t_session = time.monotonic()
    outcome = HeadlessOutcome(runs=[])
    kept = 0

    def session_over() -> bool:
        if stop.is_set():
            return True
        if settings.max_runs is not None and kept >= settings.max_runs:
            return True
        return settings.session_s is not None and time.monotonic() - t_session >= settings.session_s

    session_end = asyncio.Event()

    async def session_clock() -> None:
        if settings.session_s is None:
            await stop.wait()
        else:
            await _wait(stop, max(settings.session_s - (time.monotonic() - t_session), 0.0))
        session_end.set()

    clock = asyncio.ensure_future(session_clock())
    try:
        while not session_over():
            state.update(state="scanning", message=WAITING_MESSAGE, run=None)
            hub.handle(SessionUpdate("waiting", WAITING_MESSAGE))
            log.info("scanning for %s", ", ".join(wanted) if wanted else "strideguard sensors")
            targets = await find_sensors(
                wanted or [], settings, session_end, backend=backend, on_state=state.update
            )
            if targets is None:
                break
            result = await _one_run(
                args,
                targets,
                hub,
                settings,
                state,
                session_end,
                config=config,
                baselines=baselines,
                backend=backend,
                mode=mode,
                acknowledge=acknowledge,
            )
            if result is None:
                continue
            outcome.runs.append(result)
            if result.get("strides", 0) > 0:
                kept += 1
            state.update(
                state="between_runs",
                message=WAITING_MESSAGE,
                runs_done=kept,
                last_run=result,
                run=None,
            )
    finally:
        clock.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await clock
        state.update(state="stopped", message="The session has ended.", run=None)
    return outcome


async def _one_run(
    args: argparse.Namespace,
    targets: list[Any],
    hub: Any,
    settings: HeadlessSettings,
    state: SessionState,
    session_end: asyncio.Event,
    *,
    config: Any,
    baselines: Callable[[], tuple[Any, str | None]] | None,
    backend: Any,
    mode: str,
    acknowledge: Any,
) -> dict[str, Any] | None:
    """One run from connecting to the history; its summary for the state file (``None``: no data)."""
    from strideguard.ble.receiver import BluetoothUnavailableError, SensorLinkError
    from strideguard.commands.live import (
        _print_summary,
        add_to_history,
        ask_on_phone,
        save_runner_baselines,
        uses_stored_baselines,
    )
    from strideguard.live.run import run_ble
    from strideguard.recording import RecordingError, RecordingWriter

    names = [t if isinstance(t, str) else (t.name or t.address) for t in targets]
    # this run's baselines, read now: the last run may have stored new ones
    baseline, baseline_refused = baselines() if baselines is not None else (None, None)
    log.info("baseline: %s", describe_baselines(baseline, baseline_refused))
    settings.recordings.mkdir(parents=True, exist_ok=True)
    path = recording_path(settings.recordings)
    rec = RecordingWriter(path, {"sensors": names, "mode": mode, "headless": True})
    started_utc, t0 = datetime.now(UTC), time.monotonic()
    why: dict[str, str] = {}
    run_stop = asyncio.Event()

    current: list[LiveRun] = []

    async def watchdog() -> None:
        # the session's end, and the run's end while still connecting (a sensor seen in the
        # scan that went away before the link came up: the run ends "gone", scanning resumes)
        while not run_stop.is_set():
            await _wait(session_end, 1.0)
            if session_end.is_set():
                why.setdefault("why", END_STOPPED)
                run_stop.set()
            elif current:
                reason = end_reason(current[0], settings, t0, time.monotonic())
                if reason is not None:
                    why.setdefault("why", reason)
                    run_stop.set()

    relay_task = asyncio.ensure_future(watchdog())

    def until(run: LiveRun) -> bool:
        state.heartbeat(run=run_progress(run))
        reason = end_reason(run, settings, t0, time.monotonic())
        if reason is not None:
            why.setdefault("why", reason)
            return True
        return False

    def on_run(run: LiveRun) -> None:
        current.append(run)
        if acknowledge is not None:
            acknowledge.attach(run)

    log.info("run starting with %s, recording %s", ", ".join(names), path)
    state.update(
        state="running",
        message=f"Run with {', '.join(names)}",
        run={"started_utc": now_utc(), "recording": str(path), "sensors": names},
    )
    ask_on_phone(args, hub)
    try:
        try:
            live_run = await run_ble(
                targets,
                names,
                hub.handle,
                recording=rec,
                backend=backend,
                config=config,
                baseline=baseline,
                stop=run_stop,
                until=until,
                baseline_refused=baseline_refused,
                wait_for_all=False,
                on_run=on_run,
                session_continues=True,
            )
        finally:
            relay_task.cancel()
            if acknowledge is not None:
                acknowledge.attach(None)
    except (SensorLinkError, BluetoothUnavailableError) as exc:
        with contextlib.suppress(RecordingError):
            rec.close()
        log.warning("the run could not start: %s", exc)
        if rec.frames_written == 0:
            path.unlink(missing_ok=True)
        await _wait(session_end, settings.bluetooth_retry_s)
        return None
    try:
        rec.close()
    except RecordingError:
        live_run.notice_recording_stopped(rec.stopped or "write failed", path=str(path))
    if rec.stopped is not None:
        live_run.notice_recording_stopped(rec.stopped, path=str(path), after_s=rec.stopped_after_s)
    summary = live_run.finish()
    wall_s = time.monotonic() - t0
    strides = sum(len(p.strides) for p in live_run.pipelines)
    ended_by = why.get("why", END_STOPPED)
    result: dict[str, Any] = {
        "ended_utc": now_utc(),
        "ended_by": ended_by,
        "strides": strides,
        "run_time_s": round(live_run.run_time_s(), 1),
        "run_time": run_clock(live_run.run_time_s()),
        "sensors": names,
    }
    if rec.frames_written == 0:
        path.unlink(missing_ok=True)
        log.info("run ended (%s) before any data arrived: nothing recorded", ended_by)
        return None
    if strides == 0:
        # the sensor lay still until the standing-still end: no run to keep
        path.unlink(missing_ok=True)
        log.info(
            "run ended (%s) without a single stride in %s: recording removed, not added to the history",
            ended_by,
            run_clock(live_run.run_time_s()),
        )
        return result
    summary["recording"] = str(path)
    summary["ended_by"] = ended_by
    if uses_stored_baselines(args):
        save_runner_baselines(args.runner, live_run, summary)
    add_to_history(args, live_run, summary, path, started_utc=started_utc, wall_s=wall_s)
    result["recording"] = str(path)
    if "history" in summary:
        result["history_run_id"] = summary["history"]["run_id"]
    log.info(
        "run ended (%s): %d strides in %s, recording %s",
        ended_by,
        strides,
        run_clock(live_run.run_time_s()),
        path,
    )
    _print_summary(summary, getattr(args, "format", "text"))
    return result
