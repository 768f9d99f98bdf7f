"""Benchmark ``strideguard analyze`` on one hour of 6-axis data at 500 Hz.

The hour is built from the RBDS test recording (resampled to 500 Hz and
repeated, randomly rotated, with sensor noise), so the detectors see a real
stride shape. Prints samples/s (best of three untraced runs: the machine may be shared)
and peak traced memory (a run under tracemalloc) per stage; nothing is
asserted.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data"


def _hour(rate_hz: float = 500.0, duration_s: float = 3600.0) -> Any:
    from strideguard.imudata import ImuRecording
    from strideguard.load import read_csv

    rec, _ = read_csv(DATA / "RBDS0041_T25_R_mpu.csv")
    assert rec.acc_mps2 is not None and rec.gyr_dps is not None
    # one whole number of strides, so the repeats join smoothly
    t_src = rec.time_s - rec.time_s[0]
    period = 38 * 0.7623
    n = int(duration_s * rate_hz)
    t = np.arange(n) / rate_hz
    tq = 1.0 + np.mod(t, period)
    rng = np.random.default_rng(0)
    acc = np.column_stack([np.interp(tq, t_src, rec.acc_mps2[:, j]) for j in range(3)])
    gyr = np.column_stack([np.interp(tq, t_src, rec.gyr_dps[:, j]) for j in range(3)])
    acc += rng.normal(0, 0.04, acc.shape)
    gyr += rng.normal(0, 0.5, gyr.shape)
    return ImuRecording(t, acc, gyr, rate_hz, source="bench-hour")


def _write_sgrec(path: Path, rec: Any) -> None:
    from strideguard import protocol as proto
    from strideguard.frames import encode_frames
    from strideguard.recording import RecordingWriter

    raw = np.column_stack(
        [rec.acc_mps2 / 9.80665 * proto.ACC_LSB_PER_G, rec.gyr_dps * proto.GYR_LSB_PER_DPS_X10 / 10]
    ).round()
    frames = encode_frames(raw, rate_hz=500, mtu=247)
    with RecordingWriter(path, {"sensors": ["StrideGuard-R"]}) as w:
        for i, f in enumerate(frames):
            w.append_frame(f, arrival_s=i * 0.036)


def _stage(name: str, n: int, fn: Callable[[], Any], repeat: int = 3) -> Any:
    """Best of ``repeat`` untraced runs of ``fn``, then one under tracemalloc for its peak memory."""
    dt = float("inf")
    best: Any = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        if time.perf_counter() - t0 < dt:
            dt, best = time.perf_counter() - t0, out
        del out
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{name:32s} {dt:7.3f} s  {n / dt / 1e6:8.2f} M samples/s  peak {peak / 2**20:7.1f} MB")
    return best


def run() -> None:
    """Print per-stage timing and memory for one hour at 500 Hz."""
    from strideguard.align import ShankAligner
    from strideguard.analysis import analyze
    from strideguard.events import GyroEventDetector, MidSwingDetector
    from strideguard.imudata import write_csv
    from strideguard.load import load_recording, read_csv
    from strideguard.metrics import shank_angle_at_ic

    rec = _hour()
    n = rec.n_samples
    print(f"one hour of 6-axis data: {n} samples at {rec.sampling_rate_hz:.0f} Hz")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.csv"
        t0 = time.perf_counter()
        write_csv(rec, path)
        print(
            f"(writing the CSV: {time.perf_counter() - t0:.1f} s, {path.stat().st_size / 2**20:.0f} MB)"
        )
        loaded, rep = _stage("load CSV", n, lambda: read_csv(path), repeat=1)
        print(f"  parser: {rep.parser}")
        raw = Path(tmp) / "hour.sgrec"
        _write_sgrec(raw, rec)
        print(f"(raw recording: {raw.stat().st_size / 2**20:.0f} MB)")
        _stage("load raw .sgrec", n, lambda: load_recording(raw))

        def end_to_end() -> Any:
            r, _ = load_recording(raw)
            return analyze(r)

        _stage("raw .sgrec -> analyze() total", n, end_to_end)
    al = _stage("calibration/alignment", n, lambda: ShankAligner().align(loaded).alignment_)
    fs = loaded.sampling_rate_hz

    def events() -> Any:
        g = (loaded.gyr_dps - al.gyro_bias_dps) @ al.rotation[1]
        up = -(loaded.acc_mps2 @ al.rotation[2])
        ms = MidSwingDetector().detect(g, sampling_rate_hz=fs)
        return g, ms, GyroEventDetector().detect(g, ms.peaks_, up, sampling_rate_hz=fs)

    _, ms, ev = _stage("events", n, events)
    print(f"  strides: {ms.peaks_.size}")
    acc_s = loaded.acc_mps2 @ al.rotation.T
    gyr_s = (loaded.gyr_dps - al.gyro_bias_dps) @ al.rotation.T
    _stage(
        "metrics (shank angle, 3-D)",
        n,
        lambda: shank_angle_at_ic(gyr_s, acc_s, ev.ic_s_[:-1], ev.ic_s_[1:], sampling_rate_hz=fs),
    )
    res = _stage("analyze() on data in memory", n, lambda: analyze(loaded))
    st = res.stage_times  # of the fastest untraced run
    total = st.alignment_s + st.events_s + st.metrics_s
    print(
        f"analyze() stages: alignment {st.alignment_s:.3f} s, events {st.events_s:.3f} s, "
        f"metrics {st.metrics_s:.3f} s, total {total:.3f} s ({n / total / 1e6:.1f} M samples/s)"
    )


if __name__ == "__main__":
    run()
