"""One sensor's live pipeline: frames in, strides and alerts out to the sinks.

The same :class:`SensorPipeline` serves a BLE sensor, a replayed recording and
the simulator, so ``strideguard replay`` runs a recording through exactly the
live path. Per sensor it chains

    payloads → :class:`~strideguard.assembler.StreamAssembler` (decode, gaps, running index)
             → :class:`~strideguard.frames.BoardClock` (board sample clock)
             → :class:`~strideguard.live.streaming.StreamingAnalyzer` (calibration,
               alignment, events, metrics)
             → :class:`~strideguard.alerts.AlertPolicy`
             → sink events (:mod:`strideguard.live.updates`).

A BLE :class:`~strideguard.ble.receiver.SensorLink` does the first step with its
own assembler (handed to the pipeline, so the run summary counts what it
rejected) and calls :meth:`SensorPipeline.on_samples`; a replay calls
:meth:`SensorPipeline.push`. :class:`~strideguard.live.run.LiveRun` holds the
pipelines of one run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from strideguard import protocol as proto
from strideguard.alerts import AlertConfig, AlertPolicy, PersonalBaseline
from strideguard.alerts.model import Alert, AlertKind
from strideguard.assembler import SampleBlock, StreamAssembler
from strideguard.frames import ACC_SCALE_MPS2, GYR_SCALE_DPS, BoardClock
from strideguard.live.activity import ActivityMonitor
from strideguard.live.alarm import shin
from strideguard.live.streaming import StreamingAnalyzer
from strideguard.live.updates import (
    AlertUpdate,
    BaselineUpdate,
    HapticUpdate,
    LinkUpdate,
    LiveEvent,
    StrideUpdate,
)

Emit = Callable[[LiveEvent], None]
#: while learning, the baseline countdown is sent this often (s of running)
BASELINE_STATUS_EVERY_S = 10.0
#: frames over which the host-clock offset is the lowest lag (about 20 s at 200 Hz)
HOST_OFFSET_FRAMES = 400
#: ``on_sensor_ack(stream, time_s)``: the runner held the sensor's button (FLAG2_ACKNOWLEDGED)
SensorAck = Callable[[int, float], None]
#: raw counts (ax, ay, az, gx, gy, gz) to m/s² and °/s
_SCALE = np.array([ACC_SCALE_MPS2] * 3 + [GYR_SCALE_DPS] * 3)


class SensorPipeline:
    """Everything one sensor's samples go through.

    Parameters
    ----------
    sensor
        Label (e.g. ``"StrideGuard-L"``).
    leg
        ``"L"``/``"R"``/``None``.
    analyzer
        Streaming analysis of this sensor's samples.
    emit
        Where events go (usually :meth:`SinkHub.handle`).
    config, baseline
        For the :class:`AlertPolicy`.
    stream
        Sensor number (0, 1) in a two-sensor run.
    assembler
        The assembler that decodes this sensor's notifications: a BLE link's own
        (:attr:`SensorLink.assembler <strideguard.ble.receiver.SensorLink.assembler>`);
        by default a new one, fed by :meth:`push`.
    on_sensor_ack
        Called when a frame says the runner acknowledged the sensor's alert
        pattern with a long press (:class:`~strideguard.live.run.LiveRun` finds
        whose alert it played); ``None``: this sensor's most urgent alert.
    """

    def __init__(
        self,
        sensor: str,
        leg: str | None,
        analyzer: StreamingAnalyzer,
        emit: Emit,
        *,
        config: AlertConfig | None = None,
        baseline: PersonalBaseline | None = None,
        stream: int = 0,
        assembler: StreamAssembler | None = None,
        on_sensor_ack: SensorAck | None = None,
    ) -> None:
        self.sensor = sensor
        self.stream = stream
        self.on_sensor_ack = on_sensor_ack
        self.leg = leg
        self.analyzer = analyzer
        self.emit = emit
        self.assembler = assembler if assembler is not None else StreamAssembler(stream)
        self.clock = BoardClock()
        self.policy = AlertPolicy(config=config or AlertConfig(), baseline=baseline, leg=leg)
        self._baseline_key: tuple[object, ...] | None = None
        #: called with each stride after this leg's policy saw it (the two-leg symmetry)
        self.on_stride: Callable[[SensorPipeline, dict[str, float | None]], None] | None = None
        # lower envelope of (arrival − board time of a frame's last sample): the offset that
        # puts this sensor's times on the host clock, over the last frames (clock drift)
        self._lags: deque[float] = deque(maxlen=HOST_OFFSET_FRAMES)
        self.strides: list[dict[str, float | None]] = []
        self.samples = 0
        self.samples_lost = 0
        self._last_time_s = 0.0
        #: moving or standing, still sending (what ends a headless run)
        self.activity = ActivityMonitor()
        #: the latest battery level reported (every link update carries it)
        self.battery_pct: int | None = None

    @property
    def last_time_s(self) -> float:
        """Run time of the latest sample processed."""
        return self._last_time_s

    @property
    def alerts(self) -> list[Alert]:
        """Alerts raised so far."""
        return self.policy.alerts_

    def _emit_alerts(self, alerts: Sequence[Alert]) -> None:
        for a in alerts:
            self.emit(AlertUpdate(sensor=self.sensor, alert=a))

    def push(self, payloads: Sequence[bytes], arrival_s: Sequence[float] | None = None) -> None:
        """Decode newly arrived notification payloads and process them (replay path)."""
        block = self.assembler.feed(payloads, arrival_s)
        if block is not None:
            self.on_samples(block)

    def apply_event(self, event: Mapping[str, Any]) -> None:
        """A recorded backfill event, in its place among the frames (replay path)."""
        block = self.assembler.apply_event(dict(event))
        if block is not None:
            self.on_samples(block)

    def on_samples(self, block: SampleBlock) -> None:
        """Process a decoded block (the BLE receiver calls this directly).

        Blocks come in index order; a block may carry only gaps (a hole settled
        as lost with nothing after it yet).
        """
        self.samples += block.n_samples
        self.samples_lost += sum(n for _, n in block.gaps)
        if block.n_samples == 0:
            for first_missing, n_missing in block.gaps:
                start = float(self.clock.time_s(first_missing - 1))
                end = float(self.clock.time_s(first_missing + n_missing))
                self._emit_alerts(self.policy.notice_gap(start, end))
            return
        self.clock.add_frames(block.frames)
        self._follow_host_offset(block.frames)
        t = self.clock.time_s(block.sample_index)
        for first_missing, n_missing in block.gaps:
            start = float(self.clock.time_s(first_missing - 1))
            end = float(self.clock.time_s(first_missing + n_missing))
            self._emit_alerts(self.policy.notice_gap(start, end))
        fr = block.frames
        flags = fr["flags"].tolist()
        if any(f & proto.FLAG_PAIN_MARK for f in flags):
            for idx in fr["first_index"][(fr["flags"] & proto.FLAG_PAIN_MARK) != 0].tolist():
                self._emit_alerts(self.policy.mark_pain(float(self.clock.time_s(idx))))
        if any(fr["flags2"].tolist()):  # rare: a long press, a "link lost" played
            self._sensor_flags(fr)
        x = block.raw * _SCALE  # counts -> m/s² and °/s in one step (float64)
        acc, gyr = x[:, :3], x[:, 3:]
        self.activity.update(t, gyr)
        # lost samples travel as jumps of the running index: the analyzer bridges them
        # exactly as the offline analysis does (strideguard.gaps)
        self._strides(self.analyzer.push(t, acc, gyr, sample_index=block.sample_index))
        self._last_time_s = float(t[-1])
        for ev in self.analyzer.calibration_events():
            self.emit(ev)

    def _follow_host_offset(self, frames: Any) -> None:
        arr = np.asarray(frames["arrival_s"], dtype=np.float64)
        ok = np.isfinite(arr)
        if not ok.any():
            return
        last = frames["first_index"][ok] + frames["count"][ok].astype(np.int64) - 1
        self._lags.extend((arr[ok] - self.clock.time_s(last)).tolist())

    @property
    def host_offset_s(self) -> float:
        """Seconds to add to this sensor's times to put them on the host clock (0 when the
        frames carry no arrival times, e.g. a replay of a file without them)."""
        return min(self._lags) if self._lags else 0.0

    def baseline_update(self, force: bool = False) -> BaselineUpdate | None:
        """Emit the baseline state when it changed (while learning: every
        :data:`BASELINE_STATUS_EVERY_S` of the countdown), or always with ``force``."""
        st = self.policy.baseline_status()
        left = st["seconds_left"]
        step = (
            None if left is None else int(float(left) // BASELINE_STATUS_EVERY_S)  # type: ignore[arg-type]
        )
        key = (st["state"], st["created"], step)
        if key == self._baseline_key and not force:
            return None
        self._baseline_key = key
        ev = BaselineUpdate(
            sensor=self.sensor,
            state=str(st["state"]),
            message=str(st["message"]),
            seconds_left=None if left is None else float(left),  # type: ignore[arg-type]
            created=None if st["created"] is None else str(st["created"]),
        )
        self.emit(ev)
        return ev

    def _sensor_flags(self, fr: np.ndarray) -> None:
        """A long press (``FLAG2_ACKNOWLEDGED``), a "link lost" played (``FLAG2_LINK_LOST_CUE``)."""
        flags2 = fr["flags2"]
        for idx in fr["first_index"][(flags2 & proto.FLAG2_ACKNOWLEDGED) != 0].tolist():
            t = float(self.clock.time_s(idx))
            if self.on_sensor_ack is not None:
                self.on_sensor_ack(self.stream, t)
            else:
                self.acknowledge(source="sensor", time_s=t)
        if np.any(flags2 & proto.FLAG2_LINK_LOST_CUE):
            self.emit(
                HapticUpdate(
                    sensor=self.sensor,
                    leg=self.leg,
                    action="link_lost",
                    pattern="link_lost",
                    ok=True,
                    message=f"While the link was down, the sensor on {shin(self.leg)} buzzed "
                    "'link lost': the alerts were off",
                )
            )

    def acknowledge(
        self, kind: AlertKind | None = None, *, source: str = "", time_s: float | None = None
    ) -> list[Alert]:
        """The runner acknowledged an alert of this sensor (:meth:`AlertPolicy.acknowledge`)."""
        when = self._last_time_s if time_s is None else time_s
        alerts = self.policy.acknowledge(when, kind, source=source)
        self._emit_alerts(alerts)
        return alerts

    def _strides(self, strides: list[dict[str, float | None]]) -> None:
        self.policy.angle_calibrated = self.analyzer.angle_calibrated
        for stride in strides:
            self.strides.append(stride)
            self.emit(
                StrideUpdate(
                    sensor=self.sensor,
                    leg=self.leg,
                    stride_index=len(self.strides) - 1,
                    time_s=float(stride.get("initial_contact_s") or 0.0),
                    metrics=dict(stride),
                )
            )
            self._emit_alerts(self.policy.update(stride))
            if self.on_stride is not None:
                self.on_stride(self, stride)
            self.baseline_update()

    def link_update(
        self, state: str, *, mtu: int | None = None, battery_pct: int | None = None
    ) -> LinkUpdate:
        """Emit the current link state of this sensor (and a battery notice if low).

        The battery level is remembered: every later update carries the last
        one known (the phone page and the terminal keep showing it).
        """
        if battery_pct is not None:
            self.battery_pct = battery_pct
        lost = self.samples_lost
        total = self.samples + lost
        ev = LinkUpdate(
            sensor=self.sensor,
            state=state,
            mtu=mtu,
            battery_pct=self.battery_pct,
            samples_lost=lost,
            loss_pct=round(100.0 * lost / total, 2) if total else 0.0,
        )
        self.emit(ev)
        if battery_pct is not None:
            self._emit_alerts(self.policy.notice_battery(battery_pct, self._last_time_s))
        return ev

    def notice_sensor_lost(self, silent_s: float) -> None:
        """The link has been down too long: raise the sensor-lost notice."""
        self._emit_alerts(self.policy.notice_sensor_lost(self._last_time_s, silent_s))

    def finish(self) -> None:
        """End of this sensor's stream (recording over, run ended): release the samples held
        for backfill, then the strides the analyzer still holds for their look-ahead
        (:meth:`StreamingAnalyzer.flush`; through the alert policy and the sinks like any
        other), then report the active alerts as ended."""
        block = self.assembler.settle_all()
        if block is not None:
            self.on_samples(block)
        self._strides(self.analyzer.flush())
        for ev in self.analyzer.calibration_events():
            self.emit(ev)
        self._emit_alerts(self.policy.finish(self._last_time_s))

    def summary(self) -> Mapping[str, Any]:
        """Run summary for the end-of-run report."""
        lost = self.samples_lost
        total = self.samples + lost
        return {
            "sensor": self.sensor,
            "leg": self.leg,
            "strides": len(self.strides),
            "alerts": [x.to_dict() for x in self.alerts],
            "samples": self.samples,
            "samples_lost": lost,
            "loss_pct": round(100.0 * lost / total, 2) if total else 0.0,
            "frames_rejected": dict(self.assembler.rejected),
            "samples_backfilled": self.assembler.backfilled,
            "rate_hz": round(self.clock.rate_hz, 3),
            "angle_calibrated": self.analyzer.angle_calibrated,
            "baseline": self.baseline_summary(),
        }

    def baseline_summary(self) -> dict[str, Any]:
        """Which normal judged this run: source (``stored``/``relearned``/``learned``/``None``),
        the words the history uses, when a stored one was learned, why one was dropped."""
        from strideguard.alerts import texts

        policy = self.policy
        source = policy.baseline_source_
        stored = policy.baseline
        created = stored.created if stored is not None else None
        return {
            "source": source,
            "text": texts.baseline_used(source, created, learned=policy.baseline_ is not None),
            "stored_created": created,
            "dropped": policy.baseline_dropped_,
        }
