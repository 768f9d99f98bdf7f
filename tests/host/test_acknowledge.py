"""Acknowledging an alert: no more reminders while it stays on; recorded; replayed the same.

The policy's life cycle (acknowledge, escalation clears it), the phone page's
``POST /action/acknowledge`` (token, header, body checks), and a live run over
virtual Bluetooth whose acknowledgement is in the recording, so that
``strideguard replay`` gives the same alert events.
"""

from __future__ import annotations

import asyncio
import http.client
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from strideguard.alerts import AlertPolicy
from strideguard.alerts.model import AlertKind, AlertState, Severity
from strideguard.ble.receiver import scan
from strideguard.live.acknowledge import AcknowledgeAction
from strideguard.live.run import LiveRun, replay, run_ble
from strideguard.live.web_sink import WebSink
from strideguard.recording import RecordingWriter, read_recording
from tests.host.ble_helpers import run, synth_samples, virtual_sensors
from tests.host.test_alert_policy import step, strides


def _guarded(n: int = 1400, onset: int = 700) -> list[dict[str, float]]:
    """A runner whose gait changes for good at stride ``onset`` (a stop alert that stays on);
    the stance shortens, as in an antalgic gait (see test_alert_policy)."""
    return strides(
        n,
        seed=4,
        peak_factor=step(n, onset, 1.0, 0.9),
        decel_factor=step(n, onset, 1.0, 0.88),
        contact_factor=step(n, onset, 1.0, 0.96),
        stride_time_noise=step(n, onset, 0.01, 0.025),
        noise_factor=step(n, onset, 1.0, 2.5),
    )


def _states(policy: AlertPolicy, kind: AlertKind) -> list[AlertState]:
    return [a.state for a in policy.alerts_ if a.kind == kind]


def test_an_acknowledged_stop_alert_is_not_reminded() -> None:
    s = _guarded()
    # without an acknowledgement the stop alert is reminded while it stays on
    plain = AlertPolicy(leg="R")
    plain.run(s)
    assert _states(plain, AlertKind.GAIT_CHANGED).count(AlertState.REMINDER) >= 2

    policy = AlertPolicy(leg="R")
    k = 0
    while not policy.is_active(AlertKind.GAIT_CHANGED):
        policy.update(s[k])
        k += 1
    t = s[k - 1]["initial_contact_s"]
    (ack,) = policy.acknowledge(t + 1.0, source="phone")
    assert ack.kind == AlertKind.GAIT_CHANGED and ack.state == AlertState.ACKNOWLEDGED
    assert ack.severity == Severity.STOP and "on the phone" in ack.reason
    assert ack.advice  # still says what to do
    assert policy.acknowledge(t + 2.0) == []  # nothing else waits for one
    policy.run(s[k:])
    states = _states(policy, AlertKind.GAIT_CHANGED)
    assert AlertState.REMINDER not in states
    assert states[:2] == [AlertState.RAISED, AlertState.ACKNOWLEDGED]
    assert policy.is_active(AlertKind.GAIT_CHANGED)  # acknowledged is not ended
    policy.finish(s[-1]["initial_contact_s"])
    assert _states(policy, AlertKind.GAIT_CHANGED)[-1] == AlertState.ENDED


def test_an_escalation_is_news_again() -> None:
    s = _guarded()
    policy = AlertPolicy(leg="R")
    k = 0
    while not policy.is_active(AlertKind.GAIT_CHANGED):
        policy.update(s[k])
        k += 1
    policy.acknowledge(s[k - 1]["initial_contact_s"], AlertKind.GAIT_CHANGED)
    # the runner presses "pain now": escalated, and reminders come back
    out = policy.mark_pain(s[k - 1]["initial_contact_s"] + 0.5)
    assert [a.state for a in out] == [AlertState.ESCALATED]
    policy.run(s[k:])
    after = _states(policy, AlertKind.GAIT_CHANGED)
    assert after.index(AlertState.ESCALATED) < len(after) - 1
    assert AlertState.REMINDER in after[after.index(AlertState.ESCALATED) :]


def test_the_most_urgent_alert_is_acknowledged_first() -> None:
    s = _guarded()
    policy = AlertPolicy(leg="L")
    policy.run(s[:400])
    assert policy.acknowledge(10.0) == []  # nothing on
    policy.mark_pain(s[399]["initial_contact_s"])  # a caution
    k = 400
    while not policy.is_active(AlertKind.GAIT_CHANGED):
        policy.update(s[k])
        k += 1
    first = policy.acknowledge(s[k]["initial_contact_s"])
    second = policy.acknowledge(s[k]["initial_contact_s"])
    assert [a.kind for a in first + second] == [AlertKind.GAIT_CHANGED, AlertKind.PAIN_MARKED]


def _post(
    port: int, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = {"Content-Type": "application/json", "X-Strideguard": "1", **(headers or {})}
    conn.request("POST", path, body=data, headers={k: v for k, v in h.items() if v})
    r = conn.getresponse()
    return r.status, r.read()


def test_the_web_action_checks_the_request() -> None:
    loop = asyncio.new_event_loop()

    async def serve() -> None:
        events: list[Any] = []
        live = LiveRun(["StrideGuard-R"], events.append, loop=asyncio.get_running_loop())
        action = AcknowledgeAction()
        with WebSink("127.0.0.1", 0) as web:
            web.offer_acknowledge(action)
            path = f"/action/acknowledge?token={web.token}"
            port = web.port

            def post(*a: Any, **kw: Any) -> tuple[int, bytes]:
                return _post(port, *a, **kw)

            # no run attached yet, then nothing to acknowledge
            status, body = await asyncio.to_thread(post, path, {})
            assert status == 200 and json.loads(body)["why"] == "no run is on"
            action.attach(live)
            status, body = await asyncio.to_thread(post, path, {})
            assert json.loads(body) == {
                "ok": False,
                "acknowledged": None,
                "why": "no alert to acknowledge",
            }
            # a caution is on: acknowledged (the one named, on the sensor named)
            p = live.pipelines[0]
            p.policy.mark_pain(50.0)
            status, body = await asyncio.to_thread(
                post, path, {"sensor": "StrideGuard-R", "kind": "pain_marked"}
            )
            assert status == 200
            assert json.loads(body) == {
                "ok": True,
                "acknowledged": {"sensor": "StrideGuard-R", "kind": "pain_marked"},
            }
            assert p.alerts[-1].state == AlertState.ACKNOWLEDGED
            # bad requests: no token, no header, wrong types, huge, not JSON
            assert (await asyncio.to_thread(post, "/action/acknowledge", {}))[0] == 403
            assert (await asyncio.to_thread(post, path, {}, {"X-Strideguard": ""}))[0] == 403
            assert (await asyncio.to_thread(post, path, {"kind": 7}))[0] == 400
            assert (await asyncio.to_thread(post, path, {"sensor": "x" * 500}))[0] == 400
            assert (await asyncio.to_thread(post, path, b"[1, 2]"))[0] == 400
            assert (await asyncio.to_thread(post, path, b"{" * 5000))[0] == 413
            # an unknown kind or sensor acknowledges nothing
            status, body = await asyncio.to_thread(post, path, {"kind": "no_such_alert"})
            assert json.loads(body)["ok"] is False

    loop.run_until_complete(serve())
    loop.close()


def test_an_acknowledgement_is_recorded_and_replayed(tmp_path: Path) -> None:
    """Live over virtual Bluetooth: pain marked on the sensor, acknowledged on the phone."""
    n = 6000
    path = tmp_path / "run.sgrec"
    live_events: list[Any] = []
    answers: list[dict[str, Any]] = []

    async def main() -> LiveRun:
        spec = {
            "samples": synth_samples(n),
            "speed": 10.0,
            "loop": False,
            "leg": "R",
            "run_starts_with_stream": True,
        }
        async with virtual_sensors(spec) as (air, (sensor,)):
            (info,) = await scan(0.1, backend=air.backend)
            action = AcknowledgeAction()
            stage = {"pressed": False}

            def until(live: LiveRun) -> bool:
                p = live.pipelines[0]
                if p.samples > 1500 and not stage["pressed"]:
                    stage["pressed"] = True
                    sensor.press_button()
                if p.policy.unacknowledged() and not answers:
                    # the phone's tap arrives in the web server's worker thread
                    fut = asyncio.get_running_loop().run_in_executor(None, action, {})
                    fut.add_done_callback(lambda f: answers.append(f.result()))
                return p.samples + p.samples_lost >= n - 100

            with RecordingWriter(path, {"sensors": [info.name]}) as rec:
                return await run_ble(
                    [info],
                    [info.name],
                    live_events.append,
                    recording=rec,
                    backend=air.backend,
                    until=until,
                    on_run=action.attach,
                    status_every_s=0.4,
                )

    live = run(main(), timeout_s=40)
    live.finish()
    assert answers and answers[0]["ok"] is True, answers
    alerts_live = [(a.kind, a.state) for a in live.pipelines[0].alerts]
    assert (AlertKind.PAIN_MARKED, AlertState.ACKNOWLEDGED) in alerts_live
    # the recording holds the acknowledgement among the link's events
    rec = read_recording(path)
    acks = [e for _, _, e in rec.events if e.get("event") == "acknowledge"]
    assert acks == [
        {
            "event": "acknowledge",
            "kind": "pain_marked",
            "source": "phone",
            "sensor": "StrideGuard-R",
        }
    ]
    # replay: the same alert events, at the same run times
    again = replay(path, lambda _e: None)
    again.finish()
    replayed = [(a.kind, a.state) for a in again.pipelines[0].alerts]
    assert replayed == alerts_live
    t_live = [a.time_s for a in live.pipelines[0].alerts]
    t_again = [a.time_s for a in again.pipelines[0].alerts]
    np.testing.assert_allclose(t_again, t_live, atol=0.2)


@pytest.mark.parametrize("body", [{}, {"sensor": None, "kind": None}])
def test_acknowledge_without_alerts_in_a_run_does_nothing(body: dict[str, Any]) -> None:
    events: list[Any] = []
    live = LiveRun(["StrideGuard-L", "StrideGuard-R"], events.append)
    assert live.acknowledge(kind=body.get("kind"), sensor=body.get("sensor")) is None
    assert events == []
