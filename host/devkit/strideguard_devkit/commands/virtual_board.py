"""``strideguard virtual-board`` — the real firmware on simulated hardware, seen over BLE.

Boots one or two virtual boards (the ``firmware/`` code in the MicroPython
Unix port with a simulated MPU6050 playing a simulator scenario, radio bridged
to a bumble peripheral), connects the host's receiver to them over the bumble
backend exactly as to real boards, starts the scenario (the sensors stand
still until then), streams ``--duration`` board seconds of it and prints what
arrived. The duration counts from the scenario's start: each board's report
covers stream samples ``play_index .. play_index + duration × rate`` (the
samples of the standing wait before it are reported apart). ``--pty`` also puts each board's console on a
pseudo-terminal for ``mpremote`` / ``make flash PORT=...`` and keeps running
until Ctrl-C.

Each board's report lists the motor's activity as seen on its simulated
haptic pin (:func:`strideguard_devkit.vboard.motor.motor_activity`: pattern,
start, end, acknowledged when and by whom, in board seconds since boot).
``--pattern`` makes the host send an alert pattern (as the live host does for
an alert of that severity) during the scenario; ``--acknowledge-at`` sends the
host's ``OP_ACKNOWLEDGE`` and ``--hold-at`` holds the BOOT button 2.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from strideguard import protocol as proto
from strideguard.cliargs import SEED_MAX, real, whole
from strideguard.errors import InputError

if TYPE_CHECKING:
    from strideguard.assembler import SampleBlock, StreamAssembler
    from strideguard.ble.receiver import SensorLink
    from strideguard_devkit.vboard import VirtualBoard

#: patterns ``--pattern`` can send (the host's, from ``alerts/config.py`` ``PatternConfig``)
PATTERN_NAMES = ("stop", "caution", "coach")
#: ``--pattern coach`` plays the metronome at this cadence (steps/min)
COACH_CADENCE_SPM = 170.0
#: ``--hold-at`` holds the button this long (2 s or more acknowledges)
HOLD_S = 2.5


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``virtual-board`` parser."""
    p = subparsers.add_parser(
        "virtual-board",
        help="run the real firmware on simulated hardware and receive it over (virtual) BLE",
        description=(
            "Run firmware/*.py in the MicroPython Unix port with a simulated MPU6050 playing a "
            "simulator scenario; its Bluetooth is a bumble peripheral the host's receiver "
            "connects to like to a real board."
        ),
    )
    p.add_argument("--leg", choices=("L", "R", "LR"), default="L", help="board(s) to run")
    p.add_argument("--scenario", default="steady", help="simulator scenario (default steady)")
    p.add_argument(
        "--speed",
        type=real(0, 200, lo_open=True),
        default=1.0,
        help="board time / wall time, up to 200 (default 1)",
    )
    p.add_argument(
        "--rate",
        type=whole(1, 100_000),
        choices=proto.SUPPORTED_RATES_HZ,
        default=500,
        dest="rate_hz",
        metavar="HZ",
        help="sample rate in Hz (default 500)",
    )
    p.add_argument(
        "--duration",
        type=real(0, 3600, lo_open=True),
        default=10.0,
        metavar="S",
        help="board seconds of the scenario to stream, counted from its start (default 10)",
    )
    p.add_argument("--seed", type=whole(0, SEED_MAX), default=0, help="simulator seed")
    p.add_argument(
        "--pty",
        action="store_true",
        help="print each board's pseudo-terminal (for make flash PORT=...) and run until Ctrl-C",
    )
    p.add_argument("--console", action="store_true", help="echo the boards' console lines")
    p.add_argument("--format", choices=("text", "json"), default="text", help="summary format")
    p.add_argument(
        "--pattern",
        choices=PATTERN_NAMES,
        help="the host sends this alert pattern (coach: at 170 steps/min) during the scenario",
    )
    at = real(0, 3600)
    p.add_argument(
        "--pattern-at",
        type=at,
        default=1.0,
        metavar="S",
        help="board seconds into the scenario to send --pattern (default 1)",
    )
    p.add_argument(
        "--acknowledge-at",
        type=at,
        metavar="S",
        help="the host acknowledges (OP_ACKNOWLEDGE) this many board seconds into the scenario",
    )
    p.add_argument(
        "--hold-at",
        type=at,
        metavar="S",
        help=f"hold the BOOT button {HOLD_S:g} s (acknowledge) this many board seconds in",
    )
    p.set_defaults(_run=run)


def run(args: argparse.Namespace) -> int:
    """Run the boards; 0 when every board streamed without unflagged loss."""
    try:
        from strideguard_devkit.mp import micropython_binary
        from strideguard_devkit.sim import get_scenario

        micropython_binary()
    except (ImportError, FileNotFoundError) as exc:
        raise InputError(f"the virtual board needs bumble and micropython: {exc}") from exc
    try:
        get_scenario(args.scenario)
    except (KeyError, ValueError) as exc:
        raise InputError(f"unknown scenario {args.scenario!r}") from exc
    if args.pty and (args.pattern or args.acknowledge_at is not None or args.hold_at is not None):
        raise InputError(
            "--pattern, --acknowledge-at and --hold-at need a run with an end (no --pty)"
        )
    for name in ("pattern_at", "acknowledge_at", "hold_at"):
        at = getattr(args, name)
        if at is not None and (name != "pattern_at" or args.pattern) and at >= args.duration:
            raise InputError(
                f"--{name.replace('_', '-')} {at:g} is not inside --duration {args.duration:g}"
            )
    summary = asyncio.run(_main(args))
    if args.format == "json":
        print(json.dumps(summary))
    else:
        for b in summary["boards"]:
            print(
                f"{b['name']}: {b['samples']} of {b['samples_expected']} samples of the scenario's "
                f"first {summary['board_s']:g} s, {b['gaps']} gaps ({b['samples_missing']} "
                f"missing); {b['standing_samples']} standing samples before it; "
                f"{b['frames']} frames; board lost {b['board_samples_lost']}; RSC cadence "
                f"(median while running) {b['rsc_cadence_spm']} steps/min"
            )
            for a in b["motor"]:
                print(f"  motor: {_activity_text(a, b['scenario_start_s'])}")
        print(
            f"{summary['board_s']:g} board seconds of the scenario in {summary['wall_s']:.1f} s wall"
        )
    return 0 if all(b["samples"] > 0 for b in summary["boards"]) else 1


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    """Boot, connect, play, stream ``args.duration`` board seconds of the scenario; summarise.

    Per board: ``samples`` received of the scenario's stream indices ``play_index ..
    play_index + samples_expected`` (``samples_missing`` of them in ``gaps``),
    ``standing_samples`` received before the scenario started, ``frames`` in all.
    """
    from strideguard.ble.receiver import Receiver, scan
    from strideguard_devkit.bumble_backend import VirtualAir
    from strideguard_devkit.sim import simulate
    from strideguard_devkit.vboard import VirtualBoard

    air = VirtualAir()
    legs = list(args.leg)
    sim_s = max(30.0, min(args.duration + 10.0, 3600.0))
    boards = [
        VirtualBoard(
            air,
            simulate(
                args.scenario, duration_s=sim_s, rate_hz=args.rate_hz, seed=args.seed, leg=leg
            ),
            leg=leg,
            rate_hz=args.rate_hz,
            speed=args.speed,
            pty=args.pty,
            paused=True,  # the scenario starts when the host streams
        )
        for leg in legs
    ]
    for b in boards:
        b.echo = args.console
        await b.start()
        if b.port is not None:
            print(f"{b.name}: make flash PORT={b.port} LEG={b.leg}", flush=True)
    rsc: dict[int, list[int]] = {i: [] for i in range(len(boards))}
    first_index: dict[int, int] = {}  # stream -> index of its first received sample

    def on_samples(block: SampleBlock) -> None:
        if block.n_samples:
            first_index.setdefault(block.stream, int(block.sample_index[0]))

    out: list[dict[str, Any]] = []
    results: list[dict[str, int | None]] = []  # per board: the answers to the host's writes
    n_scenario = round(args.duration * args.rate_hz)
    t0 = time.monotonic()
    try:
        sensors = await scan(1.0, backend=air.backend)
        async with Receiver(sensors, backend=air.backend, on_samples=on_samples) as rx:
            for i, link in enumerate(rx.links):
                client = link._client
                if client is not None:
                    await client.start_notify(proto_rsc_uuid(), _collector(rsc[i]))
            for b in boards:
                await b.play()
            if args.pty:
                while True:
                    await asyncio.sleep(3600)
            timeout_s = args.duration / args.speed * 3 + 30
            actions = [
                asyncio.ensure_future(_act(args, b, link, timeout_s))
                for b, link in zip(boards, rx.links, strict=True)
            ]
            await asyncio.gather(
                *(
                    _wait_index(link.assembler, b.play_index + n_scenario, timeout_s, link.label)
                    for b, link in zip(boards, rx.links, strict=True)
                )
            )
            for result in await asyncio.gather(*actions):
                results.append(result)
            statuses = [await link.read_status() for link in rx.links]
            out = []
            for i, (b, link) in enumerate(zip(boards, rx.links, strict=True)):
                a = link.assembler
                window = (b.play_index, b.play_index + n_scenario)
                first = first_index.get(link.stream, window[0])
                holes = [g for g in a.gaps if _overlap((g[0], g[0] + g[1]), window) > 0]
                missing = sum(_overlap((g[0], g[0] + g[1]), window) for g in holes)
                before = sum(_overlap((g[0], g[0] + g[1]), (first, window[0])) for g in a.gaps)
                out.append(
                    {
                        "name": link.name,
                        "samples": _overlap((first, window[1]), window) - missing,
                        "samples_expected": n_scenario,
                        "gaps": len(holes),
                        "samples_missing": missing,
                        "standing_samples": max(window[0] - first, 0) - before,
                        "frames": int(link.stats.notifications),
                        "board_samples_lost": statuses[i]["samples_dropped"],
                        "rsc_cadence_spm": _median_running(rsc[i]),
                        "scenario_start_s": b.play_board_us / 1e6,
                        "host_writes": results[i],
                        "motor": b.motor_activity(),
                    }
                )
    finally:
        for b in boards:
            await b.stop()
    return {"board_s": args.duration, "wall_s": time.monotonic() - t0, "boards": out}


async def _act(
    args: argparse.Namespace, board: VirtualBoard, link: SensorLink, timeout_s: float
) -> dict[str, int | None]:
    """``--pattern``, ``--acknowledge-at``, ``--hold-at`` on one board, in board-time order.

    Returns the board's answer to each host write (``pattern``, ``acknowledge``).
    """
    from strideguard.alerts.config import PatternConfig
    from strideguard.live.alarm import caution_pattern, coach_pattern, stop_pattern

    cfg = PatternConfig()
    steps: list[tuple[float, str]] = []
    if args.pattern:
        steps.append((args.pattern_at, "pattern"))
    if args.acknowledge_at is not None:
        steps.append((args.acknowledge_at, "acknowledge"))
    if args.hold_at is not None:
        steps.append((args.hold_at, "hold"))
    answers: dict[str, int | None] = {}
    deadline = time.monotonic() + timeout_s
    for at_s, what in sorted(steps):
        target_us = board.play_board_us + at_s * 1e6
        while not board.board_us_at(time.monotonic()) >= target_us:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{link.label}: board time never reached {at_s:g} s")
            await asyncio.sleep(0.002)
        if what == "hold":
            board.hold_button(HOLD_S)
        elif what == "acknowledge":
            answers["acknowledge"] = await link.acknowledge()
        else:
            pattern = {
                "stop": stop_pattern(cfg),
                "caution": caution_pattern(cfg),
                "coach": coach_pattern(cfg, COACH_CADENCE_SPM),
            }[args.pattern]
            answers["pattern"] = await link.play_pattern(pattern.encode())
    return answers


def _activity_text(a: dict[str, Any], start_s: float) -> str:
    """One line about a motor activity, in seconds of the scenario."""
    text = f"{a['pattern']} from {a['start_s'] - start_s:.2f} s"
    if a["end_s"] is not None:
        text += f" to {a['end_s'] - start_s:.2f} s"
    plays, n = a["plays"], a["pulses"]
    text += f" ({plays} play{'s' if plays != 1 else ''}, {n} pulse{'s' if n != 1 else ''})"
    if a["acknowledged_s"] is not None:
        text += (
            f", acknowledged by the {a['acknowledged_by']} at {a['acknowledged_s'] - start_s:.2f} s"
        )
    return text


async def _wait_index(assembler: StreamAssembler, index: int, timeout_s: float, label: str) -> None:
    """Wait until the stream has reached sample ``index`` (received, or lost in a gap)."""
    deadline = time.monotonic() + timeout_s
    while assembler.next_index is None or assembler.next_index < index:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{label}: stream index {assembler.next_index} of {index}")
        await asyncio.sleep(0.005)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Length of the overlap of two half-open index ranges."""
    return max(min(a[1], b[1]) - max(a[0], b[0]), 0)


def _median_running(cadences: list[int]) -> int:
    """Median of the non-zero RSC cadences (0 when the runner never ran)."""
    running = sorted(c for c in cadences if c > 0)
    return running[len(running) // 2] if running else 0


def _collector(values: list[int]) -> Any:
    """RSC notification callback appending the cadence byte to ``values``."""

    def on_rsc(_char: object, data: bytearray) -> None:
        values.append(int(data[3]))

    return on_rsc


def proto_rsc_uuid() -> str:
    """The RSC Measurement characteristic's UUID (bleak form)."""
    return f"0000{proto.RSC_MEASUREMENT_UUID16:04x}-0000-1000-8000-00805f9b34fb"
