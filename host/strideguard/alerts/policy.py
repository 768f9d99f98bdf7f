"""The one alert policy: strides in, alerts out — offline and live alike.

:class:`AlertPolicy` consumes one stride at a time (``update``) plus events
(pain marks, data gaps, battery), keeps the personal baseline, runs the
detectors and applies the policy rules — severity, persistence, hysteresis,
cool-down, escalation and ending — so ``strideguard analyze`` on a recording
raises exactly the alerts the live run raised.

Detectors
---------
Gait changed (stop)
    Two CUSUMs over strides must both be full: *level* evidence (mid-swing
    peak and late-swing deceleration below what the baseline predicts at the
    current cadence and contact time, after the slow drift the baseline
    follows) and *irregularity* evidence (a likelihood-ratio CUSUM on the
    stride-to-stride second differences of those features: a guarded gait is
    less regular, while pace and terrain change strides smoothly). Each
    stride's contribution is bounded so one odd stride (a stumble) can never
    fire it; walking breaks, stops and data gaps pause it, and strides that
    lost samples give no evidence. A pain mark lets the level evidence alone
    count. It ends (hysteresis) after a run of normal strides.
Overstriding (coach)
    Rolling median of tibia angle at IC above the personal reference (or an
    absolute default before there is one) while cadence has not risen: the
    runner lands with the foot further ahead. The cue names a cadence target.
High late-swing load (caution)
    Late-swing deceleration or mid-swing peak far above the runner's normal
    in most of the last five strides (e.g. a sprint late in a run).
Notices (info)
    Clipping, data lost, battery low, mounting changed.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from strideguard.alerts.baseline import (
    CADENCE_WINDOW,
    FEATURES,
    STEP_CLIP_SD,
    VARIABILITY_FEATURES,
    PersonalBaseline,
    directional,
    jerk_z,
)
from strideguard.alerts.config import AlertConfig
from strideguard.alerts.model import Alert, AlertKind, AlertState, Severity

PACE_TRANSITION_SPM = 11.0  # median cadence of 3 strides vs the 3 before
PACE_TRANSITION_LOG_PEAK = 0.35  # ~40 % change of the median mid-swing peak (a sprint)
PACE_TRANSITION_SKIP_STRIDES = 3
RUNNING_CADENCE_MIN_SPM = 130.0  # below this (or duty factor above 0.5) a stride is walking
RUNNING_DUTY_FACTOR_MAX = 0.5
GAP_RESET_S = 1.0  # data gaps this long restart the stride-to-stride comparisons
MISSING_STRIDE_GAP_S = 2.5  # longer between two strides' contacts: strides are missing
STOP_GAP_S = 5.0  # longer: the runner stopped (or the data did), detection restarts
OVERSTRIDE_PERSIST_STRIDES = 3  # rolling medians in a row above the limit


def _f(stride: Mapping[str, float | None], key: str) -> float:
    v = stride.get(key)
    return float("nan") if v is None else float(v)


@dataclass
class _Active:
    """An alert that is currently on."""

    alert: Alert
    last_sent_s: float
    calm_strides: int = 0


@dataclass
class AlertPolicy:
    """Turn strides and events into alerts (see the module docstring).

    Parameters
    ----------
    config
        Settings; defaults documented in :mod:`strideguard.alerts.config`.
    baseline
        A stored personal profile; ``None`` learns one from this run.
    leg
        ``"L"``/``"R"`` for the alert texts.
    angle_calibrated
        Whether tibia angles are absolute (standing calibration done).

    Attributes
    ----------
    alerts_
        Every alert emitted so far, in order.
    baseline_
        The baseline in use (``None`` while still learning).
    scores_
        Per stride: (stride index, level score in SDs, combined evidence,
        level CUSUM, irregularity CUSUM) for inspection.
    """

    config: AlertConfig = field(default_factory=AlertConfig)
    baseline: PersonalBaseline | None = None
    leg: str | None = None
    angle_calibrated: bool = False

    def __post_init__(self) -> None:
        self.alerts_: list[Alert] = []
        self.baseline_: PersonalBaseline | None = self.baseline
        self.scores_: list[tuple[int, float, float, float, float]] = []
        self._active: dict[AlertKind, _Active] = {}
        self._learn: dict[str, list[float]] = {}
        self._learn_of = -1  # stride collected last for the baseline
        self._run_time_s = 0.0
        self._last_ic_s: float | None = None
        self._first_running_s: float | None = None
        self._skip = 0
        self._cusum = 0.0
        self._drift: dict[str, float] = {}
        self._prev_var: dict[str, float] | None = None
        self._prev2_var: dict[str, float] | None = None
        self._var_cusum = 0.0
        self._snapshot: tuple[int, float, float, float, float] = (-1, 0.0, 0.0, 0.0, 0.0)
        self._level_watch = 0.0
        self._recent_z: dict[str, deque[float]] = {}
        self._var_scale2 = 1.0  # slow drift of stride-to-stride irregularity (variance factor)
        self._level_cusum = 0.0
        self._pace_cadences: deque[float] = deque(maxlen=CADENCE_WINDOW)
        self._recent: deque[tuple[float, float]] = deque(maxlen=6)
        self._pace_contacts: deque[float] = deque(maxlen=CADENCE_WINDOW)
        self._angles: deque[float] = deque(maxlen=self.config.overstride.rolling_strides)
        self._cadences: deque[float] = deque(maxlen=self.config.overstride.rolling_strides)
        self._overstride_run = 0
        self._load_flags: deque[bool] = deque(maxlen=5)
        self._clipped: deque[bool] = deque(maxlen=20)
        self._pain_boost_until: int = -1
        self._gravity_ref: np.ndarray | None = None
        self._gravity_n = 0
        self._mount_run = 0
        self._angle_ref_learning: list[float] | None = None
        self._angle_ref_override: float | None = None
        self._n = -1

    # ------------------------------------------------------------------ helpers

    def _emit(self, alert: Alert) -> list[Alert]:
        self.alerts_.append(alert)
        return [alert]

    def _raise(
        self,
        kind: AlertKind,
        severity: Severity,
        time_s: float,
        stride: int | None,
        title: str,
        reason: str,
        advice: str,
        numbers: dict[str, float | int | str | None],
        *,
        reminder_s: float | None = None,
    ) -> list[Alert]:
        """Raise, remind, or escalate ``kind`` according to the policy."""
        act = self._active.get(kind)
        if act is None:
            state = AlertState.RAISED
        elif severity.rank > act.alert.severity.rank:
            state = AlertState.ESCALATED
        elif reminder_s is not None and time_s - act.last_sent_s >= reminder_s:
            state = AlertState.REMINDER
        else:
            act.calm_strides = 0
            return []  # deduplicated
        alert = Alert(
            kind, severity, state, time_s, stride, title, reason, advice, numbers, self.leg
        )
        self._active[kind] = _Active(alert=alert, last_sent_s=time_s)
        return self._emit(alert)

    def _end(self, kind: AlertKind, time_s: float, stride: int | None, reason: str) -> list[Alert]:
        act = self._active.pop(kind, None)
        if act is None:
            return []
        a = act.alert
        alert = Alert(
            kind,
            a.severity,
            AlertState.ENDED,
            time_s,
            stride,
            a.title,
            reason,
            "",
            dict(a.numbers),
            self.leg,
        )
        return self._emit(alert)

    def _reset_steps(self) -> None:
        self._prev_var = None
        self._prev2_var = None

    def is_active(self, kind: AlertKind) -> bool:
        """Whether ``kind`` is currently raised."""
        return kind in self._active

    # ------------------------------------------------------------------ strides

    def update(self, stride: Mapping[str, float | None]) -> list[Alert]:
        """Process one stride; return the alerts it caused.

        Parameters
        ----------
        stride
            Per-stride metrics keyed as in ``strideguard.analysis`` output:
            ``initial_contact_s``, ``cadence_spm``, ``stride_time_s``,
            ``contact_time_s``, ``duty_factor``, ``peak_midswing_gyr_dps``,
            ``late_swing_peak_decel_dps2``, ``shank_angle_at_ic_deg``,
            ``peak_tibial_accel_g``, ``peak_tibial_accel_clipped`` and, when
            available, ``gravity_x/y/z`` (stance gravity direction in the sensor
            frame). Missing or ``None`` values are skipped.
        """
        self._n += 1
        i = self._n
        t = _f(stride, "initial_contact_s")
        cad = _f(stride, "cadence_spm")
        out: list[Alert] = []
        since_s = t - self._last_ic_s if self._last_ic_s is not None else 0.0
        gap = since_s > STOP_GAP_S  # stopped, or a long data gap
        if since_s > MISSING_STRIDE_GAP_S:  # strides missing: compare only adjacent ones
            self._prev_var = None
            self._prev2_var = None
        self._last_ic_s = t
        duty = _f(stride, "duty_factor")
        running = (
            np.isfinite(cad)
            and cad >= RUNNING_CADENCE_MIN_SPM
            and not (np.isfinite(duty) and duty > RUNNING_DUTY_FACTOR_MAX)
        )
        if gap or not running:
            self._skip = self.config.gait_change.resume_skip_strides
            self._reset_steps()
            self._pace_cadences.clear()
            self._pace_contacts.clear()
        if not running:
            return out
        self._pace_cadences.append(cad)
        pace_cad = float(np.median(np.fromiter(self._pace_cadences, float)))
        self._recent.append((cad, _f(stride, "peak_midswing_gyr_dps")))
        if self._pace_transition():
            # speeding up or slowing down fast (e.g. out of a sprint): the pace covariates lag the
            # swing for a few strides, so these strides give no gait-change evidence
            self._skip = max(self._skip, PACE_TRANSITION_SKIP_STRIDES)
        ct = _f(stride, "contact_time_s")
        if math.isfinite(ct):
            self._pace_contacts.append(ct)
        pace_ct = (
            float(np.median(np.fromiter(self._pace_contacts, float)))
            if self._pace_contacts
            else float("nan")
        )
        if self._first_running_s is None:
            self._first_running_s = t
        run_s = t - self._first_running_s

        out += self._notices(stride, i, t)
        if self.baseline_ is None:
            self._collect(stride, run_s)
            if run_s > self.config.baseline.skip_s + self.config.baseline.duration_s:
                self._fit_baseline()
        out += self._overstride(stride, i, t, cad)
        if self.baseline_ is not None:
            out += self._gait_change(stride, i, t, pace_cad, pace_ct)
            out += self._late_swing_load(stride, i, t)
        return out

    def run(self, strides: Iterable[Mapping[str, float | None]]) -> list[Alert]:
        """Process many strides in order; return all alerts they caused."""
        out: list[Alert] = []
        for s in strides:
            out += self.update(s)
        return out

    # ------------------------------------------------------------------ baseline

    def _collect(self, stride: Mapping[str, float | None], run_s: float) -> None:
        cfg = self.config.baseline
        if not cfg.skip_s <= run_s <= cfg.skip_s + cfg.duration_s:
            return
        for key in (
            "cadence_spm",
            "stride_time_s",
            "shank_angle_at_ic_deg",
            *(s.name for s in FEATURES),
        ):
            self._learn.setdefault(key, []).append(_f(stride, key))
        self._learn_of = self._n

    def _fit_baseline(self) -> None:
        n = len(self._learn.get("cadence_spm", []))
        if n < self.config.baseline.min_strides:
            # not enough steady running yet: keep learning from what follows
            self.config.baseline.duration_s += 30.0
            return
        table = {k: np.asarray(v, float) for k, v in self._learn.items()}
        self.baseline_ = PersonalBaseline.fit(table, angle_calibrated=self.angle_calibrated)
        self._learn = {}

    # ------------------------------------------------------------------ gait change

    def _pace_transition(self) -> bool:
        """Whether the last three strides differ in pace from the three before.

        Medians of three strides change by more than ``PACE_TRANSITION_SPM`` in
        cadence or by more than ``PACE_TRANSITION_LOG_PEAK`` in log mid-swing peak:
        leaving a sprint does this within a few strides; a guarded gait's extra
        stride-to-stride scatter does not move medians of three that far.
        """
        if len(self._recent) < 6:
            return False
        arr = np.array(self._recent, dtype=float)
        old, new = arr[:3], arr[3:]
        d_cad = abs(float(np.median(new[:, 0]) - np.median(old[:, 0])))
        with np.errstate(invalid="ignore", divide="ignore"):
            d_peak = abs(float(np.log(np.median(new[:, 1]) / np.median(old[:, 1]))))
        return d_cad > PACE_TRANSITION_SPM or (
            math.isfinite(d_peak) and d_peak > PACE_TRANSITION_LOG_PEAK
        )

    def _gait_change(
        self,
        stride: Mapping[str, float | None],
        i: int,
        t: float,
        cad: float,
        contact_s: float,
    ) -> list[Alert]:
        base = self.baseline_
        assert base is not None
        cfg = self.config.gait_change
        cur = {name: _f(stride, name) for name in VARIABILITY_FEATURES}
        jerks: dict[str, float] = {}
        if self._prev_var is not None and self._prev2_var is not None and base.step_sd:
            jerks = jerk_z(cur, self._prev_var, self._prev2_var, base.step_sd)
        self._prev2_var = self._prev_var
        self._prev_var = cur
        if self._skip > 0:
            self._skip -= 1
            return []
        total = 0.0
        wsum = 0.0
        zs: dict[str, float] = {}
        for spec in FEATURES:
            z = base.residual_z(
                spec.name,
                _f(stride, spec.name),
                cad,
                self._drift.get(spec.name, 0.0),
                contact_s if spec.name != "contact_time_s" else float("nan"),
            )
            if not math.isfinite(z):
                continue
            zs[spec.name] = z
            if spec.weight > 0:
                total += spec.weight * float(
                    directional(max(-6.0, min(6.0, z)), spec.guarded_direction)
                )
                wsum += spec.weight
        if wsum == 0:
            return []
        level = total / wsum / base.score_sd
        # irregularity evidence: log-likelihood ratio of "stride-to-stride
        # variation irregularity_ratio times the normal" against "normal"
        ratio = cfg.irregularity_ratio
        k_var = 0.5 * (1.0 - 1.0 / ratio**2)
        scale = math.sqrt(self._var_scale2)
        llrs = [
            k_var * min(abs(z) / scale, STEP_CLIP_SD) ** 2 - math.log(ratio) for z in jerks.values()
        ]
        irregular = sum(llrs)
        cap = cfg.max_stride_score_sd
        pain = i <= self._pain_boost_until
        h_level = cfg.cusum_threshold_sd
        h_var = cfg.irregularity_threshold
        self._snapshot = (i, self._level_cusum, self._var_cusum, self._cusum, self._level_watch)
        self._level_cusum = min(
            h_level, max(0.0, self._level_cusum + min(level, cap) - cfg.cusum_slack_sd)
        )
        # the same with half the slack: what a pain mark escalates
        self._level_watch = min(
            h_level, max(0.0, self._level_watch + min(level, cap) - 0.5 * cfg.cusum_slack_sd)
        )
        for name, z in zs.items():
            self._recent_z.setdefault(name, deque(maxlen=8)).append(z)
        self._var_cusum = min(h_var, max(0.0, self._var_cusum + irregular))
        # a guarded gait needs both: the swing slower than the pace explains AND
        # strides more irregular than normal (an uphill or a deliberate cadence
        # change gives the first alone, fatigue a little of the second); after a
        # pain mark the slower swing alone counts, at half the evidence
        if pain:
            threshold = 0.5 * h_level
            self._cusum = self._level_watch
        else:
            threshold = h_level
            self._cusum = h_level * min(self._level_cusum / h_level, self._var_cusum / h_var)
        self.scores_.append((i, level, self._cusum, self._level_cusum, self._var_cusum))
        # the baseline follows slow drift, but not while a change is building up
        if self._cusum < 0.25 * h_level and not self.is_active(AlertKind.GAIT_CHANGED):
            alpha = 1.0 - 0.5 ** (1.0 / self.config.baseline.drift_half_life_strides)
            for name, z in zs.items():
                m = base.models[name]
                d = self._drift.get(name, 0.0)
                self._drift[name] = d + alpha * max(-3.0, min(3.0, z)) * m.sd
            if jerks:
                sq = sum(min(abs(z), STEP_CLIP_SD) ** 2 for z in jerks.values()) / len(jerks)
                self._var_scale2 += alpha * (sq - self._var_scale2)
        score = level
        out: list[Alert] = []
        if self._cusum >= threshold:
            # bounded: ends promptly once strides are normal again
            self._level_cusum = min(self._level_cusum, h_level)
            self._var_cusum = min(self._var_cusum, h_var)
            # the change over the last few strides, not this one stride's noise
            pct = {
                name: 100.0
                * (math.exp(float(np.mean(self._recent_z[name])) * base.models[name].sd) - 1.0)
                for name in zs
            }
            parts = []
            if pct.get("peak_midswing_gyr_dps", 0.0) < -4:
                parts.append(f"your leg swings {abs(pct['peak_midswing_gyr_dps']):.0f} % slower")
            if pct.get("late_swing_peak_decel_dps2", 0.0) < -4:
                parts.append("it brakes less before landing")
            if pct.get("contact_time_s", 0.0) > 4:
                parts.append("your foot stays longer on the ground")
            elif pct.get("contact_time_s", 0.0) < -4:
                parts.append("you leave the ground sooner")
            numbers: dict[str, float | int | str | None] = {
                "cadence_spm": round(cad, 1),
                "score_sd": round(score, 2),
                "irregularity_evidence": round(self._var_cusum, 1),
            }
            numbers.update({f"{name}_vs_normal_pct": round(v, 1) for name, v in pct.items()})
            what = (
                ", ".join(parts) if parts else "your stride pattern is different and less regular"
            )
            reason = f"Your running has changed from your normal at the same cadence ({cad:.0f} steps/min): {what}."
            out += self._raise(
                AlertKind.GAIT_CHANGED,
                Severity.STOP,
                t,
                i,
                "Gait changed — stop and get checked",
                reason,
                "Stop running and walk. If anything hurts or the change stays, get it checked; pain for more than a day deserves a doctor.",
                numbers,
                reminder_s=60.0,
            )
            if self.is_active(AlertKind.GAIT_CHANGED):
                self._active[AlertKind.GAIT_CHANGED].calm_strides = 0
        elif self.is_active(AlertKind.GAIT_CHANGED):
            act = self._active[AlertKind.GAIT_CHANGED]
            act.calm_strides = act.calm_strides + 1 if self._cusum < 0.25 * threshold else 0
            if act.calm_strides >= cfg.end_after_strides:
                self._cusum = 0.0
                out += self._end(
                    AlertKind.GAIT_CHANGED, t, i, "Your strides look like your normal again."
                )
        return out

    # ------------------------------------------------------------------ overstride

    def _overstride(
        self, stride: Mapping[str, float | None], i: int, t: float, cad: float
    ) -> list[Alert]:
        cfg = self.config.overstride
        ang = _f(stride, "shank_angle_at_ic_deg")
        if not math.isfinite(ang):
            return []
        if self._angle_ref_learning is not None:
            self._angle_ref_learning.append(ang)
            if len(self._angle_ref_learning) < 20:
                return []
            self._angle_ref_override = float(np.median(self._angle_ref_learning))
            self._angle_ref_learning = None
        self._angles.append(ang)
        self._cadences.append(cad)
        if len(self._angles) < self._angles.maxlen:  # type: ignore[operator]
            return []
        roll_angle = float(np.median(np.fromiter(self._angles, float)))
        roll_cad = float(np.median(np.fromiter(self._cadences, float)))
        base = self.baseline_
        ref = (
            self._angle_ref_override
            if self._angle_ref_override is not None
            else (base.shank_angle_ref_deg if base else None)
        )
        if base is not None and ref is not None:
            limit = ref + cfg.angle_above_reference_deg
            cad_ref = base.cadence_ref_spm
            ref_text = f"{cfg.angle_above_reference_deg:.0f}° more than your normal {ref:.1f}°"
        elif self.angle_calibrated:
            limit = cfg.default_limit_deg
            cad_ref = roll_cad
            ref_text = f"above the default limit of {cfg.default_limit_deg:.0f}°"
        else:
            return []
        over = roll_angle > limit and roll_cad <= cad_ref * (1.0 + cfg.max_cadence_rise_pct / 100.0)
        self._overstride_run = self._overstride_run + 1 if over else 0
        if self._overstride_run >= OVERSTRIDE_PERSIST_STRIDES:
            target = round(roll_cad * (1.0 + cfg.cadence_increase_pct / 100.0))
            lo = round(roll_cad * 1.05)
            hi = round(roll_cad * 1.10)
            return self._raise(
                AlertKind.OVERSTRIDE,
                Severity.COACH,
                t,
                i,
                "Overstriding",
                f"Your shin is at {roll_angle:+.1f}° when your foot lands ({ref_text}; + = ankle ahead of the knee) "
                f"at {roll_cad:.0f} steps/min: your foot lands further ahead of you than usual, which loads the hamstrings.",
                f"Shorten your stride: take quicker, lighter steps — aim for about {target} steps/min ({lo}–{hi}).",
                {
                    "shank_angle_at_ic_deg": round(roll_angle, 1),
                    "limit_deg": round(limit, 1),
                    "cadence_spm": round(roll_cad, 1),
                    "cadence_target_spm": target,
                    "angle_calibrated": "yes" if self.angle_calibrated else "relative",
                },
                reminder_s=cfg.reminder_s,
            )
        if self.is_active(AlertKind.OVERSTRIDE):
            act = self._active[AlertKind.OVERSTRIDE]
            act.calm_strides += 1
            if act.calm_strides >= 2 * cfg.rolling_strides:
                return self._end(
                    AlertKind.OVERSTRIDE,
                    t,
                    i,
                    f"Your foot lands closer under you again ({roll_angle:.1f}°).",
                )
        return []

    # ------------------------------------------------------------------ late-swing load

    def _late_swing_load(self, stride: Mapping[str, float | None], i: int, t: float) -> list[Alert]:
        base = self.baseline_
        assert base is not None
        cfg = self.config.late_swing_load
        ratios = {}
        for name in ("late_swing_peak_decel_dps2", "peak_midswing_gyr_dps"):
            v = _f(stride, name)
            med = base.medians.get(name)
            if med and math.isfinite(v):
                ratios[name] = v / med
        high = any(r >= cfg.ratio_above_normal for r in ratios.values())
        self._load_flags.append(high)
        n_high = sum(self._load_flags)
        if n_high >= cfg.strides_of_last_5:
            r = max(ratios.values())
            return self._raise(
                AlertKind.LATE_SWING_LOAD,
                Severity.CAUTION,
                t,
                i,
                "High hamstring load",
                f"Your shin swings and brakes {100 * (r - 1):.0f} % harder than your normal before landing — late swing is when hamstrings strain.",
                "Fine for a planned sprint; ease off if you are tired or feel the back of your thigh.",
                {f"{k}_ratio": round(v, 2) for k, v in ratios.items()},
                reminder_s=cfg.reminder_s,
            )
        if n_high == 0 and self.is_active(AlertKind.LATE_SWING_LOAD):
            act = self._active[AlertKind.LATE_SWING_LOAD]
            act.calm_strides += 1
            if act.calm_strides >= 10:
                return self._end(
                    AlertKind.LATE_SWING_LOAD, t, i, "Late-swing load is back to your normal."
                )
        return []

    # ------------------------------------------------------------------ notices

    def _notices(self, stride: Mapping[str, float | None], i: int, t: float) -> list[Alert]:
        out: list[Alert] = []
        cfg = self.config.notices
        clipped = stride.get("peak_tibial_accel_clipped")
        if clipped is not None:
            self._clipped.append(bool(clipped))
            if (
                len(self._clipped) == self._clipped.maxlen
                and sum(self._clipped) / len(self._clipped) >= cfg.clipped_share
            ):
                out += self._raise(
                    AlertKind.CLIPPING,
                    Severity.INFO,
                    t,
                    i,
                    "Shock above sensor range",
                    f"{sum(self._clipped)} of the last {len(self._clipped)} landings exceeded the sensor's ±16 g range, so peak shock is underestimated.",
                    "Check that the sensor sits tight on the shin; hard landings also cause this.",
                    {"clipped_strides": sum(self._clipped)},
                    reminder_s=600.0,
                )
        # The sensor's orientation on the shin, seen two ways (sensor frame, per stride): the mean
        # specific force (gravity, mostly along the tibia) and the swing axis (the knee's flexion
        # axis at mid-swing). A twist about the tibia barely moves gravity but turns the swing axis.
        dirs = []
        for prefix in ("gravity", "swing_axis"):
            v = np.array(
                [_f(stride, f"{prefix}_x"), _f(stride, f"{prefix}_y"), _f(stride, f"{prefix}_z")]
            )
            n = float(np.linalg.norm(v)) if np.all(np.isfinite(v)) else 0.0
            dirs.append(v / n if n > 0 else np.full(3, np.nan))
        g = np.concatenate(dirs)
        if np.any(np.isfinite(g)):
            if self._gravity_ref is None or self._gravity_n < 10:
                self._gravity_ref = (
                    np.nan_to_num(g)
                    if self._gravity_ref is None
                    else self._gravity_ref + np.nan_to_num(g)
                )
                self._gravity_n += 1
            else:
                angles = []
                for k in (0, 3):
                    ref_k = self._gravity_ref[k : k + 3]
                    cur = g[k : k + 3]
                    if np.all(np.isfinite(cur)) and np.linalg.norm(ref_k) > 0:
                        ref_k = ref_k / np.linalg.norm(ref_k)
                        angles.append(
                            math.degrees(math.acos(max(-1.0, min(1.0, float(ref_k @ cur)))))
                        )
                ang = max(angles) if angles else 0.0
                self._mount_run = self._mount_run + 1 if ang > cfg.mounting_change_deg else 0
                if self._mount_run >= 5:
                    out += self._raise(
                        AlertKind.SENSOR_MOVED,
                        Severity.INFO,
                        t,
                        i,
                        "Sensor moved",
                        f"The sensor turned about {ang:.0f}° on your shin.",
                        "Tighten the strap when you can; strideguard re-learns your reference angle.",
                        {"rotation_deg": round(ang, 1)},
                    )
                    self._end(AlertKind.SENSOR_MOVED, t, i, "re-referenced")
                    self._gravity_ref, self._gravity_n, self._mount_run = None, 0, 0
                    self._angles.clear()
                    self._skip = self.config.gait_change.resume_skip_strides
                    self._angle_ref_learning = []  # the tibia-angle reference is learned again
        return out

    def mark_pain(self, time_s: float) -> list[Alert]:
        """The runner pressed "pain now": escalate whatever is developing.

        If a gait change is building up (or on), it is raised at once as
        "stop" with the pain in the reason; otherwise a caution asks the
        runner to watch it, and the gait-change threshold is halved for the
        next 100 strides.
        """
        cfg = self.config.gait_change
        self._pain_boost_until = self._n + 100
        developing = max(
            self._cusum, self._level_watch
        ) >= cfg.cusum_threshold_sd / 3 or self.is_active(AlertKind.GAIT_CHANGED)
        if developing:
            return self._raise(
                AlertKind.GAIT_CHANGED,
                Severity.STOP,
                time_s,
                self._n if self._n >= 0 else None,
                "Pain and a changed gait — stop",
                "You marked pain and your running pattern has been changing.",
                "Stop running now and get it checked; pain for more than a day deserves a doctor.",
                {"cusum_sd": round(self._cusum, 1)},
            ) or self._escalate_pain(time_s)
        return self._raise(
            AlertKind.PAIN_MARKED,
            Severity.CAUTION,
            time_s,
            self._n if self._n >= 0 else None,
            "Pain marked",
            "You marked pain. Your gait looks normal so far.",
            "If the pain grows, or changes the way you run, stop and get checked.",
            {},
        )

    def _escalate_pain(self, time_s: float) -> list[Alert]:
        act = self._active[AlertKind.GAIT_CHANGED]
        a = act.alert
        alert = Alert(
            a.kind,
            Severity.STOP,
            AlertState.ESCALATED,
            time_s,
            a.stride_index,
            a.title,
            "You marked pain while your gait is changed.",
            a.advice,
            dict(a.numbers),
            self.leg,
        )
        act.alert = alert
        return self._emit(alert)

    def notice_gap(self, start_s: float, end_s: float) -> list[Alert]:
        """Samples were lost between ``start_s`` and ``end_s``.

        Short losses (a few BLE frames) only blur the stride they fall in, whose
        contribution is bounded; a gap of :data:`GAP_RESET_S` or more restarts
        the gait-change detector's stride-to-stride comparisons.
        """
        dur = end_s - start_s
        if dur >= GAP_RESET_S:
            self._skip = self.config.gait_change.resume_skip_strides
            self._reset_steps()
        else:
            # the stride in progress lost samples: it is no evidence, and later
            # strides are compared only with strides after it
            if self._snapshot[0] == self._n:
                _, self._level_cusum, self._var_cusum, self._cusum, self._level_watch = (
                    self._snapshot
                )
            self._prev_var = None
            self._prev2_var = None
            if self.baseline_ is None and self._learn_of == self._n:
                for name in VARIABILITY_FEATURES:
                    if self._learn.get(name):
                        self._learn[name][-1] = float("nan")
        if dur < self.config.notices.data_lost_s:
            return []
        alert = Alert(
            AlertKind.DATA_LOST,
            Severity.INFO,
            AlertState.RAISED,
            start_s,
            None,
            "Data lost",
            f"{dur:.1f} s of sensor data did not arrive.",
            "Keep the phone or laptop within a few metres; check the sensor battery.",
            {"lost_s": round(dur, 2)},
            self.leg,
        )
        return self._emit(alert)

    def notice_sensor_lost(self, time_s: float, silent_s: float) -> list[Alert]:
        """The sensor has sent nothing for ``silent_s`` and the link did not come back."""
        return self._raise(
            AlertKind.SENSOR_LOST,
            Severity.INFO,
            time_s,
            None,
            "Sensor lost",
            f"No data from the sensor for {silent_s:.0f} s.",
            "Check the sensor's battery and strap; the run so far is saved.",
            {"silent_s": round(silent_s, 1)},
        )

    def notice_battery(self, percent: int, time_s: float) -> list[Alert]:
        """The sensor reported its battery level."""
        if percent <= self.config.notices.battery_low_pct:
            return self._raise(
                AlertKind.BATTERY_LOW,
                Severity.INFO,
                time_s,
                None,
                "Sensor battery low",
                f"The sensor battery is at {percent} %.",
                "Charge it after this run.",
                {"battery_pct": percent},
            )
        return []

    def finish(self, time_s: float) -> list[Alert]:
        """End of the run: report every active alert as ended."""
        out: list[Alert] = []
        for kind in list(self._active):
            out += self._end(kind, time_s, self._n, "The run ended.")
        return out
