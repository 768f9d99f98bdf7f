"""Overstriding (coach): the foot lands further ahead than the runner's own normal.

The rolling median of the tibia angle at initial contact is compared with the
personal reference (the baseline's, or one re-learned after the sensor moved;
before either exists, an absolute default with calibrated angles only). It
must stay above the limit for ``persist_strides`` rolling medians while the
cadence has not risen (speeding up raises the angle too). The cue names a
cadence target. Settings: :class:`~strideguard.alerts.config.OverstrideConfig`,
shared with the analysis summary's :class:`~strideguard.overstride.OverstrideAssessor`.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from strideguard.alerts import texts
from strideguard.alerts.config import OverstrideConfig
from strideguard.alerts.detectors.common import Decision, End, Raise, Stride, StrideContext, value
from strideguard.alerts.model import AlertKind, Severity

KIND = AlertKind.OVERSTRIDE


def cadence_targets_spm(cadence_spm: float, config: OverstrideConfig) -> tuple[int, int, int]:
    """The cadence the cue names and its range: (target, low, high) in steps/min."""
    return (
        round(cadence_spm * (1.0 + config.cadence_increase_pct / 100.0)),
        round(cadence_spm * (1.0 + config.cadence_target_low_pct / 100.0)),
        round(cadence_spm * (1.0 + config.cadence_target_high_pct / 100.0)),
    )


#: standard error of the median of n normal values, in SDs times sqrt(n): sqrt(pi / 2)
MEDIAN_SE_FACTOR = math.sqrt(math.pi / 2.0)
#: robust SD from the median absolute value of a zero-centred normal sample: 1 / Phi^-1(0.75)
MAD_TO_SD = 1.4826


def median_standard_error_deg(steps_deg: np.ndarray, n: int) -> float:
    """Standard error of a median of ``n`` angles, from their consecutive differences.

    The stride-to-stride scatter is the robust SD of the differences of
    consecutive angles divided by sqrt(2) (each difference carries two strides'
    noise); a lasting shift adds one difference, which the median absolute
    value ignores, so the scatter measures irregular footing, not the change.

    Parameters
    ----------
    steps_deg
        Recent consecutive differences of the tibia angle at IC (°).
    n
        Strides in the median.

    Returns
    -------
    float
        Standard error (°); 0 with fewer than two differences.
    """
    if steps_deg.size < 2:
        return 0.0
    sd = MAD_TO_SD * float(np.median(np.abs(steps_deg))) / math.sqrt(2.0)
    return MEDIAN_SE_FACTOR * sd / math.sqrt(n)


class OverstrideDetector:
    """Rolling tibia angle at IC against the personal reference (see the module docstring).

    Parameters
    ----------
    config
        The detector's settings.
    """

    def __init__(self, config: OverstrideConfig) -> None:
        self.config = config
        self._angles: deque[float] = deque(maxlen=config.rolling_strides)
        self._cadences: deque[float] = deque(maxlen=config.rolling_strides)
        # consecutive angle differences, for the stride-to-stride scatter
        self._steps: deque[float] = deque(maxlen=config.scatter_strides)
        self._last_angle: float | None = None
        self._run = 0
        self._calm = 0
        self._reference_learning: list[float] | None = None
        self._reference_override_deg: float | None = None
        self._last_cue_s = -math.inf  # when the cue was last raised (not reminded)

    def re_reference(self) -> None:
        """The sensor moved: drop the rolling angles and learn the reference angle again."""
        self._angles.clear()
        self._steps.clear()
        self._last_angle = None
        self._reference_learning = []

    def update(self, stride: Stride, ctx: StrideContext) -> list[Decision]:
        """Add a running stride; decide raise or end."""
        cfg = self.config
        ang = value(stride, "shank_angle_at_ic_deg")
        if not math.isfinite(ang):
            return []
        if self._reference_learning is not None:
            self._reference_learning.append(ang)
            if len(self._reference_learning) < cfg.reference_strides:
                return []
            self._reference_override_deg = float(np.median(self._reference_learning))
            self._reference_learning = None
        self._angles.append(ang)
        self._cadences.append(value(stride, "cadence_spm"))
        if self._last_angle is not None:
            self._steps.append(ang - self._last_angle)
        self._last_angle = ang
        if len(self._angles) < cfg.rolling_strides:
            return []
        roll_angle = float(np.median(np.fromiter(self._angles, float)))
        margin = cfg.margin_se * median_standard_error_deg(
            np.fromiter(self._steps, float), len(self._angles)
        )
        roll_cad = float(np.median(np.fromiter(self._cadences, float)))
        base = ctx.baseline
        ref = (
            self._reference_override_deg
            if self._reference_override_deg is not None
            else (base.shank_angle_ref_deg if base else None)
        )
        if base is not None and ref is not None:
            limit = ref + cfg.angle_above_reference_deg
            cad_ref = base.cadence_ref_spm
        elif ctx.angle_calibrated:
            limit = cfg.default_limit_deg
            cad_ref = roll_cad
            ref = None
        else:
            return []
        over = roll_angle - margin > limit and roll_cad <= cad_ref * (
            1.0 + cfg.max_cadence_rise_pct / 100.0
        )
        self._run = self._run + 1 if over else 0
        active = ctx.is_active(KIND)
        if self._run >= cfg.persist_strides and not active:
            # a cue that ended moments ago and would come back is the same habit, not news:
            # at most one cue per `reminder_s`, ended or not (a runner whose angle hovers at
            # the limit heard "shorten your stride" six times in three minutes)
            if ctx.time_s - self._last_cue_s < cfg.reminder_s:
                return []
            self._last_cue_s = ctx.time_s
        if self._run >= cfg.persist_strides:
            self._calm = 0
            target, lo, hi = cadence_targets_spm(roll_cad, cfg)
            text = texts.overstride(
                roll_angle,
                roll_cad,
                target,
                (lo, hi),
                above_reference_deg=cfg.angle_above_reference_deg,
                reference_deg=ref,
                default_limit_deg=cfg.default_limit_deg,
            )
            numbers: dict[str, float | int | str | None] = {
                "shank_angle_at_ic_deg": round(roll_angle, 1),
                "limit_deg": round(limit, 1),
                "cadence_spm": round(roll_cad, 1),
                "cadence_target_spm": target,
                "angle_calibrated": "yes" if ctx.angle_calibrated else "relative",
            }
            return [Raise(KIND, Severity.COACH, text, numbers, reminder_s=cfg.reminder_s)]
        if active:
            self._calm += 1
            if self._calm >= cfg.end_after_windows * cfg.rolling_strides:
                return [End(KIND, texts.overstride_ended(roll_angle))]
        return []
