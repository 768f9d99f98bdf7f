"""Backfill end to end: lossy links cost nothing, long outages cost exactly what is gone.

Smaller than ``bench/bench_backfill.py`` (one minute instead of ten): the
simulated link (the firmware's ring code under CPython, the host's assembler and
planner) writes the recording a live run would; ``replay`` is the live path. And
once through the real firmware on the virtual board with notifications lost in
its bumble link: the live run's strides and alerts equal its recording's replay.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import numpy as np
import pytest

from strideguard import protocol as proto
from strideguard.analysis import analyze
from strideguard.ble.receiver import scan
from strideguard.live.run import LiveRun, replay, run_ble
from strideguard.live.streaming import as_arrays
from strideguard.live.updates import LiveEvent
from strideguard.load import load_recording
from strideguard.recording import read_recording
from strideguard_devkit.bumble_backend import VirtualAir
from strideguard_devkit.linkloss import NotificationLoss
from strideguard_devkit.linksim import LinkScenario, simulate_link
from strideguard_devkit.sim import SimRun, simulate
from strideguard_devkit.vboard import VirtualBoard

DURATION_S = 50.0


@pytest.fixture(scope="module")
def steady() -> SimRun:
    return simulate("steady", duration_s=DURATION_S, rate_hz=500, seed=6, leg="R")


@pytest.fixture(scope="module")
def lossless(steady: SimRun, tmp_path_factory: pytest.TempPathFactory) -> LiveRun:
    path = tmp_path_factory.mktemp("link") / "clean.sgrec"
    simulate_link(steady, LinkScenario(), path, seed=1)
    run = replay(path, lambda e: None)
    run.finish()
    return run


def played(run: SimRun, scenario: LinkScenario, path: Path) -> tuple[LiveRun, object]:
    result = simulate_link(run, scenario, path, seed=2)
    live = replay(path, lambda e: None)
    live.finish()
    return live, result


@pytest.mark.parametrize(
    "scenario",
    [
        LinkScenario(loss_rate=0.01),
        LinkScenario(loss_rate=0.02, burst_mean_frames=5),
        LinkScenario(disconnects=((20.0, 2.0), (35.0, 4.0))),
    ],
    ids=["random-1pct", "bursty-2pct", "disconnects-2s-4s"],
)
def test_backfill_makes_the_loss_invisible(
    steady: SimRun, lossless: LiveRun, scenario: LinkScenario, tmp_path: Path
) -> None:
    live, result = played(steady, scenario, tmp_path / "run.sgrec")
    p, clean = live.pipelines[0], lossless.pipelines[0]
    assert result.never_delivered == []  # type: ignore[attr-defined]
    assert p.samples_lost == 0 and p.samples == clean.samples
    assert p.assembler.backfilled > 0
    # the very strides of the lossless link, to the microsecond
    np.testing.assert_allclose(
        as_arrays(p.strides, "initial_contact_s"),
        as_arrays(clean.strides, "initial_contact_s"),
        atol=1e-6,
    )
    assert len(p.strides) >= 0.95 * steady.truth.n_strides


def test_a_long_outage_costs_exactly_what_the_ring_no_longer_had(
    steady: SimRun, tmp_path: Path
) -> None:
    live, result = played(steady, LinkScenario(disconnects=((20.0, 20.0),)), tmp_path / "r.sgrec")
    never = result.never_delivered  # type: ignore[attr-defined]
    p = live.pipelines[0]
    assert len(never) == 1
    ((first, n),) = never
    assert 20 * 500 - 19 <= first < 21 * 500  # lost from the outage's start (its frame) ...
    assert 0.5 * 20 * 500 < n < 20 * 500  # ... the ring gave back its last seconds
    assert p.assembler.gaps == never  # the gap, marked exactly
    assert p.samples_lost == n and p.assembler.backfilled >= 5 * 500
    rec = read_recording(tmp_path / "r.sgrec")
    answers = [e for _, _, e in rec.events if e["event"] == "backfill_answer"]
    assert answers[0]["result"] == proto.RESULT_NOT_AVAILABLE


def test_an_older_board_counts_the_loss_exactly(steady: SimRun, tmp_path: Path) -> None:
    scenario = LinkScenario(loss_rate=0.01, backfill=False)
    live, result = played(steady, scenario, tmp_path / "old.sgrec")
    p = live.pipelines[0]
    never = result.never_delivered  # type: ignore[attr-defined]
    assert never and p.assembler.gaps == never
    assert p.samples_lost == sum(n for _, n in never)
    assert p.assembler.backfilled == 0


@pytest.mark.slow
def test_real_firmware_lossy_link_live_equals_replay(tmp_path: Path) -> None:
    """The real firmware on the virtual board; 2 % of its notifications lost in bursts.

    At 4x real time: the ring's 6 s of board time are 1.5 s of wall time, still
    longer than the live host (analysis included) takes to ask.
    """
    from strideguard.alerts.config import config_from_dict
    from strideguard.recording import RecordingWriter

    logging.getLogger("bumble").setLevel(logging.ERROR)
    run = simulate("overstride_episode", duration_s=52, rate_hz=500, seed=5, leg="R")
    config = config_from_dict({"baseline": {"skip_s": 10, "duration_s": 30}})
    path = tmp_path / "lossy.sgrec"
    events: list[LiveEvent] = []

    async def main() -> tuple[LiveRun, int]:
        air = VirtualAir()
        loss = NotificationLoss(0.02, burst_mean_frames=5, seed=4)
        board = VirtualBoard(
            air, run, leg="R", speed=4, loop=False, paused=True, play_on_stream=True, loss=loss
        )
        async with board:
            found = [f for f in await scan(3.0, backend=air.backend) if f.name == "StrideGuard-R"]

            def done(r: LiveRun) -> bool:
                p = r.pipelines[0]
                return p.samples + p.samples_lost >= len(run.raw) - 10

            with RecordingWriter(path, {"sensors": ["StrideGuard-R"], "mode": "test"}) as rec:
                live = await run_ble(
                    found,
                    ["StrideGuard-R"],
                    events.append,
                    recording=rec,
                    backend=air.backend,
                    config=config,
                    until=done,
                    duration_s=60,
                    status_every_s=0.4,
                )
            return live, loss.lost

    live, lost_on_air = asyncio.run(main())
    summary = live.finish()
    p = live.pipelines[0]
    assert lost_on_air > 8
    assert p.samples_lost == 0 and p.assembler.backfilled > 0
    again = replay(path, lambda e: None, config=config)
    again.finish()
    q = again.pipelines[0]
    assert q.samples == p.samples and q.samples_lost == 0
    np.testing.assert_allclose(
        as_arrays(q.strides, "initial_contact_s"),
        as_arrays(p.strides, "initial_contact_s"),
        atol=1e-9,
    )
    assert [(a.kind, a.state, a.stride_index) for a in q.alerts] == [
        (a.kind, a.state, a.stride_index) for a in p.alerts
    ]
    assert len(p.strides) > 35
    # and `analyze` of the recording: the same strides, the run's last one included (the end
    # of the run flushes what waited for its look-ahead), all counted in the run summary
    rec, _ = load_recording(path)
    ic_off = analyze(rec, leg="R").strides["initial_contact_s"]
    assert summary["sensors"][0]["strides"] == len(ic_off)
    np.testing.assert_allclose(
        as_arrays(p.strides, "initial_contact_s"), ic_off, atol=1.5 / rec.sampling_rate_hz
    )
