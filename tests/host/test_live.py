"""The live path: streaming analysis equals offline, replay equals live, crash-safe recording."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from strideguard.alerts import AlertConfig
from strideguard.alerts.config import config_from_dict
from strideguard.alerts.offline import alerts_for_strides
from strideguard.analysis import analyze
from strideguard.frames import decode_frames, to_recording
from strideguard.live.pipeline import SensorPipeline
from strideguard.live.run import replay
from strideguard.live.streaming import StreamingAnalyzer, as_arrays
from strideguard.live.updates import CalibrationUpdate, LiveEvent, StrideUpdate
from strideguard.recording import RecordingWriter, read_recording
from strideguard_devkit.sim import simulate
from strideguard_devkit.sim.transport import make_frames


def short_warmup() -> AlertConfig:
    """Baseline after 20 s, learned over 60 s (the default needs 3 minutes)."""
    return config_from_dict({"baseline": {"skip_s": 20, "duration_s": 60}})


@pytest.fixture(scope="module")
def streamed() -> tuple[object, SensorPipeline, list[LiveEvent], list[float], object]:
    run = simulate("overstride_episode", duration_s=240, rate_hz=200, seed=5, leg="R")
    frames = make_frames(run, mtu=247, seed=5)
    events: list[LiveEvent] = []
    analyzer = StreamingAnalyzer("S-R", "R")
    pipe = SensorPipeline("S-R", "R", analyzer, events.append, config=short_warmup())
    data_end_at_emit: list[float] = []
    original = analyzer.push

    def push(
        t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, sample_index: np.ndarray | None = None
    ) -> list[dict[str, float | None]]:
        out = original(t, acc, gyr, sample_index)
        data_end_at_emit.extend([float(t[-1])] * len(out))
        return out

    analyzer.push = push  # type: ignore[method-assign]
    p = frames.payloads
    for i in range(0, len(p), 2):
        pipe.push(p[i : i + 2], list(frames.arrival_s[i : i + 2]))
    pipe.finish()  # the stream ends: the strides still held are flushed (no data end for them)
    return run, pipe, events, data_end_at_emit, frames


def test_stream_gives_the_offline_strides(streamed: tuple) -> None:
    _run, pipe, _events, _ends, frames = streamed
    rec = to_recording(decode_frames(frames.payloads, frames.arrival_s))
    offline = analyze(rec, leg="R", alignment=pipe.analyzer.alignment)
    ic_off = np.asarray(offline.strides["initial_contact_s"])
    ic_live = as_arrays(pipe.strides, "initial_contact_s")
    fs = rec.sampling_rate_hz
    # every live stride is an offline stride, events within one sample
    nearest = np.abs(ic_live[:, None] - ic_off[None, :]).min(axis=1)
    assert nearest.max() <= 1.0 / fs
    assert len(ic_live) == len(ic_off)  # the last one too: the end of the stream flushed it
    rows = offline.strides.rows()  # rounded like the live strides
    for key in ("toe_off_s", "shank_angle_at_ic_deg", "late_swing_peak_decel_dps2", "cadence_spm"):
        live = as_arrays(pipe.strides, key)
        off = as_arrays(rows, key)
        np.testing.assert_allclose(live, off, rtol=1e-3, atol=2e-3, err_msg=key)
    # and the same alerts as the offline policy on those strides
    policy = alerts_for_strides(
        rows,
        leg="R",
        angle_calibrated=True,
        config=short_warmup(),
    )
    live_alerts = [
        (a.kind, a.state, a.stride_index) for a in pipe.alerts if a.stride_index is not None
    ]
    off_alerts = [
        (a.kind, a.state, a.stride_index) for a in policy.alerts_ if a.stride_index is not None
    ]
    assert live_alerts == off_alerts
    assert any(k.value == "overstride" for k, _, _ in live_alerts)


def test_each_stride_is_out_within_one_step(streamed: tuple) -> None:
    _run, pipe, _events, ends, _frames = streamed
    pushed = pipe.strides[: len(ends)]  # the ones the samples released (not the final flush)
    assert len(pipe.strides) - len(ends) <= 1
    nxt = as_arrays(pushed, "next_initial_contact_s")
    step_s = as_arrays(pushed, "stride_time_s") / 2
    delay = np.asarray(ends) - nxt
    after_alignment = (
        as_arrays(pushed, "initial_contact_s") > 25.0
    )  # strides before the shank frame is known are released together
    assert np.all(delay[after_alignment] <= step_s[after_alignment])
    assert np.median(delay[after_alignment]) < 0.25


def test_calibration_prompt_and_result(streamed: tuple) -> None:
    _run, _pipe, events, _ends, _frames = streamed
    cal = [e for e in events if isinstance(e, CalibrationUpdate)]
    # the prompt, the countdown counted on the samples while the runner stands, then the result
    assert cal[0].state == "stand_still" and cal[0].seconds_left is None
    assert "Stand still" in cal[0].message
    counts = [c.seconds_left for c in cal if c.state == "stand_still" and c.seconds_left]
    # the simulated runner stands about 5 s and sets off as it ends: at least 5, 4, 3 are shown
    assert len(counts) >= 3 and counts == [5.0, 4.0, 3.0, 2.0, 1.0][: len(counts)]
    assert [c.state for c in cal][-2:] == ["ready", "done"]
    strides = [e for e in events if isinstance(e, StrideUpdate)]
    assert strides and strides[0].metrics["cadence_spm"] is not None


def test_no_standing_means_relative_angles() -> None:
    run = simulate("steady", duration_s=60, rate_hz=200, seed=2, leg="L")
    rec = run.recording
    keep = rec.time_s > 8.0  # the runner starts without standing still
    analyzer = StreamingAnalyzer("S-L", "L")
    t = rec.time_s[keep] - rec.time_s[keep][0]
    assert rec.acc_mps2 is not None and rec.gyr_dps is not None
    for a in range(0, t.size, 50):
        analyzer.push(t[a : a + 50], rec.acc_mps2[keep][a : a + 50], rec.gyr_dps[keep][a : a + 50])
    states = [c.state for c in analyzer.calibration_events()]
    # the prompt leaves the screens as soon as the runner moves ("pending"), then the verdict
    assert states == ["stand_still", "pending", "skipped"]
    assert not analyzer.angle_calibrated


def test_replay_reproduces_the_live_alerts(tmp_path: Path) -> None:
    run = simulate("overstride_episode", duration_s=200, rate_hz=200, seed=8, leg="L")
    frames = make_frames(run, mtu=185, seed=8)
    path = tmp_path / "run.sgrec"
    live_events: list[LiveEvent] = []
    pipe = SensorPipeline(
        "StrideGuard-L",
        "L",
        StreamingAnalyzer("StrideGuard-L", "L"),
        live_events.append,
        config=short_warmup(),
    )
    with RecordingWriter(path, {"sensors": ["StrideGuard-L"]}) as rec:
        for i in range(0, len(frames.payloads), 3):
            batch = frames.payloads[i : i + 3]
            arr = list(frames.arrival_s[i : i + 3])
            for pl, a in zip(batch, arr, strict=True):
                rec.append_frame(pl, arrival_s=a)
            pipe.push(batch, arr)
    pipe.finish()
    replayed: list[LiveEvent] = []
    again = replay(path, replayed.append, config=short_warmup())
    again.finish()
    live_alerts = [(a.kind, a.state, a.stride_index) for a in pipe.alerts]
    replay_alerts = [(a.kind, a.state, a.stride_index) for a in again.pipelines[0].alerts]
    assert live_alerts and live_alerts == replay_alerts
    np.testing.assert_allclose(
        as_arrays(again.pipelines[0].strides, "initial_contact_s"),
        as_arrays(pipe.strides, "initial_contact_s"),
        atol=1e-9,
    )


def test_run_summary_counts_the_alert_events_it_lists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from strideguard.cli import main

    # 6 min with an overstride episode long enough for a reminder: raised, reminder, ended
    run = simulate("overstride_episode", duration_s=360, rate_hz=200, seed=5, leg="R")
    frames = make_frames(run, mtu=247, seed=5)
    path = tmp_path / "run.sgrec"
    with RecordingWriter(path, {"sensors": ["StrideGuard-R"]}) as rec:
        for pl, a in zip(frames.payloads, frames.arrival_s, strict=True):
            rec.append_frame(pl, arrival_s=float(a))
    config = tmp_path / "alerts.toml"
    config.write_text("[baseline]\nskip_s = 20\nduration_s = 60\n")
    argv = ["replay", str(path), "--fast", "--plain", "--no-sound", "--alert-config", str(config)]
    assert main(argv) == 0
    text = capsys.readouterr().out.split("=== run summary ===")[1]
    again = replay(path, lambda e: None, config=short_warmup())
    states = [a["state"] for a in again.finish()["sensors"][0]["alerts"]]
    assert "reminder" in states
    header, *rest = text.strip().splitlines()
    listed = [ln for ln in rest if ln.startswith("  ")]
    count = int(re.search(r"(\d+) alert events", header).group(1))  # type: ignore[union-attr]
    assert count == len(listed) == len([s for s in states if s != "reminder"])
    assert re.search(rf"and {states.count('reminder')} reminders?, not listed", header)


@pytest.mark.slow
def test_kill_9_leaves_a_readable_recording(tmp_path: Path) -> None:
    path = tmp_path / "killed.sgrec"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "strideguard",
            "live",
            "--virtual",
            "steady",
            "--virtual-duration",
            "300",
            "--speed",
            "4",
            "--one-leg",
            "--plain",
            "--no-sound",
            "--record",
            str(path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if path.exists() and path.stat().st_size > 60_000:
                break
            time.sleep(0.2)
        else:
            pytest.fail(
                "live run did not start recording: " + proc.stdout.read().decode()
                if proc.stdout
                else ""
            )
        time.sleep(2.0)
        size_before_kill = path.stat().st_size
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        t_kill = time.monotonic()
    finally:
        if proc.poll() is None:
            proc.kill()
        if proc.stdout:
            proc.stdout.close()
    rec = read_recording(path)
    assert rec.header["sensors"] == ["StrideGuard-R"]
    frames = rec.frame_records(0)
    assert frames.size > 100
    decoded = decode_frames([rec.payload(i) for i in frames], rec.arrival_s[frames])
    assert decoded.report.frames_rejected == 0
    # what reached the file: at most one second (flush interval) short of what was received
    lag_s = rec.arrival_s[-1]
    assert lag_s > 0
    assert path.stat().st_size >= size_before_kill
    del t_kill
