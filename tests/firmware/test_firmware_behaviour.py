"""Firmware behaviour under the real MicroPython Unix port, fakes at the hardware edge."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from strideguard import protocol

MpRunner = Callable[..., str]


@pytest.mark.parametrize("rate", protocol.SUPPORTED_RATES_HZ)
def test_steady_state_frames_allocate_nothing(run_mp: MpRunner, rate: int) -> None:
    # heap_lock(): any allocation raises MemoryError; the script also asserts
    # a gc.mem_alloc() delta of exactly zero (64-bit build)
    out = run_mp("mp_alloc.py", str(rate))
    frames = int(out.strip().splitlines()[-1].split("frames=")[1].split()[0])
    assert frames >= 4 * rate // 19 - 2


def test_rsc_measurement_bytes_match_hand_computed_examples(run_mp: MpRunner) -> None:
    lines = dict(line.split(" ", 1) for line in run_mp("mp_rsc.py").splitlines() if " " in line)
    # flags (bit 2 = running), speed u16 LE in 1/256 m/s, cadence u8 in steps/min
    assert lines["run"] == "048003ac"  # 3.5 m/s = 896 = 0x0380, 172 steps/min
    assert lines["walk"] == "0040016e"  # walking, 1.25 m/s = 320 = 0x0140, 110 steps/min
    assert lines["clamp"] == "040000ff"  # 300 steps/min does not fit a u8: 255
    # 0.7 s strides of one leg = 85.7 strides/min = 171 steps/min (not 86)
    live, count = lines["live"].split()
    assert live == "040000ab"
    assert int(count) >= 6
    assert lines["feature"] == "0400"  # RSC Feature: walking/running status supported
    assert lines["location"] == "00"  # Sensor Location: other (there is no "shin")
    assert lines["stopped"] == "00000000"


def test_gatt_profile_advertising_mtu_and_reconnects(run_mp: MpRunner) -> None:
    assert run_mp("mp_ble.py").strip().endswith("ble ok")


def test_mpu6050_driver(run_mp: MpRunner) -> None:
    assert run_mp("mp_mpu.py").strip().endswith("mpu ok")


def test_stride_cue_pain_marker_and_calibration(run_mp: MpRunner, tmp_path: Path) -> None:
    assert run_mp("mp_stride.py", str(tmp_path)).strip().endswith("stride ok")


def test_config_corruption_falls_back_to_defaults(run_mp: MpRunner, tmp_path: Path) -> None:
    assert run_mp("mp_config.py", str(tmp_path)).strip().endswith("config ok")


def expected_result(data: bytes) -> int | None:
    """The host's own reading of the control protocol (None: a valid command)."""
    lengths = {
        1: 0,
        2: 0,
        3: 2,
        4: 1,
        5: 1,
        6: 1,
        7: 0,
        8: 1,
        9: 1,
        10: 0,
        11: 6,
        13: 0,
        14: 0,
        15: 0,
    }
    if not data:
        return protocol.RESULT_BAD_LENGTH
    op = data[0]
    if op == 12:
        return expected_pattern_result(data)
    if op not in lengths:
        return protocol.RESULT_OP_NOT_SUPPORTED
    if len(data) != 1 + lengths[op]:
        return protocol.RESULT_BAD_LENGTH
    value = int.from_bytes(data[1:], "big") if len(data) > 1 else None
    if op == 11:  # OP_RESEND: u32 first index, u16 count >= 1
        value = int.from_bytes(data[5:7], "big")
    valid = {
        3: lambda v: v in (100, 200, 250, 500, 1000),
        4: lambda v: v in (0, 1),
        5: lambda v: 1 <= v <= 10,
        6: lambda v: 1 <= v <= 30,
        8: lambda v: v == 0 or 120 <= v <= 220,
        9: lambda v: v in (0, 1),
        11: lambda v: v >= 1,
    }
    if op in valid and not valid[op](value):
        return protocol.RESULT_INVALID_PARAMETER
    return None


def expected_pattern_result(data: bytes) -> int | None:
    """OP_PLAY_PATTERN as docs/protocol.md states it (None: valid)."""
    pairs = data[4:]
    if len(data) < 4 or not 1 <= len(pairs) // 2 <= 8 or len(pairs) % 2:
        return protocol.RESULT_BAD_LENGTH
    repeats, period_ms = data[1], int.from_bytes(data[2:4], "big")
    on_ms = [10 * b for b in pairs[0::2]]
    play_ms = 10 * sum(pairs)
    if (
        min(on_ms) < 50
        or period_ms > 60_000
        or (repeats != 1 and period_ms < play_ms)
        or (repeats > 1 and (repeats - 1) * period_ms + play_ms > 600_000)
    ):
        return protocol.RESULT_INVALID_PARAMETER
    return None


def test_control_point_fuzzing_never_crashes_or_changes_state(
    run_mp: MpRunner, tmp_path: Path
) -> None:
    seed = random.Random(3).randrange(1 << 30)
    out = run_mp("mp_control.py", str(seed), "3000", str(tmp_path / "strideguard.json"))
    rows = [
        line.split()
        for line in out.splitlines()
        if not line.startswith(("strideguard", "pattern ", "pairing ", "bonds "))  # console lines
    ]
    assert len(rows) == 3000
    counts = {"invalid": 0, "valid": 0}
    for hexdata, result_s, changed_s in rows:
        data = b"" if hexdata == "-" else bytes.fromhex(hexdata)
        result, changed = int(result_s), changed_s == "1"
        want = expected_result(data)
        if want is None:
            counts["valid"] += 1
            assert result in (
                protocol.RESULT_SUCCESS,
                protocol.RESULT_BUSY,
                protocol.RESULT_OPERATION_FAILED,
                *((protocol.RESULT_NOT_AVAILABLE,) if data[0] == protocol.OP_RESEND else ()),
            ), hexdata
            if result != protocol.RESULT_SUCCESS:
                assert not changed, hexdata
        else:
            counts["invalid"] += 1
            assert result == want, hexdata
            assert not changed, f"invalid write {hexdata} changed the board state"
    assert counts["invalid"] > 1000 and counts["valid"] > 150
    resends = [r for r in rows if r[0] != "-" and r[0][:2] == "0b" and len(r[0]) == 14]
    assert len(resends) > 20  # OP_RESEND is among the fuzzed writes, well formed too
    patterns = [r for r in rows if r[0][:2] == "0c"]
    played = [r for r in patterns if int(r[1]) == protocol.RESULT_SUCCESS]
    refused = [r for r in patterns if int(r[1]) == protocol.RESULT_INVALID_PARAMETER]
    # OP_PLAY_PATTERN: well formed ones play (and change the board), bad ones are refused
    assert len(played) > 20 and len(refused) > 20 and all(r[2] == "1" for r in played)


def test_pairing_window_bonds_rogue_central_and_slots(run_mp: MpRunner, tmp_path: Path) -> None:
    """Security under MicroPython: the rogue's writes change nothing and are counted (#19)."""
    out = run_mp("mp_security.py", str(tmp_path), timeout_s=60)
    assert out.strip().endswith("security ok")
    assert "pairing window open for 60 s" in out and "pairing window closed (bonded)" in out
    assert "bonds cleared" in out
