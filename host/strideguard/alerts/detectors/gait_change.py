"""Gait changed — stop and get checked: CUSUMs over strides, one leg or two.

*Level* evidence: mid-swing peak and late-swing deceleration below what the
baseline predicts at the current cadence and contact time (rolling medians),
after the slow drift the baseline follows. *Irregularity* evidence: a
likelihood-ratio CUSUM on the stride-to-stride second differences of those
features — a guarded gait is often less regular, while pace and terrain change
strides smoothly. With one sensor "stop" needs both (a slower swing alone is
what a hill or a deliberate cadence change does too). *Symmetry* evidence
(two sensors, :meth:`GaitChangeDetector.update_symmetry`): this leg against
the other, compared with the runner's own balance — hills, pace and tiredness
change both legs alike, a one-sided problem does not — is enough alone and
names the leg. Each stride's contribution is bounded, so one odd stride (a
stumble) never fires it; walking breaks, stops, pace transitions and data gaps
pause it, and a stride's features measured across lost samples give no
evidence (they are not measured). After the sensor
moved on the strap the levels are measured again from the new position
(:meth:`~GaitChangeDetector.begin_reanchor`) before evidence counts. A pain
mark lets the level evidence alone count. It ends (hysteresis) after a run of
quiet strides. Settings: :class:`~strideguard.alerts.config.GaitChangeConfig`
and :class:`~strideguard.alerts.config.SymmetryConfig`.
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
from strideguard.alerts.config import BaselineConfig, GaitChangeConfig, SymmetryConfig
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

    def __init__(
        self,
        config: GaitChangeConfig,
        baseline_config: BaselineConfig,
        symmetry_config: SymmetryConfig | None = None,
    ) -> None:
        self.config = config
        self.symmetry_config = symmetry_config if symmetry_config is not None else SymmetryConfig()
        self.leg: str | None = None
        self.drift_half_life_strides = baseline_config.drift_half_life_strides
        self.scores_: list[tuple[int, float, float, float, float]] = []
        self.symmetry_scores_: list[tuple[int, float, float]] = []
        self._sym_cusum = 0.0
        self._sym_watch = 0.0
        self._recent_sym: dict[str, deque[float]] = {}
        self._reanchor_left = 0
        self._reanchor_logs: dict[str, list[float]] = {}
        self._skip = 0
        self._calm = 0
        self._cusum = 0.0
        self._level_cusum = 0.0
        self._var_cusum = 0.0
        self._level_watch = 0.0
        self._drift: dict[str, float] = {}
        self._var_scale2 = 1.0  # slow drift of stride-to-stride irregularity (variance factor)
        # per variability feature, its last two measured values and their stride indices (a
        # stride whose feature a data gap left unmeasured is skipped: the irregularity compares
        # with the line through the measured ones, over their real spacing)
        self._prev_var: dict[str, tuple[float, int]] = {}
        self._prev2_var: dict[str, tuple[float, int]] = {}
        # first stride of the current episode of irregularity / level evidence (None: none)
        self._irregular_since: int | None = None
        self._level_since: int | None = None
        # the first level evidence seen in the current episode of irregularity (None: none yet)
        self._level_in_irregular: int | None = None
        self._quiet_run = {"var": 0, "level": 0}
        self._recent_z: dict[str, deque[float]] = {}
        self._recent_level: deque[tuple[int, float]] = deque(maxlen=config.level_window_strides)
        self._recent_stance: deque[tuple[int, float]] = deque(maxlen=config.level_window_strides)
        self._stance_cusum = 0.0
        self._recent_second: deque[tuple[float, float]] = deque(
            maxlen=config.evidence_memory_strides
        )
        self._pain_boost_until = -1
        w = config.pace_window_strides
        self._recent_pace: deque[tuple[float, float]] = deque(maxlen=2 * w)
        self._settling = 0  # strides left in which the pace may still be settling
        self._normal_peak: float | None = None  # the baseline's median mid-swing peak
        self._recent_contacts: deque[float] = deque(maxlen=2 * w)
        self._pace_cadences: deque[float] = deque(maxlen=CADENCE_WINDOW)
        self._pace_contacts: deque[float] = deque(maxlen=CADENCE_WINDOW)
        self._pace_cadence_spm = float("nan")
        self._pace_contact_s = float("nan")

    # ------------------------------------------------------------------ pauses

    def pause(self) -> None:
        """Give no evidence for the next ``resume_skip_strides`` strides (e.g. a walking break)."""
        self._skip = max(self._skip, self.config.resume_skip_strides)

    @property
    def paused(self) -> bool:
        """Whether this leg gives no evidence now (pause, pace transition or re-anchoring)."""
        return self._skip > 0 or self._reanchor_left > 0

    @property
    def reanchoring(self) -> bool:
        """Whether the levels are being measured again after the sensor moved."""
        return self._reanchor_left > 0

    def begin_reanchor(self, strides: int) -> None:
        """The sensor moved on the strap: measure the levels again from the next ``strides``.

        The swing features are now seen from a new sensor position (a turned
        sensor sees a smaller share of the swing), so they are no longer
        comparable with the baseline. The next ``strides`` running strides give
        no evidence; their median offset from the baseline's prediction becomes
        part of the drift the baseline follows, and the evidence so far is
        dropped. A gait change that happens during those strides is learned
        with the new position: the notice says so.
        """
        self._reanchor_left = strides
        self._reanchor_logs = {}
        self._level_cusum = self._var_cusum = self._cusum = self._level_watch = 0.0
        self._stance_cusum = self._sym_cusum = self._sym_watch = 0.0
        self._recent_second.clear()
        self._restart_steps()

    def _swing_ratio(self, stride: Stride) -> float | None:
        """The stride's mid-swing peak over the runner's normal (None while the normal is
        unknown or the peak unmeasured)."""
        normal = self._normal_peak
        peak = value(stride, "peak_midswing_gyr_dps")
        if normal is None or normal <= 0 or not (math.isfinite(peak) and peak > 0):
            return None
        return peak / normal

    def _at_known_pace(self, stride: Stride) -> bool:
        """Whether the stride's swing is within ``known_pace_ratio`` of the runner's normal
        (either way; True while the normal is unknown or the peak unmeasured): the pace
        model's prediction holds there, not at a sprint, where it is itself off."""
        ratio = self._swing_ratio(stride)
        return ratio is None or abs(math.log(ratio)) <= math.log(self.config.known_pace_ratio)

    def faster_than_known(self, stride: Stride) -> bool:
        """Whether the stride swings faster than ``known_pace_ratio`` × the runner's normal
        (a sprint; False while the normal is unknown or the peak unmeasured). Only the fast
        side: a sensor turned on the strap sees a *smaller* share of the swing."""
        ratio = self._swing_ratio(stride)
        return ratio is not None and ratio > self.config.known_pace_ratio

    def _reanchor(self, stride: Stride, base: PersonalBaseline) -> bool:
        """Collect one stride for the re-anchoring; True when it has just finished."""
        for name, z in self._residuals(stride, base).items():
            self._reanchor_logs.setdefault(name, []).append(z * base.models[name].sd)
        self._reanchor_left -= 1
        if self._reanchor_left > 0:
            return False
        for name, logs in self._reanchor_logs.items():
            self._drift[name] = self._drift.get(name, 0.0) + float(np.median(logs))
        self._reanchor_logs = {}
        return True

    def _restart_steps(self) -> None:
        """Compare strides only with strides after this point."""
        self._prev_var = {}
        self._prev2_var = {}
        self._recent_level.clear()
        self._recent_stance.clear()

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
        if not self._at_known_pace(stride):
            # a hard effort (or a crawl) beyond the paces the baseline knows: no evidence now,
            # and afterwards evidence waits for the pace to settle (a runner slows down from a
            # sprint over many strides, and the rolling pace covariates lag behind)
            self._skip = max(self._skip, 1)
            self._settling = cfg.pace_settle_max_strides
        if self._pace_transition():
            # speeding up or slowing down fast (e.g. out of a sprint): the pace covariates lag the
            # swing for a few strides, so these strides give no gait-change evidence
            self._skip = max(self._skip, cfg.pace_transition_skip_strides)
            if self._leaving_fast_pace():
                self._settling = cfg.pace_settle_max_strides
        ct = value(stride, "contact_time_s")
        if math.isfinite(ct):
            self._pace_contacts.append(ct)
            self._recent_contacts.append(ct)
        self._pace_contact_s = (
            float(np.median(np.fromiter(self._pace_contacts, float)))
            if self._pace_contacts
            else float("nan")
        )
        if self._settling > 0:
            # after a transition, the runner keeps slowing (or speeding) for a while; the
            # rolling pace lags behind until the last strides agree with it again
            self._settling -= 1
            if self._pace_lagging():
                self._skip = max(self._skip, 1)
            else:
                self._settling = 0

    def _leaving_fast_pace(self) -> bool:
        """Whether the strides before the transition swung much faster than the runner's
        normal: after a hard effort the runner slows for many strides, and the pace model,
        learned at the usual pace, needs the pace to settle before it predicts again."""
        w = self.config.pace_window_strides
        pace = list(self._recent_pace)
        if self._normal_peak is None or len(pace) < 2 * w:
            return False
        before = float(np.median([p for _, p in pace[:w]]))
        return before >= self.config.pace_settle_from_ratio * self._normal_peak

    def _pace_lagging(self) -> bool:
        """Whether the pace is still changing: the median cadence or contact time of the last
        strides is away from the rolling pace, or from the same many strides before."""
        cfg = self.config
        w = cfg.pace_window_strides
        pace = list(self._recent_pace)
        if len(pace) < 2 * w or not math.isfinite(self._pace_cadence_spm):
            return True
        new = float(np.median([c for c, _ in pace[-w:]]))
        old = float(np.median([c for c, _ in pace[-2 * w : -w]]))
        if max(abs(new - self._pace_cadence_spm), abs(new - old)) > cfg.pace_settle_spm:
            return True
        cts = list(self._recent_contacts)
        if len(cts) < 2 * w or not (
            math.isfinite(self._pace_contact_s) and self._pace_contact_s > 0
        ):
            return False
        new_c = float(np.median(cts[-w:]))
        old_c = float(np.median(cts[-2 * w : -w]))
        change = max(abs(math.log(new_c / self._pace_contact_s)), abs(math.log(new_c / old_c)))
        return change > cfg.pace_settle_log_contact

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
        """Add a running stride's evidence (needs the baseline); decide raise or end.

        While re-anchoring after a moved sensor, the stride only measures the
        new levels.
        """
        base = ctx.baseline
        assert base is not None
        cfg = self.config
        self._normal_peak = base.medians.get("peak_midswing_gyr_dps")
        if self._reanchor_left > 0:
            if self._skip > 0:  # a pace transition: the covariates lag the swing
                self._skip -= 1
            elif self._at_known_pace(stride):
                self._reanchor(stride, base)
            return []
        cur = {name: value(stride, name) for name in VARIABILITY_FEATURES}
        jerks: dict[str, float] = {}
        if base.step_sd:
            jerks = jerk_z(cur, self._prev_var, self._prev2_var, base.step_sd, ctx.index)
        for name, v in cur.items():
            if v > 0:  # measured (NaN compares False)
                if name in self._prev_var:
                    self._prev2_var[name] = self._prev_var[name]
                self._prev_var[name] = (v, ctx.index)
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
        # the level evidence is the median of the last few strides' scores: a lasting shift
        # passes, while stride-to-stride scatter (rough ground) is smoothed away
        self._recent_level.append((ctx.index, min(level, cap)))
        lev = float(np.median([x for _, x in self._recent_level]))
        self._level_cusum = min(h_level, max(0.0, self._level_cusum + lev - cfg.cusum_slack_sd))
        # the same with less slack: what a pain mark escalates
        self._level_watch = min(
            h_level,
            max(0.0, self._level_watch + lev - cfg.pain_slack_share * cfg.cusum_slack_sd),
        )
        for name, z in zs.items():
            self._recent_z.setdefault(name, deque(maxlen=cfg.report_strides)).append(z)
        self._var_cusum = min(h_var, max(0.0, self._var_cusum + irregular))
        quiet = cfg.quiet_share
        # the episode of irregularity dates from when it first filled its CUSUM
        self._irregular_since = self._episode(
            self._irregular_since,
            self._var_cusum >= quiet * h_var,
            ctx.index,
            "var",
            started=self._var_cusum >= h_var,
        )
        self._level_since = self._episode(
            self._level_since, self._level_cusum >= quiet * h_level, ctx.index, "level"
        )
        # irregularity that began long before any level change is the ground the runner
        # is on (a trail), not the start of a guarded gait: it does not count, and the
        # irregularity reference follows it, faster than slow drift
        # (judged by the first level evidence of the irregular episode: a change growing in
        # over minutes shows its irregularity first and its level evidence flickering near the
        # slack; a level episode that paused and came back is still the one that began with it)
        if self._irregular_since is None:
            self._level_in_irregular = None
        elif self._level_in_irregular is None and self._level_since is not None:
            self._level_in_irregular = self._level_since
        level_start = (
            self._level_in_irregular
            if self._level_in_irregular is not None
            else (self._level_since if self._level_since is not None else ctx.index)
        )
        ground = (
            self._irregular_since is not None
            and level_start - self._irregular_since > cfg.co_onset_strides
        )
        if ground and jerks and self._level_since is None:
            alpha = 1.0 - 0.5 ** (1.0 / cfg.ground_half_life_strides)
            sq = sum(min(abs(z), STEP_CLIP_SD) ** 2 for z in jerks.values()) / len(jerks)
            self._var_scale2 += alpha * (sq - self._var_scale2)
        var_share = 0.0 if ground else self._var_cusum / h_var
        # the antalgic stance: the foot leaves the ground sooner than the cadence explains
        # (a hill lengthens contact, a cadence change at the same speed hardly shortens it;
        # running faster with longer strides does, but then the swing is faster too)
        stance = -zs["contact_time_s"] if "contact_time_s" in zs else 0.0
        self._recent_stance.append((ctx.index, max(-cap, min(cap, stance))))
        st = float(np.median([x for _, x in self._recent_stance]))
        self._stance_cusum = min(
            cfg.stance_threshold_sd,
            max(0.0, self._stance_cusum + st - cfg.stance_slack_sd),
        )
        stance_share = self._stance_cusum / cfg.stance_threshold_sd
        # the second kind of evidence at its strongest over the last few strides: a modest
        # extra irregularity fills its CUSUM now and then rather than all the time, and the
        # level evidence of the same change may fill a few strides later
        self._recent_second.append((var_share, stance_share))
        var_mem = max(v for v, _ in self._recent_second)
        stance_mem = max(x for _, x in self._recent_second)
        # a guarded gait needs two kinds of evidence: the swing slower than the pace
        # explains AND either strides more irregular than normal from about the same
        # moment, or a shorter stance (an uphill or a deliberate cadence change gives the
        # first alone, fatigue a little of the second, rough ground the second from long
        # before, a faster pace the third with a faster swing); after a pain mark the
        # slower swing alone counts, at less evidence
        if pain:
            threshold = cfg.pain_threshold_share * h_level
            self._cusum = self._level_watch
        else:
            threshold = h_level
            self._cusum = h_level * min(self._level_cusum / h_level, max(var_mem, stance_mem))
        self.scores_.append((ctx.index, level, self._cusum, self._level_cusum, self._var_cusum))
        share = max(self._cusum / threshold, self._symmetry_share(pain))
        # the baseline follows slow drift, but not while a change is building up -- nor while
        # the stance evidence builds: following then absorbs the very shortening of stance
        # that would confirm a limp (level evidence alone does not freeze it: a long uphill or
        # a cadence change would then keep its level evidence until chance irregularity)
        building = max(share, stance_share)
        if building < cfg.quiet_share and not ctx.is_active(KIND):
            self._follow_drift(zs, jerks, base)
        if self._cusum >= threshold:
            # bounded: ends promptly once strides are normal again
            self._level_cusum = min(self._level_cusum, h_level)
            self._var_cusum = min(self._var_cusum, h_var)
            self._calm = 0
            return [self._stop(level, zs, base)]
        if ctx.is_active(KIND):
            self._calm = self._calm + 1 if share < cfg.quiet_share else 0
            if self._calm >= cfg.end_after_strides:
                self._cusum = 0.0
                self._sym_cusum = self._sym_watch = 0.0
                return [End(KIND, texts.GAIT_NORMAL_AGAIN)]
        return []

    # ------------------------------------------------------------------ two legs

    def _symmetry_share(self, pain: bool) -> float:
        """Symmetry evidence as a share of what says stop."""
        cfg = self.symmetry_config
        if pain:
            return self._sym_watch / (self.config.pain_threshold_share * cfg.threshold_sd)
        return self._sym_cusum / cfg.threshold_sd

    @property
    def evidence_share(self) -> float:
        """The strongest evidence now, as a share of what says stop (0 … 1)."""
        h = self.config.cusum_threshold_sd
        return min(1.0, max(self._cusum / h, self._sym_cusum / self.symmetry_config.threshold_sd))

    def update_symmetry(
        self, score: float, deviation: dict[str, float], ctx: StrideContext
    ) -> list[Decision]:
        """Add one stride pair's evidence that *this* leg changed against the other.

        Parameters
        ----------
        score
            Combined one-sided score of the pair in SDs of the runner's normal
            balance (positive: this leg looks guarded next to the other).
        deviation
            Per paired feature: this pair's ``log(this / other)`` (degrees for
            the angle) minus the runner's normal, for the words of the alert.
        ctx
            This leg's context (its latest stride).
        """
        cfg = self.symmetry_config
        if self.paused or not math.isfinite(score):
            return []
        cap = cfg.max_pair_score_sd
        x = min(score, cap)
        self._sym_cusum = min(cfg.threshold_sd, max(0.0, self._sym_cusum + x - cfg.slack_sd))
        gc = self.config
        self._sym_watch = min(
            cfg.threshold_sd,
            max(0.0, self._sym_watch + x - gc.pain_slack_share * cfg.slack_sd),
        )
        for name, d in deviation.items():
            self._recent_sym.setdefault(name, deque(maxlen=gc.report_strides)).append(d)
        self.symmetry_scores_.append((ctx.index, score, self._sym_cusum))
        pain = ctx.index <= self._pain_boost_until
        threshold = gc.pain_threshold_share * cfg.threshold_sd if pain else cfg.threshold_sd
        evidence = self._sym_watch if pain else self._sym_cusum
        if evidence >= threshold:
            self._sym_cusum = min(self._sym_cusum, cfg.threshold_sd)
            self._calm = 0
            return [self._stop_symmetry()]
        return []

    def _stop_symmetry(self) -> Raise:
        """The stop alert from a one-sided change, with what changed over the last pairs."""
        change = {name: float(np.mean(v)) for name, v in self._recent_sym.items() if len(v) > 0}
        numbers: dict[str, float | int | str | None] = {
            "cadence_spm": round(self._pace_cadence_spm, 1),
            "symmetry_evidence_sd": round(self._sym_cusum, 1),
        }
        for name, d in change.items():
            key = (
                f"{name}_vs_other_leg_change_{'deg' if name == 'shank_angle_at_ic_deg' else 'pct'}"
            )
            numbers[key] = round(d if name == "shank_angle_at_ic_deg" else 100 * math.expm1(d), 1)
        return Raise(
            KIND,
            Severity.STOP,
            texts.gait_changed_one_side(self.leg, change),
            numbers,
            reminder_s=self.config.reminder_s,
        )

    def _residuals(self, stride: Stride, base: PersonalBaseline) -> dict[str, float]:
        """Each feature's residual (SDs) from what the baseline predicts at today's pace,
        after the drift; features this stride did not measure are left out."""
        out: dict[str, float] = {}
        for spec in FEATURES:
            z = base.residual_z(
                spec.name,
                value(stride, spec.name),
                self._pace_cadence_spm,
                self._drift.get(spec.name, 0.0),
                self._pace_contact_s if spec.name != "contact_time_s" else float("nan"),
            )
            if math.isfinite(z):
                out[spec.name] = z
        return out

    def _level(
        self, stride: Stride, base: PersonalBaseline
    ) -> tuple[float | None, dict[str, float]]:
        """Combined level score in SDs (positive = slower swing) and each feature's residual."""
        total = 0.0
        wsum = 0.0
        zs = self._residuals(stride, base)
        for spec in FEATURES:
            z = zs.get(spec.name)
            if z is not None and spec.weight > 0:
                total += spec.weight * float(
                    directional(max(-Z_CLIP_SD, min(Z_CLIP_SD, z)), spec.guarded_direction)
                )
                wsum += spec.weight
        if wsum == 0:
            return None, zs
        return total / wsum / base.score_sd, zs

    def _episode(
        self, since: int | None, on: bool, index: int, which: str, started: bool | None = None
    ) -> int | None:
        """Start of an evidence episode: set when evidence appears (or, with ``started``,
        when it first becomes strong), cleared after ``end_episode_strides`` quiet strides
        in a row (a dip is not an end)."""
        if on:
            self._quiet_run[which] = 0
            begins = on if started is None else started
            return index if since is None and begins else since
        self._quiet_run[which] += 1
        return None if self._quiet_run[which] >= self.config.end_episode_strides else since

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
            or self._sym_watch >= cfg.pain_developing_share * self.symmetry_config.threshold_sd
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
