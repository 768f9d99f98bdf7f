"""Sensor security through bumble with the real firmware on the virtual board (issue 19).

Pairing (bumble's SMP on both sides), the bonds kept by the firmware in its
flash (``_IRQ_GET_SECRET``/``_IRQ_SET_SECRET``), encrypted reconnections, the
rogue central of the issue, clearing bonds by opcode and by a 10-s press, and
``strideguard pair``/``scan`` against the board.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
import pytest
from bumble import att
from bumble.device import Device, Peer
from bumble.hci import Address
from bumble.keys import MemoryKeyStore

from strideguard import cli
from strideguard import protocol as proto
from strideguard.assembler import SampleBlock
from strideguard.ble.receiver import (
    LinkErrorKind,
    ReconnectPolicy,
    SensorLink,
    SensorLinkError,
    scan,
)
from strideguard.commands.pair import pair_sensor
from strideguard.commands.scan import render
from strideguard_devkit.bumble_backend import VirtualAir
from strideguard_devkit.vboard import VirtualBoard, synthetic_gait
from tests.host.ble_helpers import run
from tests.host.test_vboard import _micropython_or_skip, until

FAST = ReconnectPolicy(scale=0.05, jitter=0.0)
#: the issue's rogue writes: a pain mark, rate 100 Hz, leg left, cadence target 220
ROGUE_WRITES = (
    bytes((proto.OP_MARK,)),
    proto.encode_control(proto.OP_SET_RATE, 100),
    proto.encode_control(proto.OP_SET_LEG, proto.LEG_LEFT),
    proto.encode_control(proto.OP_SET_CADENCE_TARGET, 220),
)


async def one_sensor(air: VirtualAir) -> Any:
    found = await scan(0.5, backend=air.backend)
    assert len(found) == 1, found
    return found[0]


async def rogue_central(air: VirtualAir, address: str) -> tuple[Device, Any, Peer]:
    """A second central on the air (a stranger's phone), connected to ``address``."""
    rogue = air.new_device("rogue-phone")
    await rogue.power_on()
    rogue.keystore = MemoryKeyStore()
    connection = await rogue.connect(Address(address))
    peer = Peer(connection)
    await peer.discover_services()
    for service in peer.services:
        await service.discover_characteristics()
    return rogue, connection, peer


def characteristic(peer: Peer, uuid: str) -> Any:
    """The discovered characteristic with this 128-bit UUID."""
    from strideguard_devkit.bumble_backend import bleak_uuid

    found = [c for s in peer.services for c in s.characteristics if bleak_uuid(c.uuid) == uuid]
    assert len(found) == 1
    return found[0]


def test_bond_in_the_window_then_encrypted_reconnects_and_scan_shows_it() -> None:
    _micropython_or_skip()

    async def main() -> None:
        air = VirtualAir()
        async with VirtualBoard(air, synthetic_gait(10, 500), speed=10) as board:
            # a new board: no bond, its pairing window open (advertised), not bonded to us
            before = await one_sensor(air)
            assert (before.pairing_open, before.has_bonds, before.bonded) == (True, False, False)
            assert "no      open" in render([before])
            result = await pair_sensor(before, air.backend)
            assert result.ok, result.message
            await asyncio.sleep(0.3)
            after = await one_sensor(air)
            assert (after.pairing_open, after.has_bonds, after.bonded) == (False, True, True)
            line = render([after]).splitlines()[1]
            assert line.split()[-2:] == ["yes", "closed"], line
            stored = json.loads((board.flash_dir / "bonds.json").read_text())
            assert len(stored) == 1 and stored[0][0] == 2  # one peer record, on the board's flash
            # the host reconnects: encrypted with the stored key (no new pairing), streams
            blocks: list[SampleBlock] = []
            async with SensorLink(
                "StrideGuard-L", backend=air.backend, policy=FAST, on_samples=blocks.append
            ) as link:
                await link.wait_samples(1000, 10)
                assert all(c.is_encrypted for c in board.bridge.conns.values())
                assert board.bridge.encryption_updates[-1][1] is True  # bonded
                status = await link.read_status()
                assert status["security"] == proto.SECURITY_HAS_BONDS
                assert status["access_refused"] == 0
            # a power cut keeps the bond (flash): the window stays closed, the host reconnects
            await board.power_cycle()
            assert (await one_sensor(air)).pairing_open is False
            async with SensorLink(
                "StrideGuard-L", backend=air.backend, policy=FAST, on_samples=blocks.append
            ) as link:
                await link.wait_samples(link.assembler.samples + 500, 10)
                assert link.stats.connects == 1 and link.failure is None
            # a computer without the bond (this one, after forgetting it): the scan already
            # says the sensor is bonded elsewhere with its window closed: one line, no connection
            await air.forget(board.address)
            updates = len(board.bridge.encryption_updates)
            link = SensorLink("StrideGuard-L", backend=air.backend, policy=FAST)
            with pytest.raises(SensorLinkError) as refused:
                await link.connect(10)
            await link.close()
            assert refused.value.kind is LinkErrorKind.FATAL
            assert "not bonded" in str(refused.value) and "strideguard pair" in str(refused.value)
            assert link.stats.connects == 0 and link.stats.failed_attempts == 1
            assert len(board.bridge.encryption_updates) == updates  # no pairing tried

    run(main(), 60)


def test_rogue_central_changes_nothing_and_is_counted() -> None:
    """The issue's scenario: a second, unpaired central writes mark, rate, leg and cadence."""
    _micropython_or_skip()

    async def main() -> None:
        air = VirtualAir()
        async with VirtualBoard(air, synthetic_gait(20, 500), leg="R", speed=10) as board:
            blocks: list[SampleBlock] = []
            async with SensorLink(
                "StrideGuard-R", backend=air.backend, policy=FAST, on_samples=blocks.append
            ) as link:  # the runner's host: pairs at its first connection (window open)
                await link.wait_samples(1000, 10)
                cfg_before = (board.flash_dir / "strideguard.json").read_text()
                n_blocks = len(blocks)
                rogue, connection, peer = await rogue_central(air, board.address)
                control = characteristic(peer, proto.CONTROL_CHAR_UUID)
                status_char = characteristic(peer, proto.STATUS_CHAR_UUID)
                # plain link: the stack refuses at the ATT level, the firmware sees nothing
                for w in ROGUE_WRITES:
                    with pytest.raises(att.ATT_Error) as refused:
                        await peer.write_value(control, w, with_response=True)
                    assert refused.value.error_code == att.ErrorCode.INSUFFICIENT_ENCRYPTION
                with pytest.raises(att.ATT_Error):
                    await peer.read_value(status_char)
                # it pairs, as a phone does after Insufficient Encryption: the window is
                # closed, so no bond; the board drops the link and counts the attempt
                gone = asyncio.get_running_loop().create_future()
                connection.once("disconnection", lambda *_: gone.done() or gone.set_result(1))
                try:  # the writes that follow the pairing reach the firmware, or the drop
                    await connection.pair()
                    for w in ROGUE_WRITES:
                        await peer.write_value(control, w, with_response=True)
                except (Exception, asyncio.CancelledError):  # a request cut by the drop
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise
                await asyncio.wait_for(gone, 5)
                await link.wait_samples(link.assembler.samples + 1000, 10)
                status = await link.read_status()
                assert status["access_refused"] >= 1, status
                assert status["rate_hz"] == 500 and status["leg"] == proto.LEG_RIGHT
                assert (board.flash_dir / "strideguard.json").read_text() == cfg_before
                flags = np.concatenate([b.frames["flags"] for b in blocks[n_blocks:]])
                assert not np.any(flags & proto.FLAG_PAIN_MARK), "the rogue's pain mark arrived"
                rates = np.concatenate([b.frames["rate_hz"] for b in blocks[n_blocks:]])
                assert np.all(rates == 500)
                assert link.stats.disconnects == 0, "the rogue pushed the runner's host out"
                bonds = json.loads((board.flash_dir / "bonds.json").read_text())
                assert len(bonds) == 1  # the host's bond only
                await rogue.power_off()

    run(main(), 60)


def test_slot_kept_for_the_host_and_clearing_bonds() -> None:
    _micropython_or_skip()

    async def main() -> None:
        air = VirtualAir()
        async with VirtualBoard(air, synthetic_gait(20, 500), speed=10) as board:
            assert (await pair_sensor(await one_sensor(air), air.backend)).ok
            # three strangers connect (plain): the board keeps a slot for its host
            rogues = []
            for _ in range(3):
                rogue, connection, _peer = await rogue_central(air, board.address)
                rogues.append((rogue, connection))
                await asyncio.sleep(0.1)
            await until(lambda: len(board.bridge.conns) <= 2, 5)
            async with SensorLink("StrideGuard-L", backend=air.backend, policy=FAST) as link:
                await link.wait_samples(500, 10)
                # OP_CLEAR_BONDS from the bonded host: answered, then the host is dropped;
                # its reconnection finds no bond and ends with one clear line, no retry loop
                assert await link.send_control(proto.OP_CLEAR_BONDS) == proto.RESULT_SUCCESS
                await until(lambda: link.failure is not None, 10)
                assert link.failure.kind is LinkErrorKind.FATAL
                assert "not bonded" in str(link.failure) and "strideguard pair" in str(link.failure)
                attempts = link.stats.failed_attempts
                await asyncio.sleep(0.5)
                assert link.stats.failed_attempts == attempts == 1
            assert json.loads((board.flash_dir / "bonds.json").read_text()) == []
            for rogue, _c in rogues:
                await rogue.power_off()
            # refused outside the window: pairing does not bond
            closed = await one_sensor(air)
            assert closed.pairing_open is False and closed.has_bonds is False
            refused = await pair_sensor(closed, air.backend)
            assert not refused.ok and "did not bond" in refused.message
            # a 3-s press opens the window: pairing works again
            board.hold_button(3.3)
            await until(lambda: any("pairing window open" in x for x in board.console[-5:]), 10)
            assert (await pair_sensor(await one_sensor(air), air.backend)).ok
            # a 10-s press forgets every bond (and opens the window)
            cleared = board.console.count("bonds cleared")  # once already: the opcode
            board.hold_button(10.3)
            await until(lambda: board.console.count("bonds cleared") > cleared, 10)
            await asyncio.sleep(0.3)
            after = await one_sensor(air)
            assert after.has_bonds is False and after.pairing_open is True
            assert json.loads((board.flash_dir / "bonds.json").read_text()) == []

    run(main(), 90)


def test_pair_command_against_the_virtual_board(capsys: pytest.CaptureFixture[str]) -> None:
    _micropython_or_skip()
    assert cli.main(["pair", "--virtual", "1", "--timeout", "10"]) == 0
    out = capsys.readouterr().out
    assert "Hold the sensor's button for 3 s" in out
    assert "paired with StrideGuard-L" in out
