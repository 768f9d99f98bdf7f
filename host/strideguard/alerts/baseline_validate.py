"""Validation of a stored personal baseline: a whole, plausible profile or a refusal.

A baseline profile decides when "stop and get checked" fires. A half-valid one
is dangerous in a quiet way: a NaN cadence, a missing feature model or a zero
SD does not crash the detector, it makes it never fire (or fire at once). So a
profile read from a file is checked completely before it is used:

- the schema (:data:`~strideguard.alerts.baseline.SCHEMA`);
- every field's type (numbers are JSON numbers, never booleans or strings) and
  finiteness (no NaN or infinities);
- every number's range (:data:`FIELD_RANGES`, :data:`FEATURE_VALUE_RANGES`):
  what running at all can produce, wide enough for any runner, and the floors
  :meth:`~strideguard.alerts.baseline.PersonalBaseline.fit` itself applies;
- the features the gait-change detector needs (:data:`REQUIRED_FEATURES`) each
  with a model, a median and a step SD; no unknown feature names.

:func:`validate_baseline` raises :class:`BaselineError` (one line, exit 2) naming
the first problem; :meth:`PersonalBaseline.from_json
<strideguard.alerts.baseline.PersonalBaseline.from_json>` and
:meth:`~strideguard.alerts.baseline.PersonalBaseline.save` call it, so no profile
is read or written without it. Where a run should go on without a stored
profile (``live``), :func:`load_baseline_or_reason` gives the reason instead of
raising.

The ranges are plausibility bounds, not targets: see ``docs/alerts.md``
("Stored baselines") for where each comes from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strideguard.alerts.baseline import (
    FEATURES,
    READABLE_SCHEMAS,
    SCHEMA,
    SYMMETRY_EVIDENCE,
    VARIABILITY_FEATURES,
)
from strideguard.cliargs import shown, shown_name
from strideguard.errors import InputError, StrideguardError
from strideguard.optionfile import json_kind, parse_json, read_option_text

if TYPE_CHECKING:
    from strideguard.alerts.baseline import PersonalBaseline


class BaselineError(InputError):
    """A baseline profile that cannot be used as it is."""


#: features the gait-change score is made of: a profile without them cannot say "stop"
REQUIRED_FEATURES: tuple[str, ...] = tuple(s.name for s in FEATURES if s.weight > 0)
#: every feature a profile may model
KNOWN_FEATURES: frozenset[str] = frozenset(s.name for s in FEATURES)

#: plausible values of each feature in running (medians, and exp(intercept)):
#: mid-swing peak up to the MPU6050's ±2000 °/s full scale; late-swing braking from
#: slow jogging to sprinting; ground contact from sprinting to the slowest jog
FEATURE_VALUE_RANGES: dict[str, tuple[float, float]] = {
    "peak_midswing_gyr_dps": (50.0, 2000.0),
    "late_swing_peak_decel_dps2": (500.0, 2.0e5),
    "contact_time_s": (0.05, 1.5),
}

#: medians kept besides the modelled features (schema 2: the stored-baseline fit check):
#: running cadence, and the peak shock up to beyond the MPU6050's ±16 g full scale
MEDIAN_ONLY_RANGES: dict[str, tuple[float, float]] = {
    "cadence_spm": (60.0, 300.0),
    "peak_tibial_accel_g": (0.1, 200.0),
}

#: (lo, hi) of every number in a profile; ``None`` where the field may be null
FIELD_RANGES: dict[str, tuple[float, float]] = {
    # steps/min: walking-pace jogs (~120) to sprinting (~280), with margin
    "cadence_ref_spm": (100.0, 300.0),
    # tibia angle at contact, ° from vertical (relative angles may carry the sensor's tilt)
    "shank_angle_ref_deg": (-90.0, 90.0),
    # log of the stride-time irregularity, floored at 1e-4 by the fit; 0 = 100 % irregular
    "irregularity_log": (math.log(1e-4) - 1e-9, 0.0),
    # the fit's floor is 0.1
    "irregularity_log_sd": (0.1, 5.0),
    # the fit's floor is 0.3 (an old profile without it gets 1); the combined score is clipped
    # at Z_CLIP_SD = 6, so above 6 / 2.5 = 2.4 it could never pass the default CUSUM slack of
    # 2.5 SD: a profile that can never say "stop"
    "score_sd": (0.3, 2.0),
    "contact_ref_s": FEATURE_VALUE_RANGES["contact_time_s"],
    "n_strides": (0.0, 1.0e7),
    # per-feature line (log scale): slope per step/min, residual SD (the fit's floor is
    # 0.01; steady running gives 0.02-0.07), elasticity to contact time
    "slope_per_spm": (-0.1, 0.1),
    "sd": (0.01, 0.5),
    "contact_elasticity": (-2.0, 2.0),
    # SD of the second difference of log features over consecutive strides (steady running
    # gives ~0.05)
    "step_sd": (1.0e-6, 0.5),
    # symmetry (schema 2): typical log(this leg / other leg) — a 2x difference between the
    # legs is far outside any runner's habit (published asymmetries are a few percent) —,
    # degrees for the angle at contact; its robust SD (floored at 1e-3 by the fit)
    "symmetry_mean": (-0.7, 0.7),
    "symmetry_mean_deg": (-20.0, 20.0),
    "symmetry_sd": (1.0e-3, 1.0),
    "symmetry_sd_deg": (1.0e-3, 20.0),
    # like score_sd: the fit's floor is 0.2, above 2.4 "stop" could never fire
    "symmetry_score_sd": (0.2, 2.4),
    "n_pairs": (0.0, 1.0e7),
}

_MODEL_FIELDS = ("intercept", "slope_per_spm", "sd", "contact_elasticity")


def _number(origin: str, name: str, value: object, key: str | None = None) -> float:
    """A finite JSON number within the range of ``key`` (default ``name``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BaselineError(f"{origin}: {name} must be a number, not {shown(value)}")
    try:
        v = float(value)
    except OverflowError:
        raise BaselineError(f"{origin}: {name} = {shown(value)} is not a finite number") from None
    if not math.isfinite(v):
        raise BaselineError(f"{origin}: {name} = {v} is not a finite number")
    lo, hi = FIELD_RANGES[key or name]
    if not lo <= v <= hi:
        raise BaselineError(f"{origin}: {name} = {v:g} is out of range [{lo:g}, {hi:g}]")
    return v


def _feature_value(origin: str, name: str, feature: str, value: float) -> None:
    lo, hi = FEATURE_VALUE_RANGES[feature]
    if not lo <= value <= hi:
        raise BaselineError(
            f"{origin}: {name} = {value:g} is not a plausible {feature} (range [{lo:g}, {hi:g}])"
        )


def _table(origin: str, name: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise BaselineError(f"{origin}: {name} must be an object, not {shown(value)}")
    return value


def _features(origin: str, name: str, table: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = [k for k in table if k not in allowed]
    if unknown:
        raise BaselineError(
            f"{origin}: {name} has an unknown feature {shown_name(unknown[0])} "
            f"(known: {', '.join(sorted(allowed))})"
        )


def validate_baseline(data: object, origin: str = "baseline profile") -> dict[str, Any]:
    """Check a profile's JSON completely and return its fields, normalised.

    Parameters
    ----------
    data
        The parsed JSON (anything: ``null``, a list, a number are refused too).
    origin
        Name used in messages (the file name).

    Returns
    -------
    dict
        The keyword arguments of :class:`~strideguard.alerts.baseline.PersonalBaseline`
        (``models`` as plain dicts of the
        :class:`~strideguard.alerts.baseline.FeatureModel` fields), with floats,
        ``None`` for absent optional values and defaults for optional fields.

    Raises
    ------
    BaselineError
        Naming the first field that is missing, of the wrong type, not finite,
        out of range, or a required feature that is absent.
    """
    if not isinstance(data, dict):
        raise BaselineError(
            f"{origin}: not a strideguard baseline profile (a JSON {json_kind(data)}, "
            "not an object)"
        )
    if data.get("schema") not in READABLE_SCHEMAS:
        raise BaselineError(
            f"{origin}: not a strideguard baseline profile (schema {shown(data.get('schema'))}, "
            f"expected {SCHEMA!r} or the older {READABLE_SCHEMAS[0]!r})"
        )
    for key in ("cadence_ref_spm", "models", "medians", "irregularity_log", "irregularity_log_sd"):
        if key not in data:
            raise BaselineError(f"{origin}: {key} is missing")

    out: dict[str, Any] = {
        "cadence_ref_spm": _number(origin, "cadence_ref_spm", data["cadence_ref_spm"]),
        "irregularity_log": _number(origin, "irregularity_log", data["irregularity_log"]),
        "irregularity_log_sd": _number(origin, "irregularity_log_sd", data["irregularity_log_sd"]),
        "score_sd": _number(origin, "score_sd", data.get("score_sd", 1.0)),
    }
    for key in ("shank_angle_ref_deg", "contact_ref_s"):
        value = data.get(key)
        out[key] = None if value is None else _number(origin, key, value)
    n = data.get("n_strides", 0)
    if isinstance(n, bool) or not isinstance(n, int):
        raise BaselineError(f"{origin}: n_strides must be a whole number, not {shown(n)}")
    out["n_strides"] = int(_number(origin, "n_strides", n))
    calibrated = data.get("angle_calibrated", False)
    if not isinstance(calibrated, bool):
        raise BaselineError(f"{origin}: angle_calibrated must be true or false")
    out["angle_calibrated"] = calibrated
    source = data.get("source", "profile")
    if not isinstance(source, str):
        raise BaselineError(f"{origin}: source must be a string")
    extra = data.get("extra", {})
    out["extra"] = dict(_table(origin, "extra", extra))

    models = _table(origin, "models", data["models"])
    _features(origin, "models", models, KNOWN_FEATURES)
    out["models"] = {}
    for feature, model in models.items():
        m = _table(origin, f"models.{feature}", model)
        extra_keys = [k for k in m if k not in _MODEL_FIELDS]
        if extra_keys:
            raise BaselineError(
                f"{origin}: models.{feature} has an unknown field {shown_name(extra_keys[0])}"
            )
        for k in ("intercept", "slope_per_spm", "sd"):
            if k not in m:
                raise BaselineError(f"{origin}: models.{feature}.{k} is missing")
        name = f"models.{feature}.intercept"
        intercept = m["intercept"]
        if isinstance(intercept, bool) or not isinstance(intercept, int | float):
            raise BaselineError(f"{origin}: {name} must be a number, not {shown(intercept)}")
        try:
            log_value = float(intercept)
        except OverflowError:
            log_value = math.inf
        if not math.isfinite(log_value):
            raise BaselineError(f"{origin}: {name} = {shown(intercept)} is not a finite number")
        _feature_value(origin, f"exp({name})", feature, math.exp(min(log_value, 700.0)))
        out["models"][feature] = {
            "intercept": log_value,
            "slope_per_spm": _number(
                origin, f"models.{feature}.slope_per_spm", m["slope_per_spm"], "slope_per_spm"
            ),
            "sd": _number(origin, f"models.{feature}.sd", m["sd"], "sd"),
            "contact_elasticity": _number(
                origin,
                f"models.{feature}.contact_elasticity",
                m.get("contact_elasticity", 0.0),
                "contact_elasticity",
            ),
        }

    medians = _table(origin, "medians", data["medians"])
    _features(origin, "medians", medians, KNOWN_FEATURES | frozenset(MEDIAN_ONLY_RANGES))
    out["medians"] = {}
    for feature, value in medians.items():
        name = f"medians.{feature}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BaselineError(f"{origin}: {name} must be a number, not {shown(value)}")
        try:
            v = float(value)
        except OverflowError:
            v = math.inf
        if not math.isfinite(v):
            raise BaselineError(f"{origin}: {name} = {shown(value)} is not a finite number")
        if feature in MEDIAN_ONLY_RANGES:
            lo, hi = MEDIAN_ONLY_RANGES[feature]
            if not lo <= v <= hi:
                raise BaselineError(f"{origin}: {name} = {v:g} is out of range [{lo:g}, {hi:g}]")
        else:
            _feature_value(origin, name, feature, v)
        out["medians"][feature] = v

    step_sd = _table(origin, "step_sd", data.get("step_sd", {}))
    _features(origin, "step_sd", step_sd, frozenset(VARIABILITY_FEATURES))
    out["step_sd"] = {
        feature: _number(origin, f"step_sd.{feature}", value, "step_sd")
        for feature, value in step_sd.items()
    }

    out["symmetry"] = _symmetry(origin, data.get("symmetry"))
    leg = data.get("leg")
    if leg not in (None, "L", "R"):
        raise BaselineError(f'{origin}: leg must be "L", "R" or null, not {shown(leg)}')
    out["leg"] = leg
    created = data.get("created")
    if created is not None:
        if not isinstance(created, str):
            raise BaselineError(f"{origin}: created must be a date string, not {shown(created)}")
        import datetime as _dt

        try:
            _dt.datetime.fromisoformat(created)
        except ValueError:
            raise BaselineError(
                f"{origin}: created = {shown(created)} is not an ISO 8601 date"
            ) from None
    out["created"] = created

    for feature in REQUIRED_FEATURES:
        for table in ("models", "medians"):
            if feature not in out[table]:
                raise BaselineError(
                    f"{origin}: {table} lacks {feature}, which the gait-change alert needs "
                    "(a profile learned without a gyroscope cannot be used)"
                )
        if feature in VARIABILITY_FEATURES and feature not in out["step_sd"]:
            raise BaselineError(
                f"{origin}: step_sd lacks {feature}, which the gait-change alert needs"
            )
    return out


_SYMMETRY_FEATURES = frozenset(s.name for s in SYMMETRY_EVIDENCE)


def _symmetry(origin: str, value: object) -> dict[str, Any] | None:
    """The symmetry block of a schema-2 profile, checked (``None`` when absent)."""
    if value is None:
        return None
    sym = _table(origin, "symmetry", value)
    for key in ("mean", "sd"):
        if key not in sym:
            raise BaselineError(f"{origin}: symmetry.{key} is missing")
    mean = _table(origin, "symmetry.mean", sym["mean"])
    sd = _table(origin, "symmetry.sd", sym["sd"])
    _features(origin, "symmetry.mean", mean, _SYMMETRY_FEATURES)
    _features(origin, "symmetry.sd", sd, _SYMMETRY_FEATURES)
    out_mean: dict[str, float] = {}
    out_sd: dict[str, float] = {}
    for feature, v in mean.items():
        deg = "_deg" if feature.endswith("_deg") else ""
        out_mean[feature] = _number(origin, f"symmetry.mean.{feature}", v, f"symmetry_mean{deg}")
        if feature not in sd:
            raise BaselineError(f"{origin}: symmetry.sd lacks {feature}")
        out_sd[feature] = _number(
            origin, f"symmetry.sd.{feature}", sd[feature], f"symmetry_sd{deg}"
        )
    n = sym.get("n_pairs", 0)
    if isinstance(n, bool) or not isinstance(n, int):
        raise BaselineError(f"{origin}: symmetry.n_pairs must be a whole number, not {shown(n)}")
    return {
        "mean": out_mean,
        "sd": out_sd,
        "score_sd": _number(
            origin, "symmetry.score_sd", sym.get("score_sd", 1.0), "symmetry_score_sd"
        ),
        "n_pairs": int(_number(origin, "symmetry.n_pairs", n, "n_pairs")),
    }


def load_baseline_or_reason(path: str | Path) -> tuple[PersonalBaseline | None, str | None]:
    """A stored profile, or why it cannot be used (for runs that learn from scratch instead).

    Returns
    -------
    baseline, reason
        ``(profile, None)``, or ``(None, one-line reason)`` when the file is
        unreadable or invalid.
    """
    from strideguard.alerts.baseline import PersonalBaseline

    try:
        return PersonalBaseline.load(path), None
    except StrideguardError as exc:
        return None, str(exc)


def read_baseline_json(path: str | Path) -> object:
    """The parsed JSON of a profile file (read defensively, see :mod:`strideguard.optionfile`).

    Raises
    ------
    BaselineError
        Unreadable, larger than 1 MB, not UTF-8 text, or not JSON.
    """
    text = read_option_text(path, "baseline profile", error=BaselineError)
    return parse_json(text, "baseline profile", path, error=BaselineError)
