"""High late-swing load (caution): the shin swings and brakes far harder than normal.

Late-swing deceleration or mid-swing peak at ``ratio_above_normal`` times the
runner's median or more, in ``min_high_strides`` of the last
``window_strides`` strides (e.g. a sprint late in a run, when hamstrings are
tired). Settings: :class:`~strideguard.alerts.config.LateSwingLoadConfig`.
"""

from __future__ import annotations

import math
from collections import deque

from strideguard.alerts import texts
from strideguard.alerts.config import LateSwingLoadConfig
from strideguard.alerts.detectors.common import Decision, End, Raise, Stride, StrideContext, value
from strideguard.alerts.model import AlertKind, Severity

KIND = AlertKind.LATE_SWING_LOAD
#: the load features compared with the runner's normal (their baseline medians)
LOAD_FEATURES = ("late_swing_peak_decel_dps2", "peak_midswing_gyr_dps")


class LateSwingLoadDetector:
    """Load ratios to the runner's normal over a window of strides (see the module docstring).

    Parameters
    ----------
    config
        The detector's settings.
    """

    def __init__(self, config: LateSwingLoadConfig) -> None:
        self.config = config
        self._high: deque[bool] = deque(maxlen=config.window_strides)
        self._calm = 0

    def update(self, stride: Stride, ctx: StrideContext) -> list[Decision]:
        """Add a running stride (needs the baseline); decide raise or end."""
        base = ctx.baseline
        assert base is not None
        cfg = self.config
        ratios = {}
        for name in LOAD_FEATURES:
            v = value(stride, name)
            med = base.medians.get(name)
            if med and math.isfinite(v):
                ratios[name] = v / med
        self._high.append(any(r >= cfg.ratio_above_normal for r in ratios.values()))
        n_high = sum(self._high)
        if n_high >= cfg.min_high_strides and ratios:
            self._calm = 0
            return [
                Raise(
                    KIND,
                    Severity.CAUTION,
                    texts.late_swing_load(max(ratios.values())),
                    {f"{k}_ratio": round(v, 2) for k, v in ratios.items()},
                    reminder_s=cfg.reminder_s,
                )
            ]
        if n_high == 0 and ctx.is_active(KIND):
            self._calm += 1
            if self._calm >= cfg.end_after_calm_strides:
                return [End(KIND, texts.LATE_SWING_NORMAL_AGAIN)]
        return []
