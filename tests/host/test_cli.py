"""The CLI entry points."""

from __future__ import annotations

import subprocess
import sys

import pytest

from strideguard import __version__
from strideguard.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_python_dash_m() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "strideguard", "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert "demo" in proc.stdout
