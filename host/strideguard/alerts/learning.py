"""Learning the personal baseline from the runner's own strides after the warm-up.

:class:`BaselineLearner` collects running strides from ``skip_s`` to
``skip_s + duration_s`` of running time and then fits a
:class:`~strideguard.alerts.baseline.PersonalBaseline`. When walking breaks
left fewer than ``min_strides`` running strides, it goes on learning for
``extend_s`` more, as often as needed. The extension is the learner's own
state: the settings (:class:`~strideguard.alerts.config.BaselineConfig`) stay
as they are, so another leg or another run with the same settings starts afresh.
"""

from __future__ import annotations

import numpy as np

from strideguard.alerts.baseline import FEATURES, PersonalBaseline
from strideguard.alerts.config import BaselineConfig
from strideguard.alerts.detectors.common import Stride, value

#: per-stride values the baseline is fitted to
LEARNED_KEYS = (
    "cadence_spm",
    "stride_time_s",
    "shank_angle_at_ic_deg",
    *(s.name for s in FEATURES),
)


class BaselineLearner:
    """Collect running strides and fit the baseline (see the module docstring).

    Parameters
    ----------
    config
        How long to skip and learn, and how many strides are needed.

    Attributes
    ----------
    duration_s_
        Running time learned from so far, including extensions.
    """

    def __init__(self, config: BaselineConfig) -> None:
        self.config = config
        self.duration_s_ = config.duration_s
        self._start_s: float | None = config.skip_s  # None: starts with the next stride
        self._table: dict[str, list[float]] = {}

    def add(self, stride: Stride, run_s: float) -> None:
        """Collect ``stride`` if ``run_s`` (running time so far) is in the learning window."""
        if self._start_s is None:
            self._start_s = run_s
        if not self._start_s <= run_s <= self._start_s + self.duration_s_:
            return
        for key in LEARNED_KEYS:
            self._table.setdefault(key, []).append(value(stride, key))

    def due(self, run_s: float) -> bool:
        """Whether the learning window has passed at ``run_s``."""
        return self._start_s is not None and run_s > self._start_s + self.duration_s_

    def seconds_left(self, run_s: float) -> float:
        """Running time until the baseline can be fitted (the warm-up included)."""
        start = run_s if self._start_s is None else self._start_s
        return max(0.0, start + self.duration_s_ - run_s)

    def fit(self, *, angle_calibrated: bool) -> PersonalBaseline | None:
        """Fit the baseline, or extend the window (``None``) when too few strides were collected."""
        n = len(self._table.get("cadence_spm", []))
        if n < self.config.min_strides:
            # not enough steady running yet: keep learning from what follows
            self.duration_s_ += self.config.extend_s
            return None
        table = {k: np.asarray(v, float) for k, v in self._table.items()}
        self._table = {}
        return PersonalBaseline.fit(table, angle_calibrated=angle_calibrated)

    def restart(self) -> None:
        """Drop what was collected and learn afresh from the next running strides.

        Used when the sensor moved on the strap before the baseline was learned:
        strides from the old and the new position do not belong together.
        """
        self._table = {}
        self._start_s = None
        self.duration_s_ = self.config.duration_s
