"""``strideguard scan``: one-line failure without Bluetooth, and the virtual sensors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from strideguard.cli import main

HAS_SYSTEM_BUS = (
    Path("/run/dbus/system_bus_socket").exists() or Path("/var/run/dbus/system_bus_socket").exists()
)


@pytest.mark.skipif(HAS_SYSTEM_BUS, reason="this machine may have a Bluetooth stack")
def test_scan_without_bluetooth_is_one_line_exit_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "strideguard", "scan", "--timeout", "1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("strideguard: error: Bluetooth is not available")
    assert "Traceback" not in proc.stderr


def test_scan_virtual_sensors_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--virtual", "2", "--timeout", "0.3", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(s["name"], s["leg"]) for s in out["sensors"]] == [
        ("StrideGuard-L", "L"),
        ("StrideGuard-R", "R"),
    ]
    assert all(s["rssi_dbm"] == -50 and s["battery_pct"] > 0 for s in out["sensors"])


def test_scan_virtual_text_and_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--virtual", "1", "--timeout", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "StrideGuard-L" in out and "dBm" in out
    assert main(["scan", "--virtual", "0", "--timeout", "0"]) == 2
    assert capsys.readouterr().err.startswith("strideguard: error: scan --timeout: must be")


def test_scan_is_hidden_virtual_option() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "strideguard", "scan", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and "--timeout" in proc.stdout and "--virtual" not in proc.stdout
