"""Simulated BLE frame streams with link faults, decoded by strideguard.frames."""

from __future__ import annotations

import numpy as np
import pytest

from strideguard import protocol as proto
from strideguard.frames import decode_frames, fit_timebase, to_recording
from strideguard_devkit.sim import SimRun, simulate
from strideguard_devkit.sim.sensor import ACC_SCALE_MPS2, GYR_SCALE_DPS, quantise, random_mounting
from strideguard_devkit.sim.transport import LinkFaults, make_frames


@pytest.fixture(scope="module")
def run() -> SimRun:
    return simulate("intervals", duration_s=300, rate_hz=500, seed=7, clock_error=0.013)


def test_perfect_link_round_trips_bit_exactly(run: SimRun) -> None:
    fs = make_frames(run, mtu=247)
    assert fs.samples_per_frame == proto.samples_per_frame(247) == 19
    dec = decode_frames(fs.payloads, fs.arrival_s)
    assert np.array_equal(dec.raw, run.raw)
    assert dec.report.samples_lost == 0 and dec.report.gaps == []
    rec = to_recording(dec)
    np.testing.assert_array_equal(rec.acc_mps2, run.recording.acc_mps2)
    np.testing.assert_array_equal(rec.gyr_dps, run.recording.gyr_dps)
    # the board clock reveals the sensor's rate error
    tb = fit_timebase(dec)
    assert tb.rate_error_pct == pytest.approx(1.3, abs=0.01)
    assert np.all(np.diff(fs.arrival_s) >= 0)
    assert fs.arrival_s[0] > run.recording.time_s[18]  # after its last sample


@pytest.mark.parametrize("mtu, per", [(185, 13), (247, 19)])
def test_mtu_sets_samples_per_frame(run: SimRun, mtu: int, per: int) -> None:
    fs = make_frames(run, mtu=mtu)
    assert fs.samples_per_frame == per
    assert all(len(p) <= mtu - 3 for p in fs.payloads)
    assert len(fs.frames) == -(-run.raw.shape[0] // per)


def test_mtu_23_refuses_to_stream(run: SimRun) -> None:
    fs = make_frames(run, mtu=23)
    assert fs.frames == [] and fs.samples_per_frame == 0
    assert fs.refused is not None and "31" in fs.refused


def test_random_and_burst_loss_match_request(run: SimRun) -> None:
    fs = make_frames(run, mtu=185, faults=LinkFaults(loss_rate=0.05), seed=1)
    n = fs.truth.n_frames_built
    assert fs.truth.dropped_random.size / n == pytest.approx(0.05, abs=0.01)
    assert fs.truth.dropped_burst.size == 0
    fb = make_frames(
        run, mtu=185, faults=LinkFaults(burst_rate=0.002, burst_mean_frames=10), seed=2
    )
    lost = fb.truth.dropped_burst
    runs = np.split(lost, np.flatnonzero(np.diff(lost) != 1) + 1)
    lengths = np.array([r.size for r in runs])
    assert lengths.mean() > 5  # bursty, not isolated
    assert lost.size / fb.truth.n_frames_built == pytest.approx(0.02, rel=0.5)


def test_decoder_sees_exactly_the_simulated_faults(run: SimRun) -> None:
    faults = LinkFaults(
        loss_rate=0.01,
        burst_rate=0.001,
        duplicate_rate=0.01,
        reorder_rate=0.01,
        disconnects=((100.0, 3.0),),
    )
    fs = make_frames(
        run, mtu=247, faults=faults, seed=3, first_index=2**32 - 5000, t0_us=2**32 - 3_000_000
    )
    tr = fs.truth
    assert tr.dropped_disconnect.size == pytest.approx(3.0 * 500 * 1.013 / 19, abs=2)
    dec = decode_frames(fs.payloads, fs.arrival_s)
    rep = dec.report
    assert rep.rejected.get("duplicate", 0) == tr.duplicated.size > 0
    assert rep.out_of_order == tr.reordered.size > 0
    interior = [
        g
        for g in tr.lost_samples
        if g[0] > 2**32 - 5000 and g[0] + g[1] < 2**32 - 5000 + run.raw.shape[0]
    ]
    assert rep.gaps == interior
    assert rep.samples_lost == sum(n for _, n in interior)
    # delivered samples are bit-exact
    idx = dec.sample_index - (2**32 - 5000)
    assert np.array_equal(dec.raw, run.raw[idx])
    # the first frame after the outage says the stream restarted
    after = [p for _, p in fs.frames if proto.unpack_frame_header(p)[1] & proto.FLAG_STREAM_START]
    assert len(after) == 2


def test_saturated_samples_are_flagged(run: SimRun) -> None:
    fs = make_frames(run, mtu=247)
    sat_samples = np.any((run.raw == 32767) | (run.raw == -32768), axis=1)
    assert sat_samples.any()  # sprints clip at 16 g
    flagged = sum(1 for p in fs.payloads if proto.unpack_frame_header(p)[1] & proto.FLAG_SATURATED)
    frames_with_sat = np.unique(np.flatnonzero(sat_samples) // 19).size
    assert flagged == frames_with_sat


def test_bad_rate_and_faults_are_rejected(run: SimRun) -> None:
    odd = simulate("steady", duration_s=30, rate_hz=300, seed=1)
    with pytest.raises(ValueError):
        make_frames(odd)
    with pytest.raises(ValueError):
        LinkFaults(loss_rate=1.5)


# ------------------------------------------------------------------ sensor model
def test_quantisation_step_and_clipping() -> None:
    acc = np.array([[20 * 9.80665, -20 * 9.80665, 1.0], [0.0, 0.0, 9.80665]])
    gyr = np.array([[2500.0, -2500.0, 1.0], [0.0, 0.0, 0.03]])
    raw, a, g = quantise(acc, gyr)
    assert raw.dtype == np.int16
    assert raw[0, 0] == 32767 and raw[0, 1] == -32768
    assert raw[0, 3] == 32767 and raw[0, 4] == -32768
    assert a[0, 0] / 9.80665 == pytest.approx(16.0, abs=1e-3)
    assert g[0, 0] == pytest.approx(32767 / 16.4, abs=1e-6)
    assert raw[1, 2] == 2048  # 1 g
    assert raw[1, 5] == 0  # 0.03 °/s is below half an LSB (0.061 °/s)
    assert ACC_SCALE_MPS2 == pytest.approx(9.80665 / 2048)
    assert GYR_SCALE_DPS == pytest.approx(1 / 16.4)
    # every value the simulator outputs is an exact LSB multiple
    r = simulate("steady", duration_s=30, rate_hz=100, seed=2)
    np.testing.assert_allclose(r.recording.acc_mps2 / ACC_SCALE_MPS2, r.raw[:, :3], atol=1e-6)
    np.testing.assert_allclose(r.recording.gyr_dps / GYR_SCALE_DPS, r.raw[:, 3:], atol=1e-6)


def test_mounting_rotation_preserves_norms() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        m = random_mounting(rng)
        np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(m) == pytest.approx(1.0)
    from strideguard_devkit.sim import SensorErrors

    a = simulate(
        "steady",
        duration_s=40,
        rate_hz=200,
        seed=3,
        mounting="identity",
        errors=SensorErrors.ideal(),
    )
    b = simulate(
        "steady", duration_s=40, rate_hz=200, seed=3, mounting="random", errors=SensorErrors.ideal()
    )
    na = np.linalg.norm(a.recording.gyr_dps, axis=1)
    nb = np.linalg.norm(b.recording.gyr_dps, axis=1)
    np.testing.assert_allclose(na, nb, atol=0.2)  # quantisation only
    unclipped = np.abs(a.raw[:, :3]).max(axis=1) < 32000
    unclipped &= np.abs(b.raw[:, :3]).max(axis=1) < 32000
    np.testing.assert_allclose(
        np.linalg.norm(a.recording.acc_mps2[unclipped], axis=1),
        np.linalg.norm(b.recording.acc_mps2[unclipped], axis=1),
        atol=0.02,
    )
    np.testing.assert_allclose(
        b.recording.gyr_dps @ b.truth.mounting, a.recording.gyr_dps, atol=0.2
    )


def test_pain_mark_travels_in_the_frames() -> None:
    from dataclasses import replace

    from strideguard_devkit.sim import get_scenario
    from strideguard_devkit.sim.scenarios import custom_scenario

    plan = replace(get_scenario("steady").plan(60.0), pain_marks_s=[20.0])
    run = simulate(
        custom_scenario("steady_pain", "steady with a pain mark", plan),
        duration_s=60.0,
        rate_hz=200,
        seed=1,
    )
    np.testing.assert_allclose(run.recording.pain_marks_s, [20.0])
    rec = to_recording(decode_frames(make_frames(run, mtu=185).payloads))
    assert rec.pain_marks_s.size == 1
    assert abs(rec.pain_marks_s[0] - 20.0) < 13 / 200 + 0.01  # frame resolution


def test_fifo_bytes_are_big_endian_samples(run: SimRun) -> None:
    blob = run.fifo_bytes(10, 14)
    assert len(blob) == 4 * 12
    back = np.frombuffer(blob, dtype=">i2").reshape(4, 6)
    assert np.array_equal(back, run.raw[10:14])


def test_order_is_kept_unless_reordered_at_high_frame_rates() -> None:
    fast = simulate("steady", duration_s=60, rate_hz=1000, seed=5)
    fs = make_frames(
        fast, mtu=185, faults=LinkFaults(reorder_rate=0.02, duplicate_rate=0.02), seed=4
    )
    dec = decode_frames(fs.payloads, fs.arrival_s)
    assert dec.report.out_of_order == fs.truth.reordered.size > 0
    assert dec.report.rejected["duplicate"] == fs.truth.duplicated.size > 0
    assert np.all(np.diff(fs.arrival_s) >= 0)


def test_gilbert_elliott_bursts_lose_the_share_asked_for(run: SimRun) -> None:
    from strideguard_devkit.sim.transport import burst_rate_for

    faults = LinkFaults(burst_rate=burst_rate_for(0.02, 5.0), burst_mean_frames=5.0)
    lost = built = 0
    bursts: list[int] = []
    for seed in range(1, 5):  # ~130 bursts in all
        fs = make_frames(run, mtu=247, faults=faults, seed=seed)
        t = fs.truth
        assert t.dropped_random.size == 0
        lost += t.dropped_burst.size
        built += t.n_frames_built
        bursts += [n // fs.samples_per_frame for _, n in t.lost_samples]
    assert 0.015 < lost / built < 0.025
    assert 4.0 < np.mean(bursts) < 6.5  # ~5 frames (overlapping bursts merge)
    with pytest.raises(ValueError):
        burst_rate_for(1.0, 5.0)
