"""Streaming analysis: the offline detectors on a sliding window, for the live path.

:class:`StreamingAnalyzer` receives contiguous sensor samples as they arrive
and returns each stride as soon as the initial contact that completes it has
been seen (plus a short look-ahead for the contact refinement). It runs the
very same code as ``strideguard analyze`` — :func:`strideguard.analysis.analyze`
with a fixed alignment — on a window of the last seconds, so a recording gives
the same strides offline (given the same alignment) as it gave live.

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
3. *Strides*: every ``process_every_s`` the window is analysed and strides
   whose next contact lies ``lookahead_s`` before the newest sample are emitted.

Lost samples. Samples come with their running index, so the analyzer knows
exactly which ones are missing. The window is put on its uniform grid and the
missing samples are bridged exactly as :func:`strideguard.load.make_uniform`
bridges a file (:mod:`strideguard.gaps`); the analysis then keeps or drops
strides around the gap by the same rules offline and live. After a gap longer
than the window (a long outage) has been analysed once — the strides before it
get their look-ahead from the bridge — later windows start shortly before its
end instead of bridging it again.
"""

from __future__ import annotations

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
from strideguard.errors import InputError
from strideguard.events import detect_strides
from strideguard.gaps import fill_on_grid, gaps_of
from strideguard.imudata import FloatArray, ImuRecording
from strideguard.live.updates import CalibrationUpdate

MOVING_GYRO_DPS = 120.0  # a shank rotating faster than this is walking or running
#: a window starts this long before the last emitted contact (two to three strides of context
#: for the detectors' neighbour comparisons)
CONTEXT_S = 2.5


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
        Analysis window (must hold several strides).
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
    ) -> None:
        self.sensor = sensor
        self.leg = leg
        self.align_after_s = align_after_s
        self.window_s = window_s
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

    def _align(self) -> bool:
        self._consolidate()
        rec = self._window(0)
        try:
            al = ShankAligner().align(rec).alignment_
        except InputError:
            return False
        if al.sign_margin < MIN_SIGN_MARGIN or al.sagittal_share < MIN_SAGITTAL_SHARE:
            if self._t[-1] - (self._moving_since_s or 0.0) < 4 * self.align_after_s:
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

    def _process(self) -> list[dict[str, float | None]]:
        from strideguard.analysis import analyze

        self._consolidate()
        t = self._t
        if t.size < 10 or self.alignment is None:
            return []
        t_end = float(t[-1])
        start = (
            max(float(t[0]), min(self._last_ic_s - CONTEXT_S, t_end - self.window_s))
            if np.isfinite(self._last_ic_s)
            else float(t[0])
        )
        start = max(start, self._resume_from_s)
        first = int(np.ceil(np.interp(start, t, self._idx)))
        if int(self._idx[-1]) - first < 10:
            return []
        rec = self._window(first)
        try:
            res = analyze(rec, leg=self.leg, alignment=self.alignment)
        except InputError:
            res = None
        out: list[dict[str, float | None]] = []
        if res is not None:
            for row in res.strides.rows():
                ic = row.get("initial_contact_s")
                nxt = row.get("next_initial_contact_s")
                if (
                    ic is None
                    or nxt is None
                    or ic <= self._last_ic_s + 0.05
                    or nxt > t_end - self.lookahead_s
                ):
                    continue
                out.append(_clean(row))
                self._last_ic_s = float(ic)
                # the following stride closes about one stride after this one's closing contact
                self._next_due_s = float(nxt) + 0.8 * (float(nxt) - float(ic)) + self.lookahead_s
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
