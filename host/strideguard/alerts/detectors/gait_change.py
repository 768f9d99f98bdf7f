"""Gait changed — stop and get checked: two CUSUMs over strides that must both be full.

*Level* evidence: mid-swing peak and late-swing deceleration below what the
baseline predicts at the current cadence and contact time (rolling medians),
after the slow drift the baseline follows. *Irregularity* evidence: a
likelihood-ratio CUSUM on the stride-to-stride second differences of those
features — a guarded gait is less regular, while pace and terrain change
strides smoothly. Each stride's contribution is bounded, so one odd stride (a
stumble) never fires it; walking breaks, stops, pace transitions and data
gaps pause it, and a stride's features measured across lost samples give no
evidence (they are not measured). A pain mark
lets the level evidence alone count. It ends (hysteresis) after a run of
quiet strides. Settings: :class:`~strideguard.alerts.config.GaitChangeConfig`.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from strideguard.alerts import texts
from strideguard.alerts.baseline import (
    CADENCE_WINDOW,
    FEATURES,
    STEP_CLIP_SD,
    VARIABILITY_FEATURES,
    Z_CLIP_SD,
    PersonalBaseline,
    directional,
    jerk_z,
)
from strideguard.alerts.config import BaselineConfig, GaitChangeConfig
from strideguard.alerts.detectors.common import Decision, End, Raise, Stride, StrideContext, value
from strideguard.alerts.model import AlertKind, Severity

KIND = AlertKind.GAIT_CHANGED


class GaitChangeDetector:
    """The stop alert's evidence, stride by stride (see the module docstring).

    Parameters
    ----------
    config
        The detector's settings.
    baseline_config
        For the drift half-life the baseline follows.

    Attributes
    ----------
    scores_
        Per stride with evidence: (stride index, level score in SDs, combined
        evidence, level CUSUM, irregularity CUSUM), for inspection.
    """

    def __init__(self, config: GaitChangeConfig, baseline_config: BaselineConfig) -> None:
        self.config = config
        self.drift_half_life_strides = baseline_config.drift_half_life_strides
        self.scores_: list[tuple[int, float, float, float, float]] = []
        self._skip = 0
        self._calm = 0
        self._cusum = 0.0
        self._level_cusum = 0.0
        self._var_cusum = 0.0
        self._level_watch = 0.0
        self._drift: dict[str, float] = {}
        self._var_scale2 = 1.0  # slow drift of stride-to-stride irregularity (variance factor)
        # per variability feature, its last two measured values (a stride whose feature a data
        # gap left unmeasured is skipped: the second difference runs over the measured ones)
        self._prev_var: dict[str, float] = {}
        self._prev2_var: dict[str, float] = {}
        self._recent_z: dict[str, deque[float]] = {}
        self._pain_boost_until = -1
        w = config.pace_window_strides
        self._recent_pace: deque[tuple[float, float]] = deque(maxlen=2 * w)
        self._pace_cadences: deque[float] = deque(maxlen=CADENCE_WINDOW)
        self._pace_contacts: deque[float] = deque(maxlen=CADENCE_WINDOW)
        self._pace_cadence_spm = float("nan")
        self._pace_contact_s = float("nan")

    # ------------------------------------------------------------------ pauses

    def pause(self) -> None:
        """Give no evidence for the next ``resume_skip_strides`` strides (e.g. the sensor moved)."""
        self._skip = self.config.resume_skip_strides

    def _restart_steps(self) -> None:
        """Compare strides only with strides after this point."""
        self._prev_var = {}
        self._prev2_var = {}

    def track_pace(self, stride: Stride, since_last_s: float, running: bool) -> None:
        """Follow pace and breaks on every stride, running or not, before :meth:`update`.

        Parameters
        ----------
        stride
            The stride's metrics.
        since_last_s
            Time since the previous stride's contact (0 for the first).
        running
            Whether it is a running stride.
        """
        cfg = self.config
        if since_last_s > cfg.missing_strides_gap_s:  # strides missing: compare adjacent ones only
            self._restart_steps()
        if since_last_s > cfg.stop_gap_s or not running:  # stopped, walking, or a long data gap
            self.pause()
            self._restart_steps()
            self._pace_cadences.clear()
            self._pace_contacts.clear()
        if not running:
            return
        cad = value(stride, "cadence_spm")
        self._pace_cadences.append(cad)
        self._pace_cadence_spm = float(np.median(np.fromiter(self._pace_cadences, float)))
        self._recent_pace.append((cad, value(stride, "peak_midswing_gyr_dps")))
        if self._pace_transition():
            # speeding up or slowing down fast (e.g. out of a sprint): the pace covariates lag the
            # swing for a few strides, so these strides give no gait-change evidence
            self._skip = max(self._skip, cfg.pace_transition_skip_strides)
        ct = value(stride, "contact_time_s")
        if math.isfinite(ct):
            self._pace_contacts.append(ct)
        self._pace_contact_s = (
            float(np.median(np.fromiter(self._pace_contacts, float)))
            if self._pace_contacts
            else float("nan")
        )

    def _pace_transition(self) -> bool:
        """Whether the last strides differ in pace from the same many before.

        Medians of ``pace_window_strides`` strides change by more than
        ``pace_transition_spm`` in cadence or by more than
        ``pace_transition_log_peak`` in log mid-swing peak: leaving a sprint
        does this within a few strides; a guarded gait's extra stride-to-stride
        scatter does not move such medians that far.
        """
        cfg = self.config
        w = cfg.pace_window_strides
        if len(self._recent_pace) < 2 * w:
            return False
        arr = np.array(self._recent_pace, dtype=float)
        old, new = arr[:w], arr[w:]
        d_cad = abs(float(np.median(new[:, 0]) - np.median(old[:, 0])))
        with np.errstate(invalid="ignore", divide="ignore"):
            # over the measured peaks (a data gap may have left one out)
            d_peak = abs(float(np.log(_measured_median(new[:, 1]) / _measured_median(old[:, 1]))))
        return d_cad > cfg.pace_transition_spm or (
            math.isfinite(d_peak) and d_peak > cfg.pace_transition_log_peak
        )

    # ------------------------------------------------------------------ evidence

    def update(self, stride: Stride, ctx: StrideContext) -> list[Decision]:
        """Add a running stride's evidence (needs the baseline); decide raise or end."""
        base = ctx.baseline
        assert base is not None
        cfg = self.config
        cur = {name: value(stride, name) for name in VARIABILITY_FEATURES}
        jerks: dict[str, float] = {}
        if base.step_sd:
            jerks = jerk_z(cur, self._prev_var, self._prev2_var, base.step_sd)
        for name, v in cur.items():
            if v > 0:  # measured (NaN compares False)
                if name in self._prev_var:
                    self._prev2_var[name] = self._prev_var[name]
                self._prev_var[name] = v
        if self._skip > 0:
            self._skip -= 1
            return []
        level, zs = self._level(stride, base)
        if level is None:
            return []
        irregular = self._irregularity(jerks)
        cap = cfg.max_stride_score_sd
        pain = ctx.index <= self._pain_boost_until
        h_level = cfg.cusum_threshold_sd
        h_var = cfg.irregularity_threshold
        self._level_cusum = min(
            h_level, max(0.0, self._level_cusum + min(level, cap) - cfg.cusum_slack_sd)
        )
        # the same with less slack: what a pain mark escalates
        self._level_watch = min(
            h_level,
            max(
                0.0, self._level_watch + min(level, cap) - cfg.pain_slack_share * cfg.cusum_slack_sd
            ),
        )
        for name, z in zs.items():
            self._recent_z.setdefault(name, deque(maxlen=cfg.report_strides)).append(z)
        self._var_cusum = min(h_var, max(0.0, self._var_cusum + irregular))
        # a guarded gait needs both: the swing slower than the pace explains AND
        # strides more irregular than normal (an uphill or a deliberate cadence
        # change gives the first alone, fatigue a little of the second); after a
        # pain mark the slower swing alone counts, at less evidence
        if pain:
            threshold = cfg.pain_threshold_share * h_level
            self._cusum = self._level_watch
        else:
            threshold = h_level
            self._cusum = h_level * min(self._level_cusum / h_level, self._var_cusum / h_var)
        self.scores_.append((ctx.index, level, self._cusum, self._level_cusum, self._var_cusum))
        # the baseline follows slow drift, but not while a change is building up
        if self._cusum < cfg.quiet_share * h_level and not ctx.is_active(KIND):
            self._follow_drift(zs, jerks, base)
        if self._cusum >= threshold:
            # bounded: ends promptly once strides are normal again
            self._level_cusum = min(self._level_cusum, h_level)
            self._var_cusum = min(self._var_cusum, h_var)
            self._calm = 0
            return [self._stop(level, zs, base)]
        if ctx.is_active(KIND):
            quiet = self._cusum < cfg.quiet_share * threshold
            self._calm = self._calm + 1 if quiet else 0
            if self._calm >= cfg.end_after_strides:
                self._cusum = 0.0
                return [End(KIND, texts.GAIT_NORMAL_AGAIN)]
        return []

    def _level(
        self, stride: Stride, base: PersonalBaseline
    ) -> tuple[float | None, dict[str, float]]:
        """Combined level score in SDs (positive = slower swing) and each feature's residual."""
        total = 0.0
        wsum = 0.0
        zs: dict[str, float] = {}
        for spec in FEATURES:
            z = base.residual_z(
                spec.name,
                value(stride, spec.name),
                self._pace_cadence_spm,
                self._drift.get(spec.name, 0.0),
                self._pace_contact_s if spec.name != "contact_time_s" else float("nan"),
            )
            if not math.isfinite(z):
                continue
            zs[spec.name] = z
            if spec.weight > 0:
                total += spec.weight * float(
                    directional(max(-Z_CLIP_SD, min(Z_CLIP_SD, z)), spec.guarded_direction)
                )
                wsum += spec.weight
        if wsum == 0:
            return None, zs
        return total / wsum / base.score_sd, zs

    def _irregularity(self, jerks: dict[str, float]) -> float:
        """Log-likelihood ratio of "variation ``irregularity_ratio`` × the normal" against "normal"."""
        ratio = self.config.irregularity_ratio
        k_var = 0.5 * (1.0 - 1.0 / ratio**2)
        scale = math.sqrt(self._var_scale2)
        llrs = [
            k_var * min(abs(z) / scale, STEP_CLIP_SD) ** 2 - math.log(ratio) for z in jerks.values()
        ]
        return sum(llrs)

    def _follow_drift(
        self, zs: dict[str, float], jerks: dict[str, float], base: PersonalBaseline
    ) -> None:
        alpha = 1.0 - 0.5 ** (1.0 / self.drift_half_life_strides)
        clip = self.config.drift_step_max_sd
        for name, z in zs.items():
            m = base.models[name]
            d = self._drift.get(name, 0.0)
            self._drift[name] = d + alpha * max(-clip, min(clip, z)) * m.sd
        if jerks:
            sq = sum(min(abs(z), STEP_CLIP_SD) ** 2 for z in jerks.values()) / len(jerks)
            self._var_scale2 += alpha * (sq - self._var_scale2)

    def _stop(self, level: float, zs: dict[str, float], base: PersonalBaseline) -> Raise:
        """The stop alert, with the change over the last few strides (not one stride's noise)."""
        pct = {
            name: 100.0
            * (math.exp(float(np.mean(self._recent_z[name])) * base.models[name].sd) - 1.0)
            for name in zs
        }
        cad = self._pace_cadence_spm
        numbers: dict[str, float | int | str | None] = {
            "cadence_spm": round(cad, 1),
            "score_sd": round(level, 2),
            "irregularity_evidence": round(self._var_cusum, 1),
        }
        numbers.update({f"{name}_vs_normal_pct": round(v, 1) for name, v in pct.items()})
        return Raise(
            KIND,
            Severity.STOP,
            texts.gait_changed(cad, pct),
            numbers,
            reminder_s=self.config.reminder_s,
        )

    # ------------------------------------------------------------------ events

    def mark_pain(self, stride_index: int, *, alert_on: bool) -> Raise:
        """The runner pressed "pain now" after stride ``stride_index``: escalate what develops.

        If a gait change is building up (or on), it is raised at once as
        "stop" with the pain in the reason; otherwise a caution asks the
        runner to watch it. Either way the level evidence alone counts for
        the next ``pain_boost_strides`` strides.

        Parameters
        ----------
        stride_index
            The last stride seen (-1 before the first).
        alert_on
            Whether the gait-change alert is on now.
        """
        cfg = self.config
        self._pain_boost_until = stride_index + cfg.pain_boost_strides
        developing = (
            max(self._cusum, self._level_watch)
            >= cfg.pain_developing_share * cfg.cusum_threshold_sd
            or alert_on
        )
        if developing:
            self._calm = 0
            return Raise(
                KIND,
                Severity.STOP,
                texts.pain_and_gait_change(),
                {"cusum_sd": round(self._cusum, 1)},
                escalate_reason=texts.PAIN_WHILE_CHANGED,
            )
        return Raise(AlertKind.PAIN_MARKED, Severity.CAUTION, texts.pain_marked())

    def notice_gap(self, duration_s: float) -> None:
        """Samples were lost for ``duration_s`` just before the stride about to be shown.

        A gap of ``gap_reset_s`` or more pauses detection and restarts the
        stride-to-stride comparisons. A shorter loss needs nothing here: the
        strides around it carry its mark — the features whose windows touched
        it are not measured (``None``) and give no evidence, the others count
        (docs/alerts.md, "Lossy links").
        """
        if duration_s >= self.config.gap_reset_s:
            self.pause()
            self._restart_steps()


def _measured_median(x: np.ndarray) -> float:
    """Median of the finite values of ``x`` (NaN when there are none)."""
    v = x[np.isfinite(x)]
    return float(np.median(v)) if v.size else float("nan")
