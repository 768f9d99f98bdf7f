"""Streaming analysis: the offline detectors on a sliding window, for the live path.

:class:`StreamingAnalyzer` receives contiguous sensor samples as they arrive
and returns each stride as soon as the initial contact that completes it has
been seen (plus a short look-ahead for the contact refinement). It runs the
stages of ``strideguard analyze`` (:func:`strideguard.analysis.analyze` with a
fixed alignment: sagittal signals, stride detector, stride table) on a window
of the last strides, measuring only the strides it releases, so a recording
gives the same strides offline (given the same alignment) as it gave live.

Phases
------
1. *Calibration*: the runner is asked to stand still; a still period at the
   start (``ShankAligner.min_quiet_s``) gives gyro bias, gravity and the tibia
   tilt on the sensor. If the runner starts moving without one, angles are
   reported as relative (``angle_calibrated`` false) and the runner is told.
2. *Alignment*: after ``align_after_s`` of moving, the sagittal axis and its
   sign are found from the gait on everything buffered so far (including the
   standing period); then the alignment is fixed for the run and the buffered
   strides are released.
3. *Strides*: when the next stride can be complete (at most every
   ``process_every_s``) the window is analysed and strides whose next contact
   lies ``lookahead_s`` before the newest sample are emitted.
4. *End*: when the stream ends for good, :meth:`StreamingAnalyzer.flush`
   releases the strides still waiting, with the end of the data as the end of
   the window, as the offline analysis of the file ends at its last sample.

Lost samples. Samples come with their running index, so the analyzer knows
exactly which ones are missing. The window is put on its uniform grid and the
missing samples are bridged exactly as :func:`strideguard.load.make_uniform`
bridges a file (:mod:`strideguard.gaps`); the analysis then keeps or drops
strides around the gap by the same rules offline and live. A stride is
emitted once every contact it depends on is final: its closing contact, and,
when that contact is hidden in a gap and estimated from its neighbours, the
contact after it too (:func:`_depends_until`). After a gap longer
than the window (a long outage) has been analysed once — the strides before it
get their look-ahead from the bridge — later windows start shortly before its
end instead of bridging it again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from strideguard import protocol as proto
from strideguard.align import (
    MIN_SAGITTAL_SHARE,
    MIN_SIGN_MARGIN,
    Alignment,
    ShankAligner,
    estimate_bias_from_strides,
    shank_signals,
)
from strideguard.analysis import check_gait_signature
from strideguard.errors import InputError
from strideguard.events import MIDPOINT_TOLERANCE_S, detect_strides
from strideguard.gaps import EVENT_MARGIN_S, GapList, fill_on_grid, gap_index, gaps_of
from strideguard.imudata import FloatArray, ImuRecording
from strideguard.live.standing import StandingCountdown
from strideguard.live.updates import CalibrationUpdate
from strideguard.metrics import stride_table
from strideguard.overstride import RunOverstrideFlag

MOVING_GYRO_DPS = 120.0  # a shank rotating faster than this is walking or running
#: a window starts this long before the last emitted contact (two to three strides of context
#: for the detectors' neighbour comparisons)
CONTEXT_S = 2.5
#: the next stride is looked for from this share of the last stride time after its closing
#: contact: stride times of steady running vary by a few % from one stride to the next, so
#: earlier tries would mostly find nothing (each try analyses the whole window); a stride
#: shorter than the last is released that much later (a few ms)
DUE_SHARE_OF_STRIDE = 1.0
#: the analysis window in strides (of the last stride time): the stride released, the one
#: forming after it, and six before it — the detector compares a stride with the five before
#: it (median stride time) and a mid-swing peak with the four before it; one more for the
#: window's edge
CONTEXT_STRIDES = 8.0
#: samples kept around the strides measured, beyond what their metrics read (the longest
#: smoothing filter is 20 ms; the tibial shock window ends within the stride)
MEASURE_MARGIN_S = 0.2


class StreamingAnalyzer:
    """Live stride extraction for one sensor (see the module docstring).

    Parameters
    ----------
    sensor
        Label used in calibration events.
    leg
        ``"L"``/``"R"``/``None``.
    align_after_s
        Seconds of movement used to find the shank frame before strides flow.
    window_s
        Longest analysis window (and the data kept). Once strides flow, the
        window is :data:`CONTEXT_STRIDES` of the runner's last stride time
        long (at most this): the stride detector judges a stride against the
        strides around it (the median stride time of five either side, the
        mid-swing peaks of four either side), and at the newest stride only
        those before it exist. Enough of them for any running or walking
        cadence, and no more: the window is analysed again for every stride.
        ``None``: always ``window_s`` (the fixed window of before).
    process_every_s
        How often the window is analysed.
    lookahead_s
        Data needed after a stride's closing contact before it is emitted.
    """

    def __init__(
        self,
        sensor: str = "",
        leg: str | None = None,
        *,
        align_after_s: float = 15.0,
        window_s: float = 8.0,
        process_every_s: float = 0.03,
        lookahead_s: float = 0.085,
        adaptive_window: bool = True,
    ) -> None:
        self.sensor = sensor
        self.leg = leg
        self.align_after_s = align_after_s
        self.window_s = window_s
        self.adaptive_window = adaptive_window
        self._stride_s: float | None = None  # the last stride's time
        self.process_every_s = process_every_s
        self.lookahead_s = lookahead_s
        self.alignment: Alignment | None = None
        self._chunks: list[tuple[npt.NDArray[np.int64], FloatArray, FloatArray, FloatArray]] = []
        self._idx = np.zeros(0, dtype=np.int64)
        self._t = np.zeros(0)
        self._acc = np.zeros((0, 3))
        self._gyr = np.zeros((0, 3))
        self._next_index = 0
        self._last_ic_s = -np.inf
        self._next_due_s = -np.inf
        self._last_processed_s = -np.inf
        self._resume_from_s = -np.inf
        self._moving_since_s: float | None = None
        self._events: list[CalibrationUpdate] = []
        self._prompted = False
        self._countdown = StandingCountdown(sensor)
        self._overstride = RunOverstrideFlag()

    # ------------------------------------------------------------ protocol

    @property
    def angle_calibrated(self) -> bool:
        """Whether tibia angles are absolute (a standing calibration was found)."""
        return bool(self.alignment is not None and self.alignment.calibrated)

    def calibration_events(self) -> list[CalibrationUpdate]:
        """Calibration prompts and results since the last call."""
        out, self._events = self._events, []
        return out

    def push(
        self,
        time_s: FloatArray,
        acc_mps2: FloatArray,
        gyr_dps: FloatArray,
        sample_index: npt.NDArray[np.integer] | None = None,
    ) -> list[dict[str, float | None]]:
        """Add samples; return the strides they complete.

        Parameters
        ----------
        time_s, acc_mps2, gyr_dps
            The new samples (board clock, m/s², °/s).
        sample_index
            Their running sample indices, increasing; a jump is a gap of lost
            samples. ``None``: they follow the previous samples without a gap.
        """
        if time_s.size == 0:
            return []
        if sample_index is None:
            idx = self._next_index + np.arange(time_s.size, dtype=np.int64)
        else:
            idx = np.asarray(sample_index, dtype=np.int64)
        self._next_index = int(idx[-1]) + 1
        if not self._prompted:
            self._prompted = True
            self._events.append(
                CalibrationUpdate(
                    self.sensor, "stand_still", "Stand still for a few seconds, then start running."
                )
            )
        self._chunks.append(
            (
                idx,
                np.asarray(time_s, float),
                np.asarray(acc_mps2, float),
                np.asarray(gyr_dps, float),
            )
        )
        t_end = float(time_s[-1])
        if self._moving_since_s is None:
            moving = np.flatnonzero(np.linalg.norm(gyr_dps, axis=1) > MOVING_GYRO_DPS)
            if moving.size:
                self._moving_since_s = float(time_s[moving[0]])
                self._events += self._countdown.stop(self._moving_since_s)
            else:
                # "Stand still… 5, 4, 3…" until the runner starts
                self._events += self._countdown.update(time_s, acc_mps2, gyr_dps)
        if self.alignment is None:
            if self._moving_since_s is None or t_end - self._moving_since_s < self.align_after_s:
                return []
            if not self._align():
                return []
        if t_end < self._next_due_s:
            return []  # the next stride cannot be complete yet: save the work
        if t_end - self._last_processed_s < self.process_every_s:
            return []
        self._last_processed_s = t_end
        out = self._process()
        if not out and t_end > self._next_due_s + 1.0:
            # overdue by a second (a stop, a walking break, a gap): look less often
            self._next_due_s = t_end + 0.25
        return out

    def flush(self) -> list[dict[str, float | None]]:
        """The stream ended for good: return every stride still held.

        Offline analysis of the same samples ends its window at the last
        sample and needs nothing after it; so does this: the strides the data
        completes are released without the ``lookahead_s`` wait, and a stride
        closing on a contact hidden in a gap no longer waits for the contact
        after it (no sample will come to change it). Call it once, at the end
        of a recording or a run — not on a disconnect that may reconnect: the
        strides then wait for the data after them as usual.

        A stream that ended before ``align_after_s`` of moving gets its shank
        frame now, from all of it (as offline), unless the gait is too unclear
        for one (offline refuses such a recording too).

        Returns
        -------
        list of dict
            The strides not released yet, as :meth:`push` returns them (empty
            when no shank frame could be found).
        """
        self._consolidate()
        if self.alignment is None:
            # a stream shorter than ``align_after_s`` of moving: the shank frame from all of
            # it, as offline (a gait too unclear for that gives no strides, as offline)
            if self._moving_since_s is None or self._t.size < 10 or not self._align(final=True):
                return []
        return self._process(final=True)

    # ------------------------------------------------------------ internals

    def _consolidate(self) -> None:
        if self._chunks:
            idx, ts, accs, gyrs = zip(*self._chunks, strict=True)
            self._idx = np.concatenate([self._idx, *idx])
            self._t = np.concatenate([self._t, *ts])
            self._acc = np.concatenate([self._acc, *accs])
            self._gyr = np.concatenate([self._gyr, *gyrs])
            self._chunks = []

    def _window(self, first: int | None = None) -> ImuRecording:
        """The buffer on its uniform sample grid from running index ``first``, lost samples
        bridged exactly as offline (``first`` may lie inside a gap)."""
        idx = self._idx
        present, (acc, gyr) = fill_on_grid(idx, self._acc, self._gyr, first=first)
        start = int(idx[0]) if first is None else first
        if present.all():
            t = self._t[idx >= start]
            gaps: list[tuple[float, float]] = []
        else:
            t = np.interp(np.arange(start, int(idx[-1]) + 1), idx, self._t)
            gaps = gaps_of(t, present)
        rate = float((t.size - 1) / (t[-1] - t[0])) if t.size > 1 and t[-1] > t[0] else 500.0
        return ImuRecording(
            t,
            acc,
            gyr,
            rate,
            source=self.sensor,
            acc_range_g=float(proto.ACC_RANGE_G),
            gyr_range_dps=float(proto.GYR_RANGE_DPS),
            gaps=gaps,
        )

    def _align(self, final: bool = False) -> bool:
        self._consolidate()
        rec = self._window(0)
        try:
            al = ShankAligner().align(rec).alignment_
        except InputError:
            return False
        if al.sign_margin < MIN_SIGN_MARGIN or al.sagittal_share < MIN_SAGITTAL_SHARE:
            if final or self._t[-1] - (self._moving_since_s or 0.0) < 4 * self.align_after_s:
                return False  # not a clear gait yet: keep collecting
        if al.bias_source == "none":
            # no still period: the bias from the strides so far, exactly as analyze() does
            strides = detect_strides(rec, *shank_signals(rec, al))
            if strides.ic_s_.size:
                al = estimate_bias_from_strides(rec, al, strides.ic_s_, strides.next_ic_s_)
        self.alignment = al
        if al.calibrated:
            msg = f"Calibrated from standing still ({al.calibration_source}): tibia angles are absolute."
            state = "done"
        else:
            msg = "No standing still found at the start: tibia angles are relative to your own running (still valid for changes)."
            state = "skipped"
        self._events.append(CalibrationUpdate(self.sensor, state, msg, details=al.to_dict()))
        return True

    def _process(self, final: bool = False) -> list[dict[str, float | None]]:
        self._consolidate()
        t = self._t
        if t.size < 10 or self.alignment is None:
            return []
        t_end = float(t[-1])
        start = (
            max(float(t[0]), min(self._last_ic_s - CONTEXT_S, t_end - self._analysis_window_s()))
            if np.isfinite(self._last_ic_s)
            else float(t[0])
        )
        start = max(start, self._resume_from_s)
        first = int(np.ceil(np.interp(start, t, self._idx)))
        if int(self._idx[-1]) - first < 10:
            return []
        rec = self._window(first)
        out: list[dict[str, float | None]] = []
        try:
            rows = self._new_strides(rec, t_end, final=final)
        except InputError:
            rows = []
        for row in rows:
            ic, nxt = row["initial_contact_s"], row["next_initial_contact_s"]
            out.append(self._overstride.flag(_clean(row)))
            self._last_ic_s = float(ic)
            self._stride_s = float(nxt) - float(ic)
            # the next stride closes about one stride after this one's closing contact
            self._next_due_s = (
                float(nxt) + DUE_SHARE_OF_STRIDE * (float(nxt) - float(ic)) + self.lookahead_s
            )
        outages = [b for a, b in rec.gaps if b - a > self.window_s]
        if outages:
            # everything before a long outage has now been analysed (its strides got their
            # look-ahead from the bridge): later windows start shortly before its end
            self._resume_from_s = max(self._resume_from_s, outages[-1] - CONTEXT_S)
        # keep only what the next window can need, and the two samples before it that its
        # bridge may start from
        keep_from = (
            min(t_end - self.window_s, self._last_ic_s - CONTEXT_S)
            if np.isfinite(self._last_ic_s)
            else t_end - self.window_s
        )
        keep_from = max(keep_from, self._resume_from_s)
        j = max(0, int(np.searchsorted(t, keep_from)) - 2)
        if j > 0:
            self._idx, self._t = self._idx[j:], t[j:]
            self._acc, self._gyr = self._acc[j:], self._gyr[j:]
        return out

    def _analysis_window_s(self) -> float:
        """How much the stride detector is given: :data:`CONTEXT_STRIDES` strides, at most ``window_s``."""
        if not self.adaptive_window or self._stride_s is None:
            return self.window_s
        return min(self.window_s, CONTEXT_STRIDES * self._stride_s + self.lookahead_s)

    def _new_strides(
        self, rec: ImuRecording, t_end: float, *, final: bool = False
    ) -> list[dict[str, Any]]:
        """The strides of the window not released yet whose closing contact is old enough
        (``final``: the data ended, every stride it completes).

        The stages of :func:`strideguard.analysis.analyze` with the fixed alignment
        — sagittal signals, the stride detector on the whole window (its context),
        the stride table — except that only the strides released now are measured
        (their tibia angle is the one costly column): the same numbers, for a
        fraction of the work.
        """
        al = self.alignment
        assert al is not None
        check_gait_signature(al, rec.source, check_sign=False)
        gyr_sag, acc_s = shank_signals(rec, al)
        strides = detect_strides(rec, gyr_sag, acc_s)
        if strides.ic_s_.size == 0:
            return []
        t0 = float(rec.time_s[0])
        # decided on the rounded times the rows carry (as the full table's rows were)
        ic = np.round(strides.ic_s_ + t0, 4)
        nxt = np.round(strides.next_ic_s_ + t0, 4)
        # at the end of the data the window ends where the file does: nothing more to wait for
        final_s = np.inf if final else t_end - self.lookahead_s
        with np.errstate(invalid="ignore"):
            new = (
                np.isfinite(ic)
                & np.isfinite(nxt)
                & (ic > self._last_ic_s + 0.05)
                & (nxt <= final_s)
            )
        if not new.any():
            return []
        if rec.gaps and not final:
            # a stride closing on a contact hidden in a gap depends on the contact after
            # it too: it is final only once that one is (and so is every later stride)
            for j in np.flatnonzero(new):
                following: dict[str, object] = (
                    {
                        "initial_contact_s": float(ic[j + 1]),
                        "next_initial_contact_s": float(nxt[j + 1]),
                    }
                    if j + 1 < ic.size
                    else {}
                )
                if _depends_until(float(ic[j]), float(nxt[j]), following, rec.gaps) > final_s:
                    new[j:] = False
                    break
            if not new.any():
                return []
        # measure them on the samples they need: from the stride before the first (its contact
        # starts the tibia angle's gravity window; without it, one stride length before) to
        # the last closing contact, with a margin for the smoothing filters
        fs = rec.sampling_rate_hz
        k = np.flatnonzero(new)
        first = max(int(k[0]) - 1, 0)
        s_ic, s_nxt = strides.ic_s_, strides.next_ic_s_
        lo_s = min(s_ic[first], s_ic[k[0]] - (s_nxt[k[0]] - s_ic[k[0]])) - MEASURE_MARGIN_S
        lo = max(0, int(np.floor(lo_s * fs)))
        hi = min(rec.time_s.size, int(np.ceil((s_nxt[k[-1]] + MEASURE_MARGIN_S) * fs)) + 1)
        span = ImuRecording(
            rec.time_s[lo:hi],
            None if rec.acc_mps2 is None else rec.acc_mps2[lo:hi],
            None if rec.gyr_dps is None else rec.gyr_dps[lo:hi],
            fs,
            source=rec.source,
            acc_range_g=rec.acc_range_g,
            gyr_range_dps=rec.gyr_range_dps,
            gaps=rec.gaps,  # on the same clock: the table flags what touches them
        )
        table = stride_table(
            strides.select(first, int(k[-1]) + 1, lo, fs),
            span,
            al,
            gyr_sagittal_dps=None if gyr_sag is None else gyr_sag[lo:hi],
            acc_shank_mps2=None if acc_s is None else acc_s[lo:hi],
            measure=new[first : int(k[-1]) + 1],
        )
        return table.rows(np.flatnonzero(new[first : int(k[-1]) + 1]).tolist())


def _depends_until(
    ic_s: float, next_ic_s: float, following: dict[str, object], gaps: GapList
) -> float:
    """Latest contact a stride depends on (recording clock): it is final once that one is.

    That is its closing contact, unless the closing contact is hidden in a
    gap: then it is estimated from the contacts either side
    (:meth:`strideguard.events.StrideDetector._contacts_across_gaps`), so
    whether and where it is estimated depends on the contact *after* it, which
    must be final (refined, with its own look-ahead) too. On a window that
    ends just past that contact, its provisional time can keep a stride that
    the whole recording drops, or the reverse. The contact after is the
    closing contact of the ``following`` stride when that one starts at the
    hidden contact; otherwise it is bounded: the estimate is only accepted
    when the midpoint lies within :data:`~strideguard.events.MIDPOINT_TOLERANCE_S`
    of the gap's zone, so ``after <= 2 * (zone end + tolerance) - ic``.

    Parameters
    ----------
    ic_s, next_ic_s
        The stride's contacts.
    following
        The next stride row of the same analysis (empty if none).
    gaps
        The window's gaps.

    Returns
    -------
    float
        Time of that contact (or its bound).
    """
    k = int(gap_index(np.array([next_ic_s]), gaps, EVENT_MARGIN_S)[0])
    if k < 0:
        return next_ic_s
    f_ic, f_next = following.get("initial_contact_s"), following.get("next_initial_contact_s")
    if isinstance(f_ic, float) and isinstance(f_next, float) and abs(f_ic - next_ic_s) < 1e-3:
        return f_next
    zone_end_s = gaps[k][1] + EVENT_MARGIN_S
    return 2.0 * (zone_end_s + MIDPOINT_TOLERANCE_S) - ic_s


def _clean(row: dict[str, object]) -> dict[str, float | None]:
    """Stride row with plain floats and None for unmeasured values."""
    out: dict[str, float | None] = {}
    for k, v in row.items():
        if v is None:
            out[k] = None
        elif isinstance(v, (bool, np.bool_)):
            out[k] = float(v)
        elif isinstance(v, (int, float, np.integer, np.floating)):
            fv = float(v)
            out[k] = fv if np.isfinite(fv) else None
    return out


def as_arrays(strides: list[dict[str, float | None]], key: str) -> npt.NDArray[np.float64]:
    """One metric of a list of strides as an array (NaN for None)."""
    return np.array([np.nan if s.get(key) is None else s[key] for s in strides], dtype=float)
