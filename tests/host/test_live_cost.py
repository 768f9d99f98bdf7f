"""The cheaper live path (issue 18's CPU budget) gives the numbers of the full analysis.

The live path measures only the strides it releases, on the span of samples
they need, with a window of a few strides, a faster median and a faster
orientation scan. Each shortcut is checked here against the reference it
replaces, on real inputs (simulated runs with pace changes and walking breaks,
random and NaN-holed arrays); ``test_live.py`` checks the whole live path
against offline ``analyze``.
"""

from __future__ import annotations

import numpy as np
import pytest

from strideguard.align import shank_signals
from strideguard.analysis import analyze
from strideguard.events import detect_strides
from strideguard.frames import decode_frames, to_recording
from strideguard.live.pipeline import SensorPipeline
from strideguard.live.streaming import StreamingAnalyzer, as_arrays
from strideguard.metrics import _scan, _scan_doubling, stride_table
from strideguard.overstride import OverstrideAssessor, RunOverstrideFlag
from strideguard.sigproc import local_median
from strideguard_devkit.sim import simulate
from strideguard_devkit.sim.transport import make_frames


def _median_reference(values: np.ndarray, half_width: int, causal: bool) -> np.ndarray:
    width = 2 * half_width + 1
    if causal:
        pad = np.concatenate([np.repeat(values[:1], 2 * half_width), values])
    elif values.size > 1:
        pad = np.pad(values, half_width, mode="reflect")
    else:
        pad = np.repeat(values, width)
    return np.median(np.lib.stride_tricks.sliding_window_view(pad, width), axis=1)


@pytest.mark.parametrize("causal", [False, True])
def test_local_median_is_numpys_median(causal: bool) -> None:
    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 7, 20, 61):
        for half in (0, 1, 2, 5):
            x = rng.normal(size=n) * 10
            x[rng.random(n) < 0.2] = 3.0  # ties
            np.testing.assert_array_equal(
                local_median(x, half, causal=causal), _median_reference(x, half, causal)
            )
            if n > 2:
                x[n // 2] = np.nan  # a hole: NaN where a window holds it, as np.median says
                np.testing.assert_array_equal(
                    local_median(x, half, causal=causal), _median_reference(x, half, causal)
                )


@pytest.mark.parametrize("m", [1, 2, 5, 64, 300, 1000])
def test_doubling_scan_equals_block_scan(m: int) -> None:
    rng = np.random.default_rng(m)
    angle = rng.normal(scale=0.05, size=m)  # a shank's rotation per sample at 500 Hz: < 0.05 rad
    axis = rng.normal(size=(3, m))
    axis /= np.linalg.norm(axis, axis=0)
    dq = np.vstack([np.cos(angle / 2), axis * np.sin(angle / 2)]).astype(np.float32)
    fast, ref = _scan_doubling(dq), _scan(dq, 64)
    # the same rotations (q and -q are one): float32 rounding only
    dot = np.abs(np.einsum("ij,ij->j", fast.astype(np.float64), ref.astype(np.float64)))
    assert np.all(dot > 1 - 1e-5)


def test_measuring_some_strides_gives_their_full_table_values() -> None:
    run = simulate("intervals", duration_s=60, rate_hz=500, seed=11, leg="R")
    rec = run.recording
    full = analyze(rec, leg="R")
    al = full.alignment
    gyr, acc = shank_signals(rec, al)
    strides = detect_strides(rec, gyr, acc)
    n = strides.ic_s_.size
    assert n > 40
    want = np.zeros(n, bool)
    want[[3, 4, 17, n - 2]] = True
    ref = stride_table(strides, rec, al, gyr_sagittal_dps=gyr, acc_shank_mps2=acc)
    part = stride_table(strides, rec, al, gyr_sagittal_dps=gyr, acc_shank_mps2=acc, measure=want)
    angle = "shank_angle_at_ic_deg"
    # the same within the float32 orientation scan's rounding (its span differs): < 1e-4°
    np.testing.assert_allclose(part[angle][want], ref[angle][want], rtol=0, atol=1e-4)
    assert np.all(np.isnan(part[angle][~want]))
    for name in ref.columns:
        if name != angle and name != "overstride":
            np.testing.assert_array_equal(part[name], ref[name], err_msg=name)
    # rows of a selection: those strides, in that order
    assert part.rows([17, 3]) == [part.rows()[17], part.rows()[3]]


def test_run_overstride_flag_is_the_offline_assessment() -> None:
    rng = np.random.default_rng(3)
    angle = rng.normal(6.0, 1.5, size=200)
    angle[120:160] += 6.0  # an overstriding episode
    angle[rng.random(200) < 0.1] = np.nan  # unmeasured strides
    live = RunOverstrideFlag()
    flags = [
        live.flag({"shank_angle_at_ic_deg": None if np.isnan(a) else float(a), "duty_factor": 0.3})[
            "overstride"
        ]
        for a in angle
    ]
    offline = OverstrideAssessor(live.config).assess(angle, np.full(200, 170.0))
    assert live.reference_angle_deg == pytest.approx(offline.reference_angle_deg_)
    n_ref = live.config.reference_strides
    known_from = int(np.flatnonzero(np.isfinite(angle))[n_ref - 1])  # the reference is known
    for i in range(200):
        off = offline.overstride_[i]
        if i < known_from or np.isnan(off):
            assert flags[i] is None if np.isnan(angle[i]) or i < known_from else True
        else:
            assert flags[i] == off, i
    assert sum(f == 1.0 for f in flags if f is not None) > 20
    # walking strides have no flag and do not count for the reference
    walk = RunOverstrideFlag().flag({"shank_angle_at_ic_deg": 30.0, "duty_factor": 0.7})
    assert walk["overstride"] is None


@pytest.mark.parametrize("scenario", ["walk_breaks", "intervals"])
def test_live_strides_are_the_offline_strides_at_500_hz(scenario: str) -> None:
    """Pace changes and walking breaks: the short adaptive window misses no stride and moves none."""
    run = simulate(scenario, duration_s=150, rate_hz=500, seed=21, leg="R")
    frames = make_frames(run, mtu=247, seed=21)
    pipe = SensorPipeline("S-R", "R", StreamingAnalyzer("S-R", "R"), lambda e: None)
    p, arrival = frames.payloads, frames.arrival_s.tolist()
    for i in range(len(p)):
        pipe.push(p[i : i + 1], arrival[i : i + 1])
    rec = to_recording(decode_frames(p, frames.arrival_s))
    offline = analyze(rec, leg="R", alignment=pipe.analyzer.alignment)
    fs = rec.sampling_rate_hz
    ic_off = np.asarray(offline.strides["initial_contact_s"])
    ic_live = as_arrays(pipe.strides, "initial_contact_s")
    assert ic_live.size > 100
    near = np.abs(ic_live[:, None] - ic_off[None, :])
    assert near.min(axis=1).max() <= 1.0 / fs  # every live stride is an offline stride
    # and (after the shank frame is known) every offline stride is a live one
    later = ic_off[(ic_off > ic_live[0]) & (ic_off < ic_live[-1])]
    assert np.abs(later[:, None] - ic_live[None, :]).min(axis=1).max() <= 1.0 / fs
    rows = offline.strides.rows()
    match = near.argmin(axis=1)
    for key in ("toe_off_s", "shank_angle_at_ic_deg", "late_swing_peak_decel_dps2", "cadence_spm"):
        live = as_arrays(pipe.strides, key)
        off = np.array([np.nan if rows[j][key] is None else rows[j][key] for j in match])
        np.testing.assert_allclose(live, off, rtol=1e-3, atol=2e-3, err_msg=key)


def _stream(rec: object, analyzer: StreamingAnalyzer, chunk: int = 8) -> list[dict]:
    out: list[dict] = []
    t, acc, gyr = rec.time_s, rec.acc_mps2, rec.gyr_dps  # type: ignore[attr-defined]
    for i in range(0, t.size, chunk):
        out += analyzer.push(t[i : i + chunk], acc[i : i + chunk], gyr[i : i + chunk])
    return out


@pytest.mark.parametrize("name", ["RBDS0041_T25_R_mpu", "RBDS0041_T25_L_mpu"])
def test_short_window_changes_nothing_on_real_running(name: str) -> None:
    """Real treadmill running (stride-to-stride variability a simulator lacks).

    The window of :data:`CONTEXT_STRIDES` strides releases the strides the fixed
    8 s window released, with the same numbers, and both are the offline strides.
    """
    from tests.host.analysis_helpers import load_rbds

    rec, _standing, _truth = load_rbds(name)
    short = _stream(rec, StreamingAnalyzer("S", name[-5]))
    fixed = _stream(rec, StreamingAnalyzer("S", name[-5], adaptive_window=False))
    assert len(short) > 15
    assert len(short) == len(fixed)
    for a, b in zip(short, fixed, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            x, y = a[key], b[key]
            assert (x is None) == (y is None), key
            if x is not None and y is not None:
                assert x == pytest.approx(y, rel=1e-6, abs=1e-4), key


def test_fill_on_grid_without_a_gap_is_the_grid() -> None:
    """The no-gap shortcut of ``fill_on_grid`` gives what the grid fill gives."""
    from strideguard.gaps import fill_on_grid

    rng = np.random.default_rng(5)
    idx = np.arange(1000, 1200, dtype=np.int64)
    acc, t = rng.normal(size=(200, 3)), rng.normal(size=200)
    for first in (None, 1000, 1001, 1150, 1199):
        present, (a, b) = fill_on_grid(idx, acc, t, first=first)
        start = 1000 if first is None else first
        assert present.all() and present.size == 1200 - start
        np.testing.assert_array_equal(a, acc[start - 1000 :])
        np.testing.assert_array_equal(b, t[start - 1000 :])
        a[:] = 0.0  # a copy: the caller's buffer is not touched
        assert np.all(acc[start - 1000 :] != 0.0)
    # with a hole the grid is bridged, whether the window starts before, in or after it
    holed = np.delete(idx, np.arange(50, 60))
    for first in (1000, 1055, 1060, 1100):
        present, (a,) = fill_on_grid(holed, np.delete(acc, np.arange(50, 60), axis=0), first=first)
        assert present.size == 1200 - first
        assert (~present).sum() == max(0, 1060 - max(first, 1050))
        np.testing.assert_array_equal(a[present], acc[first - 1000 :][present])
