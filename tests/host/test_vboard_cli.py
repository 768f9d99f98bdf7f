"""``strideguard virtual-board`` and the deploy path (``make flash PORT=<pty>``) to a virtual board."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def test_virtual_board_command_rejects_bad_input_in_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "strideguard", "virtual-board", "--rate", "300"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "choose from 100, 200, 250, 500, 1000" in proc.stderr
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
