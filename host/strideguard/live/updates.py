"""Events that flow from the live pipeline to the sinks (terminal, sound, phone page, desktop).

Every sink gets the same events through :class:`Sink.handle`; each event has
``to_dict()`` for JSON (the phone page receives exactly these dicts, with a
``"type"`` key).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Protocol

from strideguard.alerts.model import Alert


def run_clock(seconds: float | None) -> str:
    """A run time as the runner reads it: ``m:ss``, or ``h:mm:ss`` from an hour on.

    >>> run_clock(65.4), run_clock(3725), run_clock(None)
    ('1:05', '1:02:05', '–:––')
    """
    if seconds is None or seconds != seconds or seconds < 0:
        return "–:––"
    whole = int(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@dataclass
class StrideUpdate:
    """One stride's numbers from one sensor.

    Attributes
    ----------
    sensor
        Sensor label (e.g. ``"StrideGuard-L"``).
    leg
        ``"L"``/``"R"``/``None``.
    stride_index
        Index in this sensor's run.
    time_s
        Run time of the stride's initial contact.
    metrics
        Per-stride metrics with units in the keys (as in ``analyze --format json``):
        ``cadence_spm``, ``shank_angle_at_ic_deg``, ``contact_time_s``,
        ``late_swing_duration_s``, ``late_swing_peak_decel_dps2``,
        ``peak_midswing_gyr_dps``, ``peak_tibial_accel_g`` …; ``None`` when not measurable.
    """

    sensor: str
    leg: str | None
    stride_index: int
    time_s: float
    metrics: dict[str, float | None]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with ``"type": "stride"``."""
        # by hand, not ``asdict`` (a deep copy of every field: most of the cost of a stride
        # on its way to the phone page); the metrics are plain numbers, a shallow copy is enough
        return {
            "type": "stride",
            "sensor": self.sensor,
            "leg": self.leg,
            "stride_index": self.stride_index,
            "time_s": self.time_s,
            "metrics": dict(self.metrics),
        }


@dataclass
class AlertUpdate:
    """An alert from the policy (raised, reminder, escalated or ended)."""

    sensor: str
    alert: Alert

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with ``"type": "alert"``."""
        return {"type": "alert", "sensor": self.sensor, **self.alert.to_dict()}


@dataclass
class LinkUpdate:
    """State of one sensor's link.

    Attributes
    ----------
    state
        ``"scanning"``, ``"connecting"``, ``"connected"``, ``"reconnecting"``, ``"lost"``.
    mtu
        Negotiated ATT MTU (``None`` before connecting).
    battery_pct
        Sensor battery, ``None`` unknown.
    samples_lost
        Samples lost so far (gaps in the stream).
    loss_pct
        Share of samples lost so far.
    rssi_dbm
        Signal strength if known.
    """

    sensor: str
    state: str
    mtu: int | None = None
    battery_pct: int | None = None
    samples_lost: int = 0
    loss_pct: float = 0.0
    rssi_dbm: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with ``"type": "link"``."""
        return {"type": "link", **{f.name: getattr(self, f.name) for f in fields(self)}}


@dataclass
class CalibrationUpdate:
    """Standing calibration at the start of a run.

    Attributes
    ----------
    state
        ``"stand_still"`` (asking the runner; with ``seconds_left`` while counting down),
        ``"ready"`` (standing measured), ``"pending"`` (set off before standing still long
        enough), then ``"done"`` or ``"skipped"`` (angles relative only).
    message
        What to tell the runner.
    seconds_left
        Countdown while standing, if any.
    """

    sensor: str
    state: str
    message: str
    seconds_left: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with ``"type": "calibration"``."""
        return {"type": "calibration", **asdict(self)}


@dataclass
class SessionUpdate:
    """Run-level information: start, summary lines, end."""

    state: str  # "started", "running", "ended"; headless between runs: "waiting"
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with ``"type": "session"``."""
        return {"type": "session", **asdict(self)}


@dataclass
class BaselineUpdate:
    """The runner's normal for one sensor: stored, learned in this run, or being learned.

    Sent when the state changes and, while learning, every
    :data:`~strideguard.live.pipeline.BASELINE_STATUS_EVERY_S` seconds of running.

    Attributes
    ----------
    state
        ``"stored"`` (a saved baseline in use), ``"learned"`` (learned in this run)
        or ``"learning"``.
    message
        What the screen says (``"using your baseline from 3 Dec"``,
        ``"learning your normal: 2:00 left"``).
    seconds_left
        Running time until learned, while learning.
    created
        When a stored baseline was learned (ISO 8601), if known.
    """

    sensor: str
    state: str
    message: str
    seconds_left: float | None = None
    created: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with ``"type": "baseline"``."""
        return {"type": "baseline", **asdict(self)}


@dataclass
class SymmetryUpdate:
    """Left/right symmetry of a two-sensor run, after each stride pair.

    Attributes
    ----------
    state
        ``"learning"`` the runner's own balance, ``"re-measuring"`` it after a
        sensor moved, or ``"watching"``.
    pairs
        Stride pairs so far.
    indices
        Per feature: rolling symmetry index, right against left (%; degrees
        for ``shank_angle_at_ic_deg``), ``None`` without data.
    versus_normal
        The same minus the runner's normal balance (empty while learning).
    """

    state: str
    pairs: int
    indices: dict[str, float | None]
    versus_normal: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with ``"type": "symmetry"``."""
        return {"type": "symmetry", **asdict(self)}


@dataclass
class HapticUpdate:
    """What a sensor's motor does for the runner: an alert pattern, "link lost".

    Attributes
    ----------
    sensor, leg
        The sensor that buzzes (not necessarily the one the alert is about).
    action
        ``"play"`` (an alert pattern sent), ``"stop"`` (told to stop:
        acknowledged, the alert ended), ``"link_lost"`` (the sensor played its
        "link lost" pattern while no host was there).
    pattern
        ``"stop"``, ``"caution"``, ``"coach"``, ``"link_lost"``.
    ok
        The sensor took it (``False``: it could not be reached or refused).
    message
        What the screen says, e.g. "Buzzing the stop pattern on your right shin".
    kind
        The alert the pattern is about (``None`` for "link lost").
    """

    sensor: str
    leg: str | None
    action: str
    pattern: str
    ok: bool
    message: str
    kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with ``"type": "haptic"``."""
        return {"type": "haptic", **asdict(self)}


LiveEvent = (
    StrideUpdate
    | AlertUpdate
    | LinkUpdate
    | CalibrationUpdate
    | SessionUpdate
    | BaselineUpdate
    | SymmetryUpdate
    | HapticUpdate
)


class Sink(Protocol):
    """Something that shows live events to the runner."""

    def handle(self, event: LiveEvent) -> None:
        """Show one event. Must not block for long (called from the event loop)."""

    def close(self) -> None:
        """Release resources at the end of the run."""
