"""Is the runner moving, and is the sensor still sending? What ends a headless run.

A pocket host (``strideguard live --headless``) ends a run by itself when the
runner has been standing still for some minutes or when the sensors have gone
away (switched off, out of range). :class:`ActivityMonitor` keeps the two
clocks that decide it for one sensor, updated with every block of samples:

* the **run time of the last moving sample** — the shank rotating faster than
  :data:`MOVING_GYRO_DPS` (walking or running; a standing runner's shank turns
  a few °/s at most, a walking one's well over 100 °/s in swing);
* the **wall time of the last sample received** (``time.monotonic``).

Example
-------
>>> import numpy as np
>>> m = ActivityMonitor()
>>> t = np.arange(5) / 500.0
>>> m.update(t, np.array([[0, 0, 0], [0, 300.0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]), now_s=10.0)
>>> m.last_moving_s, m.last_sample_s, m.last_data_wall_s
(0.002, 0.008, 10.0)
"""

from __future__ import annotations

import time

import numpy as np

from strideguard.imudata import FloatArray

#: a shank rotating faster than this is walking or running (as in :mod:`strideguard.live.streaming`)
MOVING_GYRO_DPS = 120.0


class ActivityMonitor:
    """Last moving sample and last arrival of one sensor (see the module docstring).

    Attributes
    ----------
    first_sample_s, last_sample_s
        Run time of the first and latest sample (``None`` before any).
    last_moving_s
        Run time of the latest moving sample (``None`` while the runner has not moved).
    last_data_wall_s
        ``time.monotonic()`` when the latest samples arrived (``None`` before any).
    """

    def __init__(self) -> None:
        self.first_sample_s: float | None = None
        self.last_sample_s: float | None = None
        self.last_moving_s: float | None = None
        self.last_data_wall_s: float | None = None

    def update(
        self, time_s: FloatArray, gyr_dps: FloatArray, *, now_s: float | None = None
    ) -> None:
        """Fold in a block of contiguous samples (times, gyroscope in °/s)."""
        if time_s.size == 0:
            return
        if self.first_sample_s is None:
            self.first_sample_s = float(time_s[0])
        self.last_sample_s = float(time_s[-1])
        self.last_data_wall_s = time.monotonic() if now_s is None else now_s
        g2 = np.einsum("ij,ij->i", gyr_dps, gyr_dps)
        moving = np.flatnonzero(g2 > MOVING_GYRO_DPS * MOVING_GYRO_DPS)
        if moving.size:
            self.last_moving_s = float(time_s[moving[-1]])

    def still_for_s(self) -> float:
        """Run time since the last moving sample (since the first sample if never moving)."""
        if self.last_sample_s is None:
            return 0.0
        since = self.last_moving_s if self.last_moving_s is not None else self.first_sample_s
        return self.last_sample_s - float(since if since is not None else self.last_sample_s)
