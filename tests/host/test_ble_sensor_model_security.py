"""The model sensor's security mode (``VirtualSensor(secure=True)``): as firmware 0.4.0."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from bumble import att

from strideguard import protocol as proto
from strideguard.ble.receiver import ReconnectPolicy, SensorLink, scan
from strideguard_devkit.bumble_backend import VirtualAir
from strideguard_devkit.peripheral import VirtualSensor
from tests.host.ble_helpers import run
from tests.host.test_vboard_security import ROGUE_WRITES, characteristic, rogue_central

FAST = ReconnectPolicy(scale=0.05, jitter=0.0)


def test_secure_model_bonds_once_then_refuses_and_counts_a_rogue() -> None:
    async def main() -> None:
        air = VirtualAir()
        raw = np.random.default_rng(1).integers(-3000, 3000, size=(4000, 6))
        sensor = VirtualSensor(air, raw, leg="R", speed=10, secure=True)
        await sensor.start()
        try:
            [info] = await scan(0.3, backend=air.backend)
            assert (info.pairing_open, info.has_bonds, info.bonded) == (True, False, False)
            async with SensorLink("StrideGuard-R", backend=air.backend, policy=FAST) as link:
                await link.wait_samples(1000, 5)  # paired at the first refused access
                assert not sensor.pairing_open and sensor._trusted is not None
            await asyncio.sleep(0.2)
            # the model takes one central at a time: the rogue comes while the host is away
            rogue, connection, peer = await rogue_central(air, sensor.address)
            control = characteristic(peer, proto.CONTROL_CHAR_UUID)
            with pytest.raises(att.ATT_Error) as refused:
                await peer.write_value(control, ROGUE_WRITES[1], with_response=True)
            assert refused.value.error_code == att.ErrorCode.INSUFFICIENT_ENCRYPTION
            gone = asyncio.get_running_loop().create_future()
            connection.once("disconnection", lambda *_: gone.done() or gone.set_result(1))
            try:
                await connection.pair()  # window closed: no bond, dropped, counted
            except (Exception, asyncio.CancelledError):
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
            await asyncio.wait_for(gone, 5)
            assert sensor.access_refused == 1 and sensor.rate_hz == 500
            await rogue.power_off()
            await asyncio.sleep(0.2)
            # the host comes back: encrypted with the stored key, the attempt is counted
            async with SensorLink("StrideGuard-R", backend=air.backend, policy=FAST) as link:
                await link.wait_samples(500, 5)
                status = await link.read_status()
                assert status["access_refused"] == 1 and status["rate_hz"] == 500
                assert status["security"] == proto.SECURITY_HAS_BONDS
                assert link.stats.connects == 1
        finally:
            await sensor.stop()

    run(main(), 30)
