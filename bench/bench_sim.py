"""Simulator throughput: samples per second for long runs, frame packing, realism numbers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from strideguard.frames import decode_frames
from strideguard_devkit.sim import simulate, simulate_pair
from strideguard_devkit.sim.transport import LinkFaults, make_frames

T = TypeVar("T")


def _timed(label: str, fn: Callable[[], T], n_samples_of: Callable[[T], int] | None = None) -> T:
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    extra = ""
    if n_samples_of is not None:
        n = n_samples_of(out)
        extra = f"  {n:,} samples, {n / dt / 1e6:.2f} M samples/s"
    print(f"{label:48s} {dt:7.2f} s{extra}", flush=True)
    return out


def run() -> None:
    """Print simulator, transport and realism numbers."""
    hour = _timed(
        "simulate('long_run_fatigue', 1 h, 500 Hz)",
        lambda: simulate("long_run_fatigue", duration_s=3600, rate_hz=500, seed=1),
        lambda r: r.recording.n_samples,
    )
    print(f"    {hour.truth.n_strides} strides with ground truth")
    _timed(
        "simulate('intervals', 1 h, 1000 Hz)",
        lambda: simulate("intervals", duration_s=3600, rate_hz=1000, seed=2),
        lambda r: r.recording.n_samples,
    )
    _timed(
        "simulate_pair('demo', 600 s, 500 Hz)",
        lambda: simulate_pair("demo", duration_s=600, rate_hz=500, seed=3),
        lambda p: p[0].recording.n_samples + p[1].recording.n_samples,
    )
    faults = LinkFaults(loss_rate=0.01, burst_rate=0.001, duplicate_rate=0.005, reorder_rate=0.005)
    fs = _timed(
        "make_frames(1 h, MTU 247, faults)",
        lambda: make_frames(hour, mtu=247, faults=faults, seed=1),
    )
    print(f"    {len(fs.frames):,} notifications, {fs.truth.dropped.size:,} lost")
    _timed(
        "strideguard.frames.decode_frames(those)",
        lambda: decode_frames(fs.payloads, fs.arrival_s),
        lambda d: d.n_samples,
    )
    try:
        from bench.sim_realism import compare
    except ImportError:  # pragma: no cover - bench run from elsewhere
        return
    print("realism vs shared real data:")
    compare(None)


if __name__ == "__main__":
    run()
