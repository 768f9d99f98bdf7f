"""Bluetooth Low Energy: the host receiver, and a radio-free test bench.

- :mod:`strideguard.ble.receiver` — scanning and :class:`~strideguard.ble.receiver.SensorLink`
  (connect, MTU, subscribe, automatic reconnect, bounded queue, recording) on bleak.
- :mod:`strideguard_devkit.bumble_backend` — a bleak backend over Google's bumble host
  stack on an in-process virtual link (no radio), used by tests, ``--virtual`` and benchmarks.
- :mod:`strideguard_devkit.peripheral` — a virtual sensor serving the strideguard GATT profile.

The bumble modules import ``bumble`` (a development dependency); the receiver does not.
"""

from __future__ import annotations

from strideguard.ble.backend import BleBackend

__all__ = ["BleBackend"]
