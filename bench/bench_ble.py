"""BLE throughput and host CPU through the bumble virtual link (one and two sensors).

Everything runs in this one process: the virtual sensors, both bumble host
stacks and controllers, and the receiver (SensorLink: callback, bounded queue,
recording, incremental decoding). So the "process CPU" figures are an upper
bound for the receiver; the last table times the receiver's own path alone
(notification callback → queue → recording → StreamAssembler) on the same frames.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from strideguard import protocol as proto
from strideguard.ble.receiver import Receiver, ReconnectPolicy, SensorLink, scan
from strideguard.frames import encode_frames
from strideguard.recording import RecordingWriter
from strideguard_devkit.bumble_backend import VirtualAir
from strideguard_devkit.peripheral import VirtualSensor

RATE_HZ = 500


def _samples(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-8000, 8000, size=(n, 6)).astype(np.int16)


async def _session(n_sensors: int, speed: float, wall_s: float, tmp: Path) -> dict[str, float]:
    air = VirtualAir()
    sensors = [
        VirtualSensor(air, _samples(50_000, i), leg="LR"[i], speed=speed, rate_hz=RATE_HZ)
        for i in range(n_sensors)
    ]
    for s in sensors:
        await s.start()
    found = await scan(0.1, backend=air.backend)
    path = tmp / f"bench-{n_sensors}-{speed:g}.sgrec"
    with RecordingWriter(path, {"sensors": [f.name for f in found]}) as rec:
        rx = Receiver(found, recording=rec, backend=air.backend, policy=ReconnectPolicy(scale=0.1))
        await rx.connect(10)
        await asyncio.sleep(0.2)  # settle
        s0 = [link.assembler.samples for link in rx.links]
        f0 = [link.assembler.frames for link in rx.links]
        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(wall_s)
        cpu1, t1 = time.process_time(), time.perf_counter()
        samples = sum(link.assembler.samples for link in rx.links) - sum(s0)
        frames = sum(link.assembler.frames for link in rx.links) - sum(f0)
        dropped = sum(link.stats.queue_dropped for link in rx.links)
        lost = sum(link.assembler.samples_lost for link in rx.links)
        await rx.close()
    for s in sensors:
        await s.stop()
    wall = t1 - t0
    data_s = samples / RATE_HZ / n_sensors  # seconds of sensor data per sensor
    return {
        "wall_s": wall,
        "frames_per_s": frames / wall,
        "samples_per_s": samples / wall,
        "data_s": data_s,
        "cpu_per_data_s": (cpu1 - cpu0) / max(data_s, 1e-9),
        "queue_dropped": dropped,
        "samples_lost": lost,
    }


async def _receiver_path(n_frames: int, tmp: Path) -> float:
    """Process CPU seconds per frame of the receiver's own path, no radio stack."""
    frames = encode_frames(_samples(19 * n_frames, 9), rate_hz=RATE_HZ, mtu=proto.PREFERRED_MTU)
    with RecordingWriter(tmp / "path.sgrec", {"sensors": ["StrideGuard-L"]}) as rec:
        link = SensorLink("StrideGuard-L", recording=rec, queue_size=1 << 20)
        link._consumer = asyncio.create_task(link._consume())  # the consumer alone
        cpu0 = time.process_time()
        for f in frames:  # one frame per consumer wake-up, as when streaming live
            link._on_data(None, bytearray(f))  # type: ignore[arg-type]
            await asyncio.sleep(0)
        await link.close()
        cpu = time.process_time() - cpu0
    assert link.assembler.samples == 19 * n_frames
    return cpu / n_frames


def run() -> None:
    """Print throughput and CPU per second of data."""
    # the virtual controllers log every ACL packet still in flight when a link closes
    logging.getLogger("bumble.controller").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print(
            f"rate {RATE_HZ} Hz, MTU {proto.PREFERRED_MTU} ({proto.samples_per_frame(247)} samples/frame)"
        )
        print(
            f"{'sensors':>7} {'speed':>6} {'wall s':>7} {'frames/s':>9} {'samples/s':>10} "
            f"{'CPU ms per data s':>18} {'q.dropped':>9} {'lost':>6}"
        )
        for n_sensors in (1, 2):
            for speed, wall_s in ((1.0, 3.0), (20.0, 2.0), (60.0, 2.0)):
                r = asyncio.run(_session(n_sensors, speed, wall_s, tmp))
                print(
                    f"{n_sensors:>7} {speed:>6g} {r['wall_s']:>7.2f} {r['frames_per_s']:>9.0f} "
                    f"{r['samples_per_s']:>10.0f} {1e3 * r['cpu_per_data_s']:>18.2f} "
                    f"{r['queue_dropped']:>9.0f} {r['samples_lost']:>6.0f}"
                )
        per_frame_s = asyncio.run(_receiver_path(5000, tmp))
        frames_per_data_s = RATE_HZ / proto.samples_per_frame(proto.PREFERRED_MTU)
        print(
            f"receiver path alone (callback, queue, recording, decode): {1e6 * per_frame_s:.0f} µs/frame "
            f"= {1e3 * per_frame_s * frames_per_data_s:.2f} ms CPU per second of data per sensor"
        )
        print("(process CPU includes the virtual sensors and both bumble stacks)")


if __name__ == "__main__":
    run()
