"""A fresh clone, with no shared data folder beside it, runs every test whose data ships."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

#: the test modules that read recorded running data
DATA_TESTS = ("tests/firmware/test_firmware_realdata.py", "tests/host/test_events_accuracy.py")


def test_only_the_bach_data_may_be_missing(tmp_path: Path) -> None:
    clone = tmp_path / "strideguard"  # no shared/data beside it or above it
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "tests", clone / "tests", ignore=ignore)
    shutil.copytree(REPO / "firmware", clone / "firmware", ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", clone)
    env = {k: v for k, v in os.environ.items() if k != "STRIDEGUARD_SHARED_DATA"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *DATA_TESTS],
        capture_output=True,
        text=True,
        cwd=clone,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    skipped = [ln for ln in proc.stdout.splitlines() if ln.startswith("SKIPPED")]
    assert len(skipped) == 2, proc.stdout[-3000:]  # BACH_T01 and BACH_T07, nothing else
    assert all("BACH_T0" in ln and "not redistributed" in ln for ln in skipped), skipped
