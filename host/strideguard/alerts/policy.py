"""The one alert policy: strides in, alerts out — offline and live alike.

:class:`AlertPolicy` consumes one stride at a time (:meth:`~AlertPolicy.update`)
plus events (pain marks, data gaps, battery, a silent sensor). It keeps the
personal baseline (:mod:`strideguard.alerts.learning`), shows each running
stride to the detectors (:mod:`strideguard.alerts.detectors`: gait change,
overstride, late-swing load, notices) and turns their decisions into alert
events through one life cycle: an alert is *raised*, deduplicated while on,
*reminded* after its cool-down, *escalated* when it becomes more urgent, and
*ended* when its detector says so or the run ends. The runner can
*acknowledge* an alert (:meth:`AlertPolicy.acknowledge`: a long press on the
sensor, the phone page's button): it stays on but is not reminded until it
escalates. ``strideguard analyze`` on a recording thus raises exactly the
alerts the live run raised. Every alert
event the policy creates is both returned to the caller (for the sinks) and
kept in :attr:`AlertPolicy.alerts_` (for the summary).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from strideguard.alerts import texts
from strideguard.alerts.baseline import PersonalBaseline
from strideguard.alerts.config import AlertConfig
from strideguard.alerts.detectors import (
    GaitChangeDetector,
    LateSwingLoadDetector,
    NoticeDetector,
    OverstrideDetector,
)
from strideguard.alerts.detectors.common import Decision, End, Raise, Stride, StrideContext, value
from strideguard.alerts.detectors.notices import orientation_change_deg
from strideguard.alerts.learning import BaselineLearner
from strideguard.alerts.model import Alert, AlertKind, AlertState, Severity


@dataclass
class _Active:
    """An alert that is currently on."""

    alert: Alert
    last_sent_s: float
    #: the runner acknowledged it: no reminders until it escalates or ends
    acknowledged: bool = False


class AlertPolicy:
    """Turn strides and events into alerts (see the module docstring).

    Parameters
    ----------
    config
        Settings (immutable, so one object can serve both legs and many
        runs); ``None`` uses the defaults in :mod:`strideguard.alerts.config`.
    baseline
        A stored personal profile; ``None`` learns one from this run.
    leg
        ``"L"``/``"R"`` for the alert texts.
    angle_calibrated
        Whether tibia angles are absolute (standing calibration done); the
        live path updates it when the calibration finishes.

    Attributes
    ----------
    alerts_
        Every alert event emitted so far, in order.
    baseline_
        The baseline in use (``None`` while still learning).
    pain_marks_s
        Times of every "pain now" mark (:meth:`mark_pain`), in order: the run
        history keeps them even when the alert they raised was already on.
    """

    def __init__(
        self,
        config: AlertConfig | None = None,
        baseline: PersonalBaseline | None = None,
        leg: str | None = None,
        angle_calibrated: bool = False,
    ) -> None:
        self.config = config if config is not None else AlertConfig()
        self.baseline = baseline
        self.leg = leg
        self.angle_calibrated = angle_calibrated
        self.alerts_: list[Alert] = []
        self.baseline_: PersonalBaseline | None = baseline
        self.pain_marks_s: list[float] = []
        cfg = self.config
        self._learner = BaselineLearner(cfg.baseline)
        self._gait = GaitChangeDetector(cfg.gait_change, cfg.baseline, cfg.symmetry)
        self._gait.leg = leg
        self._moved_left = 0  # running strides until the moved sensor is measured again
        self._ctx: StrideContext | None = None
        self._overstride = OverstrideDetector(cfg.overstride)
        self._load = LateSwingLoadDetector(cfg.late_swing_load)
        self._notices = NoticeDetector(cfg.notices)
        self._active: dict[AlertKind, _Active] = {}
        self._n = -1  # index of the last stride seen
        self._last_ic_s: float | None = None
        self._first_running_s: float | None = None
        #: strides of the stored-baseline fit check (``None``: no check pending)
        self._fit_strides: list[Stride] | None = [] if baseline is not None else None
        #: why a stored baseline was dropped during this run, if it was
        self.baseline_dropped_: str | None = None
        # long gaps waiting for the first stride after their start (see notice_gap)
        self._pending_gaps: list[tuple[float, float]] = []

    @property
    def scores_(self) -> list[tuple[int, float, float, float, float]]:
        """Per stride with gait-change evidence: (stride index, level score in SDs,
        combined evidence, level CUSUM, irregularity CUSUM), for inspection."""
        return self._gait.scores_

    def is_active(self, kind: AlertKind) -> bool:
        """Whether ``kind`` is currently on."""
        return kind in self._active

    def unacknowledged(self) -> dict[AlertKind, Alert]:
        """The alerts that are on and not acknowledged (the latest event of each)."""
        return {k: a.alert for k, a in self._active.items() if not a.acknowledged}

    # ------------------------------------------------------------------ strides

    def update(self, stride: Stride) -> list[Alert]:
        """Process one stride; return the alert events it caused.

        Parameters
        ----------
        stride
            Per-stride metrics keyed as in ``strideguard.analysis`` output:
            ``initial_contact_s``, ``cadence_spm``, ``stride_time_s``,
            ``contact_time_s``, ``duty_factor``, ``peak_midswing_gyr_dps``,
            ``late_swing_peak_decel_dps2``, ``shank_angle_at_ic_deg``,
            ``peak_tibial_accel_g``, ``peak_tibial_accel_clipped`` and, when
            available, ``gravity_x/y/z`` and ``swing_axis_x/y/z`` (the
            sensor's orientation on the shin). Missing or ``None`` values are
            skipped.
        """
        self._n += 1
        t = value(stride, "initial_contact_s")
        while self._pending_gaps and self._pending_gaps[0][0] <= t:
            self._gait.notice_gap(self._pending_gaps.pop(0)[1])
        since_s = t - self._last_ic_s if self._last_ic_s is not None else 0.0
        self._last_ic_s = t
        running = self.is_running(stride)
        self._gait.track_pace(stride, since_s, running)
        if not running:
            return []
        if self._first_running_s is None:
            self._first_running_s = t
        run_s = t - self._first_running_s

        out: list[Alert] = []
        if self._moved_left > 0:
            self._moved_left -= 1
            if self._moved_left == 0 and self.baseline_ is not None and self._gait.reanchoring:
                # the levels are measured at the runner's usual pace only: not done yet
                self._moved_left = 1
            if self._moved_left == 0:
                out += self._end(AlertKind.SENSOR_MOVED, t, self._n, texts.SENSOR_MOVED_REANCHORED)
        notices = self._notices.update(stride, sprint=self._gait.faster_than_known(stride))
        out += self._apply(notices, t, self._n)
        if any(isinstance(d, Raise) and d.kind is AlertKind.SENSOR_MOVED for d in notices):
            self._sensor_moved()
        if self._fit_strides is not None:
            out += self._check_fit(stride, t)
        if self.baseline_ is None:
            self._learner.add(stride, run_s)
            if self._learner.due(run_s):
                self.baseline_ = self._learner.fit(angle_calibrated=self.angle_calibrated)
                if self.baseline_ is not None:
                    orientation = self._notices.orientation()
                    if orientation is not None:
                        self.baseline_.extra["orientation"] = orientation
        ctx = StrideContext(self._n, t, self.baseline_, self.angle_calibrated, self.is_active)
        self._ctx = ctx
        out += self._apply(self._overstride.update(stride, ctx), t, self._n)
        if self.baseline_ is not None:
            out += self._apply(self._gait.update(stride, ctx), t, self._n)
            out += self._apply(self._load.update(stride, ctx), t, self._n)
        return out

    def _check_fit(self, stride: Stride, time_s: float) -> list[Alert]:
        """Check a stored baseline against this run's first running strides.

        Detection runs on it meanwhile. When the strides are done and the
        baseline no longer fits (:meth:`misfit`) — unless a "stop" is already
        on, which a guarded gait from the start would also cause — it is
        dropped: a notice says why and the run learns the runner's normal afresh.
        """
        assert self._fit_strides is not None
        if self.baseline_ is None or self._moved_left > 0:
            self._fit_strides = None  # the sensor moved: the re-anchoring takes care of it
            return []
        self._fit_strides.append(stride)
        if len(self._fit_strides) < self.config.baseline.fit_check_strides:
            return []
        why = self.misfit(self._fit_strides)
        self._fit_strides = None
        if why is None or self.is_active(AlertKind.GAIT_CHANGED):
            return []
        created = self.baseline_.created
        self.baseline_dropped_ = why
        self.baseline_ = None
        cfg = self.config
        self._learner.restart()
        self._gait = GaitChangeDetector(cfg.gait_change, cfg.baseline, cfg.symmetry)
        self._gait.leg = self.leg
        self._load = LateSwingLoadDetector(cfg.late_swing_load)
        return self._raise(
            Raise(
                AlertKind.BASELINE_REFUSED,
                Severity.INFO,
                texts.baseline_misfit(why, created),
                {"reason": why},
                one_off=True,
            ),
            time_s,
            self._n,
        )

    def misfit(self, strides: Sequence[Stride]) -> str | None:
        """Why the stored baseline does not fit ``strides`` (``None``: it fits).

        It does not fit when the sensor sits turned by ``fit_max_turn_deg`` or
        more against when it was learned (a different mounting), or when a
        feature's median residual over the strides is ``fit_max_sd`` or more
        of its SDs away from the baseline's prediction at their cadence (a new
        shoe, a different sensor position): far beyond what a guarded gait
        moves (a few SDs), so a guarded gait from the start is not mistaken
        for a misfit.
        """
        base = self.baseline_
        if base is None:
            return None
        cfg = self.config.baseline
        stored = base.extra.get("orientation")
        now = self._notices.orientation()
        if isinstance(stored, list) and now is not None:
            turn = orientation_change_deg([float(x) for x in stored], now)
            if math.isfinite(turn) and turn >= cfg.fit_max_turn_deg:
                return f"the sensor sits turned {turn:.0f}° against when it was learned"
        cads = [value(s, "cadence_spm") for s in strides]
        cad = float(np.nanmedian(cads)) if np.isfinite(cads).any() else float("nan")
        for name, model in base.models.items():
            resid = [
                base.residual_z(name, value(s, name), cad, 0.0, value(s, "contact_time_s"))
                if name != "contact_time_s"
                else base.residual_z(name, value(s, name), cad)
                for s in strides
            ]
            r = np.asarray(resid, dtype=float)
            r = r[np.isfinite(r)]
            if r.size < len(strides) // 2:
                continue
            z = float(np.median(r))
            if abs(z) >= cfg.fit_max_sd:
                pct = 100.0 * math.expm1(z * model.sd)
                return f"{texts.feature_words(name)} {pct:+.0f} % against it"
        return None

    @property
    def baseline_source_(self) -> str | None:
        """Which normal judged this run, as recorded in the run history.

        ``"stored"``: the stored baseline it started with survived the fit check;
        ``"relearned"``: the fit check dropped it (:attr:`baseline_dropped_`), the
        run learned afresh (or ran out before it could); ``"learned"``: no stored
        baseline, learned in the run; ``None``: none stored and the run too short.
        """
        if self.baseline_dropped_ is not None:
            return "relearned"
        if self.baseline is not None and self.baseline_ is self.baseline:
            return "stored"
        return "learned" if self.baseline_ is not None else None

    def baseline_status(self) -> dict[str, object]:
        """What the runner's normal is now: for the screen and the JSON stream.

        Returns
        -------
        dict
            ``state``: ``"stored"`` (a stored baseline in use, still being
            checked or checked), ``"learned"`` (learned in this run) or
            ``"learning"``; ``created`` (ISO date of a stored one);
            ``seconds_left`` (running time until learned, while learning);
            ``message``: the words shown.
        """
        base = self.baseline_
        if base is not None:
            state = "stored" if base.source == "profile" else "learned"
            return {
                "state": state,
                "created": base.created,
                "seconds_left": None,
                "message": texts.baseline_status(state, base.created, None),
            }
        run_s = 0.0
        if self._first_running_s is not None and self._last_ic_s is not None:
            run_s = self._last_ic_s - self._first_running_s
        if self._first_running_s is None:
            left = self.config.baseline.skip_s + self.config.baseline.duration_s
        else:
            left = self._learner.seconds_left(run_s)
        return {
            "state": "learning",
            "created": None,
            "seconds_left": round(left, 1),
            "message": texts.baseline_status("learning", None, left),
        }

    def _sensor_moved(self) -> None:
        """The sensor turned on the strap: angles and swing features now come from a new position."""
        n = self.config.notices.mounting_reanchor_strides
        self._moved_left = n
        self._overstride.re_reference()
        if self.baseline_ is not None:
            self._gait.begin_reanchor(n)
        else:
            self._learner.restart()  # what was collected so far is not comparable any more

    @property
    def reanchoring(self) -> bool:
        """Whether this leg's numbers are being measured again after the sensor moved."""
        return self._moved_left > 0

    @property
    def evidence_paused(self) -> bool:
        """Whether this leg gives no gait-change evidence now (break, transition, re-anchoring)."""
        return self._moved_left > 0 or self._gait.paused

    def update_symmetry(self, score: float, deviation: dict[str, float]) -> list[Alert]:
        """One stride pair's evidence that this leg changed against the other (two sensors).

        Parameters
        ----------
        score
            One-sided score of the pair in SDs of the runner's normal balance
            (positive: this leg looks guarded next to the other).
        deviation
            Per paired feature: this leg against the other, minus the normal balance.
        """
        ctx = self._ctx
        if ctx is None or self.baseline_ is None or self._moved_left > 0:
            return []
        return self._apply(self._gait.update_symmetry(score, deviation, ctx), ctx.time_s, ctx.index)

    @property
    def gait_evidence_share(self) -> float:
        """The gait-change evidence now, as a share of what says stop (0 … 1)."""
        return self._gait.evidence_share

    def is_running(self, stride: Stride) -> bool:
        """Running, not walking: cadence high enough and a flight phase (duty factor)."""
        cfg = self.config.running
        cad = value(stride, "cadence_spm")
        duty = value(stride, "duty_factor")
        return (
            math.isfinite(cad)
            and cad >= cfg.min_cadence_spm
            and not (math.isfinite(duty) and duty > cfg.max_duty_factor)
        )

    def run(self, strides: Iterable[Stride]) -> list[Alert]:
        """Process many strides in order; return all alert events they caused."""
        out: list[Alert] = []
        for s in strides:
            out += self.update(s)
        return out

    # ------------------------------------------------------------------ events

    def mark_pain(self, time_s: float) -> list[Alert]:
        """The runner pressed "pain now": escalate whatever is developing.

        If a gait change is building up (or on), it is raised at once as
        "stop" with the pain in the reason (escalated if already on);
        otherwise a caution asks the runner to watch it. For the next strides
        a slower swing alone is enough to say stop (see
        :class:`~strideguard.alerts.detectors.GaitChangeDetector`).
        """
        self.pain_marks_s.append(float(time_s))
        decision = self._gait.mark_pain(self._n, alert_on=self.is_active(AlertKind.GAIT_CHANGED))
        return self._apply([decision], time_s, self._n if self._n >= 0 else None)

    def notice_gap(self, start_s: float, end_s: float) -> list[Alert]:
        """Samples were lost between ``start_s`` and ``end_s``.

        A short loss (a few BLE frames) needs nothing here: the strides
        around it arrive with the metrics read across it left out
        (``gap_in_stride``), so they neither count as evidence nor teach the
        baseline. A gap of ``gait_change.gap_reset_s`` or more pauses
        gait-change detection from the first stride whose contact is at or
        after ``start_s`` — in time order, so a live run (which learns of the
        gap when the data after it arrive, possibly before a stride that
        preceded it is released) and a file give the same alerts. Gaps of
        ``notices.data_lost_s`` or more are reported at once.
        """
        dur = end_s - start_s
        if dur >= self.config.gait_change.gap_reset_s:
            self._pending_gaps.append((start_s, dur))
        return self._apply(self._notices.notice_gap(dur), start_s, None)

    def notice_sensor_lost(self, time_s: float, silent_s: float) -> list[Alert]:
        """The sensor has sent nothing for ``silent_s`` and the link did not come back."""
        return self._apply(self._notices.notice_sensor_lost(silent_s), time_s, None)

    def notice_battery(self, percent: int, time_s: float) -> list[Alert]:
        """The sensor reported its battery level."""
        return self._apply(self._notices.notice_battery(percent), time_s, None)

    def acknowledge(
        self, time_s: float, kind: AlertKind | None = None, *, source: str = ""
    ) -> list[Alert]:
        """The runner acknowledged an alert: it stays on, without reminders.

        Parameters
        ----------
        time_s
            When (run time).
        kind
            The alert; ``None``: the most urgent one on and not yet acknowledged
            (the latest raised among equals).
        source
            Where it came from (``"sensor"``, ``"phone"``, ``"host"``): named in the reason.

        Returns
        -------
        list of Alert
            One ``acknowledged`` event (kept in :attr:`alerts_`), or nothing when
            no such alert waits for one. An escalation makes it news again.
        """
        if kind is None:
            waiting = self.unacknowledged()
            if not waiting:
                return []
            kind = max(waiting, key=lambda k: (waiting[k].severity.rank, waiting[k].time_s))
        act = self._active.get(kind)
        if act is None or act.acknowledged:
            return []
        act.acknowledged = True
        a = act.alert
        return self._emit(
            Alert(
                kind,
                a.severity,
                AlertState.ACKNOWLEDGED,
                time_s,
                self._n if self._n >= 0 else None,
                a.title,
                texts.acknowledged(source),
                a.advice,
                dict(a.numbers),
                self.leg,
            )
        )

    def finish(self, time_s: float) -> list[Alert]:
        """End of the run: report every alert that is on as ended."""
        out: list[Alert] = []
        for kind in list(self._active):
            out += self._end(kind, time_s, self._n, texts.RUN_ENDED)
        return out

    # ------------------------------------------------------------------ life cycle

    def _apply(
        self, decisions: Sequence[Decision], time_s: float, stride: int | None
    ) -> list[Alert]:
        """Turn detector decisions into alert events."""
        out: list[Alert] = []
        for d in decisions:
            if isinstance(d, End):
                out += self._end(d.kind, time_s, stride, d.reason)
            else:
                out += self._raise(d, time_s, stride)
        return out

    def _emit(self, alert: Alert) -> list[Alert]:
        self.alerts_.append(alert)
        return [alert]

    def _raise(self, d: Raise, time_s: float, stride: int | None) -> list[Alert]:
        """Raise, remind, escalate or deduplicate ``d.kind``."""
        act = None if d.one_off else self._active.get(d.kind)
        if act is None:
            state = AlertState.RAISED
        elif d.severity.rank > act.alert.severity.rank:
            state = AlertState.ESCALATED
        elif (
            d.reminder_s is not None
            and time_s - act.last_sent_s >= d.reminder_s
            and not act.acknowledged
        ):
            state = AlertState.REMINDER
        elif d.escalate_reason is not None:
            return self._escalate(act, d.escalate_reason, time_s)
        else:
            return []  # deduplicated
        t = d.text
        alert = Alert(
            d.kind,
            d.severity,
            state,
            time_s,
            stride,
            t.title,
            t.reason,
            t.advice,
            dict(d.numbers),
            self.leg,
        )
        if not d.one_off:
            self._active[d.kind] = _Active(alert=alert, last_sent_s=time_s)
        return self._emit(alert)

    def _escalate(self, act: _Active, reason: str, time_s: float) -> list[Alert]:
        """Repeat an active alert as escalated with a new reason (its cool-down continues)."""
        act.acknowledged = False  # news: the runner must hear it again
        a = act.alert
        alert = Alert(
            a.kind,
            a.severity,
            AlertState.ESCALATED,
            time_s,
            a.stride_index,
            a.title,
            reason,
            a.advice,
            dict(a.numbers),
            self.leg,
        )
        act.alert = alert
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
