"""strideguard dev kit: everything that exercises the product without hardware.

- :mod:`strideguard_devkit.sim` — gait simulator with ground truth (scenarios, link faults);
- :mod:`strideguard_devkit.vboard` — the virtual board: the real ``firmware/`` in the
  MicroPython Unix port on simulated hardware, seen over bumble;
- :mod:`strideguard_devkit.bumble_backend` — a bleak backend over Google's bumble host stack
  on an in-process virtual link (no radio);
- :mod:`strideguard_devkit.peripheral` — a pure-Python bumble sensor serving the GATT profile;
- :mod:`strideguard_devkit.evaluate_alerts` — alert evaluation on simulated runs;
- :mod:`strideguard_devkit.commands` — ``demo``, ``simulate``, ``eval-alerts``,
  ``virtual-board``, added to the ``strideguard`` CLI through entry points.

The product (:mod:`strideguard`) never imports this package.
"""
