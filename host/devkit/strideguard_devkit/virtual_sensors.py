"""Virtual sensors behind ``strideguard live --virtual`` and ``scan --virtual``.

Registered as the ``strideguard.virtual_sensors`` entry point (see
:mod:`strideguard.plugins`): the product asks for sensors and gets a
:class:`~strideguard.plugins.VirtualSensors` with the backend to reach them.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np

from strideguard.errors import InputError
from strideguard.plugins import VirtualSensors
from strideguard_devkit.bumble_backend import VirtualAir
from strideguard_devkit.peripheral import VirtualSensor
from strideguard_devkit.sim import SimRun, simulate, simulate_pair
from strideguard_devkit.vboard import VirtualBoard

#: sample rate of the simulated sensors (Hz)
RATE_HZ = 500


@asynccontextmanager
async def for_live(args: argparse.Namespace) -> AsyncIterator[VirtualSensors]:
    """Start the sensors of ``live --virtual SCENARIO``; stop them on exit.

    Reads ``args.virtual`` (scenario), ``virtual_duration``, ``seed``, ``one_leg``,
    ``speed`` and ``board`` (``"firmware"``: the real firmware on a virtual board;
    ``"model"``: the pure-Python sensor model).
    """
    try:
        runs = _simulated_runs(args)
    except (KeyError, ValueError) as exc:  # unknown scenario, too short a run
        raise InputError(f"live --virtual: {exc.args[0] if exc.args else exc}") from None
    # the virtual controller is chatty on disconnect
    logging.getLogger("bumble").setLevel(logging.ERROR)
    air = VirtualAir()
    sensors: list[Any] = []
    for leg, r in runs.items():
        if args.board == "firmware":
            # the real firmware in the MicroPython Unix port; the scenario starts when the
            # host streams
            sensors.append(
                VirtualBoard(
                    air,
                    r,
                    leg=leg,
                    rate_hz=RATE_HZ,
                    speed=args.speed,
                    loop=False,
                    paused=True,
                    play_on_stream=True,
                )
            )
        else:
            sensors.append(
                VirtualSensor(
                    air,
                    np.asarray(r.raw),
                    leg=leg,
                    rate_hz=RATE_HZ,
                    speed=args.speed,
                    loop=False,
                    run_starts_with_stream=True,
                )
            )
    try:
        for s in sensors:
            await s.start()
        yield VirtualSensors(
            backend=air.backend,
            names=[f"StrideGuard-{leg}" for leg in runs],
            sample_counts=[len(r.raw) for r in runs.values()],
            mode=f"virtual:{args.virtual}:{args.board}",
        )
    finally:
        for s in sensors:
            await s.stop()


@asynccontextmanager
async def for_scan(count: int) -> AsyncIterator[VirtualSensors]:
    """Start ``count`` idle model sensors (alternating legs) for ``scan --virtual N``."""
    air = VirtualAir()
    sensors = [
        VirtualSensor(air, np.zeros((100, 6), np.int16), leg="LR"[i % 2], battery_pct=90 - 7 * i)
        for i in range(count)
    ]
    try:
        for s in sensors:
            await s.start()
        yield VirtualSensors(
            backend=air.backend,
            names=[f"StrideGuard-{'LR'[i % 2]}" for i in range(count)],
            sample_counts=None,
            mode="virtual:scan",
        )
    finally:
        for s in sensors:
            await s.stop()


def _simulated_runs(args: argparse.Namespace) -> dict[str, SimRun]:
    """The simulated run of each leg (the right one only with ``--one-leg``)."""
    if args.one_leg:
        return {
            "R": simulate(
                args.virtual,
                duration_s=args.virtual_duration,
                rate_hz=RATE_HZ,
                seed=args.seed,
                leg="R",
            )
        }
    left, right = simulate_pair(
        args.virtual, duration_s=args.virtual_duration, rate_hz=RATE_HZ, seed=args.seed
    )
    return {"L": left, "R": right}
