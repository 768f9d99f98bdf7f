"""What other installed packages add to strideguard, found through entry points.

The product never imports the dev kit (``host/devkit``). The dev kit declares:

``strideguard.commands``
    one entry per command (``demo = "strideguard_devkit.commands.demo"``): a module with
    ``register(subparsers)``, exactly like the modules in :mod:`strideguard.commands`;
``strideguard.virtual_sensors``
    one module with :class:`VirtualSensorProvider`'s functions, behind ``live --virtual``
    and ``scan --virtual``.

Without the dev kit its commands still appear in ``--help`` and answer with one line
saying what to install (:data:`DEVKIT_HINT`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, cast

from strideguard.errors import InputError

if TYPE_CHECKING:
    from strideguard.ble.backend import BleBackend

COMMAND_GROUP = "strideguard.commands"
VIRTUAL_SENSORS_GROUP = "strideguard.virtual_sensors"

#: the dev kit's commands, listed in ``--help`` even when it is not installed
DEVKIT_COMMANDS: dict[str, str] = {
    "demo": "the whole product on a virtual board (simulated run, virtual BLE) [dev kit]",
    "simulate": "simulated runs with ground truth (CSV or protocol frames) [dev kit]",
    "eval-alerts": "alert detection delay and false alarms on simulated runs [dev kit]",
    "virtual-board": "the real firmware on simulated hardware, over virtual BLE [dev kit]",
}

#: how to get the dev kit, said in one line wherever it is missing
DEVKIT_HINT = (
    "it is part of the strideguard dev kit, which is not installed: "
    "run `make setup` in the repository, or `pip install ./host/devkit`"
)


class VirtualSensors(NamedTuple):
    """Virtual sensors started for one live run (or scan).

    Attributes
    ----------
    backend
        The bleak backend on whose virtual link the sensors advertise.
    names
        Advertised names in the order the run should use them (left before right).
    sample_counts
        Samples each sensor will send in all (same order as ``names``), or ``None`` when
        the sensors stream until stopped.
    mode
        Recorded in the recording's header, e.g. ``"virtual:demo:firmware"``.
    """

    backend: BleBackend
    names: list[str]
    sample_counts: list[int] | None
    mode: str


class VirtualSensorProvider(Protocol):
    """The functions a ``strideguard.virtual_sensors`` module provides."""

    def for_live(self, args: argparse.Namespace) -> AbstractAsyncContextManager[VirtualSensors]:
        """Start the sensors ``live --virtual SCENARIO`` asks for; stop them on exit."""

    def for_scan(self, count: int) -> AbstractAsyncContextManager[VirtualSensors]:
        """Start ``count`` idle sensors for ``scan --virtual N``."""

    def for_pairing(self, count: int) -> AbstractAsyncContextManager[VirtualSensors]:
        """Start ``count`` new boards (the real firmware, window open) for ``pair --virtual N``."""


def _group(name: str) -> list[EntryPoint]:
    return sorted(entry_points(group=name), key=lambda e: e.name)


def command_modules() -> dict[str, Any]:
    """The installed plugin commands: name → loaded module (with ``register``)."""
    return {ep.name: ep.load() for ep in _group(COMMAND_GROUP)}


def register_missing_devkit_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], present: set[str]
) -> None:
    """Add a stand-in parser for each dev-kit command that is not installed.

    The stand-in accepts any arguments and answers with one line (exit 2).
    """
    for name, help_text in DEVKIT_COMMANDS.items():
        if name in present:
            continue
        p = subparsers.add_parser(name, help=help_text, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        p.set_defaults(_run=_missing(name))


def _missing(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        raise InputError(f"`strideguard {name}`: {DEVKIT_HINT}")

    return run


def virtual_sensors(option: str) -> VirtualSensorProvider:
    """The installed provider of virtual sensors.

    Parameters
    ----------
    option
        The option that asked for them (for the message), e.g. ``"live --virtual"``.

    Raises
    ------
    InputError
        When no provider is installed (the dev kit is missing).
    """
    found = _group(VIRTUAL_SENSORS_GROUP)
    if not found:
        raise InputError(f"`{option}`: {DEVKIT_HINT}")
    return cast(VirtualSensorProvider, found[0].load())
