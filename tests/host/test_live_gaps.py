"""A lossy link: the live path (replay) gives the strides and alerts that `analyze` gives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from strideguard.alerts import AlertConfig, AlertPolicy
from strideguard.alerts.config import config_from_dict
from strideguard.alerts.offline import alerts_for_strides
from strideguard.analysis import analyze
from strideguard.frames import decode_frames
from strideguard.gaps import EVENT_MARGIN_S, times_in_gaps
from strideguard.live.run import replay
from strideguard.live.streaming import StreamingAnalyzer, as_arrays
from strideguard.live.updates import CalibrationUpdate, LiveEvent, SessionUpdate, StrideUpdate
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
    # the same strides, the last one included (the end of the recording flushes it)
    ic_live = as_arrays(pipe.strides, "initial_contact_s")
    ic_off = off.strides["initial_contact_s"]
    assert len(ic_live) == len(ic_off)
    np.testing.assert_allclose(ic_live, ic_off, atol=1.5 / rec.sampling_rate_hz)
    flags = as_arrays(pipe.strides, "gap_in_stride")
    np.testing.assert_array_equal(flags, off.strides["gap_in_stride"])
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
        # every stride, up to the recording's last (the end of the stream flushes the ones
        # still waiting for a look-ahead, or for the contact after a hidden one)
        assert len(ic_live) == len(ic_off), (
            f"seed {seed}: {len(ic_live)} live, {len(ic_off)} offline"
        )
        np.testing.assert_allclose(
            ic_live, ic_off, atol=1e-3, err_msg=f"seed {seed}: live and offline differ"
        )
        np.testing.assert_allclose(
            as_arrays(live.pipelines[0].strides, "next_initial_contact_s"),
            nxt_off,
            atol=1e-3,
            err_msg=f"seed {seed}: closing contacts differ",
        )
        gaps = [(a, b) for a, b in rec.gaps]
        hidden_closing += int(times_in_gaps(nxt_off, gaps, EVENT_MARGIN_S).sum())
    # the runs really had strides closing on a contact hidden in a gap
    assert hidden_closing >= 10


@pytest.mark.parametrize("loss_rate", [0.0, 0.03], ids=["clean", "lossy-3pct"])
def test_the_end_of_a_recording_flushes_the_strides_still_held(
    tmp_path: Path, loss_rate: float
) -> None:
    """A recording ending 30-80 ms after a contact: offline has that stride (its contact
    needs 20 ms of data), the live path holds it for its 85-ms look-ahead until the stream
    ends, then reports it like any other (sinks, alert policy) before the run summary."""
    run = simulate("steady", duration_s=60, rate_hz=200, seed=41, leg="R")
    faults = LinkFaults(loss_rate=loss_rate) if loss_rate else None
    stream = make_frames(run, mtu=247, faults=faults, seed=41)
    whole = tmp_path / "whole.sgrec"
    write_frames_file(whole, [stream], sensors=["StrideGuard-R"], meta={})
    rec, _ = load_recording(whole)
    ic_whole = analyze(rec, leg="R").strides["initial_contact_s"]
    # where each frame's last sample lies; cut after the first frame that ends within 30-80 ms
    # after a contact past 40 s (a 19-sample frame is 95 ms: some contact has one)
    fr = decode_frames([p for _, p in stream.frames]).frames
    ends_s = rec.time_s[fr["first_index"] + fr["count"].astype(np.int64) - 1]
    after = ends_s[:, None] - ic_whole[None, ic_whole > 40.0]
    cut = int(np.flatnonzero(((after > 0.03) & (after < 0.08)).any(axis=1))[0])
    path = tmp_path / "cut.sgrec"
    short = dataclasses.replace(stream, frames=stream.frames[: cut + 1])
    write_frames_file(path, [short], sensors=["StrideGuard-R"], meta={})

    events: list[LiveEvent] = []
    live = replay(path, events.append)
    pipe = live.pipelines[0]
    held = len(pipe.strides)
    summary = live.finish()
    cut_rec, _ = load_recording(path)
    off = analyze(cut_rec, leg="R").strides
    ic_off = off["initial_contact_s"]
    # offline closes the last stride on that contact; live held it until the end
    assert float(cut_rec.time_s[-1]) - off["next_initial_contact_s"][-1] < 0.085
    assert held == len(ic_off) - 1
    # now the same strides, the last one included, with the same values
    assert summary["sensors"][0]["strides"] == len(pipe.strides) == len(ic_off)
    np.testing.assert_allclose(
        as_arrays(pipe.strides, "initial_contact_s"), ic_off, atol=1.5 / cut_rec.sampling_rate_hz
    )
    rows = off.rows()
    for key in ("next_initial_contact_s", "toe_off_s", "shank_angle_at_ic_deg", "cadence_spm"):
        np.testing.assert_allclose(
            as_arrays(pipe.strides[-3:], key),
            as_arrays(rows[-3:], key),
            rtol=1e-3,
            atol=2e-3,
            err_msg=key,
        )
    # it reached the sinks before the run's end ("Run finished: N strides" counts it)
    kinds = [type(e) for e in events]
    last_stride = len(kinds) - 1 - kinds[::-1].index(StrideUpdate)
    ended = [i for i, e in enumerate(events) if isinstance(e, SessionUpdate) and e.state == "ended"]
    assert ended and last_stride < ended[-1]
    assert events[ended[-1]].details["strides"] == len(ic_off)
    assert sum(k is StrideUpdate for k in kinds) == len(ic_off)


def test_a_recording_too_short_to_align_live_gives_the_offline_strides(tmp_path: Path) -> None:
    """Ended before the 15 s of moving the live alignment waits for: the end of the stream
    finds the shank frame from all of it, as `analyze` does, and releases the strides."""
    run = simulate("steady", duration_s=40, rate_hz=200, seed=7, leg="R")
    stream = make_frames(run, mtu=247, faults=LinkFaults(loss_rate=0.03), seed=7)
    short = dataclasses.replace(stream, frames=stream.frames[: int(14.0 * 200 / 19)])
    path = tmp_path / "short.sgrec"
    write_frames_file(path, [short], sensors=["StrideGuard-R"], meta={})
    events: list[LiveEvent] = []
    live = replay(path, events.append)
    assert live.pipelines[0].strides == []  # no shank frame yet: nothing released
    summary = live.finish()
    rec, _ = load_recording(path)
    off = analyze(rec, leg="R").strides
    strides = live.pipelines[0].strides
    assert summary["sensors"][0]["strides"] == len(strides) == len(off["initial_contact_s"]) >= 6
    for key in ("initial_contact_s", "toe_off_s", "shank_angle_at_ic_deg", "gap_in_stride"):
        np.testing.assert_allclose(
            as_arrays(strides, key), as_arrays(off.rows(), key), atol=1e-3, err_msg=key
        )
    cal = [e.state for e in events if isinstance(e, CalibrationUpdate)]
    assert cal[-1] == "done" and summary["sensors"][0]["angle_calibrated"]


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
