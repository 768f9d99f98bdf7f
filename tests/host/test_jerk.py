"""The irregularity measure (second difference of a feature's log) over strides a data gap
left unmeasured."""

from __future__ import annotations

import math

import numpy as np
import pytest

from strideguard.alerts.baseline import jerk_z

SD = {"peak_midswing_gyr_dps": 0.02}


def _z(values: dict[int, float], at: int) -> float:
    (i0, c), (i1, b) = sorted(values.items())
    out = jerk_z(
        {"peak_midswing_gyr_dps": math.exp(np.log(600.0) + at * -0.03)},
        {"peak_midswing_gyr_dps": (b, i1)},
        {"peak_midswing_gyr_dps": (c, i0)},
        SD,
        at,
    )
    return out["peak_midswing_gyr_dps"]


def test_a_smooth_slowdown_is_not_irregular_across_unmeasured_strides() -> None:
    # the swing slows 3 % per stride (the end of an interval repetition); strides 11-13 and 15
    # lost their value to data gaps. A second difference taken as if the measured strides were
    # consecutive reads the smooth change as irregularity; over the real spacing it is none.
    trend = {i: math.exp(np.log(600.0) + i * -0.03) for i in range(20)}
    assert _z({10: trend[10], 14: trend[14]}, 16) == pytest.approx(0.0, abs=1e-9)
    assert _z({9: trend[9], 10: trend[10]}, 14) == pytest.approx(0.0, abs=1e-9)
    naive = (math.log(trend[16]) - 2 * math.log(trend[14]) + math.log(trend[10])) / SD[
        "peak_midswing_gyr_dps"
    ]
    assert abs(naive) > 2.5  # what the old measure said: a 3-SD jerk from nothing


def test_consecutive_strides_give_the_plain_second_difference() -> None:
    vals = {3: 610.0, 4: 590.0}
    z = _z(vals, 5)
    a = math.exp(np.log(600.0) + 5 * -0.03)
    expected = (math.log(a) - 2 * math.log(590.0) + math.log(610.0)) / 0.02
    assert z == pytest.approx(expected)


def test_noise_keeps_its_normal_size_over_any_spacing() -> None:
    # iid noise of SD sigma in the log: the z stays ~N(0, 1) whatever the spacing
    rng = np.random.default_rng(1)
    sigma = 0.02 / math.sqrt(6.0)  # the second difference's SD is then SD
    for gap in (1, 2, 4):
        zs = []
        for _ in range(4000):
            e = rng.normal(0.0, sigma, 3)
            out = jerk_z(
                {"peak_midswing_gyr_dps": 600.0 * math.exp(e[2])},
                {"peak_midswing_gyr_dps": (600.0 * math.exp(e[1]), 10)},
                {"peak_midswing_gyr_dps": (600.0 * math.exp(e[0]), 10 - gap)},
                SD,
                11,
            )
            zs.append(out["peak_midswing_gyr_dps"])
        assert np.std(zs) == pytest.approx(1.0, abs=0.05), gap


def test_unmeasured_or_out_of_order_values_are_left_out() -> None:
    f = "peak_midswing_gyr_dps"
    assert jerk_z({f: float("nan")}, {f: (1.0, 1)}, {f: (1.0, 0)}, SD, 2) == {}
    assert jerk_z({f: 1.0}, {}, {f: (1.0, 0)}, SD, 2) == {}
    assert jerk_z({f: 1.0}, {f: (1.0, 2)}, {f: (1.0, 0)}, SD, 2) == {}
