"""``strideguard flash`` (what ``make flash PORT=...`` runs) against a virtual board's pty.

The board is the dev kit's :class:`~strideguard_devkit.vboard.VirtualBoard` with an empty
flash and its console on a pseudo-terminal: the MicroPython Unix port, restarted on
``machine.reset()``, with the simulated MPU6050 and radio of ``strideguard_devkit/vboard/hw``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from strideguard.commands import flash
from strideguard_devkit.bumble_backend import VirtualAir
from strideguard_devkit.vboard import VirtualBoard, synthetic_gait

HERE = Path(__file__).resolve().parent
FIRMWARE = HERE.parents[1] / "firmware"
TIMEOUT_S = 120


def with_board(flash_dir: Path, body: Callable[[VirtualBoard], Awaitable[None]]) -> None:
    """Run ``body`` with a virtual board whose console is on a pty (empty flash)."""

    async def main() -> None:
        board = VirtualBoard(
            VirtualAir(), synthetic_gait(5), flash_dir=flash_dir, install_firmware=False, pty=True
        )
        async with board:
            await body(board)

    asyncio.run(asyncio.wait_for(main(), TIMEOUT_S))


async def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """A command line in a thread (the board's bridge keeps running in this loop)."""
    return await asyncio.to_thread(
        subprocess.run, list(args), capture_output=True, text=True, timeout=60, check=False
    )


def test_flash_to_virtual_board_files_land_main_starts_status_returns(tmp_path: Path) -> None:
    async def body(board: VirtualBoard) -> None:
        assert board.port is not None
        proc = await run_cli(
            sys.executable, "-m", "strideguard", "flash", "--port", board.port, "--leg", "R"
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        # the files landed, byte for byte
        for src in FIRMWARE.glob("*.py"):
            assert (board.flash_dir / src.name).read_bytes() == src.read_bytes(), src.name
        # the config was written through the firmware's own validation
        cfg = json.loads((board.flash_dir / "strideguard.json").read_text())
        assert cfg["leg"] == "R"
        assert "config: leg R rate_hz 500" in proc.stdout
        # reset -> the board booted into main.py, which printed its status line
        assert board.boots >= 2
        status = [line for line in proc.stdout.splitlines() if line.startswith("strideguard ")]
        assert status, proc.stdout
        assert "leg=R" in status[0] and "rate=500" in status[0] and "cfg=ok" in status[0]
        # flashing again interrupts the running firmware (Ctrl-C) and keeps the stored config
        boots = board.boots
        proc = await run_cli(
            sys.executable, "-m", "strideguard", "flash", "--port", board.port, "--leg", "L"
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "config: leg L rate_hz 500 was ok" in proc.stdout
        assert board.boots == boots + 1
        assert any(
            line.startswith("strideguard ") and "leg=L" in line for line in proc.stdout.splitlines()
        )

    with_board(tmp_path / "flash", body)


def test_flash_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "strideguard", "flash", "--port", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no serial port" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "strideguard", "flash", "--port", "x", "--rate", "300"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2 and "choose from 100, 200, 250, 500, 1000" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0


def test_flash_command_line_is_one_mpremote_session() -> None:
    files = sorted(FIRMWARE.glob("*.py"))
    cmd = flash.mpremote_command("/dev/ttyUSB0", files, flash.config_snippet("L", 1000), True)
    assert cmd[1:6] == ["-m", "mpremote", "connect", "/dev/ttyUSB0", "resume"]
    assert cmd[-2:] == ["+", "reset"]
    snippet = flash.config_snippet("L", 1000)
    assert "c['leg'] = 'L'" in snippet and "c['rate_hz'] = 1000" in snippet


def test_package_json_installs_every_firmware_file_with_mip(tmp_path: Path) -> None:
    # the same package.json serves `mpremote mip install github:<repo>/firmware`;
    # installing from the local file needs no network
    async def body(board: VirtualBoard) -> None:
        assert board.port is not None
        proc = await run_cli(
            sys.executable, "-m", "mpremote", "connect", board.port, "resume",
            "mip", "install", "--target", ".", str(FIRMWARE / "package.json"),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        listed = {entry[0] for entry in json.loads((FIRMWARE / "package.json").read_text())["urls"]}
        assert listed == {p.name for p in FIRMWARE.glob("*.py")}
        for name in listed:
            assert (board.flash_dir / name).read_bytes() == (FIRMWARE / name).read_bytes()

    with_board(tmp_path / "flash", body)
