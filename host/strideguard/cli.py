"""Command-line interface: ``strideguard <command> ...``.

Each command lives in its own module under :mod:`strideguard.commands` with two
functions: ``register(subparsers)`` adds its parser and ``run(args) -> int``
executes it. Modules listed in :data:`COMMANDS` are imported when the parser is
built, so they keep heavy imports inside ``run``. Installed plugins (the dev kit)
add theirs through the ``strideguard.commands`` entry points
(:mod:`strideguard.plugins`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, cast

from strideguard import __version__, plugins
from strideguard.errors import StrideguardError

#: the product's command modules, in the order ``--help`` lists them (plugins follow)
COMMANDS: tuple[str, ...] = (
    "analyze",
    "scan",
    "live",
    "replay",
    "export",
    "import_runs",  # `strideguard import`
    "history",
    "flash",
    "protocol_info",  # `strideguard protocol`
)


class CommandModule(Protocol):
    """What a module in :mod:`strideguard.commands` provides."""

    def register(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        """Add the command's parser (with ``set_defaults(_run=run)``)."""


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available command."""
    parser = argparse.ArgumentParser(
        prog="strideguard",
        description="Shin-IMU running gait monitor: strides, overstride cues, 'stop and get checked' alerts.",
    )
    parser.add_argument("--version", action="version", version=f"strideguard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"strideguard.commands.{name}")
        cast(CommandModule, module).register(sub)
    extra = plugins.command_modules()
    for module in extra.values():
        cast(CommandModule, module).register(sub)
    plugins.register_missing_devkit_commands(sub, present=set(extra))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the process exit code.

    Parameters
    ----------
    argv
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        0 on success, 2 for bad input or usage, 130 when interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(None if argv is None else list(argv))
    run = getattr(args, "_run", None)
    if run is None:
        parser.print_help()
        return 2
    try:
        return int(run(args))
    except StrideguardError as exc:
        print(f"strideguard: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("strideguard: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
