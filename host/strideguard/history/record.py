"""One run as the history stores it: metadata, and per sensor its strides, alerts,
pain marks and baselines.

:class:`RunRecord` is built from a finished live run (:func:`from_live_run`, used by
``strideguard live``) or from an analysed file (:mod:`strideguard.history.ingest`),
and read back by :meth:`strideguard.history.store.History.load_run`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from strideguard.history.schema import STRIDE_METRICS
from strideguard.history.stats import FloatArray, n_strides, run_summary
from strideguard.metrics import StrideTable

#: alert severities in increasing order (as in :class:`strideguard.alerts.Severity`)
SEVERITY_ORDER = ("info", "coach", "caution", "stop")
#: alert states that start or raise an alert (reminders and ends repeat one)
RAISING_STATES = ("raised", "escalated")


@dataclass
class LegRun:
    """One sensor's part of a run.

    Attributes
    ----------
    stream
        Sensor number in the run (0, 1).
    sensor, leg
        Sensor label and ``"L"``/``"R"``/``None``.
    strides
        Per-stride table: ``{column: array}`` with the columns of
        :data:`strideguard.metrics.STRIDE_COLUMNS` (NaN where not measured);
        times in seconds from the start of the recording.
    alerts
        Alert events (``Alert.to_dict()``), in order.
    pain_marks_s
        Times the runner pressed "pain now".
    baseline_used, baseline_learned
        The stored profile that judged the run (only if it survived the fit
        check), and the baseline learned in the run (``PersonalBaseline.to_json()``),
        if any.
    baseline_dropped, baseline_dropped_why
        The stored profile the run started with that the fit check dropped
        (the run then relearned), and why; ``None`` otherwise.
    samples, samples_lost, rate_hz
        Stream counts and the estimated sample rate (``None`` if unknown).
    angle_calibrated
        Whether tibia angles are absolute (standing calibration).
    firmware_version
        The sensor's firmware (``"0.1.0"``), if known.
    """

    stream: int
    sensor: str
    leg: str | None
    strides: dict[str, FloatArray]
    alerts: list[dict[str, Any]] = field(default_factory=list)
    pain_marks_s: list[float] = field(default_factory=list)
    baseline_used: dict[str, Any] | None = None
    baseline_learned: dict[str, Any] | None = None
    baseline_dropped: dict[str, Any] | None = None
    baseline_dropped_why: str | None = None
    samples: int | None = None
    samples_lost: int | None = None
    rate_hz: float | None = None
    angle_calibrated: bool = False
    firmware_version: str | None = None

    @property
    def n_strides(self) -> int:
        """Strides in the table."""
        return n_strides(self.strides)

    @property
    def baseline_source(self) -> str | None:
        """Which normal judged this leg: ``"stored"`` (a stored baseline that fitted),
        ``"relearned"`` (the stored one did not fit), ``"learned"`` (in the run) or
        ``None`` (none: the run was too short)."""
        if self.baseline_dropped is not None or self.baseline_dropped_why is not None:
            return "relearned"
        if self.baseline_used is not None:
            return "stored"
        return "learned" if self.baseline_learned is not None else None

    @property
    def baseline_created(self) -> str | None:
        """When the stored baseline that judged the run was learned (ISO 8601), if known."""
        created = (self.baseline_used or {}).get("created")
        return created if isinstance(created, str) else None

    def baseline_text(self) -> str:
        """The history's words for :attr:`baseline_source` ("your baseline from 3 Dec", …)."""
        from strideguard.alerts import texts

        return texts.baseline_used(
            self.baseline_source, self.baseline_created, self.baseline_learned is not None
        )

    def raising_alerts(self) -> list[dict[str, Any]]:
        """The alert events that raise or escalate an alert."""
        return [a for a in self.alerts if a.get("state") in RAISING_STATES]


@dataclass
class RunRecord:
    """A run: when, how long, from where, and its sensors (see :class:`LegRun`).

    Attributes
    ----------
    started_utc
        Start of the recording (timezone-aware, UTC).
    duration_s
        Length of the recording.
    source
        ``"live"`` (added at the end of ``strideguard live``) or ``"import"``.
    legs
        One :class:`LegRun` per sensor.
    simulated
        From simulated sensors (``live --virtual``, ``demo``, simulator files):
        listed, but left out of trends and of the day-after question.
    recording_path
        Where the raw recording (or the imported file) is.
    fingerprint
        SHA-256 of the recording file: the same file is never added twice.
    distance_m
        Distance if known (a shin sensor alone does not know it).
    meta
        Anything else worth keeping (recording header fields, options).
    run_id
        The history's id, once stored.
    """

    started_utc: datetime
    duration_s: float
    source: str
    legs: list[LegRun]
    simulated: bool = False
    recording_path: str | None = None
    fingerprint: str | None = None
    distance_m: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    run_id: int | None = None

    def __post_init__(self) -> None:
        if self.started_utc.tzinfo is None:
            raise ValueError("started_utc must be timezone-aware")
        if self.source not in ("live", "import"):
            raise ValueError(f"source must be live or import, not {self.source!r}")
        if not (math.isfinite(self.duration_s) and self.duration_s >= 0):
            raise ValueError("duration_s must be a finite, non-negative number")

    @property
    def started_unix_s(self) -> float:
        """Start as Unix seconds."""
        return self.started_utc.timestamp()

    @property
    def ended_utc(self) -> datetime:
        """End of the recording."""
        return datetime.fromtimestamp(self.started_unix_s + self.duration_s, UTC)

    @property
    def legs_text(self) -> str:
        """``"L"``, ``"R"``, ``"LR"`` or ``""`` (legs not known)."""
        return "".join(sorted({lr.leg for lr in self.legs if lr.leg in ("L", "R")}))

    @property
    def angle_calibrated(self) -> bool:
        """Every sensor had a standing calibration."""
        return bool(self.legs) and all(lr.angle_calibrated for lr in self.legs)

    @property
    def firmware_version(self) -> str | None:
        """The sensors' firmware versions (one, or several joined by ``/``)."""
        versions = sorted({lr.firmware_version for lr in self.legs if lr.firmware_version})
        return "/".join(versions) if versions else None

    def baseline_text(self) -> str:
        """Which normal judged the run: one leg's words, the same for both legs once, or
        ``"L: …; R: …"`` when the legs differ (see :meth:`LegRun.baseline_text`)."""
        return baseline_text_of_legs([(lr.leg, lr.baseline_text()) for lr in self.legs])

    def summary(self) -> dict[str, Any]:
        """Run-level numbers (:func:`strideguard.history.stats.run_summary`) plus alert counts."""
        out = run_summary([(lr.leg, lr.strides) for lr in self.legs])
        raising = [a for lr in self.legs for a in lr.raising_alerts()]
        out["n_alerts"] = len(raising)
        sev = [
            SEVERITY_ORDER.index(a["severity"])
            for a in raising
            if a.get("severity") in SEVERITY_ORDER
        ]
        out["max_severity"] = SEVERITY_ORDER[max(sev)] if sev else None
        out["n_pain_marks"] = sum(len(lr.pain_marks_s) for lr in self.legs)
        return out


def baseline_text_of_legs(texts: Sequence[tuple[str | None, str]]) -> str:
    """One text for a run from each sensor's ``(leg, baseline words)``."""
    if not texts:
        return "—"
    if len({t for _, t in texts}) == 1:
        return texts[0][1]
    return "; ".join(f"{leg or k}: {t}" for k, (leg, t) in enumerate(texts))


def baselines_of_policy(policy: Any) -> dict[str, Any]:
    """The :class:`LegRun` baseline fields from a finished run's
    :class:`~strideguard.alerts.policy.AlertPolicy`: what really judged the run.

    A stored baseline the fit check dropped is ``baseline_dropped`` (with the
    reason), not ``baseline_used``.
    """
    stored = policy.baseline
    in_use = policy.baseline_
    source = policy.baseline_source_
    return {
        "baseline_used": stored.to_json() if source == "stored" and stored is not None else None,
        "baseline_learned": None if in_use is None or in_use is stored else in_use.to_json(),
        "baseline_dropped": stored.to_json()
        if source == "relearned" and stored is not None
        else None,
        "baseline_dropped_why": policy.baseline_dropped_ if source == "relearned" else None,
    }


def strides_from_rows(rows: Sequence[Mapping[str, Any]]) -> dict[str, FloatArray]:
    """A stride table from per-stride dicts (``None`` or missing → NaN, flags → 1.0/0.0)."""
    out: dict[str, FloatArray] = {}
    for name in STRIDE_METRICS:
        out[name] = (
            np.array([_as_float(r.get(name)) for r in rows], dtype=float) if rows else np.zeros(0)
        )
    return out


def strides_from_table(table: StrideTable) -> dict[str, FloatArray]:
    """A stride table from the analysis' :class:`~strideguard.metrics.StrideTable`."""
    n = len(table)
    return {
        name: np.asarray(table.columns[name], dtype=float)
        if name in table.columns
        else np.full(n, np.nan)
        for name in STRIDE_METRICS
    }


def _as_float(v: Any) -> float:
    if v is None:
        return float("nan")
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f if math.isfinite(f) else float("nan")


def parse_utc(text: str) -> datetime:
    """An ISO 8601 time (``Z`` or an offset; naive means UTC) as an aware UTC datetime.

    Raises
    ------
    ValueError
        If ``text`` is not an ISO 8601 time.
    """
    t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC)


def format_utc(t: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (microseconds dropped when zero)."""
    text = t.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return text
