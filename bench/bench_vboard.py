"""Virtual board, full loop: real firmware (MicroPython) → bridge → bumble → bleak receiver.

Frames and samples the firmware sent vs those the host decoded, sample loss,
achieved speed, and host CPU (this process: bumble, bleak, receiver) per
second of board data, and the latency from a sample's measurement (board clock mapped
to wall time) to its decoding on the host, at 500 Hz, speed 1 and accelerated. The MicroPython
process's own CPU is reported separately.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import time

import numpy as np

from strideguard.assembler import SampleBlock
from strideguard.ble.receiver import SensorLink
from strideguard_devkit.bumble_backend import VirtualAir
from strideguard_devkit.vboard import VirtualBoard, synthetic_gait

DATA_CHAR = "7d2e0002-5a4b-4c6f-9e21-53545244474e"


def _child_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


async def _one(speed: float, board_s: float) -> None:
    air = VirtualAir()
    async with VirtualBoard(air, synthetic_gait(30, 500), speed=speed) as board:
        arrivals: list[tuple[int, float]] = []  # (last sample index of a block, monotonic)

        def on_samples(block: SampleBlock) -> None:
            arrivals.append((int(block.sample_index[-1]), time.monotonic()))

        async with SensorLink("StrideGuard-L", backend=air.backend, on_samples=on_samples) as link:
            await link.wait_samples(500, 30)
            n0, f0 = link.assembler.samples, link.stats.notifications
            sent0 = board.notified.get(DATA_CHAR, 0)
            t0, c0 = time.monotonic(), time.process_time()
            await link.wait_samples(n0 + int(board_s * 500), board_s / speed * 4 + 30)
            with contextlib.suppress(TimeoutError):  # a saturated host answers late
                await link.stop_stream()
            while link.stats.notifications - f0 < board.notified.get(DATA_CHAR, 0) - sent0:
                if time.monotonic() - t0 > board_s / speed * 4 + 30:
                    break  # lost in flight
                await asyncio.sleep(0.01)
            wall = time.monotonic() - t0
            cpu = time.process_time() - c0
            status = await link.read_status()
            idx = np.array([a[0] for a in arrivals])
            latency_ms = (np.array([a[1] for a in arrivals]) - board.sample_time_s(idx)) * 1000
            samples = link.assembler.samples - n0
            frames = link.stats.notifications - f0
            sent = board.notified.get(DATA_CHAR, 0) - sent0
    data_s = samples / 500
    print(
        f"speed {speed:>4g}: {data_s:5.1f} s of data in {wall:5.2f} s wall "
        f"(achieved x{data_s / wall:4.1f}); frames sent {sent} / received {frames}; "
        f"samples {samples}, gaps {len(link.assembler.gaps)} ({link.assembler.samples_lost} lost), "
        f"board dropped {status['samples_dropped']}, FIFO overflows {status['fifo_overflows']}; "
        f"host CPU {cpu / data_s * 1000:5.1f} ms per s of data"
    )
    p50, p95 = np.nanpercentile(latency_ms, [50, 95])
    print(
        f"            latency sample measured -> decoded on the host (newest sample of each "
        f"block): p50 {p50:.1f} ms, p95 {p95:.1f} ms (frame fill: 19 samples = 38 ms board)"
    )


async def _pairing_times(rounds: int = 5) -> tuple[list[float], list[float]]:
    """Wall ms of ``strideguard pair`` (bond + identify answered) and of an encrypted reconnect."""
    from bleak import BleakClient

    from strideguard import protocol as proto
    from strideguard.ble.receiver import scan
    from strideguard.commands.pair import pair_sensor

    pair_ms: list[float] = []
    reconnect_ms: list[float] = []
    for _ in range(rounds):
        air = VirtualAir()
        async with VirtualBoard(air, synthetic_gait(4, 500), speed=1.0) as board:
            [sensor] = await scan(0.3, backend=air.backend)
            t0 = time.perf_counter()
            assert (await pair_sensor(sensor, air.backend)).ok
            pair_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            async with BleakClient(board.address, backend=air.backend.client) as client:
                await client.read_gatt_char(proto.STATUS_CHAR_UUID)  # needs the encrypted link
            reconnect_ms.append((time.perf_counter() - t0) * 1000)
    return pair_ms, reconnect_ms


def run() -> None:
    """Print the full-loop numbers at speed 1, 10 and 25, and the pairing times."""
    pair_ms, reconnect_ms = asyncio.run(_pairing_times())
    print(
        "pairing (issue 19), wall ms over 5 boards at speed 1: pair + identify answered "
        f"median {np.median(pair_ms):.0f} (max {max(pair_ms):.0f}); encrypted reconnect + "
        f"status read median {np.median(reconnect_ms):.0f} (max {max(reconnect_ms):.0f})"
    )
    print(f"500 Hz, MTU 247 (19 samples/frame); {os.cpu_count()} CPUs")
    for speed, board_s in ((1.0, 8.0), (10.0, 30.0), (25.0, 60.0)):
        c0 = _child_cpu_s()
        asyncio.run(_one(speed, board_s))
        print(f"            micropython process CPU {(_child_cpu_s() - c0):.2f} s in total")


if __name__ == "__main__":
    run()
