"""Virtual sensors behind ``strideguard live --virtual`` and ``scan --virtual``.

Registered as the ``strideguard.virtual_sensors`` entry point (see
:mod:`strideguard.plugins`): the product asks for sensors and gets a
:class:`~strideguard.plugins.VirtualSensors` with the backend to reach them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
    if getattr(args, "headless", False):
        async with _for_headless(args) as session_sensors:
            yield session_sensors
        return
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


def _sensor_factory(args: argparse.Namespace, air: VirtualAir) -> Any:
    """``(leg, counts) -> sensor``: a virtual board (the real firmware) or the sensor model."""

    def make(leg: str, counts: np.ndarray) -> Any:
        if args.board == "firmware":
            return VirtualBoard(
                air,
                counts,
                leg=leg,
                rate_hz=RATE_HZ,
                samples_rate_hz=RATE_HZ,
                speed=args.speed,
                loop=False,
                paused=True,
                play_on_stream=True,
            )
        return VirtualSensor(
            air,
            counts,
            leg=leg,
            rate_hz=RATE_HZ,
            speed=args.speed,
            loop=False,
            run_starts_with_stream=True,
        )

    return make


@asynccontextmanager
async def _for_headless(args: argparse.Namespace) -> AsyncIterator[VirtualSensors]:
    """A virtual runner's runs for ``live --headless --virtual`` (:mod:`.virtual_session`)."""
    from strideguard_devkit.virtual_session import VirtualRunnerSession, standing_tail

    n_runs = int(getattr(args, "virtual_runs", 1))
    standing_s = float(getattr(args, "virtual_standing", 0.0))
    runs: list[dict[str, np.ndarray]] = []
    for k in range(n_runs):
        try:
            sims = _simulated_runs(args, seed=args.seed + k)
        except (KeyError, ValueError) as exc:
            raise InputError(f"live --virtual: {exc.args[0] if exc.args else exc}") from None
        legs: dict[str, np.ndarray] = {}
        for leg, r in sims.items():
            counts = np.asarray(r.raw)
            if k < n_runs - 1 and standing_s > 0:
                tail = standing_tail(counts, r.truth.standing_s, RATE_HZ, standing_s)
                counts = np.concatenate([counts, tail])
            legs[leg] = counts
        runs.append(legs)
    logging.getLogger("bumble").setLevel(logging.ERROR)
    air = VirtualAir()
    session = VirtualRunnerSession(
        _sensor_factory(args, air),
        runs,
        standing_s=standing_s,
        off_s=float(getattr(args, "virtual_off", 2.0)),
        rate_hz=RATE_HZ,
        speed=args.speed,
    )
    task = asyncio.ensure_future(session.play())
    try:
        yield VirtualSensors(
            backend=air.backend,
            names=[f"StrideGuard-{leg}" for leg in runs[0]],
            sample_counts=None,
            mode=f"virtual:{args.virtual}:{args.board}:headless",
        )
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


@asynccontextmanager
async def for_scan(count: int) -> AsyncIterator[VirtualSensors]:
    """Start ``count`` idle model sensors (alternating legs) for ``scan --virtual N``."""
    air = VirtualAir()
    sensors = [
        VirtualSensor(air, np.zeros((100, 6), np.int16), leg="LR"[i % 2], battery_pct=90 - 7 * i)
        for i in range(count)
    ]
    async with _running(sensors, air, "virtual:scan") as found:
        yield found


@asynccontextmanager
async def for_pairing(count: int) -> AsyncIterator[VirtualSensors]:
    """Start ``count`` new virtual boards (the real firmware: no bond, window open)."""
    from strideguard_devkit.vboard import synthetic_gait

    logging.getLogger("bumble").setLevel(logging.ERROR)
    air = VirtualAir()
    boards = [
        VirtualBoard(air, synthetic_gait(4, RATE_HZ, seed=i), leg="LR"[i % 2], speed=1.0)
        for i in range(count)
    ]
    async with _running(boards, air, "virtual:pair") as found:
        yield found


@asynccontextmanager
async def _running(
    sensors: list[VirtualSensor] | list[VirtualBoard], air: VirtualAir, mode: str
) -> AsyncIterator[VirtualSensors]:
    """Start idle sensors (alternating legs, left first) and stop them on exit."""
    try:
        for s in sensors:
            await s.start()
        yield VirtualSensors(
            backend=air.backend,
            names=[f"StrideGuard-{'LR'[i % 2]}" for i in range(len(sensors))],
            sample_counts=None,
            mode=mode,
        )
    finally:
        for s in sensors:
            await s.stop()


def _simulated_runs(args: argparse.Namespace, seed: int | None = None) -> dict[str, SimRun]:
    """The simulated run of each leg (the right one only with ``--one-leg``)."""
    seed = args.seed if seed is None else seed
    if args.one_leg:
        return {
            "R": simulate(
                args.virtual,
                duration_s=args.virtual_duration,
                rate_hz=RATE_HZ,
                seed=seed,
                leg="R",
            )
        }
    left, right = simulate_pair(
        args.virtual, duration_s=args.virtual_duration, rate_hz=RATE_HZ, seed=seed
    )
    return {"L": left, "R": right}
