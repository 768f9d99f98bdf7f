"""The sensor is the alarm when the host is gone: "link lost" on the virtual board's motor pin.

A host streams from the real firmware (MicroPython Unix port, bumble) and
vanishes without saying goodbye; the simulated GPIO pin must show the "link
lost" pattern 30 s (board time) later, once, and the next host must find
``FLAG2_LINK_LOST_CUE`` in its first frame. The patterns and the button are
checked in detail under MicroPython (tests/firmware/test_firmware_patterns.py)
and end to end with the live host in tests/host/test_alarm_loop.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import numpy as np
import pytest
from bleak import BleakClient

from strideguard import protocol as proto
from strideguard.assembler import SampleBlock
from strideguard.ble.receiver import ReconnectPolicy, SensorLink, scan
from strideguard_devkit.bumble_backend import VirtualAir
from strideguard_devkit.vboard import VirtualBoard, synthetic_gait
from strideguard_devkit.vboard.motor import motor_activity
from tests.host.ble_helpers import run

FAST = ReconnectPolicy(scale=0.05, jitter=0.0)
SPEED = 15.0


async def until(condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def board_s(board: VirtualBoard) -> float:
    """The board's clock now (seconds since boot), from its latest clock message."""
    clock = board.bridge.clock if board.bridge is not None else []
    return clock[-1][0] / 1e6 if clock else 0.0


async def board_wait(board: VirtualBoard, seconds: float) -> None:
    """Let ``seconds`` of board time pass."""
    start = board_s(board)
    await until(lambda: board_s(board) >= start + seconds, seconds / SPEED * 4 + 10)


def flagged(blocks: list[SampleBlock], bit: int, since: int = 0) -> int:
    return sum(int(np.count_nonzero(b.frames["flags2"] & bit)) for b in blocks[since:])


@pytest.mark.slow
def test_link_lost_pattern_after_30_s_without_a_host() -> None:
    logging.getLogger("bumble").setLevel(logging.ERROR)

    async def main() -> None:
        air = VirtualAir()
        async with VirtualBoard(air, synthetic_gait(60.0), leg="L", speed=SPEED) as board:
            (info,) = await scan(1.0, backend=air.backend)
            # a host streams, then vanishes without saying goodbye (the phone went to sleep)
            async with BleakClient(info.device, backend=air.backend.client) as client:
                await client.start_notify(proto.DATA_CHAR_UUID, lambda _c, _d: None)
                await client.write_gatt_char(
                    proto.CONTROL_CHAR_UUID, bytes((proto.OP_START_STREAM,)), True
                )
                await board_wait(board, 2.0)
                gone_from_s = board_s(board)
            # the firmware hears of the disconnect a moment later (later still on a loaded
            # machine, where the board's clock runs on while its process waits): bracket it
            # between the host leaving and the first board-clock reading after the bridge saw it
            bridge = board.bridge
            assert bridge is not None
            await until(lambda: not bridge.conns, 10.0)
            seen = len(bridge.clock)
            await until(lambda: len(bridge.clock) > seen + 1, 10.0)
            gone_by_s = board_s(board)
            await board_wait(board, 45.0)
            lost = [a for a in motor_activity(board.pin_log) if a["pattern"] == "link_lost"]
            assert len(lost) == 1 and lost[0]["plays"] == 1
            assert gone_from_s + 30.0 - 0.6 <= lost[0]["start_s"] <= gone_by_s + 30.0 + 0.6
            # the next host hears of it in its first frame
            (info,) = await scan(1.0, backend=air.backend)
            blocks: list[SampleBlock] = []
            async with SensorLink(
                info, backend=air.backend, policy=FAST, on_samples=blocks.append
            ) as link:
                await link.wait_samples(200, 10)
            assert flagged(blocks, proto.FLAG2_LINK_LOST_CUE) == 1

    run(main(), 90)
