"""The bleak backend over bumble and the virtual sensor, exercised through plain bleak."""

from __future__ import annotations

import asyncio
import struct

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import (
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
    BleakGATTProtocolErrorCode,
)
from bumble.core import UUID, AdvertisingData
from bumble.device import AdvertisingEventProperties, AdvertisingParameters

from strideguard import protocol as proto
from strideguard.frames import decode_frames
from strideguard_devkit.bumble_backend import VirtualAir
from tests.host.ble_helpers import run, synth_samples, virtual_sensors

HR_SERVICE = "0000180d-0000-1000-8000-00805f9b34fb"


async def _other_device(air: VirtualAir) -> None:
    """A non-strideguard peripheral (heart-rate UUID) advertising on the same air."""
    dev = air.new_device("HRM")
    await dev.power_on()
    data = AdvertisingData(
        [
            (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, UUID.from_16_bits(0x180D).to_bytes()),
            (AdvertisingData.COMPLETE_LOCAL_NAME, b"HRM"),
        ]
    )  # fmt: skip
    await dev.create_advertising_set(
        advertising_parameters=AdvertisingParameters(
            advertising_event_properties=AdvertisingEventProperties(is_legacy=False),
            primary_advertising_interval_min=20,
            primary_advertising_interval_max=20,
        ),
        advertising_data=bytes(data),
    )


def test_scan_filters_by_service_uuid_and_reports_advertisement() -> None:
    async def main() -> None:
        async with virtual_sensors(
            {"samples": synth_samples(100), "leg": "R", "battery_pct": 64}
        ) as (
            air,
            (sensor,),
        ):
            await _other_device(air)
            everything = await BleakScanner.discover(
                0.15, return_adv=True, backend=air.backend.scanner
            )
            assert {ad.local_name for _, ad in everything.values()} == {"StrideGuard-R", "HRM"}
            found = await BleakScanner.discover(
                0.15,
                return_adv=True,
                service_uuids=[proto.SERVICE_UUID],
                backend=air.backend.scanner,
            )
            assert list(found) == [sensor.address]
            device, adv = found[sensor.address]
            assert device.name == adv.local_name == "StrideGuard-R"
            assert adv.service_uuids == [proto.SERVICE_UUID]
            assert adv.rssi == -50  # bumble's virtual controller
            assert adv.service_data["0000180f-0000-1000-8000-00805f9b34fb"] == bytes([64])
            hrm = next(ad for _, ad in everything.values() if ad.local_name == "HRM")
            assert hrm.service_uuids == [HR_SERVICE]

    run(main())


def test_connect_mtu_247_and_gatt_table() -> None:
    async def main() -> None:
        async with virtual_sensors({"samples": synth_samples(100)}) as (air, (sensor,)):
            async with BleakClient(sensor.address, backend=air.backend.client, timeout=5) as client:
                assert client.mtu_size == 247
                assert sensor.mtu == 247
                services = {s.uuid for s in client.services}
                assert {
                    proto.SERVICE_UUID,
                    "0000180a-0000-1000-8000-00805f9b34fb",
                    "0000180f-0000-1000-8000-00805f9b34fb",
                    "00001814-0000-1000-8000-00805f9b34fb",
                } <= services
                props = {
                    c.uuid: set(c.properties) for c in client.services.characteristics.values()
                }
                assert props[proto.DATA_CHAR_UUID] == {"notify"}
                assert props[proto.CONTROL_CHAR_UUID] == {"write", "notify"}
                assert props[proto.STATUS_CHAR_UUID] == {"read", "notify"}
                assert props["00002a53-0000-1000-8000-00805f9b34fb"] == {"notify"}
                model = await client.read_gatt_char("00002a24-0000-1000-8000-00805f9b34fb")
                assert model.decode() == proto.MODEL_NUMBER
                fw = await client.read_gatt_char("00002a26-0000-1000-8000-00805f9b34fb")
                assert fw.decode() == proto.FIRMWARE_VERSION
                feature = await client.read_gatt_char("00002a54-0000-1000-8000-00805f9b34fb")
                assert struct.unpack("<H", feature)[0] == proto.RSC_FEATURE_WALK_RUN_STATUS
                status = proto.unpack_status(await client.read_gatt_char(proto.STATUS_CHAR_UUID))
                assert status["mtu"] == 247 and status["leg"] == proto.LEG_LEFT
                assert status["state"] & proto.STATE_MTU_TOO_SMALL == 0
            assert not client.is_connected

    run(main())


def test_mtu_23_streams_nothing_and_says_so() -> None:
    async def main() -> None:
        async with virtual_sensors({"samples": synth_samples(100), "max_mtu": 23}) as (
            air,
            (sensor,),
        ):
            async with BleakClient(sensor.address, backend=air.backend.client) as client:
                assert client.mtu_size == 23
                frames: list[bytes] = []
                answers: list[bytes] = []
                await client.start_notify(
                    proto.DATA_CHAR_UUID, lambda _c, d: frames.append(bytes(d))
                )
                await client.start_notify(
                    proto.CONTROL_CHAR_UUID, lambda _c, d: answers.append(bytes(d))
                )
                await client.write_gatt_char(
                    proto.CONTROL_CHAR_UUID,
                    proto.encode_control(proto.OP_START_STREAM),
                    response=True,
                )
                await asyncio.sleep(0.2)
                # accepted, as by the firmware; nothing fits, so nothing is sent
                assert answers == [bytes([0x80, proto.OP_START_STREAM, proto.RESULT_SUCCESS])]
                assert frames == []
                status = proto.unpack_status(await client.read_gatt_char(proto.STATUS_CHAR_UUID))
                assert status["state"] & proto.STATE_MTU_TOO_SMALL
                assert status["state"] & proto.STATE_STREAMING
                assert status["mtu"] == 23
                assert status["samples_dropped"] > 0

    run(main())


def test_att_errors_surface_as_bleak_exceptions() -> None:
    async def main() -> None:
        async with virtual_sensors({"samples": synth_samples(100)}) as (air, (sensor,)):
            async with BleakClient(sensor.address, backend=air.backend.client) as client:
                with pytest.raises(BleakGATTProtocolError) as err:
                    await client.write_gatt_char(proto.STATUS_CHAR_UUID, b"\x00", response=True)
                assert err.value.code == BleakGATTProtocolErrorCode.WRITE_NOT_PERMITTED
                with pytest.raises(BleakGATTProtocolError) as err:
                    await client.read_gatt_char(proto.DATA_CHAR_UUID)
                assert err.value.code == BleakGATTProtocolErrorCode.READ_NOT_PERMITTED
                # empty, and longer than any control write (the board's buffer)
                for malformed in (b"", b"\x03\x01\xf4" + bytes(proto.CONTROL_WRITE_MAX)):
                    with pytest.raises(BleakGATTProtocolError) as err:
                        await client.write_gatt_char(
                            proto.CONTROL_CHAR_UUID, malformed, response=True
                        )
                    assert (
                        err.value.code == BleakGATTProtocolErrorCode.INVALID_ATTRIBUTE_VALUE_LENGTH
                    )
                assert sensor.controls == []  # rejected writes changed nothing
            with pytest.raises(BleakError):
                await client.read_gatt_char(proto.STATUS_CHAR_UUID)

    run(main())


def test_notifications_in_order_and_bit_exact() -> None:
    raw = synth_samples(6000)

    async def main() -> list[bytes]:
        spec = {"samples": raw, "speed": 20.0, "loop": False, "rate_hz": 500}
        async with virtual_sensors(spec) as (air, (sensor,)):
            sensor_done = asyncio.Event()
            frames: list[bytes] = []

            def on_data(_c: object, data: bytearray) -> None:
                frames.append(bytes(data))
                if sensor.frames_sent and sensor._next_send >= raw.shape[0]:
                    sensor_done.set()

            async with BleakClient(sensor.address, backend=air.backend.client) as client:
                await client.start_notify(proto.DATA_CHAR_UUID, on_data)
                await client.write_gatt_char(
                    proto.CONTROL_CHAR_UUID,
                    proto.encode_control(proto.OP_START_STREAM),
                    response=True,
                )
                await asyncio.wait_for(sensor_done.wait(), 10)
                await asyncio.sleep(0.05)
                await client.stop_notify(proto.DATA_CHAR_UUID)
                n = len(frames)
                await asyncio.sleep(0.05)
                assert len(frames) == n  # unsubscribed: nothing more arrives
            return frames

    frames = run(main())
    dec = decode_frames(frames)
    seq = np.array([proto.unpack_frame_header(f)[2] for f in frames])
    assert np.all(np.diff(seq) == 1)  # arrived in order, none lost
    assert dec.report.frames_rejected == 0 and dec.report.out_of_order == 0
    first = int(dec.sample_index[0])
    assert dec.report.gaps == []
    np.testing.assert_array_equal(dec.sample_index, np.arange(first, raw.shape[0]))
    np.testing.assert_array_equal(dec.raw, raw[first:])  # bit-exact
    assert all(len(f) <= 247 - 3 for f in frames)
    assert proto.unpack_frame_header(frames[0])[1] & proto.FLAG_STREAM_START
    rail = 2 * raw.shape[0] // 3  # the sample synth_samples put at the rail
    fr = dec.frames
    holds_rail = (fr["first_index"] <= rail) & (fr["first_index"] + fr["count"] > rail)
    saturated = (fr["flags"] & proto.FLAG_SATURATED) != 0
    np.testing.assert_array_equal(saturated, holds_rail)


def test_peripheral_drop_calls_disconnected_callback_and_readvertises() -> None:
    async def main() -> None:
        async with virtual_sensors({"samples": synth_samples(100)}) as (air, (sensor,)):
            dropped = asyncio.Event()
            client = BleakClient(
                sensor.address, lambda _c: dropped.set(), backend=air.backend.client
            )
            await client.connect()
            await sensor.drop_link()
            await asyncio.wait_for(dropped.wait(), 2)
            assert not client.is_connected
            found = await BleakScanner.find_device_by_address(
                sensor.address, timeout=2, backend=air.backend.scanner
            )
            assert found is not None  # advertising again
            await client.connect()  # and connectable again
            assert client.is_connected
            dropped.clear()
            await client.disconnect()
            await asyncio.sleep(0.05)
            assert not dropped.is_set()  # our own disconnect is not "unsolicited"

    run(main())


def test_rsc_measurement_notifies_on_board_cadence() -> None:
    async def main() -> list[bytes]:
        spec = {"samples": synth_samples(100), "cadence_spm": 172, "status_interval_s": 0.05}
        async with virtual_sensors(spec) as (air, (sensor,)):
            async with BleakClient(sensor.address, backend=air.backend.client) as client:
                got: list[bytes] = []
                await client.start_notify(
                    "00002a53-0000-1000-8000-00805f9b34fb", lambda _c, d: got.append(bytes(d))
                )
                while not got:
                    await asyncio.sleep(0.01)
                status = proto.unpack_status(await client.read_gatt_char(proto.STATUS_CHAR_UUID))
                assert status["cadence_spm"] == 172
                return got

    got = run(main())
    flags, speed, cadence = struct.unpack("<BHB", got[0])
    assert flags & proto.RSC_FLAG_RUNNING and speed == 0 and cadence == 172


def test_connect_to_silent_address_times_out_as_not_found_and_recovers() -> None:
    async def main() -> None:
        async with virtual_sensors({"samples": synth_samples(100)}) as (air, (sensor,)):
            ghost = BleakClient("D0:5E:00:00:09:99", backend=air.backend.client, timeout=0.2)
            with pytest.raises(BleakDeviceNotFoundError):
                await ghost.connect()
            assert not ghost.is_connected
            async with BleakClient(sensor.address, backend=air.backend.client) as client:
                assert client.is_connected  # the aborted attempt left nothing pending

    run(main())
