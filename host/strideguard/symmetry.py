"""Left/right symmetry: strides of the two legs paired in time, and symmetry indices.

With a sensor on each shin, each right stride is paired with the left stride
that begins during it (the left foot lands about half a stride after the
right one). A pair gives, per feature, how the right leg compares with the
left: the log ratio ``log(R / L)`` (the angle at contact: the difference in
degrees), reported as the symmetry index of Robinson et al. (1987),
``SI = 200 · (R − L) / (R + L)`` %, 0 for perfect symmetry, positive when the
right value is larger. Rolling values are medians over the last pairs.

The two sensors have their own clocks. Pairing needs a common time, but only
to within a quarter of a stride: the live path and ``analyze`` bring each
sensor's times onto the host clock with the frames' arrival times
(:func:`host_clock_offset_s`). A pairing that is off by a whole stride still
pairs neighbouring strides, which does not matter for rolling values.

Example
-------
>>> pairer = StridePairer()
>>> pairer.add("R", {"initial_contact_s": 10.0, "next_initial_contact_s": 10.7,
...                  "contact_time_s": 0.25})
[]
>>> [p.index["L"] for p in pairer.add("L", {"initial_contact_s": 10.36,
...                  "next_initial_contact_s": 11.06, "contact_time_s": 0.26})]
[0]
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

Stride = Mapping[str, Any]


@dataclass(frozen=True)
class SymmetryFeature:
    """One per-stride feature compared between the legs.

    Attributes
    ----------
    name
        Stride-table column.
    label
        Short words for displays.
    log_scale
        Compared as ``log(R / L)`` (``False``: as the difference ``R − L``, e.g. degrees).
    unit
        Unit of the difference when not on the log scale.
    """

    name: str
    label: str
    log_scale: bool = True
    unit: str = "%"


#: the features paired across legs, in display order
SYMMETRY_FEATURES: tuple[SymmetryFeature, ...] = (
    SymmetryFeature("contact_time_s", "contact time"),
    SymmetryFeature("swing_time_s", "swing time"),
    SymmetryFeature("peak_midswing_gyr_dps", "mid-swing speed"),
    SymmetryFeature("late_swing_peak_decel_dps2", "late-swing braking"),
    SymmetryFeature("shank_angle_at_ic_deg", "tibia angle at landing", log_scale=False, unit="°"),
    SymmetryFeature("peak_tibial_accel_g", "shock"),
)
SYMMETRY_FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in SYMMETRY_FEATURES)
_BY_NAME = {f.name: f for f in SYMMETRY_FEATURES}


def _num(stride: Stride, key: str) -> float:
    v = stride.get(key)
    try:
        return float("nan") if v is None else float(v)
    except (TypeError, ValueError):
        return float("nan")


def pair_value(name: str, right: float, left: float) -> float:
    """How the right leg compares with the left for feature ``name``.

    ``log(R / L)`` for log-scale features (NaN unless both are positive), else
    ``R − L``.
    """
    if _BY_NAME[name].log_scale:
        if not (right > 0 and left > 0):  # also False for NaN
            return float("nan")
        return math.log(right / left)
    return right - left if math.isfinite(right) and math.isfinite(left) else float("nan")


def symmetry_index_pct(value: float) -> float:
    """Robinson's symmetry index (%) of a log ratio ``log(R / L)``: ``200·(R−L)/(R+L)``."""
    if not math.isfinite(value):
        return float("nan")
    return 200.0 * math.tanh(0.5 * value)


def display_value(name: str, value: float) -> float:
    """A pair value as shown: the symmetry index (%) on the log scale, else the difference."""
    return symmetry_index_pct(value) if _BY_NAME[name].log_scale else value


@dataclass(frozen=True)
class StridePair:
    """A right stride and the left stride that began during it.

    Attributes
    ----------
    time_s
        The right stride's initial contact on the common clock.
    index
        Stride index of each leg (``{"L": i, "R": j}``, in its own stride list).
    values
        Per feature of :data:`SYMMETRY_FEATURES`: ``log(R / L)`` or ``R − L``
        (NaN when either stride lacks it).
    strides
        The two strides (``{"L": …, "R": …}``).
    """

    time_s: float
    index: dict[str, int]
    values: dict[str, float]
    strides: dict[str, Stride] = field(repr=False)

    def indices(self) -> dict[str, float | None]:
        """Per feature: the symmetry index (%) or the difference (°), ``None`` when unknown."""
        out: dict[str, float | None] = {}
        for name, v in self.values.items():
            d = display_value(name, v)
            out[name] = round(d, 2) if math.isfinite(d) else None
        return out


def make_pair(right: Stride, left: Stride, index_r: int, index_l: int, time_s: float) -> StridePair:
    """Pair ``right`` with ``left`` (see :class:`StridePair`)."""
    values = {
        name: pair_value(name, _num(right, name), _num(left, name))
        for name in SYMMETRY_FEATURE_NAMES
    }
    return StridePair(
        time_s=time_s,
        index={"R": index_r, "L": index_l},
        values=values,
        strides={"R": right, "L": left},
    )


@dataclass
class _Pending:
    index: int
    start_s: float
    end_s: float
    stride: Stride


class StridePairer:
    """Pair strides of the two legs as they arrive (live path).

    Strides may arrive in any order between the legs; each stride needs its
    ``initial_contact_s`` and ``next_initial_contact_s`` on a common clock
    (add ``offset_s`` per leg otherwise). A right stride pairs with the first
    left stride whose contact lies inside it; every stride pairs at most once.

    Parameters
    ----------
    keep
        Unpaired strides kept per leg (older ones are dropped: their partner
        was lost, e.g. in a data gap).
    """

    def __init__(self, keep: int = 8) -> None:
        self._pending: dict[str, deque[_Pending]] = {
            "L": deque(maxlen=keep),
            "R": deque(maxlen=keep),
        }
        self._count = {"L": 0, "R": 0}
        self.pairs_ = 0

    def add(self, leg: str, stride: Stride, offset_s: float = 0.0) -> list[StridePair]:
        """Add stride of ``leg`` (``"L"``/``"R"``); return the pairs it completes."""
        if leg not in self._pending:
            raise ValueError(f"leg must be 'L' or 'R', not {leg!r}")
        index = self._count[leg]
        self._count[leg] += 1
        ic = _num(stride, "initial_contact_s") + offset_s
        nxt = _num(stride, "next_initial_contact_s") + offset_s
        if not (math.isfinite(ic) and math.isfinite(nxt) and nxt > ic):
            return []
        me = _Pending(index, ic, nxt, stride)
        other = self._pending["L" if leg == "R" else "R"]
        match = None
        for cand in other:
            right, left = (me, cand) if leg == "R" else (cand, me)
            if right.start_s <= left.start_s < right.end_s:
                match = cand
                break
        if match is None:
            self._pending[leg].append(me)
            return []
        other.remove(match)
        right, left = (me, match) if leg == "R" else (match, me)
        # strides older than this pair will not find a partner any more
        for q in self._pending.values():
            while q and q[0].start_s < right.start_s - 0.5 * (right.end_s - right.start_s):
                q.popleft()
        self.pairs_ += 1
        return [make_pair(right.stride, left.stride, right.index, left.index, right.start_s)]


def pair_stride_tables(
    right: Sequence[Stride],
    left: Sequence[Stride],
    *,
    offset_r_s: float = 0.0,
    offset_l_s: float = 0.0,
) -> list[StridePair]:
    """Pair two legs' whole stride lists (offline), exactly as :class:`StridePairer` live.

    Parameters
    ----------
    right, left
        Each leg's strides in order (with ``initial_contact_s`` and
        ``next_initial_contact_s``).
    offset_r_s, offset_l_s
        Added to each leg's times to bring them onto a common clock.
    """
    events = [
        (float(_num(s, "next_initial_contact_s")) + offset_r_s, 0, "R", k, s)
        for k, s in enumerate(right)
    ]
    events += [
        (float(_num(s, "next_initial_contact_s")) + offset_l_s, 1, "L", k, s)
        for k, s in enumerate(left)
    ]
    # strides complete at their next contact: feed them in that order, like the live path
    events.sort(key=lambda e: (math.inf if math.isnan(e[0]) else e[0], e[1], e[3]))
    pairer = StridePairer()
    out: list[StridePair] = []
    for _, _, leg, _, s in events:
        out += pairer.add(leg, s, offset_r_s if leg == "R" else offset_l_s)
    return out


class RollingSymmetry:
    """Rolling symmetry: per feature, the median of the last ``window`` pair values.

    Parameters
    ----------
    window
        Pairs in the rolling median.
    """

    def __init__(self, window: int = 15) -> None:
        self.window = window
        self._values: dict[str, deque[float]] = {
            n: deque(maxlen=window) for n in SYMMETRY_FEATURE_NAMES
        }

    def add(self, pair: StridePair) -> None:
        """Add one pair."""
        for name, v in pair.values.items():
            if math.isfinite(v):
                self._values[name].append(v)

    def values(self) -> dict[str, float]:
        """Per feature: rolling median of ``log(R / L)`` (or ``R − L``); NaN without data."""
        return {
            n: float(np.median(np.fromiter(q, float))) if len(q) >= 3 else float("nan")
            for n, q in self._values.items()
        }

    def indices(self) -> dict[str, float | None]:
        """Per feature: rolling symmetry index (%) or difference (°); ``None`` without data."""
        out: dict[str, float | None] = {}
        for name, v in self.values().items():
            d = display_value(name, v)
            out[name] = round(d, 2) if math.isfinite(d) else None
        return out


def higher_leg(median: float | None) -> str | None:
    """Which leg's value is larger for a right-against-left median: ``"R"``, ``"L"`` or ``None`` (equal, unknown)."""
    if median is None or not math.isfinite(median) or median == 0:
        return None
    return "R" if median > 0 else "L"


def symmetry_summary(pairs: Sequence[StridePair]) -> dict[str, dict[str, Any]]:
    """Per feature over a run: median and interquartile range of the pair values, as shown.

    Returns
    -------
    dict
        ``{feature: {"median": SI % or °, "iqr": …, "pairs": n, "unit": "%" or "°",
        "higher": "R", "L" or None}}``; ``None`` when unknown. ``median`` is right
        against left (positive: the right leg's value is larger, ``higher``).
    """
    out: dict[str, dict[str, Any]] = {}
    for name in SYMMETRY_FEATURE_NAMES:
        unit = _BY_NAME[name].unit
        v = np.array([p.values[name] for p in pairs], dtype=float)
        v = v[np.isfinite(v)]
        if v.size == 0:
            out[name] = {"median": None, "iqr": None, "pairs": 0, "unit": unit, "higher": None}
            continue
        q1, med, q3 = (display_value(name, float(x)) for x in np.percentile(v, [25, 50, 75]))
        out[name] = {
            "median": round(med, 2),
            "iqr": round(q3 - q1, 2),
            "pairs": int(v.size),
            "unit": unit,
            "higher": higher_leg(round(med, 2)),
        }
    return out


def host_clock_offset_s(
    first_index: npt.ArrayLike,
    n_samples: npt.ArrayLike,
    arrival_s: npt.ArrayLike,
    time_of_index: Any,
) -> float:
    """Offset that brings a sensor's times onto the host clock (``host ≈ time + offset``).

    A frame arrives after its last sample was taken; the smallest delay over
    many frames is the link's fixed part, so the lower envelope of
    ``arrival − time of the frame's last sample`` is the clock offset (plus a
    few ms). NaN arrivals (unknown) are ignored.

    Parameters
    ----------
    first_index, n_samples, arrival_s
        Per frame: running index of its first sample, its sample count, host arrival time.
    time_of_index
        Maps running sample indices to the sensor's time axis (s).

    Returns
    -------
    float
        The offset (s); NaN without usable arrival times.
    """
    arr = np.asarray(arrival_s, dtype=float)
    ok = np.isfinite(arr)
    if not ok.any():
        return float("nan")
    last = (
        np.asarray(first_index, dtype=np.int64)[ok] + np.asarray(n_samples, dtype=np.int64)[ok] - 1
    )
    lag = arr[ok] - np.asarray(time_of_index(last), dtype=float)
    return float(np.percentile(lag, 2.0))
