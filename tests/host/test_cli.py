"""The CLI entry points."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from strideguard import __version__
from strideguard.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
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


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--virtual", "nonsense"], "live --virtual: unknown scenario 'nonsense'"),
        (
            ["--virtual", "steady", "--virtual-duration", "20"],
            "live --virtual-duration: must be a number in [30, 21600], not '20'",
        ),
    ],
)
def test_live_virtual_bad_scenario_is_one_line(
    option: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["live", *option, "--no-sound", "--record", str(tmp_path / "r.sgrec")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"strideguard: error: {message}")
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "r.sgrec").exists()
