"""Shared pytest fixtures and helpers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from strideguard_devkit.mp import micropython_binary, micropython_env

REPO = Path(__file__).resolve().parents[1]
FIRMWARE = REPO / "firmware"


def run_micropython(code: str, *, path: list[Path] | None = None, timeout_s: float = 60.0) -> str:
    """Run ``code`` under the real MicroPython interpreter and return stdout.

    ``path`` directories are put first on ``MICROPYPATH``; ``.frozen`` stays in
    it (without it ``asyncio`` and other frozen modules disappear).
    """
    try:
        binary = micropython_binary()
    except FileNotFoundError as exc:
        pytest.fail(f"{exc}: run `make setup`")
    proc = subprocess.run(
        [binary, "-c", code],
        capture_output=True,
        text=True,
        env=micropython_env(path if path is not None else [FIRMWARE]),
        timeout=timeout_s,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"micropython failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc.stdout
