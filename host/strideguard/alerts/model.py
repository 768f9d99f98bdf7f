"""What an alert is: kind, severity, state, words for the runner, numbers behind it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How urgent an alert is, in increasing order."""

    INFO = "info"  # sensor and link notices
    COACH = "coach"  # coaching cue (overstriding)
    CAUTION = "caution"  # unusual load; keep an eye on it
    STOP = "stop"  # stop running and get checked

    @property
    def rank(self) -> int:
        """0 (info) … 3 (stop)."""
        return list(Severity).index(self)


class AlertKind(StrEnum):
    """The alerts the engine can raise."""

    GAIT_CHANGED = "gait_changed"
    OVERSTRIDE = "overstride"
    LATE_SWING_LOAD = "late_swing_load"
    PAIN_MARKED = "pain_marked"
    SENSOR_MOVED = "sensor_moved"
    SENSOR_LOST = "sensor_lost"
    CLIPPING = "clipping"
    BATTERY_LOW = "battery_low"
    DATA_LOST = "data_lost"
    RECORDING_STOPPED = "recording_stopped"  # the disk is full: alerts go on
    BASELINE_REFUSED = "baseline_refused"  # a stored profile is invalid: learning from scratch


#: notices (severity info) that are announced like alerts, spoken and vibrated: the runner
#: must learn at once that the run is not being recorded or not judged against their profile
ANNOUNCED_NOTICES = frozenset({AlertKind.RECORDING_STOPPED, AlertKind.BASELINE_REFUSED})


class AlertState(StrEnum):
    """Life cycle of an alert."""

    RAISED = "raised"  # the condition started
    REMINDER = "reminder"  # still active; repeated after the cool-down
    ESCALATED = "escalated"  # severity went up (e.g. a pain mark while a change develops)
    ACKNOWLEDGED = "acknowledged"  # the runner confirmed it: no reminders while it stays on
    ENDED = "ended"  # the condition is over


@dataclass
class Alert:
    """One alert event, as sinks show it and JSON stores it.

    Attributes
    ----------
    kind, severity, state
        What, how urgent, and where in its life cycle.
    time_s
        Time of the stride (initial contact) or event it refers to.
    stride_index
        Index of that stride in the run (``None`` for link notices).
    title
        A few words for a banner.
    reason
        Why, in plain words a runner understands.
    advice
        What to do now.
    numbers
        The measurements behind it (units in the keys).
    leg
        ``"L"``, ``"R"`` or ``None``.
    """

    kind: AlertKind
    severity: Severity
    state: AlertState
    time_s: float
    stride_index: int | None
    title: str
    reason: str
    advice: str
    numbers: dict[str, float | int | str | None] = field(default_factory=dict)
    leg: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (enums as their string values)."""
        d = asdict(self)
        d["kind"] = self.kind.value
        d["severity"] = self.severity.value
        d["state"] = self.state.value
        return d

    def one_line(self) -> str:
        """Short text for a log line or terminal."""
        when = f"{self.time_s:7.1f} s"
        stride = f" stride {self.stride_index}" if self.stride_index is not None else ""
        advice = f" — {self.advice}" if self.advice else ""
        return f"[{when}{stride}] {self.severity.value.upper():7s} {self.state.value:9s} {self.title}: {self.reason}{advice}"
