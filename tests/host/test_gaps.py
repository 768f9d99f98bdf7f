"""Missing samples: the bridge, and the analysis around gaps (simulated and real recordings)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.interpolate import PchipInterpolator

from strideguard.align import ShankAligner, shank_signals
from strideguard.analysis import analyze
from strideguard.events import StrideDetector, detect_strides
from strideguard.gaps import (
    bridge_missing,
    fill_on_grid,
    gap_index,
    gaps_of,
    long_gaps,
    missing_mask,
    times_in_gaps,
    windows_touch_gaps,
)
from strideguard.imudata import ImuRecording
from strideguard.load import load_recording, make_uniform
from strideguard_devkit.sim import simulate

DATA = Path(__file__).resolve().parents[1] / "data"


# ---------------------------------------------------------------- the bridge


def test_bridge_is_the_pchip_of_the_received_samples() -> None:
    rng = np.random.default_rng(3)
    x = np.arange(600)
    y = np.column_stack([300 * np.sin(x / 17.0), 9.81 + rng.normal(0, 2, x.size)])
    present = rng.random(x.size) > 0.25
    present[:2] = present[-2:] = True  # (scipy's end slopes differ; interior gaps are what matter)
    out = bridge_missing(y, present)
    for j in range(2):
        ref = PchipInterpolator(x[present], y[present, j])(x)
        np.testing.assert_allclose(out[:, j], ref, atol=1e-9)
    np.testing.assert_array_equal(out[present], y[present])  # received values untouched


def test_bridge_never_overshoots_the_samples_around_it() -> None:
    # a hidden peak: the bridge stays below the samples at the gap's edges (nothing invented)
    t = np.arange(200) / 500.0
    y = 500.0 * np.exp(-(((t - 0.2) / 0.03) ** 2))
    present = np.ones(t.size, dtype=bool)
    present[90:110] = False
    out = bridge_missing(y, present)
    assert out[90:110].max() <= max(y[89], y[110]) + 1e-9
    assert out[90:110].min() >= min(y[89], y[110]) - 1e-9


def test_bridge_is_local_a_window_inside_a_gap_bridges_it_the_same() -> None:
    rng = np.random.default_rng(4)
    idx = np.sort(rng.choice(5000, 3000, replace=False))
    v = rng.normal(size=(idx.size, 3)).cumsum(axis=0)
    present, (full,) = fill_on_grid(idx, v)
    # start the grid inside a gap and far into the data: same values
    gap_start = int(np.flatnonzero(~present)[100]) + int(idx[0])
    part_present, (part,) = fill_on_grid(idx, v, first=gap_start)
    off = gap_start - int(idx[0])
    np.testing.assert_array_equal(part_present, present[off:])
    np.testing.assert_allclose(part, full[off:], atol=1e-12)


def test_gap_lists_masks_and_windows() -> None:
    t = np.arange(20) * 0.1
    present = ~np.isin(np.arange(20), [3, 4, 10])
    gaps = gaps_of(t, present)
    assert gaps == [pytest.approx((0.2, 0.5)), pytest.approx((0.9, 1.1))]
    assert np.flatnonzero(missing_mask(t, gaps)).tolist() == [3, 4, 10]
    # the samples at a gap's bounds are received; the missing ones lie strictly between
    assert times_in_gaps(np.array([0.2, 0.25, 0.5, 0.95, np.nan]), gaps).tolist() == [
        False,
        True,
        False,
        True,
        False,
    ]
    assert times_in_gaps(np.array([0.19, 0.52]), gaps, margin_s=0.03).tolist() == [True, True]
    assert gap_index(np.array([0.3, 1.0, 1.5]), gaps).tolist() == [0, 1, -1]
    assert windows_touch_gaps(
        np.array([0.0, 0.5, 1.1]), np.array([0.21, 0.9, 2.0]), gaps
    ).tolist() == [
        True,
        False,
        False,
    ]


# ---------------------------------------------------------------- events around gaps (simulator)


def _cut(rec: ImuRecording, *spans: tuple[int, int]) -> ImuRecording:
    """The recording with samples [a, b) removed, loaded back as a file would be."""
    keep = np.ones(rec.n_samples, dtype=bool)
    for a, b in spans:
        keep[a:b] = False
    assert rec.acc_mps2 is not None and rec.gyr_dps is not None
    out = make_uniform(rec.time_s[keep], rec.acc_mps2[keep], rec.gyr_dps[keep], source="cut")
    out.acc_range_g, out.gyr_range_dps = rec.acc_range_g, rec.gyr_range_dps
    return out


@pytest.fixture(scope="module")
def sim_run() -> tuple[ImuRecording, object]:
    run = simulate("steady", duration_s=60, rate_hz=500, seed=21, leg="R")
    full = analyze(run.recording)
    return run.recording, full


def _nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a[:, None] - b[None, :]).min(axis=1)


def test_a_gap_in_stance_keeps_the_stride_and_flags_it(sim_run: tuple) -> None:
    rec, full = sim_run
    fs = rec.sampling_rate_hz
    t = full.strides
    k = 30
    # one lost 19-sample frame in mid-stance of stride k: between IC + 60 ms and TO - 60 ms
    a = round((t["initial_contact_s"][k] + 0.08) * fs)
    res = analyze(_cut(rec, (a, a + 19)), alignment=full.alignment)
    r = res.strides
    assert len(r) == len(t)
    np.testing.assert_allclose(r["initial_contact_s"], t["initial_contact_s"], atol=1e-9)
    np.testing.assert_allclose(r["toe_off_s"], t["toe_off_s"], atol=1e-9)
    flagged = np.flatnonzero(r["gap_in_stride"] > 0)
    assert flagged.tolist() == [k]
    # measured metrics are the lossless ones; those read across the gap are null, not guessed
    assert r["cadence_spm"][k] == pytest.approx(t["cadence_spm"][k], rel=1e-9)
    assert r["peak_midswing_gyr_dps"][k] == t["peak_midswing_gyr_dps"][k]
    assert np.isnan(r["shank_angle_at_ic_deg"][k]) and np.isnan(r["gravity_x"][k])
    others = np.setdiff1d(np.arange(len(t)), flagged)
    np.testing.assert_allclose(
        r["shank_angle_at_ic_deg"][others], t["shank_angle_at_ic_deg"][others], atol=0.01
    )
    rows = res.to_dict()["strides"]
    assert rows[k]["gap_in_stride"] is True and rows[0]["gap_in_stride"] is False


def test_a_contact_hidden_in_a_gap_is_estimated_and_its_strides_kept(sim_run: tuple) -> None:
    rec, full = sim_run
    fs = rec.sampling_rate_hz
    t = full.strides
    k = 40
    ic = t["initial_contact_s"][k]
    a = round(ic * fs) - 8  # a frame of 19 samples around the contact
    holed = _cut(rec, (a, a + 19))
    sd = detect_strides(holed, *shank_signals(holed, full.alignment))
    assert sd.ic_s_.size == len(t)
    j = int(np.argmin(np.abs(sd.ic_s_ - ic)))
    assert sd.ic_estimated_[j] and sd.next_ic_estimated_[j - 1]
    assert sd.ic_estimated_.sum() == 1
    assert abs(sd.ic_s_[j] - ic) < 0.015  # neighbouring strides differ by ~1 %
    res = analyze(holed, alignment=full.alignment)
    assert res.strides["gap_in_stride"][j] and res.strides["gap_in_stride"][j - 1]
    assert np.isnan(res.strides["peak_tibial_accel_g"][j])  # the impact lies in the gap


def test_a_contact_just_after_a_gap_is_estimated_when_its_midpoint_is_consistent() -> None:
    """The midpoint of its neighbours errs by a few ms: one a little past the gap's zone still
    estimates the contact (put at the zone's edge); one half a stride off does not."""
    det = StrideDetector()
    period = 0.002
    gap = (1.459, 1.499)  # one lost 19-sample frame; the zone reaches 10 ms past it: 1.509
    found_on_bridge = 1.5031  # the contact's impact right after the gap, found on bridged values

    def across(after_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ic = np.array([0.0, 0.745, found_on_bridge, after_s, after_s + 0.76])
        return det._contacts_across_gaps(ic, [gap], period)

    # stride times 0.758 and 0.752: midpoint 1.506, inside the zone, used as it is
    out, est, unk = across(2.255)
    assert est.tolist() == [False, False, True, False, False] and not unk.any()
    assert out[2] == pytest.approx(0.5 * (0.745 + 2.255))
    # stride times 0.76 and 0.78 (the run above: 0.738 and 0.755 s): midpoint 1.5125, 3.5 ms
    # past the zone, well within the midpoint's own error (SD ~5 ms): estimated at the edge
    out, est, unk = across(2.28)
    assert est[2] and not unk.any()
    assert out[2] == pytest.approx(gap[1] + det.gap_event_margin_s)
    # a missed contact after the gap puts the midpoint half a stride away: unknown
    out, est, unk = across(2.255 + 0.76)
    assert unk.tolist() == [False, False, True, False, False] and not est.any()
    assert out[2] == found_on_bridge


def test_a_contact_that_cannot_be_estimated_drops_its_strides(sim_run: tuple) -> None:
    rec, full = sim_run
    fs = rec.sampling_rate_hz
    t = full.strides
    k = 20
    # two consecutive contacts hidden: neither has two measured neighbours
    spans = [
        (round(t["initial_contact_s"][i] * fs) - 8, round(t["initial_contact_s"][i] * fs) + 11)
        for i in (k, k + 1)
    ]
    holed = _cut(rec, *spans)
    res = analyze(holed, alignment=full.alignment)
    ic = res.strides["initial_contact_s"]
    lost = [
        i for i in range(len(t)) if _nearest(np.array([t["initial_contact_s"][i]]), ic)[0] > 0.002
    ]
    assert lost == [k - 1, k, k + 1]  # the three strides that end or start at those contacts
    # no kept stride has an event in a gap
    g = holed.gaps
    assert not times_in_gaps(
        ic - holed.time_s[0], [(x - holed.time_s[0], y - holed.time_s[0]) for x, y in g], 0.01
    ).any()


def test_a_gap_over_100_ms_splits_the_recording(sim_run: tuple) -> None:
    rec, full = sim_run
    fs = rec.sampling_rate_hz
    t = full.strides
    k = 25
    a = round((t["initial_contact_s"][k] + 0.08) * fs)  # 120 ms in stance: no event hidden
    res = analyze(_cut(rec, (a, a + 60)), alignment=full.alignment)
    ic = res.strides["initial_contact_s"]
    assert _nearest(np.array([t["initial_contact_s"][k]]), ic)[0] > 0.01  # the stride is gone
    assert len(res.strides) == len(t) - 1


# ---------------------------------------------------------------- real recordings with frames cut out


@pytest.mark.parametrize("name", ["RBDS0041_T25_R_mpu", "RBDS0041_T25_L_mpu"])
def test_rbds_with_lost_frames_keeps_the_strides_around_them(name: str) -> None:
    rec, _ = load_recording(DATA / f"{name}.csv")
    standing, _ = load_recording(DATA / "standing" / f"{name}.standing.csv")
    truth = json.loads((DATA / f"{name}.truth.json").read_text())
    true_ic = np.array([s["initial_contact_s"] for s in truth["strides"]])
    full = analyze(rec, standing=standing)
    # 200 Hz: a 247-byte notification carries 19 samples = 95 ms. Lose 4 % of the frames.
    rng = np.random.default_rng(sum(map(ord, name)))
    n_frames = rec.n_samples // 19
    lost = np.flatnonzero(rng.random(n_frames) < 0.04)
    assert lost.size >= 4
    holed = _cut(rec, *[(19 * f, 19 * f + 19) for f in lost])
    own = analyze(holed, standing=standing)
    assert own.alignment is not None and full.alignment is not None and own.alignment.calibrated
    np.testing.assert_allclose(own.alignment.rotation, full.alignment.rotation, atol=5e-3)
    # the events, with the same alignment (only the gaps differ)
    res = analyze(holed, standing=standing, alignment=full.alignment)
    ic_full = full.strides["initial_contact_s"]
    ic = res.strides["initial_contact_s"]
    # every stride of the lossless analysis whose contacts are clear of the gaps is found,
    # with the same events
    g = [(a - holed.time_s[0], b - holed.time_s[0]) for a, b in holed.gaps]
    nxt_full = full.strides["next_initial_contact_s"]
    clear = ~times_in_gaps(ic_full, g, 0.01) & ~times_in_gaps(nxt_full, g, 0.01)
    clear &= ~windows_touch_gaps(ic_full, nxt_full, long_gaps(g, period_s=0.005))
    assert clear.sum() >= 0.6 * len(ic_full)
    assert _nearest(ic_full[clear], ic).max() < 1e-6
    # and the recording as a whole keeps almost every stride against the force plate
    within = (true_ic > ic[0] - 1) & (true_ic < ic[-1] + 1)
    found = _nearest(true_ic[within], ic) < 0.04
    assert found.mean() >= 0.9
    # what is kept is measured or flagged: unflagged strides equal the lossless ones
    k = np.abs(ic[:, None] - ic_full[None, :]).argmin(axis=1)
    plain = res.strides["gap_in_stride"] == 0
    np.testing.assert_allclose(
        res.strides["peak_midswing_gyr_dps"][plain], full.strides["peak_midswing_gyr_dps"][k][plain]
    )


# ---------------------------------------------------------------- calibration


def test_a_lost_frame_while_standing_still_calibrates() -> None:
    run = simulate("steady", duration_s=40, rate_hz=500, seed=22, leg="L")
    rec = run.recording
    fs = rec.sampling_rate_hz
    ref = ShankAligner().align(rec).alignment_
    assert ref.calibrated
    for span in ((round(1.2 * fs), round(1.2 * fs) + 19), (round(0.9 * fs), round(1.5 * fs))):
        holed = _cut(rec, span)
        al = ShankAligner().align(holed).alignment_
        assert al.calibrated, span
        assert np.degrees(np.arccos(np.clip(al.rotation[2] @ ref.rotation[2], -1, 1))) < 0.2
        np.testing.assert_allclose(al.gyro_bias_dps, ref.gyro_bias_dps, atol=0.2)


def test_an_outage_while_running_is_not_a_still_period() -> None:
    from strideguard.align import quiet_mask

    run = simulate("steady", duration_s=60, rate_hz=500, seed=23, leg="R")
    rec = run.recording
    fs = rec.sampling_rate_hz
    holed = _cut(rec, (round(30 * fs), round(38 * fs)))  # 8 s gone mid-run
    lost = missing_mask(holed.time_s, holed.gaps)
    quiet = quiet_mask(holed.acc_mps2, holed.gyr_dps, fs, missing=lost)
    assert not quiet[lost].any()
    ref = ShankAligner().align(rec).alignment_
    al = ShankAligner().align(holed).alignment_
    assert al.calibrated
    np.testing.assert_allclose(al.gyro_bias_dps, ref.gyro_bias_dps, atol=0.2)


def test_a_standing_file_with_missing_rows_still_calibrates() -> None:
    st, _ = load_recording(DATA / "standing" / "RBDS0041_T25_R_mpu.standing.csv")
    assert st.acc_mps2 is not None and st.gyr_dps is not None
    acc, gyr = st.acc_mps2.copy(), st.gyr_dps.copy()
    acc[300:319] = np.nan
    gyr[300:319] = np.nan
    holed = make_uniform(st.time_s, acc, gyr, source="standing")
    rec, _ = load_recording(DATA / "RBDS0041_T25_R_mpu.csv")
    a = ShankAligner().align(rec, standing=st).alignment_
    b = ShankAligner().align(rec, standing=holed).alignment_
    assert b.calibrated and b.calibration_source == "standing file"
    np.testing.assert_allclose(b.rotation, a.rotation, atol=2e-3)


def test_stride_detector_parameters_are_kept() -> None:
    d = StrideDetector(max_bridge_s=0.05, gap_event_margin_s=0.004)
    assert d.max_bridge_s == 0.05 and d.gap_event_margin_s == 0.004
