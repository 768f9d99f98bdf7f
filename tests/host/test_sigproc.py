"""The shared numeric helpers on signals with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from strideguard.sigproc import (
    first_crossing_below,
    local_median,
    moving_mean,
    parabolic_offset,
    window_argext,
)


def test_parabolic_offset_finds_the_true_vertex() -> None:
    x = np.arange(20.0)
    for vertex in (7.0, 7.3, 6.8):
        y = -((x - vertex) ** 2)
        k = np.array([int(np.argmax(y))])
        assert k[0] + parabolic_offset(y, k)[0] == pytest.approx(vertex)


def test_window_argext_per_window_and_outside_the_signal() -> None:
    x = np.array([0.0, 5.0, 1.0, -3.0, 2.0, 9.0, -1.0])
    start = np.array([0, 2, 5, -1])
    length = np.array([3, 3, 10, 2])
    np.testing.assert_array_equal(window_argext(x, start, length, mode="max"), [1, 4, 5, 0])
    np.testing.assert_array_equal(window_argext(x, start, length, mode="min"), [0, 3, 6, 0])
    assert window_argext(x, np.zeros(0, np.int64), np.zeros(0, np.int64), mode="max").size == 0


def test_first_crossing_below() -> None:
    x = np.array([3.0, 2.0, 1.0, -1.0, -2.0, 4.0, 5.0])
    got = first_crossing_below(x, np.array([0, 5, 1]), 3)
    np.testing.assert_array_equal(got, [-1, -1, 3])


def test_local_median_centred_and_causal() -> None:
    v = np.array([1.0, 1.0, 9.0, 1.0, 1.0, 5.0, 5.0, 5.0])
    np.testing.assert_allclose(local_median(v, 1), [1, 1, 1, 1, 1, 5, 5, 5])
    # causal: the value and the two before it (the start padded with the first value)
    np.testing.assert_allclose(local_median(v, 1, causal=True), [1, 1, 1, 1, 1, 1, 5, 5])


def test_moving_mean_odd_centred_window() -> None:
    x = np.zeros(11)
    x[5] = 3.0
    np.testing.assert_allclose(moving_mean(x, 3)[4:7], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(moving_mean(x, 2)[4:7], [1.0, 1.0, 1.0])  # made odd: 3
    np.testing.assert_allclose(moving_mean(x, 1), x)
