"""What the virtual board's motor did, read off its simulated haptic pin as patterns.

The firmware drives GPIO 25 (``DEFAULT_PINS["haptic"]``); the virtual board's
``machine.Pin`` reports every change with its board time
(:attr:`VirtualBoard.pin_log <strideguard_devkit.vboard.VirtualBoard.pin_log>`).
:func:`motor_activity` cuts the changes into pulses, the pulses into plays (a
pause of more than ``PLAY_GAP_S`` ends a play), names each play by the pattern
it matches within ``TOLERANCE_MS`` per pulse and pause, and joins repeated plays
of one pattern into one activity. Who ended an activity comes from the
firmware's console line (``pattern ended by=button|host t_ms=...``), as the pin
cannot tell an acknowledgement from the end of a pattern; a pulse after an
acknowledgement starts a new play.

>>> log = [(0, 25, 1), (600_000, 25, 0), (900_000, 25, 1), (1_500_000, 25, 0),
...        (1_800_000, 25, 1), (2_400_000, 25, 0)]
>>> [a["pattern"] for a in motor_activity(log)]
['stop']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from strideguard import protocol as proto
from strideguard.alerts.config import PatternConfig
from strideguard.live.alarm import BUILTIN_PATTERNS, caution_pattern, stop_pattern

#: the haptic motor's pin (``firmware/config.py`` ``DEFAULT_PINS["haptic"]``)
HAPTIC_GPIO = 25
#: a pause longer than this ends a play
PLAY_GAP_S = 1.0
#: a pulse or a pause matches a pattern's within this (the firmware's 10-ms loop, and some)
TOLERANCE_MS = 25.0
#: the firmware's own uses of the motor (app.py): the cadence cue, identify's blinking
CUE_PULSE_MS = 400
IDENTIFY_BLINK_MS = 250
_ENDED = re.compile(r"pattern ended by=(\w+) t_ms=(\d+)")
#: activities an acknowledgement can end (not the board's own blips, the cue, identify)
ALERT_PATTERNS = frozenset({"stop", "caution", "coach", "unknown"})


def reference_patterns(config: PatternConfig | None = None) -> dict[str, tuple[int, ...]]:
    """Pattern name -> ``(on, off, on, off, ...)`` in ms of one play (the last pause dropped)."""
    cfg = config or PatternConfig()
    out: dict[str, tuple[int, ...]] = {}
    for p in (stop_pattern(cfg), caution_pattern(cfg)):
        out[p.name] = tuple(ms for pulse in p.pulses_ms for ms in pulse)
    for name, ref in BUILTIN_PATTERNS.items():
        k = 0
        while k + 1 < len(ref) and ref[k] == 0:  # a leading pause: not seen on the pin
            k += 2
        out[name] = tuple(ref[k:])
    out["cue"] = (CUE_PULSE_MS, 0)
    return out


def pulses(pin_log: Iterable[tuple[int, int, int]], gpio: int = HAPTIC_GPIO) -> list[list[float]]:
    """``[on_s, off_s]`` per pulse of ``gpio`` (board seconds; ``off_s`` NaN while still on)."""
    out: list[list[float]] = []
    level = 0
    for board_us, pin, value in pin_log:
        if pin != gpio or value == level:
            continue
        level = value
        if value:
            out.append([board_us / 1e6, float("nan")])
        elif out:
            out[-1][1] = board_us / 1e6
    return out


def _matches(durations_ms: Sequence[float], reference: Sequence[int]) -> bool:
    ref = list(reference[:-1])  # the pause after the last pulse is not seen
    return len(durations_ms) == len(ref) and all(
        abs(d - r) <= TOLERANCE_MS for d, r in zip(durations_ms, ref, strict=True)
    )


def name_play(
    play: Sequence[Sequence[float]], patterns: Mapping[str, Sequence[int]], *, coach_pulse_ms: float
) -> str:
    """The pattern one play matches: a name of ``patterns``, ``"coach"``, ``"identify"`` or ``"unknown"``."""
    durations: list[float] = []
    for k, (on_s, off_s) in enumerate(play):
        durations.append((off_s - on_s) * 1000.0)
        if k + 1 < len(play):
            durations.append((play[k + 1][0] - off_s) * 1000.0)
    for name, ref in patterns.items():
        if _matches(durations, ref):
            return name
    ons = durations[0::2]
    gaps = durations[1::2]
    if len(ons) >= 3 and all(abs(d - coach_pulse_ms) <= TOLERANCE_MS for d in ons):
        if max(gaps) - min(gaps) <= 2 * TOLERANCE_MS:
            return "coach"  # a metronome: equal short pulses at an even beat
    if all(abs(d - IDENTIFY_BLINK_MS) <= TOLERANCE_MS for d in durations):
        return "identify"
    return "unknown"


def motor_activity(
    pin_log: Iterable[tuple[int, int, int]],
    *,
    gpio: int = HAPTIC_GPIO,
    config: PatternConfig | None = None,
    console: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """The motor's activities: each a pattern played once or repeated.

    Parameters
    ----------
    pin_log
        ``(board_us, gpio, level)`` changes of the board's output pins.
    gpio
        The motor's pin.
    config
        The host's pattern settings (what "stop" and "caution" look like).
    console
        The firmware's console lines (for who ended a pattern, and when).

    Returns
    -------
    list of dict
        ``pattern``, ``start_s`` and ``end_s`` (board seconds: first pulse on, last
        pulse off; ``end_s`` None while still on), ``plays``, ``pulses``,
        ``acknowledged_s`` and ``acknowledged_by`` (``"button"``, ``"host"``) when
        the firmware says it was stopped that way before its next activity.
    """
    cfg = config or PatternConfig()
    refs = reference_patterns(cfg)
    acks = []
    for line in console:
        m = _ENDED.search(line)
        if m:
            acks.append((int(m.group(2)) / 1000.0, m.group(1)))
    plays: list[list[list[float]]] = []
    for p in pulses(pin_log, gpio):
        if (
            plays
            and p[0] - plays[-1][-1][1] <= PLAY_GAP_S
            # an acknowledgement ended the play before: this pulse is something new
            and not any(plays[-1][-1][0] < t <= p[0] for t, _ in acks)
        ):
            plays[-1].append(p)
        else:
            plays.append([p])
    out: list[dict[str, Any]] = []
    for play in plays:
        name = name_play(play, refs, coach_pulse_ms=cfg.coach_pulse_ms)
        last = out[-1] if out else None
        repeat = (
            last is not None
            and last["pattern"] == name
            and name not in ("unknown", "identify")
            and play[0][0] - last["_last_start_s"] <= proto.PATTERN_PERIOD_MAX_MS / 1000.0
            # an acknowledgement in between: this is the pattern sent anew, not a repeat
            and not any(last["_last_start_s"] < t < play[0][0] for t, _ in acks)
        )
        if repeat and last is not None:
            last["plays"] += 1
            last["pulses"] += len(play)
            last["_last_start_s"] = play[0][0]
            last["end_s"] = play[-1][1]
            continue
        out.append(
            {
                "pattern": name,
                "start_s": play[0][0],
                "end_s": play[-1][1],
                "plays": 1,
                "pulses": len(play),
                "acknowledged_s": None,
                "acknowledged_by": None,
                "_last_start_s": play[0][0],
            }
        )
    for t, by in acks:
        # the alert pattern that started last before it (not the blip that confirms a
        # long press, 250 ms after it)
        before = [a for a in out if a["pattern"] in ALERT_PATTERNS and a["start_s"] < t - 0.005]
        if before and before[-1]["acknowledged_s"] is None:
            before[-1]["acknowledged_s"], before[-1]["acknowledged_by"] = t, by
    for act in out:
        del act["_last_start_s"]
        if act["end_s"] != act["end_s"]:  # NaN: still on
            act["end_s"] = None
    return out
