"""``strideguard demo`` — the whole product on a virtual board, in about a minute.

A virtual board — the real ``firmware/`` code running in the MicroPython Unix
port on a simulated MPU6050 — streams a simulated 10-minute run over a virtual
Bluetooth link (Google's bumble stack) to the real live host: streaming
analysis, the alert policy, the terminal view and the phone page.
The run: standing still (calibration), warm-up, steady running, an
overstriding episode at 4:00 (coaching cue), recovery, then an injury-like
guarded gait on the right leg from 7:00 ("stop and get checked").
"""

from __future__ import annotations

import argparse

from strideguard.cliargs import SEED_MAX, real, whole


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` parser."""
    from strideguard.live.sinkargs import add_sink_arguments

    p = subparsers.add_parser(
        "demo",
        help="a simulated 10-minute run on one virtual board (right leg; --two-legs for both), live, in about a minute",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--speed",
        type=real(0, 50, lo_open=True),
        default=10.0,
        help="simulated time runs this many times faster (default 10)",
    )
    p.add_argument(
        "--minutes",
        type=real(3, 60),
        default=10.0,
        help="length of the simulated run, 3-60 (default 10)",
    )
    p.add_argument("--seed", type=whole(0, SEED_MAX), default=1, help="simulator seed")
    p.add_argument(
        "--two-legs",
        action="store_true",
        help="two virtual boards, left and right (about twice as slow)",
    )
    p.add_argument(
        "--board",
        choices=("firmware", "model"),
        default="firmware",
        help="the real firmware in MicroPython (default) or a lighter pure-Python sensor model",
    )
    p.add_argument("--record", default=None, metavar="FILE", help="where to save the recording")
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="end-of-run summary: text, or JSON alone on stdout (the view then goes to stderr)",
    )
    add_sink_arguments(p)
    p.set_defaults(_run=run, web="127.0.0.1")


def run(args: argparse.Namespace) -> int:
    """Run the demo through ``strideguard live --virtual demo``."""
    from pathlib import Path

    from strideguard.commands import live
    from strideguard.live.sinkargs import view_stream

    minutes = args.minutes
    print(
        f"strideguard demo: a simulated {minutes:.0f}-minute run, "
        + ("two shin sensors (left and right)" if args.two_legs else "one shin sensor (right leg)")
        + f", played {args.speed:g}x faster than real time (about {minutes * 60 / args.speed:.0f} s; "
        "longer if this computer cannot keep up).\n"
        + (
            "The board runs the real firmware in the MicroPython Unix port on a simulated MPU6050"
            if args.board == "firmware"
            else "The sensors are a pure-Python model"
        )
        + " and reaches the host over a virtual Bluetooth link; everything on the host is the real product.\n"
        f"Story: stand still 5 s (calibration) · warm-up · steady · overstriding from {0.4 * minutes:.0f}:00 "
        f"(coaching cue) · recovery · guarded gait on the right leg from {0.7 * minutes:.0f}:00 "
        '("stop and get checked").',
        file=view_stream(args),
        flush=True,
    )
    # every option of `live` at its default (new ones included), then the demo's own
    parser = argparse.ArgumentParser(add_help=False)
    live.register(parser.add_subparsers())
    ns = parser.parse_args(["live"])
    for key, value in vars(args).items():
        setattr(ns, key, value)
    ns.virtual = "demo"
    ns.virtual_duration = minutes * 60.0
    ns.one_leg = not args.two_legs
    ns.sensor = []
    ns.duration = None
    ns.record = Path(args.record) if args.record else None
    ns.alert_config = None
    ns.baseline = None
    ns.save_baseline = None
    ns.no_stored_baseline = True  # a simulated runner's normal is not the user's
    return live.run(ns)
