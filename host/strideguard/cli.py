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
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Protocol, cast

from strideguard import __version__, plugins
from strideguard.cliargs import CliParser, main_error
from strideguard.errors import StrideguardError

#: set to 1 to see the traceback of an unexpected error instead of its one line
TRACEBACK_ENV = "STRIDEGUARD_TRACEBACK"
#: exit code of an unexpected error (a bug, not bad input)
EXIT_INTERNAL = 70

#: the product's command modules, in the order ``--help`` lists them (plugins follow)
COMMANDS: tuple[str, ...] = (
    "analyze",
    "scan",
    "pair",
    "live",
    "service",
    "replay",
    "export",
    "import_runs",  # `strideguard import`
    "history",
    "report",
    "recovery",
    "flash",
    "protocol_info",  # `strideguard protocol`
)


class CommandModule(Protocol):
    """What a module in :mod:`strideguard.commands` provides."""

    def register(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        """Add the command's parser (with ``set_defaults(_run=run)``)."""


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available command."""
    parser = CliParser(
        prog="strideguard",
        description="Shin-IMU running gait monitor: strides, overstride cues, 'stop and get checked' alerts.",
    )
    parser.add_argument("--version", action="version", version=f"strideguard {__version__}")
    sub = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", metavar="COMMAND"),
    )
    for name in COMMANDS:
        module = importlib.import_module(f"strideguard.commands.{name}")
        cast(CommandModule, module).register(sub)
    extra = plugins.command_modules()
    for module in extra.values():
        cast(CommandModule, module).register(sub)
    plugins.register_missing_devkit_commands(sub, present=set(extra))
    return parser


def day_after(args: argparse.Namespace) -> None:
    """Ask the day-after question before the command runs, when one is due.

    Only on an interactive terminal, not for machine-readable output, not when
    ``$STRIDEGUARD_NO_PROMPT`` is set, and not before ``live --web`` (the phone
    page asks at the start of the run instead). See :mod:`strideguard.history.dayafter`.
    """
    if getattr(args, "format", "text") == "json":
        return
    if getattr(args, "headless", False):  # no prompts: nobody is at the keyboard
        return
    if args.command == "live" and getattr(args, "web", None):
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return
    from strideguard.userdirs import history_path

    db = history_path(getattr(args, "db", None))
    if not db.exists():
        return
    from strideguard.history import dayafter

    if dayafter.prompts_disabled():
        return
    dayafter.maybe_ask_in_terminal(db, stdin=sys.stdin, stdout=sys.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the process exit code.

    Parameters
    ----------
    argv
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        0 on success, 2 for bad input or usage (one line on stderr), 130 when
        interrupted, 70 for an unexpected error (a bug: one line too, the
        traceback with ``STRIDEGUARD_TRACEBACK=1``).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:  # --help, --version, or a usage error already told in one line
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    run = getattr(args, "_run", None)
    if run is None:
        parser.print_help()
        return 2
    try:
        day_after(args)
        return int(run(args))
    except StrideguardError as exc:
        main_error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        print("strideguard: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one line, never a raw traceback
        if os.environ.get(TRACEBACK_ENV) == "1":
            traceback.print_exc()
        main_error(
            f"unexpected {type(exc).__name__}: {exc} (a bug: please report it; "
            f"{TRACEBACK_ENV}=1 shows the traceback)"
        )
        return EXIT_INTERNAL
