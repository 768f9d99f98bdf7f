"""The pure-Python model board (``strideguard_devkit.peripheral.VirtualSensor``) answers like the firmware.

``strideguard live --virtual --board model`` stands in for the firmware, so where a host
can tell them apart they must agree. The firmware runs under MicroPython with the
recording radio; the model runs on bumble and is driven through bleak.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bleak import BleakClient
from tests.host.ble_helpers import run, synth_samples, virtual_sensors

from strideguard import protocol as proto

MpRunner = Callable[..., str]
STREAM_BITS = proto.STATE_STREAMING | proto.STATE_MTU_TOO_SMALL


def firmware_at_mtu_23(run_mp: MpRunner) -> dict[str, str]:
    out = run_mp("mp_mtu23.py")
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def model_at_mtu_23() -> dict[str, str]:
    async def main() -> dict[str, str]:
        async with virtual_sensors({"samples": synth_samples(1000), "max_mtu": 23}) as (
            air,
            (sensor,),
        ):
            async with BleakClient(sensor.address, backend=air.backend.client) as client:
                frames: list[bytes] = []
                answers: list[bytes] = []
                await client.start_notify(proto.DATA_CHAR_UUID, lambda _c, d: frames.append(d))
                await client.start_notify(proto.CONTROL_CHAR_UUID, lambda _c, d: answers.append(d))
                await client.write_gatt_char(
                    proto.CONTROL_CHAR_UUID, proto.encode_control(proto.OP_START_STREAM), True
                )
                await asyncio.sleep(0.5)
                st = proto.unpack_status(await client.read_gatt_char(proto.STATUS_CHAR_UUID))
                for write in (
                    proto.encode_control(proto.OP_CALIBRATE, 2),
                    proto.encode_control(proto.OP_SET_RATE, 250),
                ):
                    await client.write_gatt_char(proto.CONTROL_CHAR_UUID, write, True)
                    await asyncio.sleep(0.1)
                return {
                    "answers": ",".join(bytes(a).hex() for a in answers),
                    "state": str(st["state"] & STREAM_BITS),
                    "mtu": str(st["mtu"]),
                    "frames": str(len(frames)),
                    "dropped": str(st["samples_dropped"]),
                }

    return run(main())


def test_start_at_mtu_23_and_busy_rate_change_are_answered_alike(run_mp: MpRunner) -> None:
    fw = firmware_at_mtu_23(run_mp)
    model = model_at_mtu_23()
    # START succeeds; the board streams nothing, says why in its status, counts the loss;
    # a rate change during a calibration is refused as busy
    want = [
        (proto.OP_START_STREAM, proto.RESULT_SUCCESS),
        (proto.OP_CALIBRATE, proto.RESULT_SUCCESS),
        (proto.OP_SET_RATE, proto.RESULT_BUSY),
    ]
    assert fw["answers"] == ",".join(bytes((proto.RESPONSE_CODE, op, r)).hex() for op, r in want)
    assert model["answers"] == fw["answers"]
    assert fw["state"] == model["state"] == str(STREAM_BITS)
    assert fw["mtu"] == model["mtu"] == "23"
    assert fw["frames"] == model["frames"] == "0"
    assert int(fw["dropped"]) > 0 and int(model["dropped"]) > 0
