"""The calibration countdown: "Stand still… 5, 4, 3…" counted on the sensor's own samples.

At the start of a run the host needs the runner to stand still for a moment
(gyroscope bias, gravity, the sensor's tilt on the tibia: :mod:`strideguard.align`).
:class:`StandingCountdown` watches the samples until the runner first moves:
as soon as they are still (the same test the aligner uses,
:func:`strideguard.align.quiet_mask`) it counts :data:`STAND_STILL_S` seconds down,
one :class:`~strideguard.live.updates.CalibrationUpdate` per second (the
terminal and the phone page count down between them); a movement before the
end starts it again (unless the runner had stood for the aligner's 1 s
already: that is enough); at zero it says the standing is measured (state
``"ready"``) and stops. When the runner sets off first (:meth:`StandingCountdown.stop`)
it says ``"ready"`` if the standing was long enough, else ``"pending"``: the
prompt leaves the screens either way, and the aligner's ``done`` or ``skipped``
follows. The aligner needs only 1 s of stillness
(``ShankAligner.min_quiet_s``); asking for 5 s leaves room for a runner who
settles late and makes the tilt estimate steadier (its noise falls with the
square root of the time). The counting runs on sample time, so a replay counts
the same.

Example
-------
>>> import numpy as np
>>> c = StandingCountdown("S")
>>> t = np.arange(3000) / 500.0
>>> acc = np.tile([0.0, 0.0, 9.81], (3000, 1))
>>> events = []
>>> for k in range(0, 3000, 50):  # 0.1-s blocks as they arrive
...     events += c.update(t[k : k + 50], acc[k : k + 50], np.zeros((50, 3)))
>>> [(e.state, e.seconds_left) for e in events]
[('stand_still', 5.0), ('stand_still', 4.0), ('stand_still', 3.0), ('stand_still', 2.0), ('stand_still', 1.0), ('ready', None)]
"""

from __future__ import annotations

import math

import numpy as np

from strideguard.align import quiet_mask
from strideguard.imudata import FloatArray
from strideguard.live.updates import CalibrationUpdate

#: how long the runner is asked to stand still (seconds)
STAND_STILL_S = 5.0
#: a countdown cut short after this much stillness still calibrates (``ShankAligner.min_quiet_s``)
ENOUGH_S = 1.0
#: samples are judged still or not in blocks this long
BLOCK_S = 0.25
ASK = "Stand still for a few seconds, then start running."
COUNTING = "Stand still…"
READY = "Standing measured: start running."
PENDING = "Running: the calibration is checked over the first strides."


class StandingCountdown:
    """Count the runner's standing down from the samples (see the module docstring).

    Parameters
    ----------
    sensor
        Label in the events.
    seconds
        Length of the countdown.
    """

    def __init__(self, sensor: str = "", seconds: float = STAND_STILL_S) -> None:
        self.sensor = sensor
        self.seconds = seconds
        #: the countdown reached zero (or the runner moved away): no more events
        self.finished = False
        self._t: list[FloatArray] = []
        self._acc: list[FloatArray] = []
        self._gyr: list[FloatArray] = []
        self._n = 0
        self._still_since: float | None = None
        self._shown: int | None = None  # whole seconds left shown last

    def stop(self, time_s: float | None = None) -> list[CalibrationUpdate]:
        """The runner started moving (at ``time_s``): the countdown is over either way.

        Returns the event that takes the prompt off the screens: ``ready`` when
        the runner had stood still long enough (:data:`ENOUGH_S`), else
        ``pending`` (the aligner decides later whether angles are absolute).
        """
        if self.finished:
            return []
        self.finished = True
        self._t, self._acc, self._gyr = [], [], []
        since = self._still_since
        if since is not None and time_s is not None and time_s - since >= ENOUGH_S:
            return [CalibrationUpdate(self.sensor, "ready", READY)]
        return [CalibrationUpdate(self.sensor, "pending", PENDING)]

    def update(
        self, time_s: FloatArray, acc_mps2: FloatArray, gyr_dps: FloatArray
    ) -> list[CalibrationUpdate]:
        """Add contiguous samples; return the countdown events they cause."""
        if self.finished or time_s.size == 0:
            return []
        self._t.append(time_s)
        self._acc.append(acc_mps2)
        self._gyr.append(gyr_dps)
        self._n += time_s.size
        t_all = np.concatenate(self._t)
        span = float(t_all[-1] - t_all[0])
        if span < BLOCK_S or t_all.size < 3:
            return []
        acc, gyr = np.concatenate(self._acc), np.concatenate(self._gyr)
        self._t, self._acc, self._gyr, self._n = [], [], [], 0
        rate = (t_all.size - 1) / span
        still = bool(quiet_mask(acc, gyr, rate, window_s=span + 1.0 / rate).all())
        out: list[CalibrationUpdate] = []
        if not still:
            if self._still_since is not None:
                if float(t_all[0]) - self._still_since >= ENOUGH_S:
                    # the runner set off early, but the aligner has what it needs
                    self.finished = True
                    out.append(CalibrationUpdate(self.sensor, "ready", READY))
                    return out
                out.append(CalibrationUpdate(self.sensor, "stand_still", ASK))
            self._still_since, self._shown = None, None
            return out
        if self._still_since is None:
            self._still_since = float(t_all[0])
        left = self.seconds - (float(t_all[-1]) - self._still_since)
        if left <= 0:
            self.finished = True
            out.append(CalibrationUpdate(self.sensor, "ready", READY))
            return out
        whole = math.ceil(left)
        if self._shown is None:
            # the first still block: count from the top
            self._shown = math.ceil(self.seconds)
            out.append(CalibrationUpdate(self.sensor, "stand_still", COUNTING, float(self._shown)))
        while self._shown > whole:
            self._shown -= 1
            out.append(CalibrationUpdate(self.sensor, "stand_still", COUNTING, float(self._shown)))
        return out
