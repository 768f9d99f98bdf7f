"""`strideguard demo` end to end (short and fast: the full one is `make demo`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from strideguard.recording import read_recording


def test_demo_runs_non_interactively(tmp_path: Path) -> None:
    rec = tmp_path / "demo.sgrec"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "strideguard",
            "demo",
            "--minutes",
            "3",
            "--speed",
            "25",
            "--record",
            str(rec),
            "--no-sound",
            "--web-port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = proc.stdout
    assert "Phone page: http://127.0.0.1:" in out
    assert "calibration done" in out
    assert "=== run summary ===" in out
    assert "StrideGuard-R:" in out
    assert "real firmware" in out
    assert f"recording: {rec}" in out
    assert "Traceback" not in proc.stderr
    r = read_recording(rec)
    assert r.streams() == [0]
    assert r.header["sensors"] == ["StrideGuard-R"]
    assert r.header["mode"] == "virtual:demo:firmware"

    # the summary's "replay it: ..." hint works as printed, from a shell without the venv on PATH
    (hint,) = [ln for ln in out.splitlines() if ln.startswith("replay it: ")]
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)
    replay = subprocess.run(
        hint.removeprefix("replay it: ") + " --plain --no-sound --format json",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=dict(os.environ, PATH=path),
        check=False,
    )
    assert replay.returncode == 0, hint + replay.stderr[-2000:]
