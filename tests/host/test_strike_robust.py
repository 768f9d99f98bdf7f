"""Events, angles and foot strike for every simulated runner archetype and strike pattern.

Issue 15's targets, on every archetype of the simulator (rearfoot, midfoot, forefoot
and mixed strikers who differ in cadence, swing speed and contact time), each with a
random mounting and the default MPU6050 errors (noise, bias, scale, clock,
quantisation), at 200 and 500 Hz, scored against the simulator's truth:

* IC MAE ≤ 5 ms, TO MAE ≤ 15 ms, recall and precision ≥ 99 %;
* the absolute tibia angle at IC (standing calibration from the run's start) ≤ 2°;
* accelerometer-only IC: SD ≤ 5 ms, recall and precision ≥ 99 %.

The *marker-derived* variant (the shank's signals low-passed at 20 Hz like the shared
RBDS files, no impact left) is what the held-out forefoot runner was measured on; the
former detector (largest angular jerk after the late-swing zero crossing) came out
~24 ms late on that runner and does so on the simulated forefoot striker too, which
is checked here together with the new detector's result.

Each run is 60 s; seeds differ per archetype so the runners differ too. The numbers
achieved are in docs/analysis.md ("Every runner").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from strideguard.align import ShankAligner, shank_signals
from strideguard.analysis import analyze
from strideguard.events import FOOT_STRIKES, MidSwingDetector, StrideDetector
from strideguard.imudata import ImuRecording
from strideguard.live.streaming import StreamingAnalyzer, as_arrays
from strideguard.load import from_imu
from strideguard.sigproc import moving_mean, window_argext
from tests.host.analysis_helpers import match_events

sim = pytest.importorskip("strideguard_devkit.sim", reason="dev kit not installed")
from strideguard_devkit.sim.athlete import ARCHETYPES  # noqa: E402

RUNNERS = tuple(ARCHETYPES)
SEEDS = {name: 21 + i for i, name in enumerate(RUNNERS)}


def _score(run: Any, *, acc_only: bool = False) -> dict[str, Any]:
    tr = run.truth
    rec = from_imu(run.recording)
    if acc_only:
        rec = ImuRecording(rec.time_s, rec.acc_mps2, None, rec.sampling_rate_hz, source="acc")
    res = analyze(rec)
    # scored after the standing start and the first strides (the speed settles)
    win = (float(rec.time_s[0]) + 8.0, float(rec.time_s[-1]) - 1.0)
    ic_e, ic_r, ic_p = match_events(res.strides["initial_contact_s"], tr.initial_contact_s, win)
    out: dict[str, Any] = {"res": res, "ic_err": ic_e, "ic_recall": ic_r, "ic_precision": ic_p}
    if acc_only:
        return out
    to_e, to_r, to_p = match_events(res.strides["toe_off_s"], tr.toe_off_s, win)
    det = res.strides["initial_contact_s"]
    j = np.argmin(np.abs(det[:, None] - tr.initial_contact_s[None, :]), axis=1)
    close = (np.abs(det - tr.initial_contact_s[j]) < 0.05) & (det > win[0]) & (det < win[1])
    out.update(
        to_err=to_e,
        to_recall=to_r,
        to_precision=to_p,
        angle_err=res.strides["shank_angle_at_ic_deg"][close] - tr.shank_angle_at_ic_deg[j[close]],
        strike_true=np.array(tr.foot_strike)[j[close]],
        strike_code=res.strides["foot_strike"][close],
        confidence=res.strides["event_timing_confidence"][close],
    )
    return out


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, int], Any]:
    return {
        (name, rate): sim.simulate(
            "steady", duration_s=60, rate_hz=rate, seed=SEEDS[name], runner=name, leg="R"
        )
        for name in RUNNERS
        for rate in (200, 500)
    }


@pytest.mark.parametrize("rate", [200, 500])
@pytest.mark.parametrize("runner", RUNNERS)
def test_every_archetype_meets_the_event_and_angle_targets(
    runs: dict[tuple[str, int], Any], runner: str, rate: int
) -> None:
    s = _score(runs[(runner, rate)])
    assert s["res"].alignment.calibrated
    assert s["ic_recall"] >= 0.99 and s["ic_precision"] >= 0.99
    assert s["to_recall"] >= 0.99 and s["to_precision"] >= 0.99
    # achieved: IC 2.0–3.1 ms (the impact onset, 3 ms after contact), TO 0.6–7 ms
    assert 1e3 * np.mean(np.abs(s["ic_err"])) <= 5.0
    assert 1e3 * np.mean(np.abs(s["to_err"])) <= 15.0
    # absolute angle with the standing start; achieved 0.3–1.2°
    assert s["angle_err"].size >= 40 and np.isfinite(s["angle_err"]).all()
    assert np.mean(np.abs(s["angle_err"])) <= 2.0
    # a sharp impact agreeing with the swing pins nearly every contact
    assert np.median(s["confidence"]) > 0.99


@pytest.mark.parametrize("rate", [200, 500])
@pytest.mark.parametrize("runner", RUNNERS)
def test_every_archetype_accelerometer_only(
    runs: dict[tuple[str, int], Any], runner: str, rate: int
) -> None:
    s = _score(runs[(runner, rate)], acc_only=True)
    assert s["res"].events_source == "accelerometer"
    assert s["ic_recall"] >= 0.99 and s["ic_precision"] >= 0.99
    # achieved: SD 0.3–0.6 ms at 500 Hz, 1.1–1.4 ms at 200 Hz
    assert 1e3 * np.std(s["ic_err"]) <= 5.0
    assert all(r["foot_strike"] is None for r in s["res"].to_dict()["strides"])


def _strike_share(s: dict[str, Any], name: str) -> float:
    codes = s["strike_code"]
    return float(np.mean(codes == FOOT_STRIKES.index(name)))


def test_foot_strike_is_told_apart(runs: dict[tuple[str, int], Any]) -> None:
    for rate in (200, 500):
        heel = _score(runs[("recreational", rate)])
        heavy = _score(runs[("heel_overstrider", rate)])
        fore = _score(runs[("forefoot", rate)])
        mid = _score(runs[("midfoot_tempo", rate)])
        assert _strike_share(heel, "rearfoot") >= 0.9
        assert _strike_share(heavy, "rearfoot") >= 0.9
        assert _strike_share(fore, "forefoot") >= 0.9
        # a midfoot landing is the uncertain middle (docs/analysis.md): never read as forefoot
        assert _strike_share(mid, "forefoot") <= 0.05
        # the continuous index orders the three
        idx = [np.nanmedian(s["res"].strides["strike_index"]) for s in (heavy, heel, mid, fore)]
        assert idx[0] <= idx[2] < idx[3] and idx[1] <= idx[2] + 0.05


@pytest.mark.parametrize("runner", ["recreational", "forefoot", "midfoot_tempo"])
def test_marker_derived_data_and_the_former_detector(runner: str) -> None:
    """Low-passed at 20 Hz like the lab files: no impact, the swing anchor carries IC."""
    run = sim.simulate(
        "steady", duration_s=60, rate_hz=200, seed=SEEDS[runner], runner=runner, lowpass_hz=20.0
    )
    s = _score(run)
    assert s["res"].events_source == "gyroscope"  # nothing sharp enough to be an impact
    assert s["ic_recall"] >= 0.99 and s["ic_precision"] >= 0.99
    # the prior retraction (20 ms) against this runner's: achieved 0.9–4 ms
    assert 1e3 * np.mean(np.abs(s["ic_err"])) <= 6.0
    assert np.mean(np.abs(s["angle_err"])) <= 2.0
    # the swing anchor alone: confidence erf(10 ms / (5 ms·√2)) ≈ 0.95
    assert np.median(s["confidence"]) == pytest.approx(0.954, abs=0.01)
    # the former detector: the largest angular jerk within 50 ms after the zero crossing
    rec = from_imu(run.recording)
    al = ShankAligner().align(rec).alignment_
    g, _ = shank_signals(rec, al)
    assert g is not None
    fs = rec.sampling_rate_hz
    ms = MidSwingDetector().detect(g, sampling_rate_hz=fs)
    zc = [
        p + int(np.argmax(g[p : p + int(0.35 * fs)] < 0))
        for p in ms.peaks_
        if p + int(0.35 * fs) < g.size
    ]
    d1 = moving_mean(np.gradient(g) * fs, max(1, round(0.01 * fs)))
    d2 = np.gradient(d1) * fs
    k = window_argext(d2, np.array(zc), np.full(len(zc), round(0.05 * fs)), mode="max")
    old_ic = k / fs + float(rec.time_s[0])
    old_err, _, _ = match_events(old_ic, run.truth.initial_contact_s, (8.0, 59.0))
    if runner == "forefoot":
        # as on the held-out forefoot runner (+24 ms): the contact features come late
        assert 1e3 * np.mean(old_err) > 15.0
    assert 1e3 * np.mean(np.abs(s["ic_err"])) < 1e3 * np.mean(np.abs(old_err)) + 1.0


def test_mixed_strikes_keep_the_angle() -> None:
    """Strides that land differently in turn: the gravity window starts and ends in mid-stance."""
    run = sim.simulate("steady", duration_s=60, rate_hz=200, seed=3, runner="mixed_strike")
    s = _score(run)
    assert {"rearfoot", "midfoot"} <= set(s["strike_true"])
    assert np.mean(np.abs(s["angle_err"])) <= 2.0
    assert np.std(s["angle_err"]) <= 1.2  # windows anchored 50 ms after IC gave ±4°


def test_a_runner_who_changes_strike() -> None:
    run = sim.simulate("forefoot_to_heel", duration_s=150, rate_hz=200, seed=4)
    res = analyze(from_imu(run.recording))
    labels = np.array(run.truth.labels)
    det = res.strides["initial_contact_s"]
    j = np.argmin(np.abs(det[:, None] - run.truth.initial_contact_s[None, :]), axis=1)
    code = res.strides["foot_strike"]
    steady = (labels[j] == "steady") & (det > 30)
    heel = labels[j] == "rearfoot"
    assert np.mean(code[steady] == FOOT_STRIKES.index("forefoot")) >= 0.9
    # the change is plain; a heel strike at this runner's high cadence (175 steps/min) comes
    # back sooner than the lab heel striker's and reads partly as midfoot (achieved 69 % rearfoot)
    assert np.mean(code[heel] == FOOT_STRIKES.index("forefoot")) <= 0.05
    assert np.mean(code[heel] == FOOT_STRIKES.index("rearfoot")) >= 0.6
    summary = res.summary()["foot_strike"]
    assert summary["forefoot"] > 0 and summary["rearfoot"] > 0


def test_the_live_path_gives_the_offline_strides_for_a_forefoot_runner() -> None:
    run = sim.simulate("steady", duration_s=70, rate_hz=200, seed=9, runner="forefoot", leg="L")
    rec = run.recording
    assert rec.acc_mps2 is not None and rec.gyr_dps is not None
    analyzer = StreamingAnalyzer("S-L", "L")
    live: list[dict[str, float | None]] = []
    for a in range(0, rec.n_samples, 40):
        b = a + 40
        live.extend(analyzer.push(rec.time_s[a:b], rec.acc_mps2[a:b], rec.gyr_dps[a:b]))
    assert analyzer.alignment is not None and len(live) > 60
    off = analyze(rec, leg="L", alignment=analyzer.alignment)
    ic_off = off.strides["initial_contact_s"]
    ic_live = as_arrays(live, "initial_contact_s")
    near = np.abs(ic_live[:, None] - ic_off[None, :])
    assert near.min(axis=1).max() <= 1e-4
    rows = off.strides.rows()
    idx = near.argmin(axis=1)
    for key in ("toe_off_s", "shank_angle_at_ic_deg", "strike_index", "event_timing_confidence"):
        np.testing.assert_allclose(
            as_arrays(live, key), as_arrays([rows[i] for i in idx], key), atol=2e-3, err_msg=key
        )


def test_impact_onset_is_ignored_when_it_disagrees_with_the_swing() -> None:
    """An impact far from the swing anchor is another event: IC stays, its confidence drops."""
    run = sim.simulate("steady", duration_s=40, rate_hz=500, seed=2, runner="recreational")
    rec = from_imu(run.recording)
    al = ShankAligner().align(rec).alignment_
    g, acc_s = shank_signals(rec, al)
    assert g is not None and acc_s is not None and rec.acc_mps2 is not None
    fs = rec.sampling_rate_hz
    acc = rec.acc_mps2.copy()
    # move every impact 40 ms later (outside the ±25 ms agreement) by delaying the accelerometer
    shift = round(0.04 * fs)
    acc[shift:] = acc[:-shift]
    base = StrideDetector().detect(
        g, rec.acc_mps2, acc_long_up_mps2=-acc_s[:, 2], sampling_rate_hz=fs
    )
    moved = StrideDetector().detect(g, acc, acc_long_up_mps2=-acc_s[:, 2], sampling_rate_hz=fs)
    assert base.ic_from_impact_.mean() > 0.95
    assert moved.ic_from_impact_.mean() < 0.05
    assert np.median(moved.event_timing_confidence_) < np.median(base.event_timing_confidence_)
    assert np.median(moved.event_timing_confidence_) == pytest.approx(0.68, abs=0.05)
