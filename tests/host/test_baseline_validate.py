"""The stored-baseline validator, fuzzed: a whole, plausible profile or one clear refusal.

Issue #14: a NaN cadence, empty models, a NaN or zero SD or only an unknown
feature silently turned "stop" off (0 alerts, exit 0), a negative cadence gave a
false "stop", and null/[]/42, strings and binary crashed. Properties checked here:

- the validator never raises anything but :class:`BaselineError`, whatever the JSON;
- whatever it accepts is finite, within its ranges, has every required feature,
  and can still say "stop": strides like the baseline score ~0, a guarded gait
  (swing 30 % slower) scores high;
- it accepts every profile the fit itself produces.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strideguard.alerts import AlertConfig, PersonalBaseline
from strideguard.alerts.baseline import FEATURES, Z_CLIP_SD
from strideguard.alerts.baseline_validate import (
    FEATURE_VALUE_RANGES,
    FIELD_RANGES,
    REQUIRED_FEATURES,
    BaselineError,
    load_baseline_or_reason,
    validate_baseline,
)

from .profile_helpers import VALID_PROFILE, profile

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: JSON values of every kind, with the numbers that broke things
json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 10**400, -(10**400)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 1e308, -160.0, 162.0, 0.02]),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def leaf_paths(data: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path of a nested dict (inner dicts included)."""
    out = []
    for k, v in data.items():
        out.append((*prefix, k))
        if isinstance(v, dict):
            out += leaf_paths(v, (*prefix, k))
    return out


PATHS = leaf_paths(VALID_PROFILE)


def replaced(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = profile()
    target = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return out


def check_usable(base: PersonalBaseline) -> None:
    """An accepted profile is whole and plausible, and can still say "stop"."""
    assert math.isfinite(base.cadence_ref_spm)
    lo, hi = FIELD_RANGES["cadence_ref_spm"]
    assert lo <= base.cadence_ref_spm <= hi
    for name in REQUIRED_FEATURES:
        m = base.models[name]
        for v in (m.intercept, m.slope_per_spm, m.sd, m.contact_elasticity):
            assert math.isfinite(v)
        assert m.sd >= FIELD_RANGES["sd"][0] > 0
        flo, fhi = FEATURE_VALUE_RANGES[name]
        assert flo <= base.medians[name] <= fhi
    assert base.score_sd >= FIELD_RANGES["score_sd"][0] > 0
    # strides exactly like the baseline, then a guarded gait: the swing slower by as many of
    # the model's SDs as the score counts at most (the clip); it must pass the CUSUM's slack
    n = 20
    cad = np.full(n, base.cadence_ref_spm)
    normal = {"cadence_spm": cad}
    guarded = {"cadence_spm": cad}
    for spec in FEATURES:
        m = base.models.get(spec.name)
        if m is None or spec.weight == 0:
            continue  # (contact time at its reference: left out)
        typical = math.exp(m.intercept)
        normal[spec.name] = np.full(n, typical)
        guarded[spec.name] = np.full(
            n, typical * math.exp(spec.guarded_direction * Z_CLIP_SD * m.sd)
        )
    s_normal = base.scores(normal)[-1] / base.score_sd
    s_guarded = base.scores(guarded)[-1] / base.score_sd
    assert math.isfinite(s_normal) and abs(s_normal) < 1.0
    assert math.isfinite(s_guarded) and s_guarded > AlertConfig().gait_change.cusum_slack_sd


def test_the_valid_profile_is_accepted_whole() -> None:
    fields = validate_baseline(VALID_PROFILE)
    assert set(fields["models"]) == set(VALID_PROFILE["models"])
    base = PersonalBaseline.from_json(json.loads(json.dumps(VALID_PROFILE)))
    assert base.source == "profile" and base.n_strides == 162
    check_usable(base)
    assert base.to_json()["models"] == VALID_PROFILE["models"]


@FUZZ
@given(path=st.sampled_from(PATHS), value=json_values)
def test_any_one_field_replaced_is_refused_or_still_usable(
    path: tuple[str, ...], value: Any
) -> None:
    data = replaced(path, value)
    try:
        base = PersonalBaseline.from_json(data)
    except BaselineError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 400
        return
    check_usable(base)


@FUZZ
@given(data=json_values)
def test_any_json_document_is_refused_in_one_line(data: Any) -> None:
    with pytest.raises(BaselineError) as exc:
        validate_baseline(data)
    assert "\n" not in str(exc.value)


@FUZZ
@given(
    drop=st.sets(st.sampled_from(PATHS), min_size=1, max_size=3),
)
def test_missing_fields_are_refused_or_have_a_default(drop: set[tuple[str, ...]]) -> None:
    data = profile()
    for path in sorted(drop, key=len, reverse=True):
        target = data
        for part in path[:-1]:
            target = target.get(part, {}) if isinstance(target, dict) else {}
        if isinstance(target, dict):
            target.pop(path[-1], None)
    try:
        base = PersonalBaseline.from_json(data)
    except BaselineError:
        return
    check_usable(base)


@settings(max_examples=40, deadline=None)
@given(
    cadence=st.floats(140.0, 200.0),
    swing=st.floats(300.0, 1200.0),
    decel=st.floats(4000.0, 40000.0),
    contact=st.floats(0.18, 0.35),
    noise=st.floats(0.0, 0.15),
    trend=st.floats(-8.0, 8.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_profile_the_fit_produces_is_accepted(
    cadence: float,
    swing: float,
    decel: float,
    contact: float,
    noise: float,
    trend: float,
    seed: int,
) -> None:
    """The ranges hold what running produces: the fit's own output always validates."""
    rng = np.random.default_rng(seed)
    n = 120
    cad = cadence + trend * np.linspace(-1, 1, n) + rng.normal(0, 2, n)
    table = {
        "cadence_spm": cad,
        "peak_midswing_gyr_dps": swing * np.exp(rng.normal(0, noise, n)),
        "late_swing_peak_decel_dps2": decel * np.exp(rng.normal(0, noise, n)),
        "contact_time_s": contact * np.exp(rng.normal(0, noise / 2, n)),
        "stride_time_s": 120.0 / cad,
        "shank_angle_at_ic_deg": rng.normal(6.0, 2.0, n),
    }
    base = PersonalBaseline.fit(table, angle_calibrated=True)
    again = PersonalBaseline.from_json(json.loads(json.dumps(base.to_json())))
    check_usable(again)


@settings(max_examples=100, deadline=None)
@given(content=st.binary(max_size=2000))
def test_any_file_content_loads_or_is_refused(content: bytes, tmp_path_factory: Any) -> None:
    path = Path(tmp_path_factory.mktemp("bl")) / "bl.json"
    path.write_bytes(content)
    base, reason = load_baseline_or_reason(path)
    assert (base is None) != (reason is None)
    if reason is not None:
        assert "\n" not in reason


def test_saving_refuses_a_profile_that_would_not_load(tmp_path: Path) -> None:
    """A baseline learned without a gyroscope cannot say "stop": it is not saved."""
    base = PersonalBaseline.from_json(profile())
    del base.models["peak_midswing_gyr_dps"]
    with pytest.raises(BaselineError, match="lacks peak_midswing_gyr_dps"):
        base.save(tmp_path / "x.json")
    assert list(tmp_path.iterdir()) == []
    good = PersonalBaseline.from_json(profile())
    good.save(tmp_path / "x.json")
    assert PersonalBaseline.load(tmp_path / "x.json").cadence_ref_spm == good.cadence_ref_spm
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temporary file left
