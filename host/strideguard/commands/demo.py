"""``strideguard demo`` — the main job on the built-in simulated sensor."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` parser."""
    p = subparsers.add_parser("demo", help="simulate a run and analyse it end to end")
    p.set_defaults(_run=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo."""
    print("strideguard demo: the simulator and analysis are not built yet.")
    return 0
