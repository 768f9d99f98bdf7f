"""One live run: frames in, strides and alerts out to the sinks, everything recorded.

The same :class:`SensorPipeline` serves a BLE sensor, a replayed recording and
the simulator, so ``strideguard replay`` runs a recording through exactly the
live path. Per sensor it chains

    payloads → :class:`~strideguard.live.stream.FrameStream` (decode, gaps, board clock)
             → stride extractor (streaming analysis: calibration, alignment, events, metrics)
             → :class:`~strideguard.alerts.AlertPolicy`
             → sink events (:mod:`strideguard.live.events`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from strideguard.alerts import AlertConfig, AlertPolicy, PersonalBaseline
from strideguard.alerts.model import Alert
from strideguard.live.events import (
    AlertUpdate,
    CalibrationUpdate,
    LinkUpdate,
    LiveEvent,
    StrideUpdate,
)
from strideguard.live.stream import FrameStream, SampleBlock


class StrideExtractor(Protocol):
    """Streaming analysis of one sensor: sample blocks in, finished strides out."""

    def push(self, block: SampleBlock, time_s: Any) -> list[dict[str, float | None]]:
        """Add samples; return strides completed by them (metrics with units in keys)."""

    def calibration_events(self) -> list[CalibrationUpdate]:
        """Calibration prompts/results produced since the last call."""

    @property
    def angle_calibrated(self) -> bool:
        """Whether tibia angles are absolute (standing calibration done)."""


Emit = Callable[[LiveEvent], None]


class SensorPipeline:
    """Everything one sensor's frames go through.

    Parameters
    ----------
    sensor
        Label (e.g. ``"StrideGuard-L"``).
    leg
        ``"L"``/``"R"``/``None``.
    extractor
        Streaming analysis.
    emit
        Where events go (usually :meth:`SinkHub.handle`).
    config, baseline
        For the :class:`AlertPolicy`.
    reorder_window_frames
        See :class:`FrameStream`.
    """

    def __init__(
        self,
        sensor: str,
        leg: str | None,
        extractor: StrideExtractor,
        emit: Emit,
        *,
        config: AlertConfig | None = None,
        baseline: PersonalBaseline | None = None,
        reorder_window_frames: int = 2,
    ) -> None:
        self.sensor = sensor
        self.leg = leg
        self.extractor = extractor
        self.emit = emit
        self.stream = FrameStream(reorder_window_frames=reorder_window_frames)
        self.policy = AlertPolicy(config=config or AlertConfig(), baseline=baseline, leg=leg)
        self.strides: list[dict[str, float | None]] = []
        self._last_link_emit = 0.0

    @property
    def alerts(self) -> list[Alert]:
        """Alerts raised so far."""
        return self.policy.alerts_

    def _emit_alerts(self, alerts: Sequence[Alert]) -> None:
        for a in alerts:
            self.emit(AlertUpdate(sensor=self.sensor, alert=a))

    def push(self, payloads: Sequence[bytes], arrival_s: Sequence[float] | None = None) -> None:
        """Process newly arrived notification payloads."""
        for block in self.stream.push(payloads, arrival_s):
            self._process(block)
        for ev in self.extractor.calibration_events():
            self.emit(ev)

    def flush(self) -> None:
        """Process everything held back (link dropped or stream ended)."""
        for block in self.stream.flush():
            self._process(block)

    def _process(self, block: SampleBlock) -> None:
        times = self.stream.time_s
        if block.gap_before > 0:
            start = float(times(block.first_index - block.gap_before))
            end = float(times(block.first_index))
            self._emit_alerts(self.policy.notice_gap(start, end))
        for idx in block.pain_mark_indices:
            self._emit_alerts(self.policy.mark_pain(float(times(idx))))
        self.policy.angle_calibrated = self.extractor.angle_calibrated
        for stride in self.extractor.push(block, times):
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

    def link_update(
        self, state: str, *, mtu: int | None = None, battery_pct: int | None = None
    ) -> LinkUpdate:
        """Current link state of this sensor as an event (also emitted)."""
        c = self.stream.counters
        ev = LinkUpdate(
            sensor=self.sensor,
            state=state,
            mtu=mtu,
            battery_pct=battery_pct,
            samples_lost=c.samples_lost,
            loss_pct=round(c.loss_pct, 2),
        )
        self.emit(ev)
        if battery_pct is not None:
            self._emit_alerts(
                self.policy.notice_battery(
                    battery_pct, float(self.stream.time_s(self.stream._next_index))
                )
            )
        return ev

    def finish(self) -> None:
        """End of the run: flush and end active alerts."""
        self.flush()
        end = float(self.stream.time_s(self.stream._next_index))
        self._emit_alerts(self.policy.finish(end))

    def summary(self) -> Mapping[str, Any]:
        """Run summary for the end-of-run report."""
        c = self.stream.counters
        return {
            "sensor": self.sensor,
            "leg": self.leg,
            "strides": len(self.strides),
            "alerts": [a.to_dict() for a in self.alerts],
            "samples": c.samples_received,
            "samples_lost": c.samples_lost,
            "loss_pct": round(c.loss_pct, 2),
            "frames_rejected": dict(c.frames_rejected),
            "frames_late": c.frames_late,
            "rate_hz": round(self.stream.rate_hz, 3),
        }
