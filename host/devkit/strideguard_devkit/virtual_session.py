"""A virtual runner's day for ``strideguard live --headless --virtual SCENARIO``.

A headless host starts and ends runs by itself, so its test needs a runner who
switches the sensors on, runs, and then either stands around or switches the
sensors off. :class:`VirtualRunnerSession` plays that on a
:class:`~strideguard_devkit.bumble_backend.VirtualAir`:

* run ``k`` (of ``--virtual-runs``) is a simulated run of the scenario (seed
  ``seed + k``) on fresh sensors (both legs, or the right with ``--one-leg``)
  that start when the host asks for the stream;
* every run but the last ends with the runner **standing still** for
  ``--virtual-standing`` seconds (the run's own standing samples, repeated):
  the host should end the run by itself; when it has disconnected, the runner
  switches the sensors off;
* the last run ends with the sensors **switched off** right after its last
  sample: the host should notice they have gone;
* between runs the sensors are off for ``--virtual-off`` wall seconds.

The same sensor names come back with every run (new boards, new addresses),
exactly as a runner's own two sensors would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

#: how often the virtual runner looks at the sensors (wall seconds)
POLL_S = 0.01


def standing_tail(
    raw: npt.NDArray[np.int16], standing: tuple[float, float], rate_hz: float, seconds: float
) -> npt.NDArray[np.int16]:
    """``seconds`` of standing: the run's standing samples repeated (counts, ``(n, 6)``)."""
    a, b = (round(x * rate_hz) for x in standing)
    still = raw[a : max(b - int(0.5 * rate_hz), a + 1)]  # off the end, where the runner sets off
    n = round(seconds * rate_hz)
    reps = -(-n // still.shape[0])
    return np.tile(still, (reps, 1))[:n]


@dataclass
class VirtualRunnerSession:
    """Plays the runs of a virtual runner (see the module docstring).

    Parameters
    ----------
    make_sensor
        ``(leg, counts) -> sensor`` (a started sensor has ``start()``/``stop()``).
    runs
        Per run, the counts of each leg.
    standing_s
        Standing still after each run but the last.
    off_s
        Sensors off between runs (wall seconds).
    rate_hz, speed
        Sample rate of the counts and the sensors' time speed-up.
    """

    make_sensor: Callable[[str, npt.NDArray[np.int16]], Any]
    runs: list[dict[str, npt.NDArray[np.int16]]]
    standing_s: float
    off_s: float
    rate_hz: float
    speed: float
    #: one line per step, for tests: ("on", run, time), ("off", run, time)
    log_: list[tuple[str, int, float]] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def play(self) -> None:
        """Every run in turn (run it as a task; cancel it to stop)."""
        try:
            for k, legs in enumerate(self.runs):
                last = k == len(self.runs) - 1
                sensors = [self.make_sensor(leg, counts) for leg, counts in legs.items()]
                for s in sensors:
                    await s.start()
                self.log_.append(("on", k, time.monotonic()))
                try:
                    if last:
                        await self._until_sent(sensors, max(len(c) for c in legs.values()))
                    else:
                        await self._until_host_left(sensors)
                finally:
                    for s in sensors:
                        with contextlib.suppress(Exception):
                            await s.stop()
                    self.log_.append(("off", k, time.monotonic()))
                if not last:
                    await asyncio.sleep(self.off_s)
        finally:
            self.done.set()

    async def _until_sent(self, sensors: list[Any], n: int) -> None:
        """Wait until the host asked for the stream and every sample has gone out."""
        while not all(_streamed(s) for s in sensors):
            await asyncio.sleep(POLL_S)
        t0 = time.monotonic()
        # the samples take n / rate / speed wall seconds from the start of the stream
        await asyncio.sleep(n / self.rate_hz / self.speed + 0.5)
        while not all(_sent_all(s) for s in sensors) and time.monotonic() - t0 < 60:
            await asyncio.sleep(0.05)

    async def _until_host_left(self, sensors: list[Any]) -> None:
        """Wait until the host streamed from the sensors and then let them go."""
        while not all(_streamed(s) for s in sensors):
            await asyncio.sleep(0.05)
        # the host stops the stream, then disconnects: the runner switches the sensors off then
        while any(_connected(s) and _streaming(s) for s in sensors):
            await asyncio.sleep(POLL_S)


def _streamed(sensor: Any) -> bool:
    if hasattr(sensor, "streaming"):  # the Python sensor model
        return bool(sensor.streaming)
    bridge = getattr(sensor, "bridge", None)  # a virtual board running the firmware
    return bridge is not None and bridge.playing.is_set()


def _streaming(sensor: Any) -> bool:
    """The host still wants the stream (the model sensor says so; a board: while connected)."""
    return bool(getattr(sensor, "streaming", True))


def _connected(sensor: Any) -> bool:
    if hasattr(sensor, "connected"):
        return bool(sensor.connected)
    bridge = getattr(sensor, "bridge", None)
    return bridge is not None and bool(bridge.conns)


def _sent_all(sensor: Any) -> bool:
    sent = getattr(sensor, "sent_all", None)
    return True if sent is None else bool(sent)
