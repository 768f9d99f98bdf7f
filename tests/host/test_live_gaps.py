"""A lossy link: the live path (replay) gives the strides and alerts that `analyze` gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from strideguard.alerts import AlertConfig, AlertPolicy
from strideguard.alerts.config import config_from_dict
from strideguard.alerts.offline import alerts_for_strides
from strideguard.analysis import analyze
from strideguard.gaps import EVENT_MARGIN_S, times_in_gaps
from strideguard.live.run import replay
from strideguard.live.streaming import StreamingAnalyzer, as_arrays
from strideguard.live.updates import CalibrationUpdate, LiveEvent
from strideguard.load import load_recording
from strideguard_devkit.sim import simulate
from strideguard_devkit.sim.transport import (
    LinkFaults,
    burst_rate_for,
    make_frames,
    write_frames_file,
)


def short_warmup() -> AlertConfig:
    """Baseline after 20 s, learned over 60 s (the default needs 3 minutes)."""
    return config_from_dict({"baseline": {"skip_s": 20, "duration_s": 60}})


@pytest.fixture(scope="module")
def lossy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, object]:
    # a guarded gait from 180 s, through a link losing 2 % of frames at random, 1 % in
    # Gilbert-Elliott bursts (5 frames on average) and one frame while standing still
    run = simulate("guarded_onset", duration_s=360, rate_hz=200, seed=31, leg="R")
    faults = LinkFaults(
        loss_rate=0.02,
        burst_rate=burst_rate_for(0.01, 5.0),
        burst_mean_frames=5.0,
        disconnects=((1.5, 0.05),),
    )
    stream = make_frames(run, mtu=247, faults=faults, seed=31)
    path = tmp_path_factory.mktemp("lossy") / "run.sgrec"
    write_frames_file(path, [stream], sensors=["StrideGuard-R"], meta={})
    return path, run, stream


def test_replay_equals_analyze_on_a_lossy_recording(lossy: tuple) -> None:
    path, _run, stream = lossy
    events: list[LiveEvent] = []
    live = replay(path, events.append, config=short_warmup())
    live.finish()
    pipe = live.pipelines[0]
    rec, _ = load_recording(path)
    off = analyze(rec, leg="R")
    policy = alerts_for_strides(
        off.strides.rows(),
        pain_marks_s=rec.pain_marks_s,
        gaps=rec.gaps,
        config=short_warmup(),
        leg="R",
        angle_calibrated=bool(off.alignment and off.alignment.calibrated),
        end_time_s=float(rec.time_s[-1]),
    )
    # the link really lost samples, counted exactly, also while standing still
    lost = stream.truth.lost_samples
    assert len(lost) > 40 and lost[0][0] < 1.6 * 200
    assert pipe.samples_lost == sum(n for _, n in lost) == sum(n for _, n in pipe.assembler.gaps)
    # calibration was not skipped, live or offline
    cal = [e.state for e in events if isinstance(e, CalibrationUpdate)]
    # (the countdown's "stand_still … ready" updates come between: issue 18)
    assert cal[0] == "stand_still" and [c for c in cal if c in ("done", "skipped")] == ["done"]
    assert off.alignment is not None and off.alignment.calibrated
    # the same strides (the live path may still hold the very last one)
    ic_live = as_arrays(pipe.strides, "initial_contact_s")
    ic_off = off.strides["initial_contact_s"]
    assert len(ic_off) - len(ic_live) in (0, 1)
    np.testing.assert_allclose(ic_live, ic_off[: len(ic_live)], atol=1.5 / rec.sampling_rate_hz)
    flags = as_arrays(pipe.strides, "gap_in_stride")
    np.testing.assert_array_equal(flags, off.strides["gap_in_stride"][: len(ic_live)])
    assert flags.sum() > 20
    # the same alerts, the stop among them
    live_alerts = sorted((a.kind.value, a.state.value, a.time_s) for a in pipe.alerts)
    off_alerts = sorted((a.kind.value, a.state.value, a.time_s) for a in policy.alerts_)
    assert [a[:2] for a in live_alerts] == [a[:2] for a in off_alerts]
    np.testing.assert_allclose([a[2] for a in live_alerts], [a[2] for a in off_alerts], atol=0.01)
    assert ("gait_changed", "raised") in {a[:2] for a in live_alerts}


@pytest.mark.slow
def test_replay_equals_analyze_stride_for_stride_across_seeds(tmp_path: Path) -> None:
    """Wherever the lost frames fall: the same strides live and offline, 12 runs at 5 % loss.

    A contact hidden in a gap is estimated from the contacts either side, so a stride
    closing on it is final only once the contact after it is; a window ending just past
    that contact once kept a stride the file drops (seed 10 here, and the issue's
    600-s run: 786 strides live, 785 offline).
    """
    hidden_closing = 0
    for seed in range(1, 13):
        run = simulate("steady", duration_s=60, rate_hz=200, seed=seed, leg="R")
        stream = make_frames(run, mtu=247, faults=LinkFaults(loss_rate=0.05), seed=seed)
        path = tmp_path / f"s{seed}.sgrec"
        write_frames_file(path, [stream], sensors=["StrideGuard-R"], meta={})
        live = replay(path, lambda _e: None)
        live.finish()
        ic_live = as_arrays(live.pipelines[0].strides, "initial_contact_s")
        rec, _ = load_recording(path)
        off = analyze(rec, leg="R").strides
        ic_off, nxt_off = off["initial_contact_s"], off["next_initial_contact_s"]
        # the live path cannot finish the strides whose contacts still lack their look-ahead
        # when the recording ends (a stride closing on a hidden contact: the one after it)
        settled = nxt_off < float(rec.time_s[-1]) - 1.8
        assert settled.sum() >= len(ic_off) - 3
        assert len(ic_live) <= len(ic_off), f"seed {seed}: live has more strides than the file"
        n = int(settled.sum())
        assert len(ic_live) >= n, f"seed {seed}: live lost a stride"
        np.testing.assert_allclose(
            ic_live[:n], ic_off[:n], atol=1e-3, err_msg=f"seed {seed}: live and offline differ"
        )
        # and no stride live that the file does not have, up to the last one
        near = np.abs(ic_live[:, None] - ic_off[None, :]).min(axis=1)
        assert near.max() < 1e-3, f"seed {seed}: live has strides offline drops"
        gaps = [(a, b) for a, b in rec.gaps]
        hidden_closing += int(times_in_gaps(nxt_off, gaps, EVENT_MARGIN_S).sum())
    # the runs really had strides closing on a contact hidden in a gap
    assert hidden_closing >= 10


def test_streaming_analyzer_bridges_gaps_from_the_sample_index() -> None:
    run = simulate("steady", duration_s=60, rate_hz=200, seed=32, leg="L")
    rec = run.recording
    assert rec.acc_mps2 is not None and rec.gyr_dps is not None
    idx = np.arange(rec.n_samples)
    keep = np.ones(rec.n_samples, dtype=bool)
    for a in range(300, rec.n_samples, 450):  # one lost 19-sample frame every 2.25 s
        keep[a : a + 19] = False
    whole = StreamingAnalyzer("S", "L")
    holed = StreamingAnalyzer("S", "L")
    got_whole: list[dict[str, float | None]] = []
    got_holed: list[dict[str, float | None]] = []
    for a in range(0, rec.n_samples, 38):
        s = slice(a, a + 38)
        got_whole += whole.push(rec.time_s[s], rec.acc_mps2[s], rec.gyr_dps[s], idx[s])
        k = keep[s]
        if k.any():
            got_holed += holed.push(
                rec.time_s[s][k], rec.acc_mps2[s][k], rec.gyr_dps[s][k], idx[s][k]
            )
    assert holed.angle_calibrated
    ic_w = as_arrays(got_whole, "initial_contact_s")
    ic_h = as_arrays(got_holed, "initial_contact_s")
    # one gap per 3 strides, yet (nearly) every stride is kept
    assert len(ic_h) >= len(ic_w) - 2
    near = np.abs(ic_h[:, None] - ic_w[None, :]).min(axis=1)
    flagged = as_arrays(got_holed, "gap_in_stride") > 0
    assert near[~flagged].max() < 1e-9 and near[flagged].max() < 0.02
    assert 0.2 * len(ic_h) < flagged.sum() < 0.8 * len(ic_h)


def test_a_long_gap_pauses_gait_change_from_the_stride_after_it_whenever_noticed() -> None:
    run = simulate("guarded_onset", duration_s=240, rate_hz=200, seed=33, leg="R")
    rows = analyze(run.recording, leg="R").strides.rows()
    k = 150
    start = float(rows[k]["initial_contact_s"]) + 0.1  # within stride k, after its contact
    end = start + 1.5  # longer than gait_change.gap_reset_s

    def feed(notice_before: int | None) -> AlertPolicy:
        policy = AlertPolicy(short_warmup(), leg="R", angle_calibrated=True)
        for i, row in enumerate(rows):
            if i == notice_before:
                policy.notice_gap(start, end)
            policy.update(row)
        return policy

    live_order = feed(k)  # live: the gap is noticed while stride k is still held back
    file_order = feed(k + 1)  # a file: events in time order
    without = feed(None)
    assert live_order.scores_ == file_order.scores_
    assert [a.to_dict() for a in live_order.alerts_] == [a.to_dict() for a in file_order.alerts_]
    # the pause starts with the stride after the gap's start: stride k still gives evidence
    idx = [s[0] for s in live_order.scores_]
    assert k in idx and not any(
        k < i <= k + short_warmup().gait_change.resume_skip_strides for i in idx
    )
    assert [s[0] for s in without.scores_] != idx
