"""Helpers for the BLE tests: run a coroutine with a time limit, synthetic samples, a virtual air."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from strideguard_devkit.bumble_backend import VirtualAir
from strideguard_devkit.peripheral import VirtualSensor

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout_s: float = 20.0) -> T:
    """``asyncio.run`` with a hard time limit (a hung link fails the test, not the suite)."""

    async def limited() -> T:
        return await asyncio.wait_for(coro, timeout_s)

    return asyncio.run(limited())


def synth_samples(n: int, seed: int = 0) -> npt.NDArray[np.int16]:
    """``(n, 6)`` int16 counts: a slow sine per axis plus noise, and a few rail values."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    raw = 8000 * np.sin(2 * np.pi * t / (200 + 17 * np.arange(6))) + rng.normal(0, 300, (n, 6))
    raw[2 * n // 3, 2] = 40000  # clipped to the rail by the board
    return np.clip(np.round(raw), -32768, 32767).astype(np.int16)


@asynccontextmanager
async def virtual_sensors(
    *specs: dict[str, Any], central_mtu: int = 247
) -> AsyncIterator[tuple[VirtualAir, list[VirtualSensor]]]:
    """Start one virtual sensor per ``spec`` (VirtualSensor kwargs) on a fresh air."""
    air = VirtualAir(central_mtu=central_mtu)
    sensors = [VirtualSensor(air, **spec) for spec in specs]
    for s in sensors:
        await s.start()
    try:
        yield air, sensors
    finally:
        for s in sensors:
            await s.stop()
