"""Incremental frame decoding for the live path."""

from __future__ import annotations

import numpy as np
import pytest

from strideguard import protocol as proto
from strideguard.frames import decode_frames, encode_frames
from strideguard.live.stream import FrameStream


def frames_for(
    n_frames: int, *, first_index: int = 0, clock_scale: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, list[bytes]]:
    raw = np.random.default_rng(seed).integers(-4000, 4000, size=(19 * n_frames, 6))
    return raw, encode_frames(
        raw, rate_hz=500, mtu=247, first_index=first_index, clock_scale=clock_scale
    )


def collect(stream: FrameStream, batches: list[list[bytes]]) -> list:
    blocks = []
    for b in batches:
        blocks += stream.push(b)
    blocks += stream.flush()
    return blocks


def test_in_order_stream_matches_offline_decoder() -> None:
    _raw, frames = frames_for(40, first_index=2**32 - 300, clock_scale=1.012)
    s = FrameStream()
    blocks = collect(s, [frames[i : i + 3] for i in range(0, 40, 3)])
    got = np.concatenate([np.hstack([b.acc_mps2, b.gyr_dps]) for b in blocks])
    off = decode_frames(frames)
    np.testing.assert_allclose(got, np.hstack([off.acc_mps2, off.gyr_dps]))
    assert [b.first_index for b in blocks] == list(range(0, 40 * 19, 19))
    assert s.counters.samples_lost == 0 and s.counters.frames_used == 40
    assert s.rate_hz == pytest.approx(500 / 1.012, rel=1e-6)


def test_reordering_within_window_is_repaired_and_gaps_counted() -> None:
    _raw, frames = frames_for(30)
    arrivals = list(frames)
    arrivals[5], arrivals[6] = arrivals[6], arrivals[5]  # swapped
    del arrivals[20:22]  # two frames lost
    arrivals.insert(10, arrivals[3])  # a duplicate, late
    s = FrameStream(reorder_window_frames=2)
    blocks = collect(s, [[f] for f in arrivals])
    idx = [b.first_index for b in blocks]
    assert idx == sorted(idx)
    assert s.counters.samples_lost == 2 * 19 and s.counters.gaps == 1
    assert s.counters.frames_late == 1
    gap_blocks = [b for b in blocks if b.gap_before]
    assert len(gap_blocks) == 1 and gap_blocks[0].first_index == 22 * 19


def test_late_frame_beyond_window_is_dropped_not_reordered() -> None:
    _raw, frames = frames_for(12)
    arrivals = frames[:3] + frames[4:10] + [frames[3]] + frames[10:]
    s = FrameStream(reorder_window_frames=1)
    blocks = collect(s, [[f] for f in arrivals])
    assert s.counters.frames_late == 1
    assert s.counters.samples_lost == 19  # frame 3 counted as lost when it was not there in time
    assert all(np.diff([b.first_index for b in blocks]) > 0)


def test_garbage_is_counted_never_raises() -> None:
    _raw, frames = frames_for(5)
    s = FrameStream(reorder_window_frames=0)
    blocks = collect(s, [[b"", b"\x01" * 3, frames[0], bytes([9]) + frames[1][1:], frames[2]]])
    assert s.counters.frames_rejected == {"truncated": 2, "bad_version": 1}
    assert [b.first_index for b in blocks] == [0, 38]
    assert s.counters.samples_lost == 19


def test_pain_flag_reported() -> None:
    raw = np.zeros((19 * 3, 6), int)
    flags = np.zeros(len(raw), np.uint8)
    flags[25] = proto.FLAG_PAIN_MARK
    frames = encode_frames(raw, rate_hz=500, mtu=247, flags=flags)
    blocks = collect(FrameStream(reorder_window_frames=0), [frames])
    assert [b.pain_mark_indices for b in blocks] == [[], [19], []]
