"""Realistic live events shared by the sink tests."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from strideguard.alerts.model import Alert, AlertKind, AlertState, Severity
from strideguard.live.updates import (
    AlertUpdate,
    CalibrationUpdate,
    LinkUpdate,
    LiveEvent,
    SessionUpdate,
    StrideUpdate,
)

LEFT = "StrideGuard-L"
RIGHT = "StrideGuard-R"


def stride(sensor: str = LEFT, index: int = 120, **metrics: float | None) -> StrideUpdate:
    """A running stride with plausible numbers (overridable)."""
    m: dict[str, float | None] = {
        "cadence_spm": 171.6,
        "shank_angle_at_ic_deg": 6.14,
        "late_swing_duration_s": 0.118,
        "late_swing_peak_decel_dps2": 18520.0,
        "peak_tibial_accel_g": 8.23,
        "contact_time_s": 0.262,
    }
    m.update(metrics)
    return StrideUpdate(sensor, sensor[-1], index, 345.6 + index * 0.0, m)


def link(sensor: str = LEFT, state: str = "connected", **kw: object) -> LinkUpdate:
    """A link update (battery 82 %, 0.4 % lost by default)."""
    values: dict[str, object] = {"mtu": 247, "battery_pct": 82, "samples_lost": 37, "loss_pct": 0.4}
    values.update(kw)
    return LinkUpdate(sensor, state, **values)  # type: ignore[arg-type]


def gait_alert(
    state: AlertState = AlertState.RAISED, sensor: str = LEFT, time_s: float = 1843.2
) -> AlertUpdate:
    """The stop alert, as the policy words it."""
    return AlertUpdate(
        sensor,
        Alert(
            AlertKind.GAIT_CHANGED,
            Severity.STOP,
            state,
            time_s,
            812,
            "Gait changed — stop and get checked",
            "Your running has changed from your normal at the same cadence (168 steps/min): "
            "your leg swings 12 % slower, your foot stays longer on the ground.",
            "Stop running and walk. If anything hurts or the change stays, get it checked; "
            "pain for more than a day deserves a doctor.",
            {"cadence_spm": 168.0, "score_sd": 3.1},
            sensor[-1],
        ),
    )


def overstride_alert(sensor: str = LEFT) -> AlertUpdate:
    """A coaching cue."""
    return AlertUpdate(
        sensor,
        Alert(
            AlertKind.OVERSTRIDE,
            Severity.COACH,
            AlertState.RAISED,
            1201.0,
            530,
            "Overstriding",
            "Your shin is tilted 9.4° forward when your foot lands (4° more than your normal 5.2°) "
            "at 164 steps/min.",
            "Shorten your stride: take quicker, lighter steps — aim for about 174 steps/min (172–180).",
            {"shank_angle_at_ic_deg": 9.4},
            sensor[-1],
        ),
    )


def stand_still(sensor: str = LEFT, seconds_left: float = 4.0) -> CalibrationUpdate:
    """The calibration prompt."""
    return CalibrationUpdate(sensor, "stand_still", "Stand still, feet together…", seconds_left)


def session(message: str = "Run started with 2 sensors") -> SessionUpdate:
    """A session line."""
    return SessionUpdate("running", message)


@functools.cache
def strap_slip_run() -> tuple[tuple[LiveEvent, ...], Mapping[str, Any]]:
    """A real run through the live pipeline: the sensor slips on its strap half-way.

    A simulated 60-s run (right shin) is framed as over BLE and pushed through
    :class:`~strideguard.live.pipeline.SensorPipeline` (streaming analysis and
    the alert policy), so it raises "sensor moved" and ends it at once.

    Returns
    -------
    events, summary
        Every event the pipeline sent to its sinks, in order, and the
        pipeline's run summary (what the end-of-run report lists).
    """
    from strideguard.live.pipeline import SensorPipeline
    from strideguard.live.streaming import StreamingAnalyzer
    from strideguard_devkit.sim import simulate
    from strideguard_devkit.sim.transport import make_frames

    run = simulate("strap_slip", duration_s=60.0, rate_hz=200.0, seed=3, leg="R")
    frames = make_frames(run, mtu=247, seed=3)
    events: list[LiveEvent] = []
    pipe = SensorPipeline(RIGHT, "R", StreamingAnalyzer(RIGHT, "R"), events.append)
    for i in range(0, len(frames.payloads), 4):
        pipe.push(frames.payloads[i : i + 4], list(frames.arrival_s[i : i + 4]))
    pipe.finish()
    return tuple(events), pipe.summary()
