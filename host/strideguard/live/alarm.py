"""The sensor is the alarm: alert patterns on the runner's shin.

For every raised, escalated and reminded alert of severity coach or higher,
:class:`SensorAlarm` picks a pattern (:func:`pattern_for`: severity → pattern,
from :class:`~strideguard.alerts.config.PatternConfig`) and the sensor(s) to
play it: the shin the alert concerns (the other one when that sensor is not
connected), or both. It hands the write (``protocol.OP_PLAY_PATTERN``) to a
``send`` function — the live run's, which writes it to the sensor's control
point and records what the sensor answered as an ``alert_pattern`` event in the
recording. When the alert is acknowledged (the sensor's long press, the phone)
or ends, the sensors still repeating its pattern get ``OP_ACKNOWLEDGE``
(an ``alert_pattern_stop`` event).

What each sensor plays is learnt from those recorded events
(:meth:`SensorAlarm.on_event`), live and in a replay alike, so a long press
(``FLAG2_ACKNOWLEDGED`` in the stream) acknowledges the same alert in both.

=========  =====================================  =====================================
pattern    default                                for
=========  =====================================  =====================================
stop       3 × 600 ms, 300 ms apart, every 10 s    severity stop (gait changed)
           until acknowledged
caution    2 × 150 ms, 150 ms apart, once          severity caution (late-swing load, pain)
coach      60 ms per step at the target cadence    severity coach (overstriding), with a
           for 20 s                                cadence target
=========  =====================================  =====================================
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from strideguard import protocol as proto
from strideguard.alerts.config import PatternConfig
from strideguard.alerts.model import Alert, AlertKind, AlertState, Severity

log = logging.getLogger(__name__)

#: recorded when a pattern was written to a sensor (with the sensor's answer)
PATTERN_EVENT = "alert_pattern"
#: recorded when a sensor was told to stop a pattern (``OP_ACKNOWLEDGE``)
PATTERN_STOP_EVENT = "alert_pattern_stop"
#: alert states that send the alert's pattern
SENDING_STATES = frozenset({AlertState.RAISED, AlertState.ESCALATED, AlertState.REMINDER})
#: the metronome's cadence is kept in this range (steps/min)
COACH_CADENCE_SPM = (100, 240)
#: the board's own patterns, as the vboard report names them
BUILTIN_PATTERNS = {
    "link_lost": proto.PATTERN_LINK_LOST_MS,
    "acknowledged": proto.PATTERN_CONFIRM_MS,
}


@dataclass(frozen=True)
class AlertPattern:
    """One pattern for the sensor's motor.

    Attributes
    ----------
    name
        ``"stop"``, ``"caution"`` or ``"coach"``.
    pulses_ms
        ``(on_ms, off_ms)`` pairs of one play.
    repeats
        Plays in all; ``protocol.PATTERN_UNTIL_ACK`` (0): until acknowledged.
    period_ms
        From the start of one play to the start of the next.
    """

    name: str
    pulses_ms: tuple[tuple[int, int], ...]
    repeats: int
    period_ms: int

    def encode(self) -> bytes:
        """The ``OP_PLAY_PATTERN`` write."""
        return proto.encode_pattern(list(self.pulses_ms), self.repeats, self.period_ms)

    @property
    def until_acknowledged(self) -> bool:
        """It repeats until acknowledged (or the alert ends)."""
        return self.repeats == proto.PATTERN_UNTIL_ACK

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (recorded with every ``alert_pattern`` event)."""
        return {
            "pattern": self.name,
            "pulses_ms": [list(p) for p in self.pulses_ms],
            "repeats": self.repeats,
            "period_ms": self.period_ms,
        }


def stop_pattern(cfg: PatternConfig) -> AlertPattern:
    """Long pulses, again every ``stop_repeat_s`` until acknowledged."""
    pulse = (cfg.stop_pulse_ms, cfg.stop_gap_ms)
    return AlertPattern(
        "stop",
        (pulse,) * cfg.stop_pulses,
        proto.PATTERN_UNTIL_ACK,
        round(cfg.stop_repeat_s * 1000),
    )


def caution_pattern(cfg: PatternConfig) -> AlertPattern:
    """A few short pulses, once."""
    return AlertPattern(
        "caution", ((cfg.caution_pulse_ms, cfg.caution_gap_ms),) * cfg.caution_pulses, 1, 0
    )


def coach_pattern(cfg: PatternConfig, cadence_spm: float) -> AlertPattern:
    """A metronome: one pulse per step at ``cadence_spm`` for ``coach_duration_s``."""
    lo, hi = COACH_CADENCE_SPM
    period_ms = round(60_000 / min(max(cadence_spm, lo), hi))
    plays = max(1, min(255, round(cfg.coach_duration_s * 1000 / period_ms)))
    return AlertPattern("coach", ((cfg.coach_pulse_ms, 0),), plays, period_ms)


def pattern_for(alert: Alert, cfg: PatternConfig) -> AlertPattern | None:
    """The pattern an alert event sends (``None``: none).

    Raised, escalated and reminded alerts only; severity stop → stop, caution
    → caution, coach → the metronome at the alert's ``cadence_target_spm``
    (none without one); notices (info) never buzz.
    """
    if not cfg.enabled or alert.state not in SENDING_STATES:
        return None
    if alert.severity is Severity.STOP:
        return stop_pattern(cfg)
    if alert.severity is Severity.CAUTION:
        return caution_pattern(cfg)
    if alert.severity is Severity.COACH:
        target = alert.numbers.get("cadence_target_spm")
        if isinstance(target, int | float) and target > 0:
            return coach_pattern(cfg, float(target))
    return None


def shin(leg: str | None) -> str:
    """How the screen names a sensor's place: ``"your right shin"``."""
    return {"L": "your left shin", "R": "your right shin"}.get(leg or "", "the sensor")


#: ``send(stream, write, event)``: write to that sensor, then record ``event`` + its answer
Send = Callable[[int, bytes, dict[str, Any]], None]


@dataclass
class _Claim:
    """What the host last asked a sensor to play (for priorities)."""

    kind: AlertKind
    alert_stream: int
    rank: int
    until_ack: bool


class SensorAlarm:
    """Which sensor plays which pattern (see the module docstring).

    Parameters
    ----------
    legs
        The leg of each sensor, in stream order (``"L"``, ``"R"``, ``None``).
    config
        The pattern settings.
    send
        Writes to a sensor and records the event with its answer; ``None`` (a
        replay): nothing is sent, the recorded events tell what was.
    connected
        Whether sensor ``stream`` is connected now (``None``: assume so).

    Attributes
    ----------
    playing
        Per sensor, the recorded ``alert_pattern`` event of the pattern it
        plays (or played last, while it can still be acknowledged).
    skipped
        Patterns not sent because a more urgent one repeats on that sensor.
    """

    def __init__(
        self,
        legs: Sequence[str | None],
        config: PatternConfig | None = None,
        send: Send | None = None,
        connected: Callable[[int], bool] | None = None,
    ) -> None:
        self.legs = list(legs)
        self.config = config if config is not None else PatternConfig()
        self.send = send
        self.connected = connected
        self.playing: dict[int, dict[str, Any]] = {}
        self.skipped = 0
        self._claims: dict[int, _Claim] = {}

    # ------------------------------------------------------------------ decisions
    def targets(self, stream: int, leg: str | None) -> list[int]:
        """The sensors an alert of sensor ``stream`` (on ``leg``) buzzes."""
        streams = range(len(self.legs))
        up = [s for s in streams if self.connected is None or self.connected(s)]
        if self.config.both_legs:
            return up
        own = [s for s in streams if leg is not None and self.legs[s] == leg] or [stream]
        return [s for s in own if s in up] or up

    def on_alert(self, stream: int, alert: Alert) -> None:
        """An alert event of sensor ``stream``: send its pattern, or stop one."""
        if self.send is None:
            return
        if alert.state in (AlertState.ACKNOWLEDGED, AlertState.ENDED):
            reason = "acknowledged" if alert.state is AlertState.ACKNOWLEDGED else "ended"
            self.stop(stream, alert.kind, reason)
            return
        pattern = pattern_for(alert, self.config)
        if pattern is None:
            return
        write = pattern.encode()
        for target in self.targets(stream, alert.leg):
            claim = self._claims.get(target)
            if (
                claim is not None
                and claim.until_ack
                and claim.rank > alert.severity.rank
                and (claim.kind, claim.alert_stream) != (alert.kind, stream)
            ):
                self.skipped += 1  # a stop still repeats there: a caution must not replace it
                continue
            self._claims[target] = _Claim(
                alert.kind, stream, alert.severity.rank, pattern.until_acknowledged
            )
            event = {
                "event": PATTERN_EVENT,
                **pattern.to_dict(),
                "kind": alert.kind.value,
                "severity": alert.severity.value,
                "state": alert.state.value,
                "alert_stream": stream,
                "alert_leg": alert.leg,
                "alert_time_s": alert.time_s,
            }
            self.send(target, write, event)

    def stop(self, alert_stream: int, kind: AlertKind, reason: str) -> None:
        """Tell every sensor still playing alert ``kind`` of ``alert_stream`` to stop."""
        if self.send is None:
            return
        for target, claim in list(self._claims.items()):
            if (claim.kind, claim.alert_stream) != (kind, alert_stream):
                continue
            del self._claims[target]
            self.send(
                target,
                bytes((proto.OP_ACKNOWLEDGE,)),
                {
                    "event": PATTERN_STOP_EVENT,
                    "kind": kind.value,
                    "alert_stream": alert_stream,
                    "reason": reason,
                },
            )

    def stop_all(self, reason: str) -> None:
        """Stop every pattern that still repeats (the run ends)."""
        for claim in list(self._claims.values()):
            if claim.until_ack:
                self.stop(claim.alert_stream, claim.kind, reason)

    # ------------------------------------------------------------------ what sensors play
    def on_event(self, stream: int, event: dict[str, Any]) -> None:
        """A recorded ``alert_pattern``/``alert_pattern_stop`` of sensor ``stream``."""
        name = event.get("event")
        if name == PATTERN_EVENT and event.get("ok"):
            self.playing[stream] = dict(event)
        elif name == PATTERN_STOP_EVENT:
            self.playing.pop(stream, None)

    def owner(self, stream: int) -> tuple[int, AlertKind] | None:
        """``(alert stream, kind)`` of the alert sensor ``stream`` plays, if known."""
        ev = self.playing.get(stream)
        if ev is None:
            return None
        try:
            return int(ev["alert_stream"]), AlertKind(ev["kind"])
        except (KeyError, TypeError, ValueError):
            return None  # a recording from a newer host: unknown kind

    def sensor_acknowledged(self, stream: int) -> tuple[int, AlertKind] | None:
        """Sensor ``stream``'s long press stopped its pattern: forget it; whose it was."""
        owner = self.owner(stream)
        self.playing.pop(stream, None)
        self._claims.pop(stream, None)
        return owner


def pattern_message(
    event: dict[str, Any], leg: str | None, *, sensor: str = ""
) -> tuple[str, bool]:
    """What the screen says about a recorded pattern event, and whether it worked."""
    where = shin(leg) if leg else (sensor or "the sensor")
    name = str(event.get("pattern") or event.get("kind") or "alert")
    ok = bool(event.get("ok"))
    if event.get("event") == PATTERN_STOP_EVENT:
        why = {"acknowledged": "acknowledged", "ended": "the alert ended", "run_ended": "run ended"}
        text = (
            f"Stopped the alert pattern on {where} ({why.get(str(event.get('reason')), 'stopped')})"
        )
        return (text if ok else f"Could not stop the alert pattern on {where}"), ok
    if ok:
        again = ""
        if event.get("repeats") == proto.PATTERN_UNTIL_ACK:
            every = float(event.get("period_ms") or 0) / 1000.0
            again = f", again every {every:g} s until you hold its button 2 s"
        return f"Buzzing the {name} pattern on {where}{again}", True
    result = event.get("result")
    why_not = event.get("error") or (
        "the sensor's firmware cannot play patterns"
        if result == proto.RESULT_OP_NOT_SUPPORTED
        else f"answer {result}"
    )
    return f"Could not buzz the {name} pattern on {where}: {why_not}", False
