"""Faults end to end (issue #14): a full disk, Ctrl-C, SIGTERM, no Bluetooth.

The disk is really full: a small tmpfs mounted for the test (CI runs as root).
Where mounting is not allowed, the child process gets a file-size limit
(``RLIMIT_FSIZE``, with SIGXFSZ ignored) instead, so its writes fail with EFBIG
past that size; the "rlimit" cases run that way everywhere. Live runs use virtual
sensors over the virtual Bluetooth link (the pure-Python sensor model: the same
link and host as the firmware board, started faster).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from strideguard.alerts import PersonalBaseline
from strideguard.frames import decode_frames
from strideguard.live.stopping import StopSignals
from strideguard.recording import read_recording

PAGE = 4096
#: baseline learned in the first 20 s of running (the default waits 3 minutes)
FAST_BASELINE = "[baseline]\nskip_s = 0\nduration_s = 20\nmin_strides = 10\n"


def child_env() -> dict[str, str]:
    """The environment for child processes, read at call time: it carries the test's own
    per-user data folder (``tests/conftest.py``), so no child writes into the real one."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "error"}


def _can_mount() -> bool:
    if sys.platform != "linux" or os.geteuid() != 0:
        return False
    probe = Path(f"/tmp/sg-mount-probe-{uuid.uuid4().hex[:8]}")
    probe.mkdir()
    try:
        ok = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(probe)],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )
        if ok:
            subprocess.run(["umount", str(probe)], check=False)
        return ok
    finally:
        probe.rmdir()


CAN_MOUNT = _can_mount()


@dataclass
class SmallDisk:
    """A folder where writes fail after ``free_bytes``: a full tmpfs, or a file-size limit."""

    folder: Path
    free_bytes: int
    mode: str  # "tmpfs" or "rlimit"

    def command(self, argv: list[str]) -> list[str]:
        """The ``strideguard`` command line that runs under this disk's limit."""
        if self.mode == "tmpfs":
            return [sys.executable, "-m", "strideguard", *argv]
        code = (
            "import resource, runpy, signal, sys\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({self.free_bytes}, {self.free_bytes}))\n"
            f"sys.argv = ['strideguard', *{argv!r}]\n"
            "runpy.run_module('strideguard', run_name='__main__', alter_sys=True)\n"
        )
        return [sys.executable, "-c", code]

    def run(self, argv: list[str], cwd: Path, timeout_s: float = 180) -> subprocess.CompletedProcess[str]:  # fmt: skip
        return subprocess.run(
            self.command(argv),
            capture_output=True,
            text=True,
            cwd=cwd,
            env=child_env(),
            timeout=timeout_s,
            check=False,
        )

    def files(self) -> set[str]:
        return {p.name for p in self.folder.iterdir()} - {".filler"}


@contextlib.contextmanager
def small_disk(tmp_path: Path, free_bytes: int, mode: str) -> Iterator[SmallDisk]:
    folder = tmp_path / "disk"
    folder.mkdir()
    if mode == "tmpfs" and not CAN_MOUNT:
        mode = "rlimit"  # not root, or no mount: an injected write error instead
    if mode == "rlimit":
        yield SmallDisk(folder, max(free_bytes, 1), "rlimit")
        return
    size = max(PAGE, -(-free_bytes // PAGE) * PAGE)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        if free_bytes < PAGE:  # take every page: not even one byte fits
            with contextlib.suppress(OSError), open(folder / ".filler", "wb") as fh:
                fh.write(b"\0" * size)
        yield SmallDisk(folder, free_bytes, "tmpfs")
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("strideguard: error: ") and "Traceback" not in proc.stderr
    assert any(w in lines[0] for w in words), lines[0]
    return lines[0]


FULL = ("disk full", "File too large")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rec")
    proc = subprocess.run(
        [sys.executable, "-m", "strideguard", "simulate", "steady", "--duration", "30",
         "--frames", str(folder / "run.sgrec"), "--seed", "3"],
        capture_output=True, text=True, env=child_env(), check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return folder / "run.sgrec"


# ------------------------------------------------------------------ outputs whole or absent


@pytest.mark.parametrize("mode", ["tmpfs", "rlimit"])
@pytest.mark.parametrize(
    ("name", "free_bytes"),
    [("analyze --out", 2 * PAGE), ("analyze --save-baseline", 0), ("export", 2 * PAGE),
     ("simulate", 2 * PAGE)],
)  # fmt: skip
def test_outputs_are_whole_or_absent_on_a_full_disk(
    name: str, free_bytes: int, mode: str, tmp_path: Path, recording: Path
) -> None:
    (tmp_path / "fast.toml").write_text(FAST_BASELINE)
    with small_disk(tmp_path, free_bytes, mode) as disk:
        d = disk.folder
        argv = {
            "analyze --out": ["analyze", "--example", "--out", str(d / "out")],
            "analyze --save-baseline": ["analyze", "--example", "--alert-config", "fast.toml",
                                        "--save-baseline", str(d / "me.json")],
            "export": ["export", str(recording), "--out", str(d)],
            "simulate": ["simulate", "steady", "--duration", "30", "--out", str(d / "x.csv"),
                         "--frames", str(d / "x.sgrec")],
        }[name]  # fmt: skip
        proc = disk.run(argv, tmp_path)
        one_line_error(proc, *FULL)
        # no half file that looks whole, no temporary file, no empty folder
        assert disk.files() == set(), disk.files()


def test_the_same_commands_write_when_there_is_room(tmp_path: Path, recording: Path) -> None:
    """(The failures above are the disk's, not the commands'.)"""
    (tmp_path / "fast.toml").write_text(FAST_BASELINE)
    for argv in (
        ["analyze", "--example", "--out", "out", "--alert-config", "fast.toml",
         "--save-baseline", "me.json"],
        ["export", str(recording), "--out", "exp"],
    ):  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-m", "strideguard", *argv],
            capture_output=True, text=True, cwd=tmp_path, env=child_env(), check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["analysis.json", "strides.csv"]
    PersonalBaseline.load(tmp_path / "me.json")
    assert not [p for p in tmp_path.rglob(".*.tmp")]


# ------------------------------------------------------------------ live on a full disk


def live_argv(record: Path, *extra: str, scenario: str = "guarded_onset") -> list[str]:
    return [
        "live", "--virtual", scenario, "--virtual-duration", "90", "--speed", "15",
        "--one-leg", "--board", "model", "--plain", "--no-sound", "--log-every", "1",
        "--alert-config", "fast.toml", "--record", str(record), *extra,
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["tmpfs"])
def test_live_on_a_full_disk_keeps_analysing_and_alerting(mode: str, tmp_path: Path) -> None:
    """The recording stops with a notice; strides and the stop alert go on; the run ends."""
    (tmp_path / "fast.toml").write_text(FAST_BASELINE)
    with small_disk(tmp_path, 12 * PAGE, mode) as disk:
        rec_path = disk.folder / "run.sgrec"
        proc = disk.run([*live_argv(rec_path), "--format", "json"], tmp_path, timeout_s=240)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        summary = json.loads(proc.stdout)
        stopped = summary["recording_stopped"]
        assert stopped["reason"] in FULL
        # the notice reached the sinks (the plain log here; phone and speech get the same event)
        assert "Recording stopped: " in proc.stderr and "alerts continue" in proc.stderr
        assert [n["kind"] for n in summary["notices"]] == ["recording_stopped"]
        # the analysis did not depend on the disk: strides and the stop alert after it filled
        sensor = summary["sensors"][0]
        assert sensor["samples_lost"] == 0
        strides_after = [
            ln for ln in proc.stderr.splitlines() if "stride " in ln and "ALERT" not in ln
        ]
        times = [float(ln.split(" at ")[1].split()[0]) for ln in strides_after]
        assert max(times) > stopped["run_time_s"] + 30
        raised = [a for a in sensor["alerts"] if a["kind"] == "gait_changed" and a["state"] == "raised"]  # fmt: skip
        assert raised and raised[0]["time_s"] > stopped["run_time_s"]
        # what was written stays readable: whole records, every frame decodes
        rec = read_recording(rec_path)
        frames = rec.frame_records(0)
        assert frames.size > 20 and rec.torn_tail_bytes == 0
        assert rec.format_version == 2 and rec.damaged_records == 0 and rec.warnings == []
        # the sensor resends: the backfill decisions went to the same recording before it stopped
        assert any(e["event"] == "backfill_on" for _, _, e in rec.events)
        decoded = decode_frames([rec.payload(i) for i in frames], rec.arrival_s[frames])
        assert decoded.report.frames_rejected == 0
        assert rec_path.stat().st_size <= 12 * PAGE


# ------------------------------------------------------------------ Ctrl-C and SIGTERM


def _wait_for_line(proc: subprocess.Popen[str], pattern: str, timeout_s: float) -> list[str]:
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if pattern in line:
            return seen
    raise AssertionError(f"no {pattern!r} within {timeout_s} s:\n{''.join(seen[-20:])}")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_ends_the_run_cleanly(sig: signal.Signals, tmp_path: Path) -> None:
    """Summary printed, recording closed, baseline saved; a broken stored one was announced."""
    (tmp_path / "fast.toml").write_text(FAST_BASELINE)
    (tmp_path / "old.json").write_text('{"schema": "strideguard.baseline/1", "models": {}}')
    argv = live_argv(
        tmp_path / "run.sgrec", "--format", "json", "--baseline", "old.json",
        "--save-baseline", "me.json", scenario="steady",
    )  # fmt: skip
    argv[argv.index("--virtual-duration") + 1] = "600"  # the run would go on for 40 s more
    proc = subprocess.Popen(
        [sys.executable, "-m", "strideguard", *argv],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=child_env(),
    )  # fmt: skip
    try:
        seen = _wait_for_line(proc, "stride    45 at", 120)  # the baseline is learned by now
        t_signal = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    err = "".join(seen) + err
    assert proc.returncode == 0, err
    assert time.monotonic() - t_signal < 30
    assert f"{sig.name}: ending the run" in err and "Traceback" not in err
    # the broken stored baseline was announced, and this run learned a fresh one
    assert "Stored baseline not used" in err
    summary = json.loads(out)
    assert [n["kind"] for n in summary["notices"]] == ["baseline_refused"]
    assert summary["baseline_saved"] == "me.json"
    saved = PersonalBaseline.load(tmp_path / "me.json")
    assert 150 < saved.cadence_ref_spm < 190
    # the recording is closed and whole
    rec = read_recording(tmp_path / "run.sgrec")
    assert rec.torn_tail_bytes == 0 and rec.frame_records(0).size > 100
    assert summary["sensors"][0]["strides"] >= 45


def test_a_second_signal_aborts_at_once() -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with StopSignals(stream=io.StringIO()) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested == "SIGTERM"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler runs here
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


# ------------------------------------------------------------------ no Bluetooth


def test_live_without_bluetooth_says_so_before_anything_starts(tmp_path: Path) -> None:
    """One line like `scan`'s; no phone page, no QR code, no recording (issue #14)."""
    env = {**child_env(), "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/dbus-socket"}
    proc = subprocess.run(
        [sys.executable, "-m", "strideguard", "live", "--sensor", "StrideGuard-L",
         "--web", "--plain", "--no-sound"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60, check=False,
    )  # fmt: skip
    one_line_error(proc, "Bluetooth is not available: ")
    assert proc.stdout == ""  # no "Phone page", no QR code, no "link lost", no alert
    assert list(tmp_path.iterdir()) == []  # no recordings/ folder, no junk recording
