"""The product installs and runs without the dev kit; the dev kit adds its commands by plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

#: modules a plain product command must never load
DEVKIT_MODULES = ("bumble", "strideguard_devkit.sim", "strideguard_devkit.vboard")


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload,no-any-return]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (found,) = out.glob("strideguard-*.whl")
    return found


def test_wheel_carries_the_firmware_and_the_sample_but_not_the_devkit(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    firmware = {p.name for p in (REPO / "firmware").glob("*.py")}
    assert {f"strideguard/firmware/{n}" for n in firmware} <= names
    assert "strideguard/firmware/package.json" in names
    assert "strideguard/samples/RBDS0041_T25_R_mpu.csv" in names
    assert "strideguard/samples/RBDS0041_T25_R_mpu.standing.csv" in names
    assert "strideguard/web/index.html" in names
    # the pocket host (a pipx install from the wheel): the phone page and the service
    assert {"strideguard/web/app.js", "strideguard/web/style.css"} <= names
    assert "strideguard/service/unit.py" in names and "strideguard/live/headless.py" in names
    assert not [n for n in names if n.startswith("strideguard_devkit")]
    # the links were followed: real file contents, not link text
    main_py = zipfile.ZipFile(wheel).read("strideguard/firmware/main.py")
    assert main_py == (REPO / "firmware" / "main.py").read_bytes()


@pytest.mark.slow
def test_plain_install_in_a_fresh_venv_runs_flash_analyze_and_report(
    wheel: Path, tmp_path: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    # nothing of the development environment leaks in (a PYTHONPATH would hide the install)
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = _run([str(py), "-m", "pip", "install", "-q", str(wheel)], env=clean_env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    exe = str(env_dir / "bin" / "strideguard")
    # run outside the checkout so nothing is imported from the source tree
    kw = {"cwd": str(tmp_path), "env": clean_env, "timeout": 120}

    flash = _run([exe, "flash", "--port", "/dev/ttyUSB0", "--leg", "L", "--dry-run"], **kw)
    assert flash.returncode == 0, flash.stderr
    assert "mpremote" in flash.stdout and "main.py" in flash.stdout
    assert str(env_dir) in flash.stdout  # the firmware files come from the installed package

    analyze = _run([exe, "analyze", "--example", "--format", "json"], **kw)
    assert analyze.returncode == 0, analyze.stderr
    result = json.loads(analyze.stdout)
    assert result["summary"]["n_strides"] >= 20
    assert result["alignment"]["calibrated"] is True

    # the run history, its report (matplotlib) and FIT export (garmin-fit-sdk) from a plain install
    db = str(tmp_path / "h.sqlite")
    sample = str(REPO / "tests" / "data" / "RBDS0041_T25_R_mpu.csv")
    for cmd in (
        ["import", sample, "--leg", "R", "--db", db],
        ["history", "--db", db],
        ["report", "--db", db, "--out", str(tmp_path / "r.html")],
        ["export", "last", "--fit", str(tmp_path / "r.fit"), "--db", db],
    ):
        done = _run([exe, *cmd], **kw)
        assert done.returncode == 0, (cmd, done.stderr)
    assert (tmp_path / "r.html").stat().st_size > 10000 and (
        tmp_path / "r.fit"
    ).stat().st_size > 100

    for cmd in (["demo"], ["simulate", "steady"], ["live", "--virtual", "demo"]):
        missing = _run([exe, *cmd], **kw)
        assert missing.returncode == 2, (cmd, missing.stderr)
        lines = missing.stderr.strip().splitlines()
        assert len(lines) == 1 and "dev kit" in lines[0] and "pip install" in lines[0], lines
        assert "Traceback" not in missing.stderr

    # the pocket host's service unit from a plain install runs this install's strideguard
    unit = _run([exe, "service", "install", "--user", "--print", "--sensor", "StrideGuard-L"], **kw)
    assert unit.returncode == 0, unit.stderr
    assert f"ExecStart={exe} live --headless --sensor StrideGuard-L" in unit.stdout

    bumble = _run([str(py), "-c", "import bumble"], **kw)
    assert bumble.returncode != 0  # no dev dependency came along


def test_product_commands_never_import_the_devkit_machinery(tmp_path: Path) -> None:
    code = (
        "import sys, contextlib, io\n"
        "from strideguard.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['analyze', '--example', '--format', 'json']) == 0\n"
        "    assert main(['flash', '--port', 'X', '--dry-run']) == 0\n"
        "    assert main(['protocol']) == 0\n"
        "    assert main(['import', sys.argv[1], '--db', 'h.sqlite']) == 0\n"
        "    assert main(['history', '--db', 'h.sqlite']) == 0\n"
        "    assert main(['report', '--db', 'h.sqlite', '--out', 'r.html']) == 0\n"
        f"bad = [m for m in sys.modules if m.startswith({DEVKIT_MODULES!r})]\n"
        "print(bad)\n"
    )
    sample = str(REPO / "tests" / "data" / "RBDS0041_T25_R_mpu.csv")
    proc = _run([sys.executable, "-c", code, sample], cwd=str(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_devkit_commands_come_from_the_entry_points() -> None:
    from strideguard import plugins

    assert set(plugins.command_modules()) == set(plugins.DEVKIT_COMMANDS)
