"""Shared pytest fixtures and helpers."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from strideguard_devkit.mp import micropython_binary, micropython_env

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _private_user_data(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own per-user data folder (run history, stored baselines):
    no test reads or writes the real one, and child processes inherit it."""
    folder = tmp_path_factory.mktemp("user-data")
    monkeypatch.setenv("STRIDEGUARD_DATA_DIR", str(folder))
    monkeypatch.setenv("XDG_DATA_HOME", str(folder / "xdg"))
    monkeypatch.setenv("STRIDEGUARD_NO_PROMPT", "1")
    return folder


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


def screenshot_path(name: str) -> Path:
    """Where a browser test saves its screenshot.

    A temporary folder, so running the tests never changes the checkout; with
    ``STRIDEGUARD_UPDATE_SCREENSHOTS=1`` the file in ``docs/`` (to refresh the docs).
    """
    if os.environ.get("STRIDEGUARD_UPDATE_SCREENSHOTS") == "1":
        return REPO / "docs" / name
    folder = Path(tempfile.gettempdir()) / f"strideguard-screenshots-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    return folder / name
