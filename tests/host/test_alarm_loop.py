"""The sensor is the alarm, end to end: guarded gait → host alert → the real firmware's motor.

A simulated run with an injury-like guarded gait on the right leg plays through a
virtual board (the real firmware in the MicroPython Unix port); the live host
(``run_ble``, bumble backend) analyses it, raises "stop" and sends the stop
pattern. The simulated GPIO pin must show it within 1 s of the host's alert.
Then the runner acknowledges on the phone (the page's real ``POST
/action/acknowledge`` over HTTP, with its token → ``LiveRun.acknowledge``: the
sensor's repeats stop, ``OP_ACKNOWLEDGE``), taps "pain now" (the alert escalates: the pattern comes again)
and holds the sensor's button 2.5 s (``FLAG2_ACKNOWLEDGED``: the host
acknowledges, the repeats stop). The recording replays to the same alerts and
the same buzzing messages.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from strideguard import protocol as proto
from strideguard.alerts.config import config_from_dict
from strideguard.alerts.model import AlertState
from strideguard.alerts.offline import alerts_for_strides
from strideguard.analysis import analyze
from strideguard.ble.receiver import scan
from strideguard.live.acknowledge import AcknowledgeAction
from strideguard.live.run import LiveRun, replay, run_ble
from strideguard.live.updates import AlertUpdate, HapticUpdate, LiveEvent
from strideguard.live.web_sink import WebSink
from strideguard.recording import RecordingWriter, load_imu, read_recording
from strideguard_devkit.bumble_backend import VirtualAir
from strideguard_devkit.sim import simulate
from strideguard_devkit.sim.kinematics import GAIT_STAND
from strideguard_devkit.sim.scenarios import Plan, Segment, custom_scenario
from strideguard_devkit.vboard import VirtualBoard
from strideguard_devkit.vboard.motor import motor_activity, pulses

ONSET_S = 30.0
DURATION_S = 75.0
SPEED = 5.0
#: a short warm-up so the baseline is learned (from about 5 to 25 s) before the guarded gait
CONFIG = {"baseline": {"skip_s": 0, "duration_s": 20, "min_strides": 10}}
SCENARIO = custom_scenario(
    "guarded_at_30s",
    "stand 5 s, warm up, steady 3 m/s, injury-like guarded gait on the right leg from 30 s",
    Plan(
        "guarded_at_30s",
        DURATION_S,
        [
            Segment(0.0, 5.0, "stand", gait=GAIT_STAND, speed_start_mps=0.0, speed_end_mps=0.0),
            Segment(5.0, 10.0, "warmup", speed_start_mps=2.3, speed_end_mps=3.0),
            Segment(10.0, ONSET_S, "steady"),
            Segment(
                ONSET_S,
                DURATION_S,
                "guarded",
                speed_start_mps=2.85,
                speed_end_mps=2.85,
                guarded=1.0,
                guarded_leg="R",
            ),
        ],
    ),
)


def board_s(board: VirtualBoard) -> float:
    clock = board.bridge.clock if board.bridge is not None else []
    return clock[-1][0] / 1e6 if clock else 0.0


async def until(condition: Callable[[], Any], timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (got := condition()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)
    return got


async def board_wait(board: VirtualBoard, seconds: float) -> None:
    start = board_s(board)
    await until(lambda: board_s(board) >= start + seconds, seconds / SPEED * 4 + 10)


async def board_until(board: VirtualBoard, board_s_: float) -> None:
    await board_wait(board, max(board_s_ - board_s(board), 0.0))


def post_acknowledge(web: WebSink, body: dict[str, Any]) -> dict[str, Any]:
    """What the phone page's "Acknowledge" button sends (``app.js``), over real HTTP."""
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
    try:
        conn.request(
            "POST",
            f"/action/acknowledge?token={web.token}",
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-Strideguard": "1"},
        )
        r = conn.getresponse()
        assert r.status == 200, r.status
        answer: dict[str, Any] = json.loads(r.read())
        return answer
    finally:
        conn.close()


async def motor_pulses(board: VirtualBoard, n: int) -> None:
    """Wait until the motor pin has finished ``n`` pulses in all (this boot)."""
    await until(lambda: len([p for p in pulses(board.pin_log) if p[1] == p[1]]) >= n, 60)


@pytest.fixture(scope="module")
def loop_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    logging.getLogger("bumble").setLevel(logging.ERROR)
    sim = simulate(SCENARIO, duration_s=DURATION_S, rate_hz=500, seed=5, leg="R")
    path = tmp_path_factory.mktemp("alarm") / "alarm.sgrec"
    events: list[tuple[float, LiveEvent]] = []
    out: dict[str, Any] = {"path": path}

    def emit(event: LiveEvent) -> None:
        events.append((time.monotonic(), event))

    def alert(state: AlertState, reason_part: str = "") -> Callable[[], Any]:
        def find() -> Any:
            for t, e in events:
                if (
                    isinstance(e, AlertUpdate)
                    and e.alert.kind.value == "gait_changed"
                    and e.alert.state is state
                    and reason_part in e.alert.reason
                ):
                    return t, e
            return None

        return find

    async def main() -> None:
        air = VirtualAir()
        board = VirtualBoard(
            air, sim, leg="R", speed=SPEED, loop=False, paused=True, play_on_stream=True
        )
        await board.start()
        done = asyncio.Event()
        runs: list[LiveRun] = []
        # the phone page's server and its Acknowledge action, as `strideguard live` offers them
        web = WebSink("127.0.0.1", 0)
        web.start()
        action = AcknowledgeAction()
        web.offer_acknowledge(action)

        def on_run(run: LiveRun) -> None:
            runs.append(run)
            action.attach(run)

        async def script() -> None:
            await until(lambda: runs and runs[0], 30)
            t_alert, raised = await until(alert(AlertState.RAISED), DURATION_S / SPEED * 3)
            out["alert_wall_s"] = t_alert
            out["alert_board_s"] = board.board_us_at(t_alert) / 1e6
            await motor_pulses(board, 6)  # two plays, 10 s apart
            first_s = pulses(board.pin_log)[0][0]
            await board_wait(board, 1.0)
            # the button posts the banner's alert; the server answers in a worker thread
            body = {"sensor": raised.sensor, "kind": raised.alert.kind.value}
            out["phone_ack"] = await asyncio.to_thread(post_acknowledge, web, body)
            await until(alert(AlertState.ACKNOWLEDGED, "on the phone"), 10)
            await board_until(board, first_s + 21.0)  # past the third play, had it come
            board.press_button()  # "pain now" while the alert is on: it escalates
            await until(alert(AlertState.ESCALATED), 10)
            await motor_pulses(board, 9)  # the stop pattern sent anew, played once
            again_s = pulses(board.pin_log)[6][0]
            await board_wait(board, 1.0)
            board.hold_button(2.5)
            await until(alert(AlertState.ACKNOWLEDGED, "button"), 10)
            await board_until(board, again_s + 10.5)  # past its second play, had it come
            done.set()

        task = asyncio.create_task(script())
        try:
            (found,) = [f for f in await scan(1.0, backend=air.backend) if f.name == board.name]
            with RecordingWriter(path, {"sensors": [board.name], "mode": "test"}) as rec:
                live = await run_ble(
                    [found],
                    [board.name],
                    emit,
                    recording=rec,
                    backend=air.backend,
                    config=config_from_dict(CONFIG),
                    until=lambda _r: done.is_set() or task.done(),
                    duration_s=DURATION_S / SPEED * 4 + 30,
                    on_run=on_run,
                )
            task.result()  # the script's own failure, if any
            out["pin_log"], out["console"] = board.pin_log, list(board.console)
            out["pins_wall"] = board.pins
        finally:
            task.cancel()
            web.close()
            await board.stop()
        live.finish()
        out["live"] = live

    asyncio.run(asyncio.wait_for(main(), DURATION_S / SPEED * 5 + 60))
    out["events"] = events
    return out


def test_the_stop_pattern_plays_within_1_s_of_the_hosts_alert(loop_run: dict[str, Any]) -> None:
    acts = motor_activity(loop_run["pin_log"], console=loop_run["console"])
    first = acts[0]
    assert first["pattern"] == "stop"
    latency_board_s = first["start_s"] - loop_run["alert_board_s"]
    # board time (the runner's); host delays count SPEED times here, so this is strict
    assert 0.0 <= latency_board_s <= 1.0, latency_board_s
    # and in wall time: the haptic pin's first change after the alert
    haptic_wall = [t for t, gpio, level in loop_run["pins_wall"] if gpio == 25 and level == 1]
    assert min(haptic_wall) - loop_run["alert_wall_s"] <= 1.0
    haptics = [e for _, e in loop_run["events"] if isinstance(e, HapticUpdate)]
    assert haptics[0].ok and haptics[0].action == "play" and haptics[0].pattern == "stop"
    assert haptics[0].message.startswith("Buzzing the stop pattern on your right shin")


def test_phone_and_long_press_acknowledgements_stop_the_repeats(loop_run: dict[str, Any]) -> None:
    assert loop_run["phone_ack"] == {
        "ok": True,
        "acknowledged": {"sensor": "StrideGuard-R", "kind": "gait_changed"},
    }
    acts = motor_activity(loop_run["pin_log"], console=loop_run["console"])
    names = [a["pattern"] for a in acts]
    assert names == ["stop", "stop", "acknowledged"], acts
    phone, pain, blip = acts
    # two plays 10 s apart, then the phone's acknowledgement (OP_ACKNOWLEDGE) stopped it
    assert phone["plays"] == 2 and phone["acknowledged_by"] == "host"
    # the escalation sent it anew; the 2-s hold ended it after one play, with the blip
    assert pain["plays"] == 1 and pain["acknowledged_by"] == "button"
    assert blip["start_s"] - pain["acknowledged_s"] == pytest.approx(0.25, abs=0.02)
    on = [p[0] for p in pulses(loop_run["pin_log"])]
    # no third play (due 20 s after the first; the tap came 21 s after it), nothing after
    # the blip (the second play was due 10 s after the pattern sent anew; 10.5 s watched)
    assert pain["start_s"] - phone["start_s"] > 21.0
    assert not [t for t in on if phone["acknowledged_s"] < t < pain["start_s"]]
    assert max(on) == pytest.approx(blip["start_s"])
    # the host saw the long press in the stream and says so
    live: LiveRun = loop_run["live"]
    states = [(a.state.value, a.reason) for a in live.pipelines[0].alerts]
    acked = [r for s, r in states if s == "acknowledged"]
    assert acked == [
        "Acknowledged on the phone: no reminders while it stays on.",
        "Acknowledged with the sensor's button: no reminders while it stays on.",
    ]
    stops = [e for _, e in loop_run["events"] if isinstance(e, HapticUpdate) and e.action == "stop"]
    assert [e.ok for e in stops][:1] == [True]  # the phone's: OP_ACKNOWLEDGE answered


def test_the_recording_replays_to_the_same_alerts_and_patterns(loop_run: dict[str, Any]) -> None:
    rec = read_recording(loop_run["path"])
    recorded = [
        e for _, _, e in rec.events if e["event"] in ("alert_pattern", "alert_pattern_stop")
    ]
    assert recorded and all(e["result"] == proto.RESULT_SUCCESS for e in recorded)
    assert [e["event"] for e in recorded][:2] == ["alert_pattern", "alert_pattern_stop"]
    assert any(e["event"] == "acknowledge" and e["source"] == "phone" for _, _, e in rec.events)
    replayed: list[LiveEvent] = []
    again = replay(loop_run["path"], replayed.append, config=config_from_dict(CONFIG))
    again.finish()
    live: LiveRun = loop_run["live"]

    def key(alerts: list[Any]) -> list[tuple[str, str, str]]:
        return [(a.kind.value, a.state.value, a.reason) for a in alerts]

    assert key(again.pipelines[0].alerts) == key(live.pipelines[0].alerts)
    messages = [e.message for e in replayed if isinstance(e, HapticUpdate)]
    live_messages = [e.message for _, e in loop_run["events"] if isinstance(e, HapticUpdate)]
    assert messages == live_messages
    # played, stopped by the phone's acknowledgement, played anew (the long press stopped
    # it on the sensor itself: nothing to send)
    assert [m.split(" on ")[0] for m in messages] == [
        "Buzzing the stop pattern",
        "Stopped the alert pattern",
        "Buzzing the stop pattern",
    ]


def test_analyze_applies_the_same_acknowledgements(loop_run: dict[str, Any]) -> None:
    imu = load_imu(loop_run["path"], 0)
    acks = imu.acknowledgements
    assert [(a.kind, a.source) for a in acks] == [
        ("gait_changed", "phone"),
        ("gait_changed", "sensor"),
    ]
    live: LiveRun = loop_run["live"]
    live_acks = [a for a in live.pipelines[0].alerts if a.state is AlertState.ACKNOWLEDGED]
    # on the sensor's clock: the press within a frame of the live pipeline's time, the
    # phone's where the pipeline stood when it arrived (the live run used its last sample)
    for ack, seen in zip(acks, live_acks, strict=True):
        assert ack.time_s == pytest.approx(seen.time_s, abs=0.1)
    cfg = config_from_dict(CONFIG)
    result = analyze(imu, leg="R", alert_config=cfg)
    policy = alerts_for_strides(
        result.strides.rows(),
        pain_marks_s=imu.pain_marks_s,
        gaps=imu.gaps,
        config=cfg,
        leg="R",
        acknowledgements=acks,
        end_time_s=float(imu.time_s[-1]),
    )
    offline = [
        (a.kind.value, a.state.value) for a in policy.alerts_ if a.kind.value == "gait_changed"
    ]
    online = [
        (a.kind.value, a.state.value)
        for a in live.pipelines[0].alerts
        if a.kind.value == "gait_changed"
    ]
    assert offline == online
