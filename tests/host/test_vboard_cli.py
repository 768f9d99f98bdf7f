"""``strideguard virtual-board`` and the deploy path (``make flash PORT=<pty>``) to a virtual board."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from strideguard.ble.receiver import scan
from strideguard_devkit.bumble_backend import VirtualAir
from strideguard_devkit.vboard import VirtualBoard, synthetic_gait
from tests.host.ble_helpers import run


def test_virtual_board_command_streams_two_boards() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "strideguard", "virtual-board", "--leg", "LR", "--speed", "10",
         "--duration", "6", "--format", "json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [b["name"] for b in summary["boards"]] == ["StrideGuard-L", "StrideGuard-R"]
    assert summary["board_s"] == 6
    for b in summary["boards"]:
        assert b["gaps"] == 0 and b["board_samples_lost"] == 0
        # --duration 6 is 6 board seconds of the scenario from its start, no more: the
        # standing wait before it is counted apart (it was in the count, ~41 s for 30 s)
        assert b["samples"] == 6 * 500
        assert b["samples_expected"] == 6 * 500
        assert b["standing_samples"] > 0


def test_virtual_board_reports_the_motor_pattern_and_the_long_press() -> None:
    # the host sends the stop pattern 1 s into the scenario; the runner holds the
    # button from 12 s: the pin shows two plays (1 s, 11 s) and the 2-s hold ends it
    proc = subprocess.run(
        [sys.executable, "-m", "strideguard", "virtual-board", "--speed", "4",
         "--duration", "16", "--pattern", "stop", "--hold-at", "12", "--format", "json"],
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (board,) = json.loads(proc.stdout.strip().splitlines()[-1])["boards"]
    assert board["host_writes"] == {"pattern": 1}  # RESULT_SUCCESS
    t0 = board["scenario_start_s"]
    # (host delays count 4 times in board time: a loaded machine may add a few tenths)
    assert [a["pattern"] for a in board["motor"]] == ["stop", "acknowledged"], board["motor"]
    stop, blip = board["motor"]
    assert 1.0 <= stop["start_s"] - t0 <= 1.6  # the host's clock estimate and the write
    assert stop["plays"] == 2 and stop["pulses"] == 6
    # 3 x (600 on, 300 off): the second play's last pulse ends 10 s + 2.4 s after the first
    assert stop["end_s"] - stop["start_s"] == pytest.approx(12.4, abs=0.03)
    assert stop["acknowledged_by"] == "button"
    assert 14.0 <= stop["acknowledged_s"] - t0 <= 14.6  # 2 s after the hold began
    # the blip that confirms it, 250 ms after (PATTERN_CONFIRM_MS)
    assert blip["start_s"] - stop["acknowledged_s"] == pytest.approx(0.25, abs=0.02)
    assert blip["end_s"] - blip["start_s"] == pytest.approx(0.1, abs=0.02)


def test_virtual_board_host_acknowledge_stops_the_metronome() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "strideguard", "virtual-board", "--speed", "4",
         "--duration", "6", "--pattern", "coach", "--acknowledge-at", "4"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (line,) = [x for x in proc.stdout.splitlines() if "motor:" in x]
    # 60 ms every 353 ms (170 steps/min) from 1 s, stopped by the host at 4 s: 9 pulses
    m = re.fullmatch(
        r"  motor: coach from (\S+) s to (\S+) s \(1 play, (\d+) pulses\), "
        r"acknowledged by the host at (\S+) s",
        line,
    )
    assert m is not None, line
    start, end, n, ack = float(m[1]), float(m[2]), int(m[3]), float(m[4])
    assert 1.0 <= start <= 1.6 and 4.0 <= ack <= 4.6 and end <= ack, line
    assert n == 1 + int((ack - start) / 0.353) or n == int((ack - start) / 0.353)


def test_virtual_board_command_rejects_bad_input_in_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "strideguard", "virtual-board", "--rate", "300"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "choose from 100, 200, 250, 500, 1000" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    for bad, says in (
        (
            ["--pattern", "stop", "--pattern-at", "12"],
            "--pattern-at 12 is not inside --duration 10",
        ),
        (["--hold-at", "10"], "--hold-at 10 is not inside"),
        (["--pattern", "alarm"], "invalid choice"),
        (["--pattern", "stop", "--pty"], "need a run with an end"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "strideguard", "virtual-board", *bad],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert proc.returncode == 2 and says in proc.stderr, (bad, proc.stderr)
        assert proc.stderr.strip().count("\n") == 0


def test_flash_through_the_pty_then_the_flashed_firmware_advertises(tmp_path: Path) -> None:
    async def main() -> None:
        air = VirtualAir()
        board = VirtualBoard(
            air, synthetic_gait(5), leg="L", flash_dir=tmp_path, install_firmware=False, pty=True
        )
        async with board:
            assert board.port is not None and not (tmp_path / "main.py").exists()
            proc = await _flash(board.port)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert (tmp_path / "main.py").exists()
            await board.wait_advertising(15)
            found = await scan(0.5, backend=air.backend)
            assert [s.name for s in found] == ["StrideGuard-R"]  # the leg flashed

    run(main(), 60)


async def _flash(port: str) -> subprocess.CompletedProcess[str]:
    import asyncio

    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "strideguard", "flash", "--port", port, "--leg", "R"],
        capture_output=True, text=True, timeout=50, check=False,
    )  # fmt: skip
