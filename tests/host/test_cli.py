"""The CLI entry points."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--virtual", "nonsense"], "unknown scenario 'nonsense'"),
        (["--virtual", "steady", "--virtual-duration", "20"], "at least 30 s"),
    ],
)
def test_live_virtual_bad_scenario_is_one_line(
    option: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["live", *option, "--no-sound", "--record", str(tmp_path / "r.sgrec")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("strideguard: error: live --virtual: ") and message in err
    assert len(err.splitlines()) == 1
