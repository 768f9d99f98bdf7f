"""Bluetooth Low Energy: the host's receiver.

- :mod:`strideguard.ble.receiver` — scanning and :class:`~strideguard.ble.receiver.SensorLink`
  (connect, MTU, subscribe, automatic reconnect, bounded queue, recording) on bleak.
- :mod:`strideguard.ble.backend` — which bleak backend classes every entry point uses.

The radio-free test bench is in the dev kit, which the product never imports:
``strideguard_devkit.bumble_backend`` (a bleak backend over Google's bumble host stack
on an in-process virtual link) and ``strideguard_devkit.peripheral`` (a virtual sensor
serving the strideguard GATT profile); tests, ``--virtual`` and benchmarks pass its
backend as ``backend=``.
"""

from __future__ import annotations

from strideguard.ble.backend import BleBackend

__all__ = ["BleBackend"]
