"""Which bleak backend classes to use (platform default, or an injected one)."""

from __future__ import annotations

from typing import NamedTuple

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner


class BleBackend(NamedTuple):
    """A pair of bleak backend classes, passed as ``backend=`` to every BLE entry point.

    bleak takes the scanner and the client backends separately
    (``BleakScanner(backend=...)``, ``BleakClient(backend=...)``); this pairs them so
    one argument selects the whole stack. ``None`` for either means bleak's platform
    default (BlueZ on Linux, CoreBluetooth on macOS, WinRT on Windows).

    Attributes
    ----------
    scanner
        Subclass of ``bleak.backends.scanner.BaseBleakScanner`` or ``None``.
    client
        Subclass of ``bleak.backends.client.BaseBleakClient`` or ``None``.
    """

    scanner: type[BaseBleakScanner] | None = None
    client: type[BaseBleakClient] | None = None


#: bleak's platform backends
PLATFORM = BleBackend()
