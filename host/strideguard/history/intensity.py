"""Speedwork and uphill strides, told from cadence, swing speed and contact time.

A shin sensor knows neither speed nor slope, but both leave marks on the stride
(numbers from ``docs/gait-primer.md`` and the baseline model in
:mod:`strideguard.alerts.baseline`):

* **Faster running** swings the shank faster (the mid-swing peak rises about
  20 % from 2.5 to 3.5 m/s) and shortens ground contact (about 25 % over the
  same range), while cadence rises only a little. A stride counts as
  *speedwork* when its mid-swing peak is at least :data:`SPEEDWORK_SWING_RATIO`
  times the runner's reference (≈ 0.7 m/s faster than their usual running:
  around threshold pace and faster) **and** its contact time is at most
  :data:`SPEEDWORK_CONTACT_RATIO` times the reference. Downhill running speeds
  the swing up less and is mostly left out by the first condition.
* **Uphill running** keeps cadence but lengthens contact: on a climb the runner
  is slower at an unchanged step rate, so contact time is longer than cadence
  predicts (the runner's usual relation: contact falls about 2.8 % per step/min,
  :data:`CONTACT_SLOPE_PER_SPM`), and the swing is slower. A stride counts as
  *uphill* when its contact time is at least :data:`UPHILL_CONTACT_EXCESS`
  times what its cadence predicts **and** its mid-swing peak is at most
  :data:`UPHILL_SWING_RATIO` times the reference. Slowing down on the flat
  lowers cadence along the usual relation and is not flagged; a deliberate
  cadence increase at the same speed keeps the swing and is not flagged either.

These are guesses from the physics, not validated detectors: they find clear
climbs (≳ 5 % grade) and clearly faster running, and miss gentle ones. The
reference is the runner's usual running (:class:`Reference`). See
``docs/history.md`` for the evidence for and against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from strideguard.alerts.baseline import FEATURES
from strideguard.history.stats import Strides, column, running_mask, running_median

#: speedwork: mid-swing peak at least this many times the reference …
SPEEDWORK_SWING_RATIO = 1.15
#: … and contact time at most this many times the reference
SPEEDWORK_CONTACT_RATIO = 0.90
#: uphill: contact time at least this many times what the stride's cadence predicts …
UPHILL_CONTACT_EXCESS = 1.10
#: … and mid-swing peak at most this many times the reference
UPHILL_SWING_RATIO = 0.95
#: d log(contact time) / d cadence along the runner's usual pace relation (the alert baseline's prior)
CONTACT_SLOPE_PER_SPM = next(f.prior_slope_per_spm for f in FEATURES if f.name == "contact_time_s")


@dataclass(frozen=True)
class Reference:
    """The runner's usual running, against which intensity is judged.

    Attributes
    ----------
    cadence_spm, contact_time_s, peak_midswing_gyr_dps
        Typical values (medians).
    source
        Where they come from, for the report (``"your runs"``,
        ``"before the injury"``, ``"this run"``).
    """

    cadence_spm: float
    contact_time_s: float
    peak_midswing_gyr_dps: float
    source: str

    @classmethod
    def from_runs(cls, runs: Iterable[Mapping[str, Any]], source: str) -> Reference | None:
        """Median of the runs' medians (listing rows of :meth:`History.list_runs`)."""
        rows = [
            r
            for r in runs
            if all(
                r.get(k) is not None
                for k in ("cadence_spm", "contact_time_s", "peak_midswing_gyr_dps")
            )
        ]
        if not rows:
            return None
        return cls(
            cadence_spm=float(np.median([r["cadence_spm"] for r in rows])),
            contact_time_s=float(np.median([r["contact_time_s"] for r in rows])),
            peak_midswing_gyr_dps=float(np.median([r["peak_midswing_gyr_dps"] for r in rows])),
            source=source,
        )

    @classmethod
    def from_strides(cls, strides: Strides, source: str = "this run") -> Reference | None:
        """Medians of one table's running strides."""
        cad = running_median(strides, "cadence_spm")
        ct = running_median(strides, "contact_time_s")
        sw = running_median(strides, "peak_midswing_gyr_dps")
        if cad is None or ct is None or sw is None:
            return None
        return cls(cad, ct, sw, source)


def classify(strides: Strides, ref: Reference) -> dict[str, npt.NDArray[np.bool_]]:
    """Per stride: ``running``, ``speedwork`` and ``uphill`` (see the module docstring)."""
    run = running_mask(strides)
    cad = column(strides, "cadence_spm")
    ct = column(strides, "contact_time_s")
    sw = column(strides, "peak_midswing_gyr_dps")
    with np.errstate(invalid="ignore"):
        speed = (
            run
            & (sw >= SPEEDWORK_SWING_RATIO * ref.peak_midswing_gyr_dps)
            & (ct <= SPEEDWORK_CONTACT_RATIO * ref.contact_time_s)
        )
        predicted_ct = ref.contact_time_s * np.exp(CONTACT_SLOPE_PER_SPM * (cad - ref.cadence_spm))
        uphill = (
            run
            & ~speed
            & (ct >= UPHILL_CONTACT_EXCESS * predicted_ct)
            & (sw <= UPHILL_SWING_RATIO * ref.peak_midswing_gyr_dps)
        )
    return {"running": run, "speedwork": speed, "uphill": uphill}


def intensity_times(strides: Strides, ref: Reference | None) -> dict[str, float]:
    """Seconds of running, speedwork and uphill in one leg's strides (summed stride times)."""
    st = column(strides, "stride_time_s")
    st = np.where(np.isfinite(st), st, 0.0)
    if ref is None:
        run = running_mask(strides)
        return {"running_s": float(st[run].sum()), "speedwork_s": 0.0, "uphill_s": 0.0}
    c = classify(strides, ref)
    return {
        "running_s": float(st[c["running"]].sum()),
        "speedwork_s": float(st[c["speedwork"]].sum()),
        "uphill_s": float(st[c["uphill"]].sum()),
    }
