"""What the runner's screens need from the host: the countdown, the battery, the run clock."""

from __future__ import annotations

import numpy as np

from strideguard.live.pipeline import SensorPipeline
from strideguard.live.standing import StandingCountdown
from strideguard.live.streaming import StreamingAnalyzer
from strideguard.live.updates import LinkUpdate, LiveEvent, run_clock

RATE = 200.0


def _still(seconds: float, t0: float, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    n = int(seconds * RATE)
    t = t0 + np.arange(n) / RATE
    acc = np.tile([0.4, 0.2, 9.79], (n, 1)) + rng.normal(0, 0.03, (n, 3))  # sensor noise
    gyr = rng.normal(0, 0.4, (n, 3)) + np.array([1.5, -0.8, 0.3])  # noise and a gyro bias
    return t, acc, gyr


def _moving(seconds: float, t0: float) -> tuple[np.ndarray, ...]:
    n = int(seconds * RATE)
    t = t0 + np.arange(n) / RATE
    acc = np.tile([0.0, 0.0, 9.81], (n, 1)) + 3.0 * np.sin(2 * np.pi * 2.8 * t)[:, None]
    gyr = np.zeros((n, 3))
    gyr[:, 1] = 350 * np.sin(2 * np.pi * 1.4 * t)
    return t, acc, gyr


def _play(
    c: StandingCountdown, parts: list[tuple[np.ndarray, ...]]
) -> list[tuple[str, float | None]]:
    out = []
    for t, acc, gyr in parts:
        for k in range(0, t.size, 8):  # frames as they arrive
            out += [
                (e.state, e.seconds_left)
                for e in c.update(t[k : k + 8], acc[k : k + 8], gyr[k : k + 8])
            ]
    return out


def test_countdown_counts_whole_seconds_and_says_ready() -> None:
    rng = np.random.default_rng(1)
    events = _play(StandingCountdown("S"), [_still(7.0, 0.0, rng)])
    assert events == [("stand_still", s) for s in (5.0, 4.0, 3.0, 2.0, 1.0)] + [("ready", None)]


def test_a_fidget_early_starts_again_a_late_one_is_enough() -> None:
    rng = np.random.default_rng(2)
    c = StandingCountdown("S")
    # 0.6 s still, then a shuffle (not yet running): the countdown starts again
    events = _play(c, [_still(0.6, 0.0, rng), _moving(0.5, 0.6), _still(2.0, 1.1, rng)])
    assert events[0] == ("stand_still", 5.0)
    asks = [k for k, e in enumerate(events) if e == ("stand_still", None)]
    assert len(asks) == 1 and events[asks[0] + 1] == ("stand_still", 5.0)
    # after 2 s of standing the runner sets off early: the aligner has what it needs
    events = _play(c, [_moving(1.0, 3.1)])
    assert events == [("ready", None)] and c.finished
    assert _play(c, [_still(6.0, 4.1, rng)]) == []  # once is enough


def test_no_countdown_without_standing() -> None:
    c = StandingCountdown("S")
    assert _play(c, [_moving(8.0, 0.0)]) == []
    # a sensor in free fall, or reading nothing (a broken accelerometer), is not "standing"
    n = int(6 * RATE)
    t = np.arange(n) / RATE
    assert c.update(t, np.zeros((n, 3)), np.zeros((n, 3))) == []


def test_analyzer_prompts_then_counts_then_stops_counting_when_running() -> None:
    rng = np.random.default_rng(3)
    a = StreamingAnalyzer("S", "R")
    events: list[tuple[str, float | None]] = []
    for t, acc, gyr in (_still(3.0, 0.0, rng), _moving(4.0, 3.0), _still(6.0, 7.0, rng)):
        for k in range(0, t.size, 8):
            a.push(t[k : k + 8], acc[k : k + 8], gyr[k : k + 8])
            events += [(e.state, e.seconds_left) for e in a.calibration_events()]
    assert events[0] == ("stand_still", None)
    assert events[1:4] == [("stand_still", 5.0), ("stand_still", 4.0), ("stand_still", 3.0)]
    # the runner set off after 3 s: ready; standing again later counts nothing
    assert events[-1] == ("ready", None)


def test_every_link_update_carries_the_last_battery_level() -> None:
    events: list[LiveEvent] = []
    pipe = SensorPipeline("S-R", "R", StreamingAnalyzer("S-R", "R"), events.append)
    pipe.link_update("connected", mtu=247)
    pipe.link_update("connected", mtu=247, battery_pct=64)
    pipe.link_update("connected", mtu=247)
    pipe.link_update("reconnecting")
    pipe.link_update("connected", battery_pct=12)  # low: the notice too
    links = [e for e in events if isinstance(e, LinkUpdate)]
    assert [e.battery_pct for e in links] == [None, 64, 64, 64, 12]
    assert any(getattr(e, "alert", None) is not None for e in events)


def test_run_clock() -> None:
    assert [run_clock(s) for s in (0, 9.99, 60, 599.5, 3599.9, 3600, 36061)] == [
        "0:00",
        "0:09",
        "1:00",
        "9:59",
        "59:59",
        "1:00:00",
        "10:01:01",
    ]
    assert run_clock(float("nan")) == run_clock(-1) == run_clock(None) == "–:––"
