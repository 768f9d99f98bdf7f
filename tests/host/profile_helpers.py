"""A valid stored baseline profile, and ways to break it (for the validator's tests)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

#: a profile as ``strideguard analyze --save-baseline`` wrote it for a simulated steady run
VALID_PROFILE: dict[str, Any] = {
    "schema": "strideguard.baseline/1",
    "cadence_ref_spm": 162.3393,
    "models": {
        "peak_midswing_gyr_dps": {
            "intercept": 6.268,
            "slope_per_spm": 0.00408,
            "sd": 0.0239,
            "contact_elasticity": -0.6,
        },
        "late_swing_peak_decel_dps2": {
            "intercept": 9.48,
            "slope_per_spm": 0.00482,
            "sd": 0.0257,
            "contact_elasticity": -0.9,
        },
        "contact_time_s": {
            "intercept": -1.357,
            "slope_per_spm": -0.0236,
            "sd": 0.0597,
            "contact_elasticity": 0.0,
        },
    },
    "shank_angle_ref_deg": 5.888,
    "angle_calibrated": True,
    "medians": {
        "peak_midswing_gyr_dps": 525.6,
        "late_swing_peak_decel_dps2": 13061.0,
        "contact_time_s": 0.259,
    },
    "irregularity_log": -4.2166,
    "irregularity_log_sd": 0.3669,
    "score_sd": 0.8822,
    "step_sd": {"peak_midswing_gyr_dps": 0.0491, "late_swing_peak_decel_dps2": 0.0515},
    "contact_ref_s": 0.2585,
    "n_strides": 162,
    "source": "learned",
    "extra": {},
}


def profile(**changes: Any) -> dict[str, Any]:
    """A copy of :data:`VALID_PROFILE` with ``changes``; a dotted key reaches inside
    (``profile(**{"models.peak_midswing_gyr_dps.sd": 0})``), the value ``DELETE`` removes."""
    out = copy.deepcopy(VALID_PROFILE)
    for key, value in changes.items():
        *path, last = key.split(".")
        target = out
        for part in path:
            target = target[part]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return out


DELETE = object()


def write_json(path: Path, data: Any) -> Path:
    """``data`` as JSON (NaN and infinities written as JavaScript does: NaN, Infinity)."""
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
