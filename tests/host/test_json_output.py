"""``--format json``: the JSON alone on stdout; the view, the phone page's address and logs on stderr."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from strideguard.cli import main
from strideguard_devkit.sim import simulate
from strideguard_devkit.sim.transport import make_frames, write_frames_file

SINKS = ["--plain", "--log-every", "1", "--no-sound", "--web", "127.0.0.1:0"]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated one-minute run of the right leg, as a live recording."""
    run = simulate("steady", duration_s=60, rate_hz=200, seed=3, leg="R")
    path = tmp_path_factory.mktemp("rec") / "run.sgrec"
    write_frames_file(path, [make_frames(run, mtu=247, seed=3)], sensors=["StrideGuard-R"], meta={})
    return path


def test_replay_json_is_alone_on_stdout(
    recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(recording), "--format", "json", *SINKS]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)  # nothing else on stdout
    assert summary["recording"] == str(recording)
    assert summary["sensors"][0]["strides"] > 0
    assert "Phone page: http://127.0.0.1:" in err
    assert "StrideGuard-R: stride     1 at" in err


def test_replay_text_keeps_the_view_on_stdout(
    recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(recording), *SINKS]) == 0
    out, err = capsys.readouterr()
    assert "Phone page: http://127.0.0.1:" in out
    assert "StrideGuard-R: stride     1 at" in out
    assert "=== run summary ===" in out and err == ""


def test_live_json_is_alone_on_stdout(tmp_path: Path) -> None:
    rec = tmp_path / "live.sgrec"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "strideguard",
            "live",
            "--virtual",
            "steady",
            "--virtual-duration",
            "30",
            "--speed",
            "20",
            "--one-leg",
            "--record",
            str(rec),
            "--format",
            "json",
            *SINKS,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["recording"] == str(rec) and summary["sensors"][0]["sensor"] == "StrideGuard-R"
    assert "Phone page: http://127.0.0.1:" in proc.stderr
    assert "StrideGuard-R: link connected" in proc.stderr


def test_demo_json_is_alone_on_stdout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's own introduction goes where the view goes (its run is ``live``'s, tested above)."""
    from strideguard.commands import live

    def live_run(ns: argparse.Namespace) -> int:
        assert ns.virtual == "demo" and ns.format == "json"
        print(json.dumps({"sensors": [], "recording": "demo.sgrec"}))
        return 0

    monkeypatch.setattr(live, "run", live_run)
    assert main(["demo", "--format", "json", "--no-sound"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {"sensors": [], "recording": "demo.sgrec"}
    assert err.startswith("strideguard demo: a simulated 10-minute run")
