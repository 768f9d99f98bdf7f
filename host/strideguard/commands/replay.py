"""``strideguard replay FILE`` — run a recording through the exact live path."""

from __future__ import annotations

import argparse
from pathlib import Path

from strideguard.cliargs import real


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``replay`` parser."""
    from strideguard.live.sinkargs import add_sink_arguments

    p = subparsers.add_parser(
        "replay",
        help="run a recording through the live path (same strides and alerts as live)",
        description="Feed a .sgrec recording frame by frame through the live pipeline (decoding, streaming "
        "analysis, alert policy, sinks): it raises the alerts the live run raised.",
    )
    p.add_argument("recording", type=Path, help="a .sgrec recording (what `live` writes)")
    speed = p.add_mutually_exclusive_group()
    speed.add_argument(
        "--speed",
        type=real(0, 10000, lo_open=True),
        default=None,
        metavar="N",
        help="play N times faster than recorded (up to 10000)",
    )
    speed.add_argument("--fast", action="store_true", help="as fast as possible (default)")
    p.add_argument(
        "--alert-config",
        type=Path,
        default=None,
        metavar="FILE",
        help="alert settings (TOML or JSON, see docs/alerts.md)",
    )
    p.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="FILE",
        help="stored personal baseline profile (JSON)",
    )
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="end-of-run summary: text, or JSON alone on stdout (the view then goes to stderr)",
    )
    add_sink_arguments(p)
    p.set_defaults(_run=run)


def run(args: argparse.Namespace) -> int:
    """Replay the recording."""
    from strideguard.alerts import PersonalBaseline, load_config
    from strideguard.commands.live import _print_summary
    from strideguard.live.run import replay
    from strideguard.live.sinkargs import open_sinks
    from strideguard.live.stopping import StopSignals
    from strideguard.recording import read_recording

    config = load_config(args.alert_config)
    baseline = PersonalBaseline.load(args.baseline) if args.baseline else None
    recording = read_recording(args.recording)  # before the phone page or anything starts
    hub = open_sinks(args)
    # Ctrl-C or SIGTERM end the replay where it is, with its summary
    with StopSignals() as signals:
        try:
            live_run = replay(
                recording,
                hub.handle,
                speed=None if args.fast else args.speed,
                config=config,
                baseline=baseline,
                stop=lambda: signals.requested is not None,
                name=args.recording.name,
            )
            summary = live_run.finish()
        finally:
            hub.close()
    summary["recording"] = str(args.recording)
    _print_summary(summary, args.format)
    return 0
