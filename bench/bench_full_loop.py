"""Full loop: real firmware (virtual board) -> bumble BLE -> live host; IC-to-sink latency at real time."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time

import numpy as np

from strideguard.alerts.config import config_from_dict
from strideguard.ble.receiver import scan
from strideguard.live.run import LiveRun, run_ble
from strideguard.live.updates import AlertUpdate, LiveEvent, StrideUpdate
from strideguard_devkit.bumble_backend import VirtualAir
from strideguard_devkit.linkloss import NotificationLoss
from strideguard_devkit.sim import simulate
from strideguard_devkit.vboard import VirtualBoard

DURATION_S = 75.0
DATA_CHAR = "7d2e0002-5a4b-4c6f-9e21-53545244474e"


def process_cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used so far (Linux ``/proc``; NaN elsewhere)."""
    if pid is None:
        return float("nan")
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _main(
    loss: NotificationLoss | None = None, duration_s: float = DURATION_S
) -> dict[str, object]:
    """The full loop at real time (``loss``: notifications lost on the air)."""
    logging.getLogger("bumble").setLevel(logging.ERROR)
    run = simulate(
        "overstride_episode", duration_s=duration_s, rate_hz=500, seed=2, leg="R", clock_error=0.0
    )
    air = VirtualAir()
    board = VirtualBoard(
        air,
        run,
        leg="R",
        rate_hz=500,
        speed=1.0,
        loop=False,
        paused=True,
        play_on_stream=True,
        loss=loss,
    )
    await board.start()
    fw_cpu0 = process_cpu_s(board.pid)
    lat_stride: list[float] = []
    lat_alert: list[float] = []
    holder: list[LiveRun] = []

    def emit(event: LiveEvent) -> None:
        now = time.monotonic()
        if not holder:
            return
        clock = holder[0].pipelines[0].clock
        origin = clock.origin_index
        if isinstance(event, StrideUpdate):
            ic = event.metrics.get("next_initial_contact_s")
            if ic is not None:
                idx = origin + round(float(ic) * clock.rate_hz)
                lat_stride.append(now - float(board.sample_time_s(idx)))
        elif isinstance(event, AlertUpdate) and event.alert.stride_index is not None:
            s = holder[0].pipelines[0].strides[event.alert.stride_index]
            ic = s.get("next_initial_contact_s")
            if ic is not None:
                idx = origin + round(float(ic) * clock.rate_hz)
                lat_alert.append(now - float(board.sample_time_s(idx)))

    cfg = config_from_dict({"baseline": {"skip_s": 10, "duration_s": 20}})
    cpu0 = time.process_time()
    t0 = time.monotonic()
    try:
        found = [f for f in await scan(3.0, backend=air.backend) if f.name == "StrideGuard-R"]

        def finished(r: LiveRun) -> bool:
            if not holder:
                holder.append(r)
            p = r.pipelines[0]
            return p.samples + p.samples_lost >= len(run.raw) - 10

        live = await run_ble(
            found,
            ["StrideGuard-R"],
            emit,
            backend=air.backend,
            config=cfg,
            until=finished,
            duration_s=duration_s * 3 + 30,
            status_every_s=0.4,
        )
        status = board.notified
        fw_cpu = process_cpu_s(board.pid) - fw_cpu0
        lost_air = board.notify_lost
        resent = [int(m) for m in re.findall(r"resent=(\d+)", "\n".join(board.console))]
    finally:
        await board.stop()
    cpu = time.process_time() - cpu0
    p = live.pipelines[0]
    return {
        "firmware_cpu_s": fw_cpu,
        "data_notifications": int(status.get(DATA_CHAR, 0)),
        "lost_on_air": lost_air,
        "resent_frames": resent[-1] if resent else 0,
        "samples_backfilled": p.assembler.backfilled,
        "samples_sent": len(run.raw),
        "samples_received": p.samples,
        "samples_lost": p.samples_lost,
        "frames_notified": status,
        "wall_s": time.monotonic() - t0,
        "cpu_s": cpu,
        "lat_stride": np.asarray(lat_stride),
        "lat_alert": np.asarray(lat_alert),
        "strides": len(p.strides),
    }


def run() -> None:
    """Print delivery, loss, latency and CPU through the full loop."""
    r = asyncio.run(_main())
    sent = int(r["samples_sent"])  # type: ignore[call-overload]
    got = int(r["samples_received"])  # type: ignore[call-overload]
    print(
        f"full loop at real time, 500 Hz, {DURATION_S:.0f} s: samples delivered {got} of {sent} sent ({100 * got / sent:.2f} %), lost in flagged gaps {r['samples_lost']}"
    )
    print(f"notifications sent by the firmware: {r['frames_notified']}")
    print(
        f"strides {r['strides']}; process CPU (host + bumble + bridge; firmware runs in its own process) {1000 * float(r['cpu_s']) / DURATION_S:.0f} ms per second of data"
    )  # type: ignore[arg-type]
    ls = np.asarray(r["lat_stride"])
    ls = ls[
        ls < 2.0
    ]  # strides released together when the shank frame is found are not live latency
    if ls.size:
        print(
            f"closing IC sample measured on the board -> stride in the host sinks: p50 {1000 * np.percentile(ls, 50):.0f} ms, p95 {1000 * np.percentile(ls, 95):.0f} ms ({ls.size} strides)"
        )
    la = np.asarray(r["lat_alert"])
    la = la[la < 2.0]
    if la.size:
        print(
            f"closing IC sample -> alert in the host sinks: p50 {1000 * np.percentile(la, 50):.0f} ms, p95 {1000 * np.percentile(la, 95):.0f} ms ({la.size} alerts)"
        )
