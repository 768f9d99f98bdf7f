"""Overstride assessment: tibia angle at initial contact against the runner's own reference.

No validated universal cut-off exists (Souza 2016), so the assessment is
personal: each stride's shank angle at IC is compared with a reference — the
median of the first ``reference_strides`` strides of the run, or a stored
value from the runner's profile. A stride overstrides when it lands more than
``angle_above_reference_deg`` (default 5°) further ahead. Why 5°: runners
with hamstring injuries showed a ~5° larger overstride angle than uninjured
runners (Sugimoto 2019, docs/gait-primer.md), and 5° is well above the
stride-to-stride spread of the angle in steady running (SD ≈ 1° in the shared
lab data) and above the method's error, so it flags a real change of
technique, not noise. The remedy is a quicker step: raising step rate by
5–10 % reduces overstriding and braking load (Heiderscheit 2011); the advice
names the target cadence range computed from the runner's own cadence.

The settings are the live overstride cue's
(:class:`~strideguard.alerts.config.OverstrideConfig`), so the analysis
summary and the alerts judge overstriding alike, and ``--alert-config``
changes both.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from strideguard.alerts.config import OverstrideConfig
from strideguard.alerts.detectors.overstride import cadence_targets_spm
from strideguard.alerts.texts import overstride_summary
from strideguard.imudata import FloatArray
from strideguard.sigproc import local_median


class OverstrideAssessor:
    """Per-stride and rolling overstride flags with coaching advice.

    Parameters
    ----------
    config
        The overstride settings shared with the live cue (default: the
        defaults): ``angle_above_reference_deg`` (threshold),
        ``reference_strides``, ``rolling_strides``, ``summary_share`` (share
        of overstriding strides that triggers advice, unless a rolling
        episode does) and ``cadence_target_low_pct``/``cadence_target_high_pct``
        (suggested cadence increase).

    Attributes
    ----------
    reference_angle_deg_, reference_source_
        The reference used and where it came from.
    delta_deg_
        Angle minus reference per stride.
    rolling_delta_deg_
        Rolling median of ``delta_deg_``.
    overstride_
        Per-stride flag (NaN where the angle is unknown).
    share_
        Share of flagged strides.
    cadence_target_spm_
        (low, high) suggested cadence.
    advice_
        Coaching text (empty if none needed).
    """

    def __init__(self, config: OverstrideConfig | None = None) -> None:
        self.config = config if config is not None else OverstrideConfig()

    @property
    def threshold_deg(self) -> float:
        """Angle above the reference that counts as overstriding."""
        return self.config.angle_above_reference_deg

    def assess(
        self,
        shank_angle_at_ic_deg: FloatArray,
        cadence_spm: FloatArray,
        *,
        reference_angle_deg: float | None = None,
    ) -> Self:
        """Flag overstriding strides and build the advice.

        Parameters
        ----------
        shank_angle_at_ic_deg
            Per-stride tibia angle at IC.
        cadence_spm
            Per-stride cadence (steps/min).
        reference_angle_deg
            Stored reference from the runner's profile; ``None`` uses the start of the run.

        Returns
        -------
        Self
        """
        cfg = self.config
        ang = np.asarray(shank_angle_at_ic_deg, dtype=np.float64)
        fin = np.isfinite(ang)
        if reference_angle_deg is not None:
            ref: float | None = float(reference_angle_deg)
            self.reference_source_ = "profile"
        elif fin.sum() >= 3:
            ref = float(np.median(ang[fin][: cfg.reference_strides]))
            self.reference_source_ = f"first {min(cfg.reference_strides, int(fin.sum()))} strides"
        else:
            ref = None
            self.reference_source_ = "none"
        self.reference_angle_deg_ = ref
        delta = ang - ref if ref is not None else np.full(ang.shape, np.nan)
        self.delta_deg_ = delta
        roll = np.full(ang.shape, np.nan)
        if fin.any() and ref is not None:
            roll[fin] = local_median(delta[fin], cfg.rolling_strides // 2)
        self.rolling_delta_deg_ = roll
        flag = np.where(np.isfinite(delta), (delta > self.threshold_deg).astype(np.float64), np.nan)
        self.overstride_ = flag
        n = int(np.isfinite(flag).sum())
        self.share_ = float(np.nansum(flag) / n) if n else None
        cad = cadence_spm[np.isfinite(cadence_spm)]
        base = float(np.median(cad)) if cad.size else None
        lo, hi = cfg.cadence_target_low_pct, cfg.cadence_target_high_pct
        self.cadence_target_spm_ = cadence_targets_spm(base, cfg)[1:] if base is not None else None
        episode = bool(np.nanmax(roll) > self.threshold_deg) if np.isfinite(roll).any() else False
        self.episode_ = episode
        advice = ""
        if (
            self.share_ is not None
            and (self.share_ >= cfg.summary_share or episode)
            and base is not None
        ):
            t = self.cadence_target_spm_
            assert t is not None
            advice = overstride_summary(self.threshold_deg, self.share_, (lo, hi), base, t)
        self.advice_ = advice
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "threshold_deg": self.threshold_deg,
            "reference_angle_deg": None
            if self.reference_angle_deg_ is None
            else round(self.reference_angle_deg_, 2),
            "reference_source": self.reference_source_,
            "overstride_share": None if self.share_ is None else round(self.share_, 4),
            "rolling_episode": self.episode_,
            "max_rolling_delta_deg": (
                round(float(np.nanmax(self.rolling_delta_deg_)), 2)
                if np.isfinite(self.rolling_delta_deg_).any()
                else None
            ),
            "cadence_target_spm": list(self.cadence_target_spm_)
            if self.cadence_target_spm_
            else None,
            "advice": self.advice_ or None,
        }


class RunOverstrideFlag:
    """The per-stride ``overstride`` flag of the live path, against the run's own reference.

    Offline, :class:`OverstrideAssessor` flags a stride when its tibia angle is
    more than ``angle_above_reference_deg`` above the reference: the median of
    the first ``reference_strides`` running strides with an angle. Live, the
    strides come one by one: this keeps those first angles and, once there are
    enough, flags every later stride exactly as the offline assessment of the
    whole run does; before that the flag is unknown (``None``). Walking strides
    (duty factor above :data:`~strideguard.metrics.WALKING_DUTY_FACTOR`) have none
    and do not count, as offline.

    Parameters
    ----------
    config
        Overstride settings (defaults as :func:`strideguard.analysis.analyze`).
    """

    def __init__(self, config: OverstrideConfig | None = None) -> None:
        self.config = config if config is not None else OverstrideConfig()
        self._first: list[float] = []
        self.reference_angle_deg: float | None = None

    def flag(self, stride: dict[str, float | None]) -> dict[str, float | None]:
        """Set ``stride["overstride"]`` (1.0, 0.0 or ``None``) and return the stride."""
        from strideguard.metrics import WALKING_DUTY_FACTOR

        angle, duty = stride.get("shank_angle_at_ic_deg"), stride.get("duty_factor")
        walking = duty is not None and duty > WALKING_DUTY_FACTOR
        usable = angle is not None and not walking
        if self.reference_angle_deg is None and usable:
            self._first.append(float(angle))  # type: ignore[arg-type]
            if len(self._first) >= self.config.reference_strides:
                self.reference_angle_deg = float(np.median(self._first))
        ref = self.reference_angle_deg
        stride["overstride"] = (
            float(float(angle) - ref > self.config.angle_above_reference_deg)  # type: ignore[arg-type]
            if usable and ref is not None
            else None
        )
        return stride
