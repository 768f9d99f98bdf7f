"""The host side of "the sensor is the alarm": alert -> pattern -> sensor(s), acknowledgement.

End to end through the real firmware: tests/host/test_alarm_loop.py; the
firmware's player and button: tests/firmware/test_firmware_patterns.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strideguard import protocol as proto
from strideguard.alerts import AlertPolicy
from strideguard.alerts.config import PatternConfig, config_from_dict
from strideguard.alerts.model import Alert, AlertKind, AlertState, Severity
from strideguard.alerts.offline import alerts_for_strides
from strideguard.errors import ConfigError
from strideguard.frames import encode_frames
from strideguard.live.alarm import (
    PATTERN_EVENT,
    PATTERN_STOP_EVENT,
    SensorAlarm,
    coach_pattern,
    pattern_for,
    pattern_message,
)
from strideguard.live.run import LiveRun
from strideguard.live.updates import AlertUpdate, HapticUpdate, LiveEvent
from strideguard.recording import RecordingWriter, load_imu
from tests.host.test_alert_policy import step, strides


def alert(
    kind: AlertKind = AlertKind.GAIT_CHANGED,
    severity: Severity = Severity.STOP,
    state: AlertState = AlertState.RAISED,
    leg: str | None = "R",
    **numbers: Any,
) -> Alert:
    return Alert(kind, severity, state, 100.0, 300, "t", "r", "a", dict(numbers), leg)


# ------------------------------------------------------------------ severity -> pattern


def test_severity_picks_the_pattern_and_notices_never_buzz() -> None:
    cfg = PatternConfig()
    stop = pattern_for(alert(), cfg)
    assert stop is not None and stop.name == "stop" and stop.until_acknowledged
    assert stop.pulses_ms == ((600, 300),) * 3 and stop.period_ms == 10_000
    caution = pattern_for(alert(AlertKind.PAIN_MARKED, Severity.CAUTION), cfg)
    assert caution is not None and caution.repeats == 1 and len(caution.pulses_ms) == 2
    coach = pattern_for(alert(AlertKind.OVERSTRIDE, Severity.COACH, cadence_target_spm=172), cfg)
    assert coach is not None and coach.name == "coach"
    assert coach.period_ms == round(60_000 / 172) and coach.repeats == round(20_000 / 349)
    # no target cadence: no metronome; notices (info) and ended/acknowledged never buzz
    assert pattern_for(alert(AlertKind.OVERSTRIDE, Severity.COACH), cfg) is None
    assert pattern_for(alert(AlertKind.BATTERY_LOW, Severity.INFO), cfg) is None
    for state in (AlertState.ENDED, AlertState.ACKNOWLEDGED):
        assert pattern_for(alert(state=state), cfg) is None
    for state in (AlertState.REMINDER, AlertState.ESCALATED):
        assert pattern_for(alert(state=state), cfg) == stop
    assert pattern_for(alert(), PatternConfig(enabled=0)) is None


def test_metronome_cadence_is_kept_in_range() -> None:
    cfg = PatternConfig()
    assert coach_pattern(cfg, 1000.0).period_ms == 250  # 240 steps/min at most
    assert coach_pattern(cfg, 1.0).period_ms == 600  # 100 at least


FIELDS = {f.name: f for f in dataclasses.fields(PatternConfig)}


@st.composite
def pattern_configs(draw: st.DrawFn) -> PatternConfig:
    values: dict[str, Any] = {}
    for name, f in FIELDS.items():
        lo, hi = f.metadata["range"]
        if isinstance(f.default, int):
            values[name] = draw(st.integers(int(lo), int(hi)))
        else:
            values[name] = draw(st.floats(float(lo), float(hi)))
    try:
        return PatternConfig(**values)
    except ConfigError:  # a stop repeat shorter than its play: refused at load time
        values["stop_repeat_s"] = 60.0
        return PatternConfig(**values)


@settings(max_examples=150, deadline=None)
@given(pattern_configs(), st.floats(0, 400), st.sampled_from(list(Severity)))
def test_every_configurable_pattern_is_one_the_board_accepts(
    cfg: PatternConfig, cadence: float, severity: Severity
) -> None:
    a = alert(severity=severity, cadence_target_spm=cadence)
    pattern = pattern_for(a, cfg)
    if pattern is not None:
        write = pattern.encode()  # raises when the board would refuse it
        assert proto.parse_control(write)[0] == proto.RESULT_SUCCESS


def test_config_ranges_and_the_stop_repeat_check() -> None:
    cfg = config_from_dict({"patterns": {"stop_pulses": 4, "both_legs": 1}})
    assert cfg.patterns.stop_pulses == 4 and cfg.patterns.both_legs == 1
    for bad in ({"stop_pulses": 9}, {"stop_pulse_ms": 20}, {"enabled": 2}):
        with pytest.raises(ConfigError):
            config_from_dict({"patterns": bad})
    with pytest.raises(ConfigError, match="shorter than the stop pattern"):
        PatternConfig(stop_pulses=8, stop_pulse_ms=2000, stop_gap_ms=1000, stop_repeat_s=10)


# ------------------------------------------------------------------ which sensor


class Sent:
    def __init__(self) -> None:
        self.writes: list[tuple[int, bytes, dict[str, Any]]] = []

    def __call__(self, stream: int, write: bytes, event: dict[str, Any]) -> None:
        self.writes.append((stream, write, event))


def test_the_shin_it_concerns_or_the_other_or_both() -> None:
    up = {0: True, 1: True}
    sent = Sent()
    alarm = SensorAlarm(["L", "R"], send=sent, connected=lambda s: up[s])
    assert alarm.targets(1, "R") == [1] and alarm.targets(0, "L") == [0]
    up[1] = False
    assert alarm.targets(1, "R") == [0]  # the right sensor is away: the left one buzzes
    up[0] = False
    assert alarm.targets(1, "R") == []
    up[0] = up[1] = True
    both = SensorAlarm(["L", "R"], PatternConfig(both_legs=1), send=sent)
    assert both.targets(1, "R") == [0, 1]
    assert SensorAlarm([None]).targets(0, None) == [0]
    alarm.on_alert(1, alert())
    ((stream, write, event),) = sent.writes
    assert stream == 1 and write == proto.encode_pattern([(600, 300)] * 3, 0, 10_000)
    assert event["event"] == PATTERN_EVENT and event["pattern"] == "stop"
    assert event["kind"] == "gait_changed" and event["alert_leg"] == "R"


def test_a_caution_never_replaces_a_repeating_stop_and_acknowledge_stops_it() -> None:
    sent = Sent()
    alarm = SensorAlarm(["L", "R"], send=sent)
    alarm.on_alert(1, alert())
    alarm.on_alert(1, alert(AlertKind.PAIN_MARKED, Severity.CAUTION))
    assert len(sent.writes) == 1 and alarm.skipped == 1
    # the stop's own reminder and escalation do go out; a caution on the other leg too
    alarm.on_alert(1, alert(state=AlertState.ESCALATED))
    alarm.on_alert(0, alert(AlertKind.LATE_SWING_LOAD, Severity.CAUTION, leg="L"))
    assert [s for s, _, _ in sent.writes] == [1, 1, 0]
    alarm.on_alert(1, alert(state=AlertState.ACKNOWLEDGED))
    stream, write, event = sent.writes[-1]
    assert (stream, write) == (1, bytes((proto.OP_ACKNOWLEDGE,)))
    assert event == {
        "event": PATTERN_STOP_EVENT,
        "kind": "gait_changed",
        "alert_stream": 1,
        "reason": "acknowledged",
    }
    # nothing repeats there any more: a caution now plays
    alarm.on_alert(1, alert(AlertKind.PAIN_MARKED, Severity.CAUTION))
    assert sent.writes[-1][2]["pattern"] == "caution"
    n = len(sent.writes)
    alarm.stop_all("run_ended")  # a caution plays once: nothing to stop
    assert len(sent.writes) == n


def test_messages_say_what_buzzes_where() -> None:
    ok = {"event": PATTERN_EVENT, "pattern": "stop", "repeats": 0, "period_ms": 10_000, "ok": True}
    assert pattern_message(ok, "R") == (
        "Buzzing the stop pattern on your right shin, again every 10 s until you hold its "
        "button 2 s",
        True,
    )
    old = {**ok, "ok": False, "result": proto.RESULT_OP_NOT_SUPPORTED}
    text, good = pattern_message(old, "L")
    assert not good and text == (
        "Could not buzz the stop pattern on your left shin: the sensor's firmware cannot "
        "play patterns"
    )
    gone = {**ok, "ok": False, "result": None, "error": "not connected"}
    assert pattern_message(gone, None, sensor="S1")[0].endswith("on S1: not connected")
    stop = {"event": PATTERN_STOP_EVENT, "reason": "ended", "ok": True}
    assert pattern_message(stop, "L")[0] == (
        "Stopped the alert pattern on your left shin (the alert ended)"
    )


# ------------------------------------------------------------------ acknowledged alerts


def overstride_strides() -> list[dict[str, float]]:
    n = 1400
    angle = np.where((np.arange(n) >= 600) & (np.arange(n) < 1000), 15.0, 8.0)
    return strides(n, seed=12, angle_deg=angle)


def test_an_acknowledged_alert_is_not_reminded_until_it_escalates() -> None:
    s = overstride_strides()
    policy = AlertPolicy()
    assert policy.acknowledge(1.0) == []  # nothing on: nothing to acknowledge
    out: list[Alert] = []
    for k, stride in enumerate(s):
        got = policy.update(stride)
        out += got
        if any(a.state is AlertState.RAISED and a.kind is AlertKind.OVERSTRIDE for a in got):
            (ack,) = policy.acknowledge(stride["initial_contact_s"], source="sensor")
            assert ack.state is AlertState.ACKNOWLEDGED and ack.kind is AlertKind.OVERSTRIDE
            assert ack.reason == (
                "Acknowledged with the sensor's button: no reminders while it stays on."
            )
            assert policy.acknowledge(stride["initial_contact_s"]) == []  # once
            assert k >= 600
    states = [a.state for a in out if a.kind is AlertKind.OVERSTRIDE]
    # without the acknowledgement it is reminded (test_alert_policy); with it, not
    assert states[0] is AlertState.RAISED and states[-1] is AlertState.ENDED
    assert AlertState.REMINDER not in states
    assert [a.state for a in policy.alerts_ if a.kind is AlertKind.OVERSTRIDE].count(
        AlertState.ACKNOWLEDGED
    ) == 1


def test_a_pain_mark_makes_an_acknowledged_change_news_again() -> None:
    n, onset = 760, 700
    s = strides(
        n, seed=14, peak_factor=step(n, onset, 1.0, 0.93), decel_factor=step(n, onset, 1.0, 0.93)
    )
    policy = AlertPolicy()
    policy.run(s[:712])
    (esc,) = policy.mark_pain(s[711]["initial_contact_s"])
    (ack,) = policy.acknowledge(s[711]["initial_contact_s"] + 1, source="phone")
    assert ack.kind is esc.kind and "on the phone" in ack.reason
    assert policy.unacknowledged() == {}
    again = policy.mark_pain(s[711]["initial_contact_s"] + 5)
    assert again and again[0].state is AlertState.ESCALATED
    assert esc.kind in policy.unacknowledged()


# ------------------------------------------------------------------ the live run, no radio


def frames_with(flags2: int, first_index: int = 0) -> list[bytes]:
    """Two frames of a sensor standing still, the second with ``flags2`` set."""
    raw = np.zeros((20, 6), dtype=np.int64)
    raw[:, 2] = -2048
    frames = encode_frames(  # 10 samples a frame
        raw, rate_hz=500, mtu=23 + 10 * 12 + 3, first_index=first_index, t0_us=first_index * 2000
    )
    assert len(frames) == 2
    second = bytearray(frames[1])
    second[proto.FRAME_FLAGS2_OFFSET] |= flags2
    return [frames[0], bytes(second)]


def test_live_run_acknowledge_reaches_policy_alarm_and_screen() -> None:
    events: list[LiveEvent] = []
    run = LiveRun(["StrideGuard-L", "StrideGuard-R"], events.append)
    sent = Sent()
    run.alarm.send = sent
    right = run.pipelines[1]
    raised = right.policy.mark_pain(3.0)  # a caution on the right leg
    right._emit_alerts(raised)
    assert sent.writes[-1][0] == 1 and sent.writes[-1][2]["pattern"] == "caution"
    assert run.acknowledge("L") is None  # nothing on the left leg waits
    assert run.acknowledge("R") == {"sensor": "StrideGuard-R", "kind": "pain_marked"}
    acks = [
        e.alert
        for e in events
        if isinstance(e, AlertUpdate) and e.alert.state.value == "acknowledged"
    ]
    assert [a.kind for a in acks] == [AlertKind.PAIN_MARKED]
    # the caution played once and claims nothing: no OP_ACKNOWLEDGE was needed, but the
    # alarm still asks the sensor that played it to stop (harmless: answered success)
    assert sent.writes[-1][1] == bytes((proto.OP_ACKNOWLEDGE,))
    assert run.acknowledge(None) is None  # acknowledged once


def test_a_long_press_in_the_stream_acknowledges_the_alert_its_sensor_plays() -> None:
    events: list[LiveEvent] = []
    run = LiveRun(["StrideGuard-L", "StrideGuard-R"], events.append)
    left, right = run.pipelines
    right._emit_alerts(right.policy.mark_pain(0.01))  # an alert of the right leg ...
    # ... played on the left sensor (the right one was away), as the recording says
    run.on_link_event(
        0,
        {"event": PATTERN_EVENT, "pattern": "caution", "kind": "pain_marked",
         "alert_stream": 1, "ok": True, "result": 1},
    )  # fmt: skip
    for frame in frames_with(proto.FLAG2_ACKNOWLEDGED | 0x80):  # + a bit of a later version
        left.push([frame], [0.0])
    acks = [
        e.alert
        for e in events
        if isinstance(e, AlertUpdate) and e.alert.state.value == "acknowledged"
    ]
    assert [(a.kind, a.leg) for a in acks] == [(AlertKind.PAIN_MARKED, "R")]
    assert "sensor's button" in acks[0].reason
    haptic = [e for e in events if isinstance(e, HapticUpdate)]
    assert haptic[0].message.startswith("Buzzing the caution pattern on your left shin")
    # a "link lost" the left sensor played while no host listened is said on screen
    for frame in frames_with(proto.FLAG2_LINK_LOST_CUE, first_index=20):
        left.push([frame], [1.0])
    lost = [e for e in events if isinstance(e, HapticUpdate) and e.action == "link_lost"]
    assert len(lost) == 1 and "your left shin buzzed 'link lost'" in lost[0].message


def test_acknowledge_from_another_thread_runs_in_the_runs_loop() -> None:
    events: list[LiveEvent] = []

    async def main() -> tuple[Any, Any, LiveRun]:
        run = LiveRun(["StrideGuard-R"], events.append, loop=asyncio.get_running_loop())
        p = run.pipelines[0]
        p._emit_alerts(p.policy.mark_pain(2.0))
        # the phone page's action handler: an executor thread
        got = await asyncio.to_thread(run.acknowledge, None)
        again = await asyncio.to_thread(run.acknowledge, None)
        return got, again, run

    got, again, run = asyncio.run(main())
    assert got == {"sensor": "StrideGuard-R", "kind": "pain_marked"} and again is None
    assert [e.alert.state.value for e in events if isinstance(e, AlertUpdate)] == [
        "raised",
        "acknowledged",
    ]
    # the run is over, its loop closed: nothing to acknowledge, no hang, no traceback
    run.pipelines[0].policy.mark_pain(3.0)
    assert run.acknowledge("R") is None


# ------------------------------------------------------------------ analyze reads them back


def test_recorded_acknowledgements_follow_the_pattern_owner(tmp_path: Path) -> None:
    """Two sensors; the right leg's alert played on the left sensor, pressed there."""
    raw = np.zeros((400, 6), dtype=np.int64)
    raw[:, 2] = -2048
    frames = encode_frames(raw, rate_hz=100, mtu=23 + 10 * 12 + 3)  # 10 samples (0.1 s) each
    path = tmp_path / "acks.sgrec"
    pattern = {"event": PATTERN_EVENT, "pattern": "stop", "ok": True, "result": 1}
    with RecordingWriter(path, {"sensors": ["StrideGuard-L", "StrideGuard-R"]}) as w:
        for k, frame in enumerate(frames):
            t = k * 0.1
            if k == 5:  # the right leg's stop plays on the left sensor
                w.append_event(
                    {**pattern, "kind": "gait_changed", "alert_stream": 1}, arrival_s=t, stream=0
                )
            if k == 10:  # the phone acknowledges a right-leg caution
                w.append_event(
                    {"event": "acknowledge", "kind": "pain_marked", "source": "phone"},
                    arrival_s=t,
                    stream=1,
                )
            if k == 30:  # the right sensor plays its own caution
                w.append_event(
                    {**pattern, "kind": "pain_marked", "alert_stream": 1}, arrival_s=t, stream=1
                )
            left = bytearray(frame)
            right = bytearray(frame)
            if k == 20:  # long press on the left sensor: the right leg's stop
                left[proto.FRAME_FLAGS2_OFFSET] |= proto.FLAG2_ACKNOWLEDGED
            if k == 25:  # long press on the left again: it plays nothing now
                left[proto.FRAME_FLAGS2_OFFSET] |= proto.FLAG2_ACKNOWLEDGED
            if k == 35:  # long press on the right sensor: its own caution
                right[proto.FRAME_FLAGS2_OFFSET] |= proto.FLAG2_ACKNOWLEDGED
            w.append_frame(bytes(left), arrival_s=t + 0.01, stream=0)
            w.append_frame(bytes(right), arrival_s=t + 0.02, stream=1)
    right_acks = load_imu(path, 1).acknowledgements
    assert [(round(a.time_s, 2), a.kind, a.source, a.fallback) for a in right_acks] == [
        (1.0, "pain_marked", "phone", False),  # where the right stream stood (frame 9 ended)
        (2.0, "gait_changed", "sensor", False),  # left frame 20 came after right frame 19
        (3.5, "pain_marked", "sensor", True),  # its own frame 35's first sample
    ]
    left_acks = load_imu(path, 0).acknowledgements
    # the second left press found no pattern playing: the left leg's most urgent alert
    assert [(round(a.time_s, 2), a.kind, a.fallback) for a in left_acks] == [(2.5, None, True)]
    # the offline policy applies them as the live run did
    policy = alerts_for_strides([], pain_marks_s=[0.5], acknowledgements=right_acks)
    assert [a.state.value for a in policy.alerts_] == ["raised", "acknowledged"]
    assert policy.alerts_[1].reason.startswith("Acknowledged on the phone")
