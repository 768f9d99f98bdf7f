"""Simulator: foot-strike patterns, runner archetypes, retraction, marker-like variant.

What the model promises (docs/simulator.md, "Foot strike and runner archetypes"),
checked on the signals it produces, not on its parameters.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from strideguard.cli import main
from strideguard_devkit.sim import SensorErrors, SimRun, simulate
from strideguard_devkit.sim.athlete import ARCHETYPES, get_archetype, strike_class
from strideguard_devkit.sim.kinematics import (
    HEEL_TOUCH_REL,
    HEEL_TOUCH_S,
    IMPACT_DELAY_S,
    IMPACT_WINDOW_S,
    _damped,
    _impact_shape,
    impact_shape_params,
)

G = 9.80665
RUNNERS = tuple(ARCHETYPES)


def _ideal(runner: str, seed: int = 1, **kw: object) -> SimRun:
    return simulate(
        "steady",
        duration_s=60,
        rate_hz=1000,
        seed=seed,
        runner=runner,
        mounting="identity",
        errors=SensorErrors.ideal(),
        keep_shank=True,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def ideal() -> dict[str, SimRun]:
    return {name: _ideal(name) for name in RUNNERS}


def _running(run: SimRun) -> np.ndarray:
    return (np.array(run.truth.gait) == "run") & (run.truth.initial_contact_s > 20.0)


def _after_ic(run: SimRun, signal: np.ndarray, window_s: float) -> np.ndarray:
    """``signal`` from each running IC for ``window_s`` (strides × samples)."""
    t = run.recording.time_s
    fs = run.recording.sampling_rate_hz
    n = round(window_s * fs)
    idx = np.searchsorted(t, run.truth.initial_contact_s[_running(run)])
    idx = idx[idx + n < t.size]
    return signal[idx[:, None] + np.arange(n)[None, :]]


def test_archetypes_differ_in_cadence_swing_contact_and_strike(ideal: dict[str, SimRun]) -> None:
    stats = {}
    for name, run in ideal.items():
        tr = run.truth
        m = _running(run)
        stats[name] = {
            "cadence": float(np.mean(tr.cadence_spm[m])),
            "contact": float(np.mean(tr.contact_time_s[m])),
            "angle": float(np.mean(tr.shank_angle_at_ic_deg[m])),
            "peak": float(np.median(run.shank_gyr_dps[:, 1])),  # type: ignore[index]
            "swing": float(np.percentile(run.shank_gyr_dps[:, 1], 99.5)),  # type: ignore[index]
            "strikes": set(np.array(tr.foot_strike)[m]),
        }
    s = stats
    assert s["forefoot"]["cadence"] > s["midfoot_tempo"]["cadence"] > s["recreational"]["cadence"]
    assert s["recreational"]["cadence"] > s["heel_overstrider"]["cadence"]
    assert (
        s["forefoot"]["contact"] < s["recreational"]["contact"] < s["heel_overstrider"]["contact"]
    )
    assert s["forefoot"]["swing"] > s["recreational"]["swing"] > s["heel_overstrider"]["swing"]
    assert s["forefoot"]["angle"] < s["midfoot_tempo"]["angle"] < s["recreational"]["angle"]
    assert s["heel_overstrider"]["angle"] > s["recreational"]["angle"] + 1.5
    assert s["forefoot"]["strikes"] == {"forefoot"}
    assert s["midfoot_tempo"]["strikes"] == {"midfoot"}
    assert s["recreational"]["strikes"] == {"rearfoot"}
    assert s["mixed_strike"]["strikes"] == {"rearfoot", "midfoot"}
    # every archetype keeps the recreational runner's physiology bounds
    for v in s.values():
        assert 140 < v["cadence"] < 200 and 0.18 < v["contact"] < 0.34


def test_forefoot_contact_response_comes_earlier(ideal: dict[str, SimRun]) -> None:
    """After a heel strike the shank's big post-contact dip comes ~55 ms after IC (foot slap);
    after a forefoot contact the tibia keeps rotating and the response comes ~25–30 ms after."""

    def dip_ms(run: SimRun) -> float:
        g = _after_ic(run, run.shank_gyr_dps[:, 1], 0.1)  # type: ignore[index]
        return float(np.median(np.argmin(g, axis=1))) / run.recording.sampling_rate_hz * 1e3

    rear, fore = dip_ms(ideal["recreational"]), dip_ms(ideal["forefoot"])
    assert 45 < rear < 65
    assert 18 < fore < 35
    # the heel strike's brief arrest (a plateau 15–30 ms after IC) is absent after a forefoot
    # contact: its angular velocity falls straight into the response
    fore_g = _after_ic(ideal["forefoot"], ideal["forefoot"].shank_gyr_dps[:, 1], 0.02)  # type: ignore[index]
    assert np.median(fore_g[:, -1] - fore_g[:, 0]) < -60.0


def test_forefoot_impact_is_smaller_slower_and_touches_the_heel_later(
    ideal: dict[str, SimRun],
) -> None:
    def axial(run: SimRun) -> np.ndarray:
        return _after_ic(run, -run.shank_acc_mps2[:, 2], 0.1)  # type: ignore[index]

    rear, fore = axial(ideal["recreational"]), axial(ideal["forefoot"])
    fs = 1000.0
    rear_peak, fore_peak = rear[:, :40].max(axis=1), fore[:, :40].max(axis=1)
    assert np.median(fore_peak) < 0.8 * np.median(rear_peak)
    t_rear = np.median(np.argmax(rear[:, :40], axis=1)) / fs
    t_fore = np.median(np.argmax(fore[:, :40], axis=1)) / fs
    assert t_fore > t_rear + 0.003
    # the impact starts at contact (3 ms later: heel pad / forefoot pad) for both
    for a in (rear, fore):
        rise = np.median(np.argmax(np.diff(a[:, :30], axis=1) > 200.0 / fs * 10, axis=1))
        assert rise <= 6
    # a second, small transient when the forefoot striker's heel touches down (~55 ms after
    # contact): 30 % of the forefoot impact, none for a heel or midfoot strike
    tau = np.arange(0.0, 0.14, 0.0005)
    late = tau > HEEL_TOUCH_S
    for strike, size in ((0.0, 0.0), (0.5, 0.0), (1.0, HEEL_TOUCH_REL)):
        shape = _impact_shape(tau, strike)
        freq, decay, _ = impact_shape_params(strike)
        main_only = _damped(tau - IMPACT_DELAY_S, freq, decay, IMPACT_WINDOW_S)
        second = shape[late] - main_only[late]
        assert shape.max() == pytest.approx(1.0, abs=0.02)
        if size:
            assert second.max() == pytest.approx(size, rel=0.1)
        else:
            assert np.allclose(second, 0.0)


def test_retraction_differs_between_runners_and_matches_the_signal() -> None:
    means = []
    for seed in range(6):
        run = _ideal("recreational", seed=seed)
        tr = run.truth
        m = _running(run)
        r = tr.retraction_s[m]
        assert np.isfinite(r).all() and 0.008 < np.median(r) < 0.035
        means.append(float(np.median(r)))
        # the truth is the late-swing zero crossing of the signal itself
        g = run.shank_gyr_dps[:, 1]  # type: ignore[index]
        t = run.recording.time_s
        ic = tr.initial_contact_s[m][5]
        i = np.searchsorted(t, ic)
        j = i - np.argmax(g[i::-1] > 0)  # last positive sample before IC
        assert ic - t[j] == pytest.approx(tr.retraction_s[m][5], abs=0.0015)
    assert np.ptp(means) > 0.002  # runners differ (per-runner SD 2.5 ms)


@pytest.mark.parametrize("runner", ["forefoot", "midfoot_tempo", "mixed_strike"])
def test_strike_terms_keep_the_truth_consistent(runner: str) -> None:
    """The angle truth is the integrated gyro, and the stride-mean specific force is gravity."""
    run = simulate(
        "steady",
        duration_s=60,
        rate_hz=500,
        seed=4,
        runner=runner,
        errors=SensorErrors.ideal(),
        keep_shank=True,
    )
    tr = run.truth
    t = run.recording.time_s
    g = run.shank_gyr_dps[:, 1]  # type: ignore[index]
    integ = np.concatenate(([0.0], np.cumsum(0.5 * (g[1:] + g[:-1]) * np.diff(t))))
    ic, nxt = tr.initial_contact_s, tr.initial_contact_s + tr.stride_time_s
    inner = slice(2, -2)
    d_int = np.interp(nxt, t, integ) - np.interp(ic, t, integ)
    d_ang = np.interp(nxt, t, tr.shank_angle_deg) - np.interp(ic, t, tr.shank_angle_deg)
    np.testing.assert_allclose(d_int[inner], d_ang[inner], atol=0.2)
    np.testing.assert_allclose(
        np.interp(ic, t, tr.shank_angle_deg), tr.shank_angle_at_ic_deg, atol=0.15
    )
    th = np.deg2rad(tr.shank_angle_deg)
    a = run.shank_acc_mps2
    assert a is not None
    fwd = np.cos(th) * a[:, 0] + np.sin(th) * a[:, 2]
    up = np.sin(th) * a[:, 0] - np.cos(th) * a[:, 2]
    whole = (t >= ic[0]) & (t < ic[-1])
    np.testing.assert_allclose([fwd[whole].mean(), up[whole].mean()], [0.0, G], atol=0.05)


def test_marker_like_variant_has_nothing_above_its_cutoff() -> None:
    sharp = _ideal("recreational", seed=2)
    smooth = _ideal("recreational", seed=2, lowpass_hz=20.0)
    fs = 1000.0

    def band_power(x: np.ndarray, lo: float) -> float:
        spec = np.abs(np.fft.rfft(x - x.mean())) ** 2
        f = np.fft.rfftfreq(x.size, 1 / fs)
        return float(spec[f > lo].sum() / spec.sum())

    a_sharp = np.linalg.norm(sharp.recording.acc_mps2, axis=1)
    a_smooth = np.linalg.norm(smooth.recording.acc_mps2, axis=1)
    assert band_power(a_sharp, 40.0) > 0.02
    assert band_power(a_smooth, 40.0) < 0.002
    # the impact is smeared: its steepest rise drops below what counts as an impact (3500 m/s³)
    assert np.max(np.diff(a_smooth)) * fs < 3500.0 < np.max(np.diff(a_sharp)) * fs
    # the truth stays the real motion's
    np.testing.assert_array_equal(sharp.truth.initial_contact_s, smooth.truth.initial_contact_s)


def test_strike_names_and_unknown_runner() -> None:
    assert strike_class([0.0, 0.2, 0.5, 0.8, 1.0]) == [
        "rearfoot",
        "rearfoot",
        "midfoot",
        "forefoot",
        "forefoot",
    ]
    with pytest.raises(ValueError, match="unknown runner 'sprinter'; known: recreational"):
        get_archetype("sprinter")
    with pytest.raises(ValueError, match="lowpass"):
        simulate("steady", duration_s=30, rate_hz=100, lowpass_hz=60.0)


def test_cli_runner_and_lowpass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ff.csv"
    args = ["simulate", "steady", "--duration", "30", "--rate", "200", "--runner", "forefoot"]
    assert main([*args, "--lowpass", "20", "--out", str(out)]) == 0
    truth = json.loads((tmp_path / "ff.truth.json").read_text())
    assert truth["runner"] == "forefoot" and truth["lowpass_hz"] == 20.0
    assert {s["foot_strike"] for s in truth["strides"]} == {"forefoot"}
    assert (
        truth["summary"]["foot_strike_counts"]["forefoot"] == truth["summary"]["n_running_strides"]
    )
    capsys.readouterr()
    assert main([*args[:-1], "sprinter", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown runner 'sprinter'" in err
