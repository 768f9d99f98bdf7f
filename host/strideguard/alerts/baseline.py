"""The runner's personal baseline: how their stride features normally look.

Each gait feature is modelled on the log scale against the pace covariates,
``log(f) = intercept + slope * (cadence - cadence_ref) + e * log(contact / contact_ref)``
(cadence and contact time as rolling medians), fitted to the runner's own
strides after the warm-up. The cadence slope is a ridge estimate pulled towards
a physiological prior, so a warm-up at one steady pace still predicts sensibly;
the contact-time elasticity ``e`` is a fixed prior: longer contact at the same
cadence means running slower or uphill, where the swing is slower too.
Residuals from this model are the gait-change detector's level evidence; the
robust SD of each swing feature's second difference over consecutive strides
(:data:`VARIABILITY_FEATURES`) is the reference for its irregularity evidence.
Fatigue drift over a long run is followed separately by the alert policy.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from strideguard.errors import InputError

SCHEMA = "strideguard.baseline/2"
#: older profiles that still load (without symmetry, date or leg)
READABLE_SCHEMAS = ("strideguard.baseline/1", SCHEMA)


@dataclass(frozen=True)
class FeatureSpec:
    """One modelled stride feature.

    Attributes
    ----------
    name
        Key in the per-stride table.
    guarded_direction
        +1 if a guarded (injury-like) gait raises it, -1 if it lowers it,
        0 if it may go either way (contact time: a painful leg may be
        unloaded sooner, or the runner may stay longer on it).
    prior_slope_per_spm
        Prior d log(feature) / d cadence (1/(steps/min)): rising pace raises
        cadence by ~10 steps/min from 2.5 to 3.5 m/s while the mid-swing peak
        rises ~20 % (docs/gait-primer.md) and contact time falls ~25 %.
    weight
        Weight in the combined gait-change score.
    contact_elasticity
        d log(feature) / d log(contact time) at the same cadence (fixed prior):
        longer ground contact at an unchanged cadence means running slower or
        uphill, where the swing is slower too; a deliberate cadence change at
        the same speed barely changes contact time, so the swing is expected
        to stay. Contact time thus carries the pace and terrain that cadence
        alone misses.
    """

    name: str
    guarded_direction: int
    prior_slope_per_spm: float
    weight: float
    contact_elasticity: float = 0.0


FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("peak_midswing_gyr_dps", -1, 0.005, 1.0, -0.6),
    FeatureSpec("late_swing_peak_decel_dps2", -1, 0.005, 1.0, -0.9),
    FeatureSpec("contact_time_s", 0, -0.028, 0.0),
)
VARIABILITY_WINDOW = 10
CADENCE_WINDOW = 5
#: features whose stride-to-stride changes make the variability channel
VARIABILITY_FEATURES = ("peak_midswing_gyr_dps", "late_swing_peak_decel_dps2")
STEP_CLIP_SD = 3.0
#: a feature's residual counts at most this many SDs in the combined score (one wild value, e.g.
#: a mis-detected stride, cannot dominate it); the score SD of a baseline is calibrated with it
Z_CLIP_SD = 6.0
CLIPPED_NORMAL_M2 = 0.9707  # E[min(z², 9)] for a standard normal z
TWO_SIDED_MEAN = 0.798
PRIOR_STRENGTH_STRIDES = 200.0  # the prior counts like this many strides spread over ±5 steps/min
#: per-stride values summarised by their median (load checks, stored-baseline fit check)
MEDIAN_KEYS = (
    "cadence_spm",
    "peak_midswing_gyr_dps",
    "late_swing_peak_decel_dps2",
    "contact_time_s",
    "peak_tibial_accel_g",
)


@dataclass(frozen=True)
class SymmetryEvidenceSpec:
    """How one paired feature counts as evidence that *this* leg is the guarded one.

    Attributes
    ----------
    name
        Feature (a column of :data:`strideguard.symmetry.SYMMETRY_FEATURES`).
    guarded_direction
        -1: a guarded leg has less of it than the other leg (slower swing, less
        braking, more upright tibia, softer landing); 0: either way counts
        (contact time: the antalgic pattern shortens the painful leg's stance,
        a softer, more flexed landing on it lengthens it — see docs/alerts.md).
    weight
        Weight in the combined score.
    """

    name: str
    guarded_direction: int
    weight: float


#: paired features in the symmetry evidence (swing time is left out: with both legs sharing
#: the stride time it mirrors contact time)
SYMMETRY_EVIDENCE: tuple[SymmetryEvidenceSpec, ...] = (
    SymmetryEvidenceSpec("peak_midswing_gyr_dps", -1, 1.0),
    SymmetryEvidenceSpec("late_swing_peak_decel_dps2", -1, 1.0),
    SymmetryEvidenceSpec("contact_time_s", 0, 1.0),
    SymmetryEvidenceSpec("shank_angle_at_ic_deg", -1, 0.5),
    SymmetryEvidenceSpec("peak_tibial_accel_g", -1, 0.5),
)


@dataclass
class SymmetryModel:
    """The runner's own left/right balance, seen from one leg.

    Attributes
    ----------
    mean
        Per paired feature: typical ``log(this / other)`` (degrees ``this − other``
        for the angle at contact) over the learning pairs.
    sd
        Robust SD of the per-pair value around it.
    score_sd
        Robust SD of the combined directional score over the learning pairs
        (features are correlated, so the combination is calibrated, not assumed).
    n_pairs
        Pairs it was learned from.
    """

    mean: dict[str, float]
    sd: dict[str, float]
    score_sd: float = 1.0
    n_pairs: int = 0

    def flipped(self) -> SymmetryModel:
        """The same balance seen from the other leg."""
        return SymmetryModel(
            {k: -v for k, v in self.mean.items()}, dict(self.sd), self.score_sd, self.n_pairs
        )

    def z(self, values: Mapping[str, float]) -> dict[str, float]:
        """Per feature: this pair's value (this leg vs the other) in SDs from the normal."""
        out: dict[str, float] = {}
        for name, mu in self.mean.items():
            v = values.get(name, float("nan"))
            sd = self.sd.get(name, 0.0)
            if math.isfinite(v) and sd > 0:
                out[name] = (v - mu) / sd
        return out

    def raw_score(self, values: Mapping[str, float]) -> float:
        """Combined evidence that this leg is the guarded one (before ``score_sd``); NaN if none."""
        z = self.z(values)
        total = wsum = 0.0
        for spec in SYMMETRY_EVIDENCE:
            if spec.name in z:
                total += spec.weight * float(
                    directional(
                        max(-Z_CLIP_SD, min(Z_CLIP_SD, z[spec.name])), spec.guarded_direction
                    )
                )
                wsum += spec.weight
        return total / wsum if wsum > 0 else float("nan")

    def score(self, values: Mapping[str, float]) -> float:
        """:meth:`raw_score` in units of its normal SD."""
        return self.raw_score(values) / self.score_sd

    @classmethod
    def fit(cls, values: Mapping[str, npt.ArrayLike]) -> SymmetryModel | None:
        """Learn it from per-pair values (this leg vs the other); ``None`` with < 20 pairs.

        Parameters
        ----------
        values
            Per feature: the pair values (NaN where unknown).
        """
        mean: dict[str, float] = {}
        sd: dict[str, float] = {}
        n = 0
        for spec in SYMMETRY_EVIDENCE:
            v = np.asarray(values.get(spec.name, []), dtype=float)
            v = v[np.isfinite(v)]
            if v.size < 20:
                continue
            med = float(np.median(v))
            mean[spec.name] = med
            sd[spec.name] = max(1.4826 * float(np.median(np.abs(v - med))), 1e-3)
            n = max(n, int(v.size))
        if not mean:
            return None
        model = cls(mean, sd, 1.0, n)
        k = max(len(np.asarray(values.get(s.name, []))) for s in SYMMETRY_EVIDENCE)
        rows = [
            {name: float(np.asarray(values[name], dtype=float)[i]) for name in mean}
            for i in range(k)
        ]
        scores = np.array([model.raw_score(r) for r in rows])
        scores = scores[np.isfinite(scores)]
        if scores.size >= 20:
            model.score_sd = max(1.4826 * float(np.median(np.abs(scores - np.median(scores)))), 0.2)
        return model


@dataclass
class FeatureModel:
    """Fitted line of one feature (log scale) against cadence."""

    intercept: float
    slope_per_spm: float
    sd: float
    contact_elasticity: float = 0.0

    def predict_log(
        self, cadence_spm: float, cadence_ref_spm: float, contact_log_ratio: float = 0.0
    ) -> float:
        """Predicted log feature at ``cadence_spm`` and contact time ``exp(contact_log_ratio)`` × the reference."""
        return (
            self.intercept
            + self.slope_per_spm * (cadence_spm - cadence_ref_spm)
            + self.contact_elasticity * contact_log_ratio
        )


@dataclass
class PersonalBaseline:
    """The runner's normal pattern, from their own strides or a stored profile.

    Attributes
    ----------
    cadence_ref_spm
        Median cadence of the baseline strides.
    models
        Per feature: log-scale line in cadence and residual SD.
    shank_angle_ref_deg
        Median tibia angle at IC (``None`` if angles were not measured).
    angle_calibrated
        Whether the angles are absolute (standing calibration) or relative.
    medians
        Median of each feature (for "far above normal" load checks).
    irregularity_log, irregularity_log_sd
        Median and robust SD of log stride-time irregularity (rolling median
        of relative stride-to-stride differences, see
        :func:`rolling_irregularity`).
    score_sd
        Robust SD of the combined gait-change score over the baseline strides.
    contact_ref_s
        Median contact time of the baseline strides (the pace covariate's reference).
    step_sd
        Per feature in :data:`VARIABILITY_FEATURES`: robust SD of the
        second difference of its log over consecutive strides (how irregular
        consecutive strides normally are).
    n_strides
        Strides the baseline was learned from.
    source
        ``"learned"`` (this run) or ``"profile"`` (loaded from a file).
    symmetry
        This leg against the other (two sensors), ``None`` when never learned.
    leg
        ``"L"``/``"R"`` when known.
    created
        When it was learned (ISO 8601 with the UTC offset), ``None`` when unknown.
    """

    cadence_ref_spm: float
    models: dict[str, FeatureModel]
    shank_angle_ref_deg: float | None
    angle_calibrated: bool
    medians: dict[str, float]
    irregularity_log: float
    irregularity_log_sd: float
    score_sd: float = 1.0
    step_sd: dict[str, float] = field(default_factory=dict)
    contact_ref_s: float | None = None
    n_strides: int = 0
    source: str = "learned"
    extra: dict[str, Any] = field(default_factory=dict)
    symmetry: SymmetryModel | None = None
    leg: str | None = None
    created: str | None = None

    @classmethod
    def fit(
        cls, table: Mapping[str, npt.ArrayLike], *, angle_calibrated: bool = False
    ) -> PersonalBaseline:
        """Learn the baseline from a per-stride table of running strides.

        Parameters
        ----------
        table
            Arrays keyed by feature name (``cadence_spm``, the names in
            :data:`FEATURES`, ``stride_time_s``, ``shank_angle_at_ic_deg``);
            NaN where a stride has no value.
        angle_calibrated
            Whether ``shank_angle_at_ic_deg`` is absolute.

        Raises
        ------
        InputError
            Too few strides with cadence.
        """
        cad = smoothed_cadence(np.asarray(table["cadence_spm"], dtype=float))
        ok = np.isfinite(cad)
        if ok.sum() < 10:
            raise InputError("too few running strides to learn a baseline (need at least 10)")
        cref = float(np.median(cad[ok]))
        ct_s = rolling_median(
            np.asarray(table.get("contact_time_s", np.full(cad.shape, np.nan)), dtype=float)
        )
        ct_ok = ok & np.isfinite(ct_s) & (ct_s > 0)
        contact_ref = float(np.median(ct_s[ct_ok])) if ct_ok.sum() >= 10 else None
        with np.errstate(invalid="ignore", divide="ignore"):
            lct = np.log(ct_s / contact_ref) if contact_ref else np.zeros(cad.shape)
        lct = np.where(np.isfinite(lct), lct, 0.0)
        models: dict[str, FeatureModel] = {}
        medians: dict[str, float] = {}
        for spec in FEATURES:
            if spec.name not in table:
                continue
            y = np.asarray(table[spec.name], dtype=float)
            good = ok & np.isfinite(y) & (y > 0)
            if good.sum() < 10:
                continue
            elast = spec.contact_elasticity if contact_ref else 0.0
            ly = np.log(y[good]) - elast * lct[good]
            x = cad[good] - cref
            # ridge towards the prior slope: prior acts as PRIOR_STRENGTH strides at ±5 spm
            sxx = float(np.sum((x - x.mean()) ** 2))
            prior_w = PRIOR_STRENGTH_STRIDES * 25.0
            sxy = float(np.sum((x - x.mean()) * (ly - ly.mean())))
            slope = (sxy + prior_w * spec.prior_slope_per_spm) / (sxx + prior_w)
            intercept = float(np.mean(ly - slope * x))
            resid = ly - (intercept + slope * x)
            sd = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
            models[spec.name] = FeatureModel(
                intercept=intercept, slope_per_spm=slope, sd=max(sd, 0.01), contact_elasticity=elast
            )
            medians[spec.name] = float(np.exp(np.median(ly)))
        angle = np.asarray(
            table.get("shank_angle_at_ic_deg", np.full(cad.shape, np.nan)), dtype=float
        )
        angle_ref = float(np.nanmedian(angle[ok])) if np.isfinite(angle[ok]).sum() >= 10 else None
        st = np.asarray(table.get("stride_time_s", 120.0 / cad), dtype=float)
        irr = np.log(np.maximum(rolling_irregularity(st[ok], VARIABILITY_WINDOW), 1e-4))
        irr = irr[np.isfinite(irr)]
        base = cls(
            cadence_ref_spm=cref,
            models=models,
            shank_angle_ref_deg=angle_ref,
            angle_calibrated=angle_calibrated,
            medians=medians,
            irregularity_log=float(np.median(irr)) if irr.size >= 10 else float(np.log(0.01)),
            irregularity_log_sd=max(1.4826 * float(np.median(np.abs(irr - np.median(irr)))), 0.1)
            if irr.size >= 10
            else 0.35,
            n_strides=int(ok.sum()),
            contact_ref_s=contact_ref,
        )
        for key in MEDIAN_KEYS:
            y = np.asarray(table.get(key, np.full(cad.shape, np.nan)), dtype=float)
            if key not in base.medians and np.isfinite(y[ok]).sum() >= 10:
                base.medians[key] = float(np.nanmedian(y[ok]))
        for name in VARIABILITY_FEATURES:
            if name not in table:
                continue
            y = np.asarray(table[name], dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                dl = np.diff(np.log(np.where(y > 0, y, np.nan)), n=2)
            dl = dl[np.isfinite(dl)]
            if dl.size >= 10:
                sd = max(1.4826 * float(np.median(np.abs(dl - np.median(dl)))), 1e-3)
                # calibrate on the clipped second moment the detector uses, so heavier
                # tails than a normal distribution's do not look like irregularity
                m2 = float(np.mean(np.minimum((dl / sd) ** 2, STEP_CLIP_SD**2)))
                base.step_sd[name] = sd * math.sqrt(max(m2, 1e-6) / CLIPPED_NORMAL_M2)
        scores = base.scores(table)[ok]
        scores = scores[np.isfinite(scores)]
        if scores.size >= 10:
            base.score_sd = max(1.4826 * float(np.median(np.abs(scores - np.median(scores)))), 0.3)
        return base

    def contact_log_ratio(self, contact_s: float) -> float:
        """log(contact / reference contact), 0 when either is unknown."""
        if self.contact_ref_s is None or not (np.isfinite(contact_s) and contact_s > 0):
            return 0.0
        return float(np.log(contact_s / self.contact_ref_s))

    def residual_z(
        self,
        name: str,
        value: float,
        cadence_spm: float,
        drift_log: float = 0.0,
        contact_s: float = float("nan"),
    ) -> float:
        """Signed residual of one feature in baseline SDs (NaN if not modelled).

        ``cadence_spm`` and ``contact_s`` are the pace covariates (rolling medians).
        """
        m = self.models.get(name)
        if m is None or not np.isfinite(value) or value <= 0 or not np.isfinite(cadence_spm):
            return float("nan")
        pred = m.predict_log(cadence_spm, self.cadence_ref_spm, self.contact_log_ratio(contact_s))
        return (float(np.log(value)) - pred - drift_log) / m.sd

    def scores(self, table: Mapping[str, npt.ArrayLike]) -> npt.NDArray[np.float64]:
        """Raw combined guarded-gait score per stride (before ``score_sd`` scaling), vectorised."""
        cad = smoothed_cadence(np.asarray(table["cadence_spm"], dtype=float))
        ct_s = rolling_median(
            np.asarray(table.get("contact_time_s", np.full(cad.shape, np.nan)), dtype=float)
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            lct = np.log(ct_s / self.contact_ref_s) if self.contact_ref_s else np.zeros(cad.shape)
        lct = np.where(np.isfinite(lct), lct, 0.0)
        total = np.zeros(cad.shape)
        wsum = np.zeros(cad.shape)
        for spec in FEATURES:
            m = self.models.get(spec.name)
            if m is None or spec.name not in table:
                continue
            y = np.asarray(table[spec.name], dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                z = (
                    np.log(y)
                    - (
                        m.intercept
                        + m.slope_per_spm * (cad - self.cadence_ref_spm)
                        + m.contact_elasticity * lct
                    )
                ) / m.sd
            good = np.isfinite(z)
            total[good] += spec.weight * directional(
                np.clip(z[good], -Z_CLIP_SD, Z_CLIP_SD), spec.guarded_direction
            )
            wsum[good] += spec.weight
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(wsum > 0, total / wsum, np.nan)

    # -------------------------------------------------------------- profile files

    def to_json(self) -> dict[str, Any]:
        """Profile as JSON (schema ``strideguard.baseline/2``)."""
        d = asdict(self)
        d["schema"] = SCHEMA
        return d

    @classmethod
    def from_json(cls, data: object, origin: str = "baseline profile") -> PersonalBaseline:
        """Rebuild a profile saved by :meth:`to_json`, after checking all of it.

        Parameters
        ----------
        data
            Parsed JSON.
        origin
            Name used in messages (the file name).

        Raises
        ------
        strideguard.alerts.baseline_validate.BaselineError
            Wrong schema, or any field missing, of the wrong type, not finite or
            out of range, or a feature the alerts need absent
            (:func:`~strideguard.alerts.baseline_validate.validate_baseline`).
        """
        from strideguard.alerts.baseline_validate import validate_baseline

        fields_ = validate_baseline(data, origin)
        models = {k: FeatureModel(**v) for k, v in fields_.pop("models").items()}
        sym = fields_.pop("symmetry", None)
        return cls(
            models=models,
            source="profile",
            symmetry=None if sym is None else SymmetryModel(**sym),
            **fields_,
        )

    def save(self, path: str | Path) -> None:
        """Write the profile JSON to ``path`` (whole or not at all).

        Raises
        ------
        strideguard.alerts.baseline_validate.BaselineError
            The profile would not load again (e.g. learned without a gyroscope).
        InputError
            The file cannot be written.
        """
        from strideguard.alerts.baseline_validate import validate_baseline
        from strideguard.atomic import atomic_write_text

        data = self.to_json()
        validate_baseline(data, "the learned baseline")
        atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> PersonalBaseline:
        """Read a profile written by :meth:`save`.

        Raises
        ------
        strideguard.alerts.baseline_validate.BaselineError
            Unreadable, too large, not JSON, or an invalid profile.
        """
        from strideguard.alerts.baseline_validate import read_baseline_json

        return cls.from_json(read_baseline_json(path), origin=f"baseline profile {path}")


def rolling_median(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Causal rolling median over :data:`CADENCE_WINDOW` strides (NaN where the value is NaN)."""
    return smoothed_cadence(values)


def smoothed_cadence(cadence_spm: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Causal rolling median of cadence over :data:`CADENCE_WINDOW` strides.

    Pace is what the features follow; a single stride's cadence mostly carries
    stride-to-stride timing noise, so the model uses this smoothed value (the
    live policy computes the same from the strides it has seen).
    """
    n = cadence_spm.shape[0]
    out = np.full(n, np.nan)
    if n == 0:
        return out
    pad = np.concatenate((np.full(CADENCE_WINDOW - 1, np.nan), cadence_spm))
    win = np.lib.stride_tricks.sliding_window_view(pad, CADENCE_WINDOW)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows
        out[:] = np.nanmedian(win, axis=1)
    out[~np.isfinite(cadence_spm)] = np.nan
    return out


def directional(
    z: npt.NDArray[np.float64] | float, direction: int
) -> npt.NDArray[np.float64] | float:
    """Evidence for a guarded gait from a residual ``z`` (SDs).

    Signed for one-directional features; for two-sided ones (``direction`` 0)
    the absolute deviation minus its mean under no change (E|N(0,1)| ≈ 0.80).
    """
    if direction == 0:
        return np.abs(z) - TWO_SIDED_MEAN
    return direction * z


def rolling_irregularity(
    stride_time_s: npt.NDArray[np.float64], window: int
) -> npt.NDArray[np.float64]:
    """Stride-to-stride irregularity: rolling median of ``|Δ stride time| / stride time``.

    Differences of consecutive strides ignore slow pace changes, and the
    median ignores the single large step when the pace changes abruptly, so
    this rises only when strides become irregular. NaN until ``window``
    differences exist.
    """
    out = np.full(stride_time_s.shape, np.nan)
    if stride_time_s.size <= window:
        return out
    rel = np.abs(np.diff(stride_time_s)) / stride_time_s[1:]
    w = np.lib.stride_tricks.sliding_window_view(rel, window)
    out[window:] = np.median(w, axis=1)
    return out


def jerk_z(
    current: Mapping[str, float],
    previous: Mapping[str, tuple[float, int]],
    before: Mapping[str, tuple[float, int]],
    step_sd: Mapping[str, float],
    index: int,
) -> dict[str, float]:
    """Per variability feature: this stride's irregularity in baseline SDs.

    How far the feature's log departs from the straight line through the two
    measured strides before it (for consecutive strides, the second
    difference), divided by what that departure's SD is normally (``step_sd``
    is the second difference's). A smooth change of pace or terrain moves
    the strides along a line and adds little; an irregular, guarded gait
    makes consecutive strides differ more.

    Parameters
    ----------
    current
        This stride's feature values (stride ``index``).
    previous, before
        Per feature, the last two measured ``(value, stride index)`` before it.
        A data gap may have left strides between them unmeasured: the line is
        then extrapolated over the real spacing — as a plain second difference
        over non-adjacent strides would read a smooth pace change (the end of
        an interval repetition, 10 % of frames lost) as irregularity — and the
        departure's normal SD grows with the extrapolation.
    step_sd
        The normal SD of the second difference, per feature.
    index
        This stride's index.
    """
    out: dict[str, float] = {}
    for name, sd in step_sd.items():
        a = current.get(name, float("nan"))
        prev = previous.get(name)
        bef = before.get(name)
        if a is None or prev is None or bef is None or not a > 0:
            continue  # (comparisons are also False for NaN)
        (b, i1), (c, i0) = prev, bef
        if not (b > 0 and c > 0 and i0 < i1 < index):
            continue
        r = (index - i1) / (i1 - i0)
        lb = math.log(b)
        d = math.log(a) - lb - r * (lb - math.log(c))
        # iid noise: var(d) = (1 + (1 + r)^2 + r^2) sigma^2, which is 6 sigma^2 at r = 1
        out[name] = d / (sd * math.sqrt((1.0 + (1.0 + r) ** 2 + r * r) / 6.0))
    return out
