"""One live run, driven by BLE sensors (real or virtual) or by a replayed recording.

Both drivers, :func:`run_ble` and :func:`replay`, build the same :class:`LiveRun` —
one :class:`~strideguard.live.pipeline.SensorPipeline` per sensor, fed with the
same decoded blocks — so ``strideguard replay`` reproduces what the runner saw
live.

The run's :class:`~strideguard.live.alarm.SensorAlarm` sends each alert's pattern
to the sensors' motors (live only; the recorded ``alert_pattern`` events show
them in a replay). Acknowledging an alert — :meth:`LiveRun.acknowledge` (the
phone, the host) or a long press on the sensor — ends its reminders and stops
its pattern on every sensor.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bleak.exc import BleakError

from strideguard import protocol as proto
from strideguard.alerts import AlertConfig, PersonalBaseline, texts
from strideguard.alerts.model import Alert, AlertKind, AlertState, Severity
from strideguard.alerts.symmetry import SymmetryMonitor
from strideguard.assembler import BACKFILL_EVENTS, StreamAssembler
from strideguard.ble.receiver import Receiver, SensorLink, SensorLinkError, leg_from_name
from strideguard.live.alarm import PATTERN_EVENT, PATTERN_STOP_EVENT, SensorAlarm, pattern_message
from strideguard.live.pipeline import SensorPipeline
from strideguard.live.streaming import StreamingAnalyzer
from strideguard.live.updates import (
    AlertUpdate,
    HapticUpdate,
    LiveEvent,
    SessionUpdate,
    SymmetryUpdate,
    run_clock,
)
from strideguard.recording import (
    KIND_EVENT,
    KIND_FRAME,
    Recording,
    damage_warnings,
    read_recording,
)

log = logging.getLogger(__name__)

SENSOR_LOST_AFTER_S = 15.0  # a link down this long (and not back) is reported as "sensor lost"
#: how long the end of a run waits for the sensors to stop their patterns
STOP_PATTERNS_TIMEOUT_S = 2.0
#: how long :meth:`LiveRun.acknowledge` from another thread waits for the run's event loop
ACKNOWLEDGE_TIMEOUT_S = 5.0
#: the ``sensor`` of notices about the whole run (the recording, the stored baseline)
RUN_NOTICE_SENSOR = "run"


@dataclass
class LiveRun:
    """The pipelines of one run (one per sensor) and where their events go.

    Parameters
    ----------
    sensors
        Sensor names, in stream order (stream 0, 1, ...).
    emit
        Event sink (usually ``SinkHub.handle``).
    config, baseline
        Alert settings and an optional stored profile: one for every sensor, or
        one per leg (``{"L": ..., "R": ...}``, :mod:`strideguard.profiles`).
    assemblers
        The assembler decoding each sensor's frames when someone else feeds them
        (a BLE link's own); ``None``: each pipeline decodes in its own.
    post_event
        How a host-side event (an acknowledgement) reaches the run: through the
        sensor link's queue, so the recording keeps it in order with the frames
        and a replay applies it at the same place; ``None``: applied at once.
    """

    sensors: Sequence[str]
    emit: Callable[[LiveEvent], None]
    config: AlertConfig | None = None
    baseline: PersonalBaseline | Mapping[str, PersonalBaseline | None] | None = None
    assemblers: Sequence[StreamAssembler] | None = None
    #: a headless session goes on after this run: the phone page keeps listening
    session_continues: bool = False
    post_event: Callable[[int, dict[str, Any]], None] | None = field(default=None, repr=False)
    #: the event loop the run lives in (``run_ble``): :meth:`acknowledge` from another
    #: thread (the phone page's action handlers) is handed to it
    loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    pipelines: list[SensorPipeline] = field(init=False)
    #: which sensor plays which alert pattern (sends them when given a ``send``)
    alarm: SensorAlarm = field(init=False)
    #: notices about the whole run (recording stopped, stored baseline refused), in order
    notices: list[Alert] = field(init=False, default_factory=list)
    #: why the recording stopped (``{"reason", "path", "after_s"}``), else None
    recording_stopped: dict[str, Any] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.assemblers is not None and len(self.assemblers) != len(self.sensors):
            raise ValueError("one assembler per sensor")
        self.pipelines = [
            SensorPipeline(
                name,
                leg_from_name(name),
                StreamingAnalyzer(name, leg_from_name(name)),
                self._pipeline_emit,
                config=self.config,
                baseline=self._baseline_of(leg_from_name(name)),
                stream=i,
                assembler=None if self.assemblers is None else self.assemblers[i],
                on_sensor_ack=self._sensor_ack,
            )
            for i, name in enumerate(self.sensors)
        ]
        #: the two legs' symmetry (two sensors, one per leg), else None
        self.symmetry: SymmetryMonitor | None = None
        by_leg = {p.leg: p for p in self.pipelines if p.leg is not None}
        if set(by_leg) == {"L", "R"} and len(self.pipelines) == 2:
            self.symmetry = SymmetryMonitor(
                {leg: p.policy for leg, p in by_leg.items()}, self.config, keep_pairs=True
            )
            for p in self.pipelines:
                p.on_stride = self._on_stride
        self._stream_of = {p.sensor: i for i, p in enumerate(self.pipelines)}
        patterns = (self.config or AlertConfig()).patterns
        self.alarm = SensorAlarm([p.leg for p in self.pipelines], patterns)
        self._down_since: dict[int, float] = {}
        self._lost_reported: set[int] = set()
        #: what a replay's reader repaired or skipped in the file (damaged records ...)
        self.damage: list[str] = []

    def _on_stride(self, pipeline: SensorPipeline, stride: dict[str, float | None]) -> None:
        """A stride of one leg, after its policy: pair it and feed the symmetry evidence."""
        monitor = self.symmetry
        if monitor is None or pipeline.leg is None:
            return
        step = monitor.add(pipeline.leg, stride, pipeline.host_offset_s)
        by_leg = {p.leg: p for p in self.pipelines}
        for leg, alerts in step.alerts.items():
            for a in alerts:  # to the sinks and the sensor alarm, like the pipelines' own
                self._pipeline_emit(AlertUpdate(sensor=by_leg[leg].sensor, alert=a))
        if step.pairs:
            self.emit(
                SymmetryUpdate(
                    state=monitor.state(),
                    pairs=monitor.n_pairs_,
                    indices=monitor.rolling_indices(),
                    versus_normal=monitor.versus_normal(),
                )
            )

    def symmetry_summary(self) -> dict[str, Any] | None:
        """The run's left/right symmetry for the summary (two sensors), else ``None``."""
        monitor = self.symmetry
        if monitor is None:
            return None
        return monitor.summary()

    def _baseline_of(self, leg: str | None) -> PersonalBaseline | None:
        """The stored baseline for ``leg`` (one profile for every leg, or one per leg)."""
        if self.baseline is None or isinstance(self.baseline, PersonalBaseline):
            return self.baseline
        return self.baseline.get(leg or "")

    def _pipeline_emit(self, event: LiveEvent) -> None:
        """A pipeline's event: to the sinks; an alert event also to the alarm."""
        self.emit(event)
        if isinstance(event, AlertUpdate):
            stream = self._stream_of.get(event.sensor)
            if stream is not None:
                self.alarm.on_alert(stream, event.alert)

    def _sensor_ack(self, stream: int, time_s: float) -> None:
        """The runner held sensor ``stream``'s button: acknowledge the alert it played."""
        owner = self.alarm.sensor_acknowledged(stream)
        if owner is not None and 0 <= owner[0] < len(self.pipelines):
            target, kind = self.pipelines[owner[0]], owner[1]
            if target.policy.is_active(kind):
                target.acknowledge(kind, source="sensor", time_s=time_s)
                return
        self.pipelines[stream].acknowledge(source="sensor", time_s=time_s)

    def acknowledge(
        self,
        leg: str | None = None,
        kind: str | None = None,
        *,
        source: str = "phone",
        sensor: str | None = None,
    ) -> dict[str, Any] | None:
        """The runner acknowledged an alert (the phone page's button, the host): no more reminders.

        The one host-side entry point: the alert's pattern also stops on every
        sensor still repeating it (``OP_ACKNOWLEDGE``), as after a long press.

        Parameters
        ----------
        leg
            ``"L"``/``"R"``: an alert of that leg's sensor; ``None``: any sensor's.
        kind
            The alert (``AlertKind`` value); ``None``: the most urgent alert that
            is on and not yet acknowledged (the latest raised among equals).
        source
            Where it came from (``"phone"``, ``"host"``): recorded, named in the reason.
        sensor
            The sensor whose alert it is (its name, as the phone page's banner
            shows it); ``None``: any sensor's (of ``leg``).

        Returns
        -------
        dict or None
            ``{"sensor", "kind"}`` of the alert acknowledged, or ``None`` when no
            alert waits for one (or the run is over). The ``acknowledged`` alert
            event follows through :attr:`post_event` (recorded, so a replay repeats
            it), or at once.

        Notes
        -----
        Safe to call from any thread: from outside the run's event loop (e.g. a
        phone page action running in an executor) the call is handed to the loop
        and waits up to ``ACKNOWLEDGE_TIMEOUT_S`` for its answer.
        """
        loop = self.loop
        if loop is not None:
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not loop:
                done: concurrent.futures.Future[dict[str, Any] | None] = concurrent.futures.Future()

                def call() -> None:
                    try:
                        done.set_result(self._acknowledge(leg, kind, source, sensor))
                    except Exception as exc:
                        done.set_exception(exc)

                try:
                    loop.call_soon_threadsafe(call)
                    return done.result(timeout=ACKNOWLEDGE_TIMEOUT_S)
                except (RuntimeError, concurrent.futures.TimeoutError):
                    log.info("acknowledge: the run's event loop is gone or busy")
                    return None  # the run ended (its loop closed) or does not answer
        return self._acknowledge(leg, kind, source, sensor)

    def _acknowledge(
        self, leg: str | None, kind: str | None, source: str, sensor: str | None
    ) -> dict[str, Any] | None:
        """:meth:`acknowledge` in the run's own thread."""
        best: tuple[tuple[int, float], int, AlertKind] | None = None
        for stream, p in enumerate(self.pipelines):
            if (leg is not None and p.leg != leg) or (sensor is not None and p.sensor != sensor):
                continue
            for k, alert in p.policy.unacknowledged().items():
                if kind is not None and k.value != kind:
                    continue
                rank = (alert.severity.rank, alert.time_s)
                if best is None or rank > best[0]:
                    best = (rank, stream, k)
        if best is None:
            return None
        _, stream, which = best
        event = {"event": "acknowledge", "kind": which.value, "source": source}
        if self.post_event is not None:
            self.post_event(stream, event)
        else:
            self.on_link_event(stream, event)
        return {"sensor": self.pipelines[stream].sensor, "kind": which.value}

    def on_link_event(self, stream: int, event: dict[str, Any], now_s: float | None = None) -> None:
        """Turn a receiver/recording event into link updates and notices."""
        if not 0 <= stream < len(self.pipelines):
            return
        p = self.pipelines[stream]
        kind = event.get("event")
        now = time.monotonic() if now_s is None else now_s
        if kind in (PATTERN_EVENT, PATTERN_STOP_EVENT):
            self.alarm.on_event(stream, event)
            message, ok = pattern_message(event, p.leg, sensor=p.sensor)
            self.emit(
                HapticUpdate(
                    sensor=p.sensor,
                    leg=p.leg,
                    action="play" if kind == PATTERN_EVENT else "stop",
                    pattern=str(event.get("pattern") or ""),
                    ok=ok,
                    message=message,
                    kind=str(event.get("kind") or "") or None,
                )
            )
            return
        if kind == "acknowledge":
            raw = event.get("kind")
            try:
                which = AlertKind(raw) if raw else None
            except ValueError:
                which = None  # no kind, or a newer host's alert: the most urgent one
            p.acknowledge(which, source=str(event.get("source") or ""))
            return
        if kind == "connect":
            self._down_since.pop(stream, None)
            p.link_update("connected")
        elif kind == "mtu":
            p.link_update("connected", mtu=int(event.get("mtu", 0)) or None)
        elif kind == "disconnect":
            if event.get("reason") == "closed":  # the host closed the link on purpose
                self._down_since.pop(stream, None)
                p.link_update("closed")
            else:
                self._down_since.setdefault(stream, now)
                p.link_update("reconnecting")
        elif kind == "gave_up":
            p.link_update("lost")
            self._sensor_lost(stream, now)
        elif kind == "battery":
            pct = int(event.get("pct", 255))
            if 0 <= pct <= 100:
                p.link_update("connected", battery_pct=pct)
        elif kind == "recording_stopped":
            self.notice_recording_stopped(
                str(event.get("reason") or "write failed"),
                path=event.get("path"),
                after_s=event.get("after_s"),
            )

    def run_time_s(self) -> float:
        """Run time reached so far (the latest sample of any sensor)."""
        return max((p.last_time_s for p in self.pipelines), default=0.0)

    def notice(
        self, kind: AlertKind, text: texts.AlertText, numbers: dict[str, Any] | None = None
    ) -> Alert:
        """Raise a notice about the whole run (terminal, phone page, speech, summary)."""
        alert = Alert(
            kind,
            Severity.INFO,
            AlertState.RAISED,
            self.run_time_s(),
            None,
            text.title,
            text.reason,
            text.advice,
            dict(numbers or {}),
            None,
        )
        self.notices.append(alert)
        self.emit(AlertUpdate(sensor=RUN_NOTICE_SENSOR, alert=alert))
        return alert

    def notice_recording_stopped(
        self, reason: str, *, path: Any = None, after_s: Any = None
    ) -> None:
        """The recording could not be written any more: say so once; the analysis goes on.

        ``after_s`` is the arrival time (recording clock) of the last record kept.
        """
        if self.recording_stopped is not None:
            return
        alert = self.notice(AlertKind.RECORDING_STOPPED, texts.recording_stopped(reason))
        self.recording_stopped = {
            "reason": reason,
            "path": path,
            "run_time_s": alert.time_s,  # where the run was when it stopped
            "recording_clock_s": after_s,  # the last record kept, on the recording's clock
        }

    def notice_baseline_refused(self, reason: str) -> None:
        """A stored baseline could not be used: this run learns one from scratch."""
        self.notice(AlertKind.BASELINE_REFUSED, texts.baseline_refused(reason))

    def _sensor_lost(self, stream: int, now: float) -> None:
        if stream in self._lost_reported:
            return
        self._lost_reported.add(stream)
        p = self.pipelines[stream]
        silent = now - self._down_since.get(stream, now)
        p.notice_sensor_lost(max(silent, SENSOR_LOST_AFTER_S))

    def check_silence(self, now_s: float | None = None) -> None:
        """Report sensors whose link has been down too long."""
        now = time.monotonic() if now_s is None else now_s
        for stream, since in list(self._down_since.items()):
            if now - since >= SENSOR_LOST_AFTER_S:
                self._sensor_lost(stream, now)

    def finish(self) -> dict[str, Any]:
        """End the run: flush, end active alerts, return the summary."""
        for p in self.pipelines:
            p.finish()
        summary: dict[str, Any] = {"sensors": [dict(p.summary()) for p in self.pipelines]}
        summary["notices"] = [a.to_dict() for a in self.notices]
        if self.recording_stopped is not None:
            summary["recording_stopped"] = dict(self.recording_stopped)
        if self.damage:
            summary["file_damage"] = list(self.damage)
        sym = self.symmetry_summary()
        if sym is not None:
            summary["symmetry"] = sym
        strides = sum(len(p.strides) for p in self.pipelines)
        # the phone page shows "run finished" instead of trying to reconnect for ever (and in a
        # headless session keeps listening for the next run)
        details: dict[str, Any] = {"strides": strides, "run_time_s": self.run_time_s()}
        if self.session_continues:
            details["session_continues"] = True
        self.emit(
            SessionUpdate(
                "ended",
                f"Run finished: {strides} strides in {run_clock(self.run_time_s())}",
                details,
            )
        )
        return summary


def replay(
    path: str | Path | Recording,
    emit: Callable[[LiveEvent], None],
    *,
    speed: float | None = None,
    config: AlertConfig | None = None,
    baseline: PersonalBaseline | None = None,
    stop: Callable[[], bool] | None = None,
    name: str | None = None,
) -> LiveRun:
    """Run a recording through the live path.

    Parameters
    ----------
    path
        A ``.sgrec`` recording, or one already read.
    emit
        Event sink.
    speed
        Play back ``speed`` times faster than recorded (by arrival times);
        ``None`` as fast as possible.
    config, baseline
        Alert settings.
    stop
        Checked between batches: when it returns true (Ctrl-C) the replay ends
        there, like the recording would.
    name
        What the start message calls the recording (default: its file name).

    Returns
    -------
    LiveRun
        After the whole recording (or the stop); its pipelines hold strides and alerts.
    """
    if isinstance(path, Recording):
        rec, title = path, name or "a recording"
    else:
        rec, title = read_recording(path), name or Path(path).name
    names = [str(n) for n in (rec.header.get("sensors") or [])]
    streams = rec.streams()
    while len(names) < (max(streams) + 1 if streams else 1):
        names.append(f"sensor{len(names)}")
    run = LiveRun(names, emit, config=config, baseline=baseline)
    run.damage = damage_warnings(rec)
    emit(SessionUpdate("started", f"Replaying {title}", {"sensors": names}))
    for p in run.pipelines:  # as live: which normal judges the run, from its start
        p.baseline_update(force=True)
    event_at = dict(zip(rec.event_records, rec.events, strict=True))
    t_wall0 = time.monotonic()
    t_rec0 = float(rec.arrival_s[0]) if rec.arrival_s.size else 0.0
    n = rec.kind.size
    i = 0
    # records in file order (the order the live host handled them): frames of one sensor in
    # small groups, like a receiver batch; an event acts at its place among them
    while i < n:
        if stop is not None and stop():
            break
        kind = rec.kind[i]
        if kind == KIND_EVENT:
            t_ev, s_ev, ev = event_at[i]
            run.on_link_event(s_ev, ev, now_s=t_ev)
            if ev.get("event") in BACKFILL_EVENTS and 0 <= s_ev < len(run.pipelines):
                run.pipelines[s_ev].apply_event(ev)
            i += 1
            continue
        if kind != KIND_FRAME:
            i += 1
            continue
        stream = int(rec.stream[i])
        j = i
        while j < n and j - i < 4 and rec.kind[j] == KIND_FRAME and rec.stream[j] == stream:
            j += 1
        t_arr = float(rec.arrival_s[j - 1])
        if speed:
            wait = t_wall0 + (t_arr - t_rec0) / speed - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        if stream < len(run.pipelines):
            run.pipelines[stream].push(
                [rec.payload(k) for k in range(i, j)],
                [float(rec.arrival_s[k]) for k in range(i, j)],
            )
        run.check_silence(now_s=t_arr)
        i = j
    if rec.arrival_s.size:
        run.check_silence(now_s=float(rec.arrival_s[-1]))
    return run


async def run_ble(
    targets: Sequence[Any],
    names: Sequence[str],
    emit: Callable[[LiveEvent], None],
    *,
    recording: Any = None,
    backend: Any = None,
    duration_s: float | None = None,
    config: AlertConfig | None = None,
    baseline: PersonalBaseline | None = None,
    status_every_s: float = 2.0,
    stop: asyncio.Event | None = None,
    until: Callable[[LiveRun], bool] | None = None,
    baseline_refused: str | None = None,
    wait_for_all: bool = True,
    on_run: Callable[[LiveRun], None] | None = None,
    session_continues: bool = False,
) -> LiveRun:
    """Receive from BLE sensors until ``duration_s`` passes or ``stop`` is set.

    Parameters
    ----------
    targets
        What :class:`~strideguard.ble.receiver.Receiver` accepts (SensorInfo, address, name).
    names
        Sensor labels in the same order.
    emit
        Event sink.
    recording
        A :class:`~strideguard.recording.RecordingWriter` (every frame is recorded).
    backend
        bleak backend (the bumble one for virtual sensors).
    duration_s
        Stop after this long (wall time); ``None`` runs until ``stop``.
    stop
        Set it to end the run (Ctrl-C, SIGTERM): the links close and the run
        returns normally, so its summary and baseline are not lost.
    until
        Checked every ``status_every_s``/4: the run ends when it returns true.
    baseline_refused
        Why a stored baseline was not used: announced at the start (the run
        learns one from scratch).
    wait_for_all
        Start when every sensor is connected (default), or as soon as one is
        (a headless session: the others join when they are switched on).
    on_run
        Called with the :class:`LiveRun` as soon as it exists (e.g. to let the
        phone page acknowledge alerts during the run: :meth:`LiveRun.acknowledge`).
    session_continues
        A headless session goes on after this run (see :attr:`LiveRun.session_continues`).

    Returns
    -------
    LiveRun
        After the links are closed; call :meth:`LiveRun.finish` for the summary.
    """

    def on_samples(block: Any) -> None:
        run.pipelines[block.stream].on_samples(block)

    def on_event(stream: int, event: dict[str, Any]) -> None:
        run.on_link_event(stream, event)

    receiver = Receiver(
        targets, recording=recording, backend=backend, on_samples=on_samples, on_event=on_event
    )
    # each link decodes its own frames: its assembler's counts are the sensor's
    run = LiveRun(
        names,
        emit,
        config=config,
        baseline=baseline,
        assemblers=[link.assembler for link in receiver.links],
        session_continues=session_continues,
        # host-side events (acknowledgements) go through the link's queue: recorded in order
        post_event=lambda stream, event: receiver.links[stream].inject_event(event),
        loop=asyncio.get_running_loop(),
    )
    writes: set[asyncio.Task[None]] = set()

    def send(stream: int, write: bytes, event: dict[str, Any]) -> None:
        task = asyncio.ensure_future(_write_pattern(receiver.links[stream], write, event))
        writes.add(task)
        task.add_done_callback(writes.discard)

    run.alarm.send = send
    run.alarm.connected = lambda stream: receiver.links[stream].connected
    title = f"Live with {len(names)} sensor(s)"
    emit(SessionUpdate("started", title, {"sensors": list(names), "run_time_s": 0.0}))
    for p in run.pipelines:  # which normal judges this run, from its start
        p.baseline_update(force=True)
    if on_run is not None:
        on_run(run)
    if baseline_refused is not None:
        run.notice_baseline_refused(baseline_refused)
    stop = stop or asyncio.Event()
    t0 = time.monotonic()
    connects = [asyncio.ensure_future(link.connect()) for link in receiver.links]
    try:
        # a stop (Ctrl-C, SIGTERM) while still connecting ends the run too
        stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        pending: set[asyncio.Future[Any]] = set(connects)
        try:
            while pending and not stop.is_set():
                done, pending = await asyncio.wait(
                    pending | {stopping}, return_when=asyncio.FIRST_COMPLETED
                )
                pending.discard(stopping)
                for task in done - {stopping}:
                    task.result()  # a link that gave up at once (no Bluetooth, not a sensor)
                if not wait_for_all and len(done - {stopping}) > 0:
                    break  # the others join when they come (their links keep trying)
        finally:
            stopping.cancel()
        if stop.is_set():
            return run
        for link in receiver.links:
            if not link.connected:
                continue
            try:
                st = await link.read_status()
                run.on_link_event(
                    link.stream, {"event": "battery", "pct": st.get("battery_pct", 255)}
                )
            except Exception as exc:  # best effort: the run goes on without the level
                reason = str(exc) or type(exc).__name__
                log.warning("%s: battery level not read at the start: %s", link.label, reason)
        while not stop.is_set():
            if duration_s is not None and time.monotonic() - t0 >= duration_s:
                break
            for _ in range(4):
                if until is not None and until(run):
                    stop.set()
                    break
                try:
                    await asyncio.wait_for(stop.wait(), timeout=status_every_s / 4)
                except TimeoutError:
                    pass
            for link in receiver.links:
                p = run.pipelines[link.stream]
                battery = link.stats.status.get("battery_pct")
                p.link_update(
                    "connected" if link.connected else "reconnecting",
                    mtu=link.mtu or None,
                    battery_pct=battery if battery is not None and 0 <= battery <= 100 else None,
                )
            run.check_silence()
            # the run's clock for the phone page and the terminal's title
            run_s = run.run_time_s()
            emit(
                SessionUpdate(
                    "running",
                    f"{title} · {run_clock(run_s)}",
                    {"sensors": list(names), "run_time_s": run_s},
                )
            )
    finally:
        for task in connects:
            if not task.done():
                task.cancel()
        for task in connects:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        # a stop pattern still repeating belongs to this run: the sensors stop it
        run.alarm.stop_all("run_ended")
        if writes:
            await asyncio.wait(set(writes), timeout=STOP_PATTERNS_TIMEOUT_S)
        run.alarm.send = None
        await receiver.close()
    return run


async def _write_pattern(link: SensorLink, write: bytes, event: dict[str, Any]) -> None:
    """Write an alert pattern (or its stop) to a sensor; record ``event`` with the answer.

    The event goes through the link's queue, so the recording holds it among the
    frames and the run shows it (:meth:`LiveRun.on_link_event`) live and in a replay.
    """
    error = None
    try:
        result: int | None = await link.write_control(write)
    except (SensorLinkError, BleakError, OSError, TimeoutError) as exc:
        result, error = None, str(exc) or type(exc).__name__
    out = {**event, "result": result, "ok": result == proto.RESULT_SUCCESS}
    if error is not None:
        out["error"] = error
        log.info("%s: %s not written: %s", link.label, event.get("event"), error)
    link.inject_event(out)
