"""The host receiver (scan, SensorLink, Receiver) against virtual sensors over bumble."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bleak.exc import (
    BleakCharacteristicNotFoundError,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
)

from strideguard import protocol as proto
from strideguard.assembler import SampleBlock, StreamAssembler
from strideguard.ble.receiver import (
    Backoff,
    LinkErrorKind,
    Receiver,
    ReconnectPolicy,
    SensorLink,
    SensorLinkError,
    classify_error,
    leg_from_name,
    scan,
)
from strideguard.frames import encode_frames
from strideguard.recording import RecordingWriter, decode_stream, read_recording
from tests.host.ble_helpers import run, synth_samples, virtual_sensors

FAST = ReconnectPolicy(scale=0.05, jitter=0.0)


def test_scan_returns_sensor_infos_with_leg_and_battery() -> None:
    async def main() -> None:
        specs = [
            {"samples": synth_samples(50), "leg": "R", "battery_pct": 40},
            {"samples": synth_samples(50), "leg": "L", "battery_pct": 90},
        ]
        async with virtual_sensors(*specs) as (air, sensors):
            found = await scan(0.15, backend=air.backend)
            assert [(s.name, s.leg, s.battery_pct) for s in found] == [
                ("StrideGuard-L", "L", 90),
                ("StrideGuard-R", "R", 40),
            ]
            assert {s.address for s in found} == {s.address for s in sensors}
            assert all(s.rssi_dbm == -50 and s.device is not None for s in found)
            assert found[0].to_dict()["leg"] == "L"

    run(main())
    assert leg_from_name("StrideGuard-R") == "R"
    assert leg_from_name("StrideGuard-X") is None and leg_from_name(None) is None


def test_control_point_helpers_return_result_codes() -> None:
    async def main() -> None:
        async with virtual_sensors({"samples": synth_samples(500), "speed": 10.0}) as (
            air,
            (sensor,),
        ):
            async with SensorLink(sensor.name, backend=air.backend, policy=FAST) as link:
                assert link.mtu == 247
                await link.wait_samples(100, 5)  # autostart: streaming after connect
                assert await link.set_rate(250) == proto.RESULT_SUCCESS
                assert (await link.read_status())["rate_hz"] == 250
                assert await link.set_rate(333) == proto.RESULT_INVALID_PARAMETER
                status = await link.read_status()
                assert status["rate_hz"] == 250  # no change
                assert status["last_result"] == proto.RESULT_INVALID_PARAMETER
                assert await link.identify(3) == proto.RESULT_SUCCESS
                assert sensor.identify_s == 3
                assert await link.identify(31) == proto.RESULT_INVALID_PARAMETER
                assert await link.write_control(b"\x7f") == proto.RESULT_OP_NOT_SUPPORTED
                assert await link.write_control(b"\x03\x01") == proto.RESULT_BAD_LENGTH
                with pytest.raises(BleakGATTProtocolError):
                    await link.write_control(b"")  # malformed: ATT-level rejection
                assert await link.stop_stream() == proto.RESULT_SUCCESS
                assert not sensor.streaming
                await asyncio.sleep(0.2)  # frames already in flight may still land
                n = link.assembler.samples
                await asyncio.sleep(0.2)
                assert link.assembler.samples == n  # stopped
                assert await link.start_stream() == proto.RESULT_SUCCESS
                await link.wait_samples(n + 100, 5)
            assert [c[2] for c in sensor.controls].count(proto.RESULT_SUCCESS) >= 5
            with pytest.raises(SensorLinkError):
                await link.identify(1)  # closed

    run(main())


def test_reconnect_after_peripheral_drop_keeps_data_and_marks_gap(tmp_path: Path) -> None:
    # without backfill (the host does not ask): the outage is one gap, marked exactly
    raw = synth_samples(40_000, seed=3)
    path = tmp_path / "run.sgrec"
    events: list[dict[str, Any]] = []
    blocks: list[SampleBlock] = []

    async def main() -> tuple[int, int]:
        spec = {"samples": raw, "speed": 10.0, "loop": False}
        async with virtual_sensors(spec) as (air, (sensor,)):
            (info,) = await scan(0.1, backend=air.backend)
            with RecordingWriter(path, {"sensors": [info.name]}) as rec:
                link = SensorLink(
                    info,
                    recording=rec,
                    backend=air.backend,
                    policy=ReconnectPolicy(scale=0.1, jitter=0.0),
                    scan_timeout_s=0.1,
                    backfill=False,
                    on_samples=blocks.append,
                    on_event=lambda _s, e: events.append(e),
                )
                await link.connect(5)
                await link.wait_samples(3000, 5)
                before = link.assembler.samples
                await sensor.drop_link(away_s=0.4)  # out of range for 0.4 s (2000 samples)
                await link.wait_connected(5)
                await link.wait_samples(before + 3000, 5)
                stats = link.stats
                await link.close()
            assert stats.connects == 2 and stats.disconnects == 1
            assert stats.queue_dropped == 0
            return before, sensor.samples_dropped

    before, board_dropped = run(main())
    kinds = [e["event"] for e in events]
    assert kinds.index("connect") < kinds.index("disconnect") < kinds.index("gap")
    assert kinds.count("connect") == 2
    failed = [e for e in events if e["event"] == "connect_failed"]
    assert failed and {e["kind"] for e in failed} == {"not_found"}  # rescans while away
    gap_events = [e for e in events if e["event"] == "gap"]
    assert len(gap_events) == 1
    live_gaps = [g for b in blocks for g in b.gaps]
    assert live_gaps == [(gap_events[0]["first_missing_index"], gap_events[0]["n_missing"])]
    # the board counts samples it never sent; frames it had already queued when the
    # link dropped are lost in flight on top of that (whole frames of 19 samples;
    # how many depends on CPU load, as a real board's TX queue depends on the radio)
    in_flight = live_gaps[0][1] - board_dropped
    assert in_flight >= 0 and in_flight % 19 == 0
    assert 1500 <= live_gaps[0][1] <= 25_000  # ≈ 0.4 s away + reconnect, at 5000 samples/s

    rec = read_recording(path)
    dec = decode_stream(rec, 0)
    assert dec.report.gaps == live_gaps  # the decoder sees the same gap in the file
    assert dec.report.frames_rejected == 0
    np.testing.assert_array_equal(dec.raw, raw[dec.sample_index])  # nothing corrupted
    first_missing = live_gaps[0][0]
    received_before = dec.sample_index[dec.sample_index < first_missing]
    assert received_before.size >= before  # nothing received before the drop was lost
    np.testing.assert_array_equal(received_before, np.arange(received_before[0], first_missing))
    live_idx = np.concatenate([b.sample_index for b in blocks])
    np.testing.assert_array_equal(live_idx, dec.sample_index)  # live == recorded
    rec_events = [e["event"] for _, _, e in rec.events]
    assert {"connect", "mtu", "disconnect", "gap", "stream_start"} <= set(rec_events)


def test_two_sensors_at_once(tmp_path: Path) -> None:
    left, right = synth_samples(20_000, seed=1), synth_samples(20_000, seed=2)
    path = tmp_path / "two.sgrec"

    async def main() -> None:
        specs = [
            {"samples": left, "leg": "L", "speed": 10.0},
            {"samples": right, "leg": "R", "speed": 10.0, "rate_hz": 1000},
        ]
        async with virtual_sensors(*specs) as (air, sensors):
            found = await scan(0.1, backend=air.backend)
            assert [s.leg for s in found] == ["L", "R"]
            with RecordingWriter(path, {"sensors": [s.name for s in found]}) as rec:
                async with Receiver(found, recording=rec, backend=air.backend, policy=FAST) as rx:
                    await asyncio.gather(*(link.wait_samples(3000, 5) for link in rx.links))
                    assert all(link.connected for link in rx.links)
                    # both drop at once: both rescan and reconnect concurrently
                    await asyncio.gather(*(s.drop_link(away_s=0.1) for s in sensors))
                    while any(link.stats.connects < 2 for link in rx.links):
                        await asyncio.sleep(0.01)
                    n = [link.assembler.samples for link in rx.links]
                    await asyncio.gather(
                        *(
                            link.wait_samples(k + 2000, 5)
                            for k, link in zip(n, rx.links, strict=True)
                        )
                    )
                    assert [link.stats.connects for link in rx.links] == [2, 2]

    run(main())
    rec = read_recording(path)
    assert rec.header["sensors"] == ["StrideGuard-L", "StrideGuard-R"]
    assert rec.streams() == [0, 1]
    for stream, src, rate in ((0, left, 500), (1, right, 1000)):
        dec = decode_stream(rec, stream)
        assert dec.n_samples >= 5000
        assert dec.report.frames_rejected == 0
        # each sensor resent what it measured while away (backfill); a gap is left only
        # where its ring (6 s = 0.6 s of wall time at speed 10) no longer had the samples
        assert dec.report.backfill_frames > 0
        gone = np.zeros(int(dec.sample_index[-1]) + 1, bool)
        for _, s, e in rec.events:
            if s == stream and e["event"] == "backfill_answer":
                gone[e["first_index"] : e["first_index"] + e["n"]] = True
                a = e["available_first"]
                gone[a : a + e["available_n"]] = False
        for first, n in dec.report.gaps:
            assert gone[first : first + n].all(), (first, n)
        assert set(dec.frames["rate_hz"]) == {rate}
        np.testing.assert_array_equal(dec.raw, src[dec.sample_index % src.shape[0]])


def test_mtu_23_link_connects_without_data() -> None:
    async def main() -> None:
        async with virtual_sensors({"samples": synth_samples(100), "max_mtu": 23}) as (air, _):
            events: list[str] = []
            link = SensorLink(
                "StrideGuard-L",
                backend=air.backend,
                on_event=lambda _s, e: events.append(e["event"]),
            )
            await link.connect(5)
            await asyncio.sleep(0.1)
            assert link.mtu == 23
            # the stream was asked for (the 37-byte status does not fit a notification at
            # MTU 23: read it)
            assert (await link.read_status())["state"] & proto.STATE_MTU_TOO_SMALL
            assert link.stats.notifications == 0
            await link.close()
            assert "mtu_too_small" in events

    run(main())


def test_notification_queue_is_bounded_and_drops_are_counted() -> None:
    frames = encode_frames(synth_samples(19 * 10), rate_hz=500)

    async def main() -> None:
        events: list[dict[str, Any]] = []
        got: list[SampleBlock] = []
        link = SensorLink(
            "StrideGuard-L",
            queue_size=4,
            on_event=lambda _s, e: events.append(e),
            on_samples=got.append,
        )
        link._consumer = asyncio.create_task(link._consume())
        for f in frames:  # a burst faster than the consumer runs
            link._on_data(None, bytearray(f))  # type: ignore[arg-type]
        assert link.stats.notifications == 10 and link.stats.queue_dropped == 6
        await link.close()
        assert [e for e in events if e["event"] == "queue_overflow"] == [
            {"event": "queue_overflow", "sensor": "StrideGuard-L", "dropped": 6}
        ]
        assert sum(b.n_samples for b in got) == 4 * 19

    run(main())


def test_assembler_gaps_duplicates_wrap_and_reset() -> None:
    raw = synth_samples(19 * 8)
    frames = encode_frames(raw, rate_hz=500, first_index=(1 << 32) - 19 * 3)
    asm = StreamAssembler()
    b1 = asm.feed(frames[:3])
    assert b1 is not None and b1.gaps == [] and b1.n_samples == 57
    b2 = asm.feed(
        [frames[2], frames[5], frames[6]]
    )  # a duplicate, then 2 frames lost over the wrap
    assert b2 is not None and asm.duplicates == 19
    assert b2.gaps == [((1 << 32), 38)]
    np.testing.assert_array_equal(b2.raw, raw[19 * 5 : 19 * 7])
    assert b2.sample_index[0] == (1 << 32) + 38  # continuous running index across the wrap
    assert asm.feed([frames[4]]) is None  # late frame: already past it
    restart = encode_frames(raw[:19], rate_hz=500, flags=np.full(19, proto.FLAG_STREAM_START))
    b3 = asm.feed(restart)
    assert b3 is not None and asm.index_resets == 1 and b3.gaps == []
    assert b3.sample_index[0] == b2.sample_index[-1] + 1
    assert asm.samples_lost == 38


def test_backoff_grows_by_kind_and_is_capped() -> None:
    policy = ReconnectPolicy(jitter=0.0)
    dropped = [policy.delay_s(LinkErrorKind.DROPPED, a) for a in range(10)]
    not_found = [policy.delay_s(LinkErrorKind.NOT_FOUND, a) for a in range(10)]
    assert dropped[0] < not_found[0]
    assert all(np.diff(dropped) >= 0) and max(dropped) == 2.0
    assert max(not_found) == 10.0
    custom = ReconnectPolicy(backoff={LinkErrorKind.TRANSIENT: Backoff(1.0, 3.0)}, jitter=0.0)
    assert [custom.delay_s(LinkErrorKind.TIMEOUT, a) for a in range(3)] == [1.0, 2.0, 3.0]
    assert classify_error(BleakDeviceNotFoundError("x")) is LinkErrorKind.NOT_FOUND
    assert classify_error(TimeoutError()) is LinkErrorKind.TIMEOUT
    assert classify_error(BleakError("busy")) is LinkErrorKind.TRANSIENT
    assert classify_error(BleakCharacteristicNotFoundError("x")) is LinkErrorKind.FATAL
    assert classify_error(FileNotFoundError()) is LinkErrorKind.FATAL
    assert classify_error(ValueError("bug")) is LinkErrorKind.FATAL


def test_link_gives_up_after_max_attempts() -> None:
    async def main() -> None:
        async with virtual_sensors({"samples": synth_samples(50)}) as (air, _):
            events: list[dict[str, Any]] = []
            link = SensorLink(
                "StrideGuard-R",  # not there: only a left sensor
                backend=air.backend,
                scan_timeout_s=0.05,
                policy=ReconnectPolicy(max_attempts=3, scale=0.01, jitter=0.0),
                on_event=lambda _s, e: events.append(e),
            )
            with pytest.raises(SensorLinkError) as err:
                await link.connect(5)
            assert err.value.kind is LinkErrorKind.NOT_FOUND
            assert link.stats.failed_attempts == 3
            await link.close()
            delays = [e["retry_in_s"] for e in events if e["event"] == "connect_failed"]
            assert delays == [pytest.approx(0.01), pytest.approx(0.015), 0.0]
            assert events[-1]["event"] == "gave_up" and events[-1]["attempts"] == 3

    run(main())


def test_a_failing_consumer_hook_is_counted_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    frames = encode_frames(synth_samples(19 * 6), rate_hz=500)

    async def main() -> SensorLink:
        calls: list[int] = []

        def bad_sink(block: SampleBlock) -> None:
            calls.append(block.n_samples)
            raise RuntimeError("sink broke")

        link = SensorLink("StrideGuard-L", on_samples=bad_sink)
        link._consumer = asyncio.create_task(link._consume())
        for f in frames:
            link._on_data(None, bytearray(f))  # type: ignore[arg-type]
            await asyncio.sleep(0)
        await link.close()
        assert sum(calls) == 19 * 6  # every block was still handed on
        link_calls.extend(calls)
        return link

    link_calls: list[int] = []

    link = run(main())
    # one error per block handed on (the first frame waits for the second to confirm its clock)
    assert link.stats.consumer_errors == len(link_calls) >= 2
    assert isinstance(link.error, RuntimeError)
    assert link.assembler.samples == 19 * 6
    assert "consumer error" in caplog.text


def test_scan_reads_battery_when_not_advertised() -> None:
    async def main() -> None:
        spec = {"samples": synth_samples(50), "battery_pct": 55, "advertise_battery": False}
        async with virtual_sensors(spec) as (air, _):
            (quick,) = await scan(0.1, backend=air.backend)
            assert quick.battery_pct is None
            (read,) = await scan(0.1, backend=air.backend, read_battery=True)
            assert read.battery_pct == 55

    run(main())


def test_calibration_flags_frames_and_answers_busy() -> None:
    async def main() -> None:
        blocks: list[SampleBlock] = []
        async with virtual_sensors({"samples": synth_samples(1000), "speed": 5.0}) as (air, _):
            async with SensorLink(
                "StrideGuard-L", backend=air.backend, on_samples=blocks.append
            ) as link:
                await link.wait_samples(200, 5)
                # 10 board seconds = 2 s wall at speed 5
                assert await link.send_control(proto.OP_CALIBRATE, 10) == proto.RESULT_SUCCESS
                assert await link.send_control(proto.OP_CALIBRATE, 1) == proto.RESULT_BUSY
                assert (await link.read_status())["state"] & proto.STATE_CALIBRATING
                await link.wait_samples(link.assembler.samples + 6000, 8)  # 12 board seconds
                state = (await link.read_status())["state"]
                assert state & proto.STATE_CALIBRATED and not state & proto.STATE_CALIBRATING
        flags = np.concatenate([b.frames["flags"] for b in blocks])
        calibrating = (flags & proto.FLAG_CALIBRATING) != 0
        assert calibrating.any() and not calibrating.all()
        assert (flags[0] & proto.FLAG_STREAM_START) != 0

    run(main())
