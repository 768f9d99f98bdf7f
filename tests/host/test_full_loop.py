"""The full loop: real firmware (MicroPython Unix port) -> virtual BLE (bumble) -> live host -> alerts.

A scripted run with an overstriding episode and, later, an injury-like guarded
gait on the right leg plays through a virtual board; the live host must receive
every stride (no loss without a flag), raise the right alerts at about the
right stride and none on the normal part, survive a link drop mid-run, and its
recording must replay to the same alerts.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import numpy as np
import pytest

from strideguard.alerts.config import config_from_dict
from strideguard.ble.receiver import scan
from strideguard.live.run import LiveRun, replay, run_ble
from strideguard.live.streaming import as_arrays
from strideguard.live.updates import LiveEvent
from strideguard.recording import RecordingWriter, read_recording
from strideguard_devkit.bumble_backend import VirtualAir
from strideguard_devkit.sim import simulate
from strideguard_devkit.vboard import VirtualBoard

DURATION_S = 300.0
SPEED = 15.0


def config() -> object:
    # a short warm-up so both episodes fall after the baseline in a 5-minute run
    return config_from_dict({"baseline": {"skip_s": 20, "duration_s": 60}})


@pytest.fixture(scope="module")
def full_loop(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, LiveRun, Path, int, float]:
    logging.getLogger("bumble").setLevel(logging.ERROR)
    run = simulate("demo", duration_s=DURATION_S, rate_hz=500, seed=7, leg="R", clock_error=0.0)
    path = tmp_path_factory.mktemp("loop") / "loop.sgrec"
    events: list[LiveEvent] = []

    async def main() -> tuple[LiveRun, int, int]:
        air = VirtualAir()
        board = VirtualBoard(
            air,
            run,
            leg="R",
            rate_hz=500,
            speed=SPEED,
            loop=False,
            paused=True,
            play_on_stream=True,
        )
        await board.start()
        dropped = 0
        try:
            found = await scan(3.0, backend=air.backend)
            found = [f for f in found if f.name == "StrideGuard-R"]
            assert found, "the virtual board does not advertise"

            def finished(r: LiveRun) -> bool:
                p = r.pipelines[0]
                return p.samples + p.samples_lost >= len(run.raw) - 10

            async def drop_mid_run(r_holder: list[LiveRun]) -> None:
                nonlocal dropped
                await asyncio.sleep(
                    0.45 * DURATION_S / SPEED
                )  # in the steady part before the overstride episode
                dropped = await board.drop_link()

            holder: list[LiveRun] = []
            dropper = asyncio.create_task(drop_mid_run(holder))
            with RecordingWriter(path, {"sensors": ["StrideGuard-R"], "mode": "test"}) as rec:
                live = await run_ble(
                    found,
                    ["StrideGuard-R"],
                    events.append,
                    recording=rec,
                    backend=air.backend,
                    config=config(),
                    until=finished,
                    duration_s=4 * DURATION_S / SPEED + 60,
                )
            dropper.cancel()
            return live, dropped, board.play_index
        finally:
            await board.stop()

    live, dropped, play_index = asyncio.run(main())
    live.finish()
    # live time 0 is the first streamed sample; the simulated run's sample 0 is stream index play_index
    offset_s = (play_index - live.pipelines[0].clock.origin_index) / 500.0
    return run, live, path, dropped, offset_s


def test_strides_arrive_without_unflagged_loss(full_loop: tuple) -> None:
    run, live, path, dropped, offset_s = full_loop
    assert dropped == 1
    p = live.pipelines[0]
    rec = read_recording(path)
    events = [e["event"] for _, _, e in rec.events]
    assert (
        events.count("connect") >= 2 and "disconnect" in events
    )  # the drop and the reconnect are recorded
    # every sample either arrived or is counted in a reported gap
    assert p.samples + p.samples_lost >= len(run.raw) - 10
    assert p.samples_lost < 0.05 * len(run.raw)
    # the strides found match the truth (outside the gap), IC within 10 ms
    truth_ic = run.truth.initial_contact_s + offset_s
    ic = as_arrays(p.strides, "initial_contact_s")
    # live times start at the first streamed sample; the truth at the first simulated one: same here
    nearest = np.abs(ic[:, None] - truth_ic[None, :]).min(axis=1)
    assert np.median(nearest) < 0.010
    running_truth = truth_ic[(truth_ic > 25.0) & (truth_ic < DURATION_S - 2)]
    assert len(ic) >= 0.95 * running_truth.size


def test_alerts_are_the_right_ones_at_the_right_stride(full_loop: tuple) -> None:
    run, live, _path, _dropped, offset_s = full_loop
    onsets = {e["alert"]: e["onset_s"] + offset_s for e in run.truth.must_alert}
    raised = [a for a in live.pipelines[0].alerts if a.state.value == "raised"]
    kinds = {a.kind.value for a in raised}
    assert "overstride" in kinds and "gait_changed" in kinds
    over = next(a for a in raised if a.kind.value == "overstride")
    gait = next(a for a in raised if a.kind.value == "gait_changed")
    ic = as_arrays(live.pipelines[0].strides, "initial_contact_s")
    assert (
        onsets["overstride"] <= over.time_s
        and np.count_nonzero((ic >= onsets["overstride"]) & (ic <= over.time_s)) <= 20
    )
    assert (
        onsets["gait_changed"] <= gait.time_s
        and np.count_nonzero((ic >= onsets["gait_changed"]) & (ic <= gait.time_s)) <= 30
    )
    # nothing that matters on the normal part before the overstride episode
    early = [
        a
        for a in raised
        if a.time_s < onsets["overstride"] and a.severity.value in ("stop", "coach", "caution")
    ]
    assert early == []
    assert "sensor_moved" not in kinds and "sensor_lost" not in kinds


def test_recording_replays_to_the_same_alerts(full_loop: tuple) -> None:
    _run, live, path, _dropped, _offset_s = full_loop
    again = replay(path, lambda e: None, config=config())
    again.finish()
    live_alerts = [(a.kind, a.state, a.stride_index) for a in live.pipelines[0].alerts]
    replayed = [(a.kind, a.state, a.stride_index) for a in again.pipelines[0].alerts]
    assert live_alerts == replayed
