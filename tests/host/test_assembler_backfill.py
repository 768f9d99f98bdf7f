"""The assembler with backfill: held holes, settled holes, resent frames; corrupt frames."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strideguard import protocol as proto
from strideguard.assembler import SampleBlock, StreamAssembler
from strideguard.backfill import MAX_OUTSTANDING, BackfillPlanner
from strideguard.frames import RejectReason, decode_frames, encode_frames

PER = proto.samples_per_frame(247)  # 19


def make_raw(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(-3000, 3000, size=(n, 6)).astype(np.int16)


def resent(frames: list[bytes], k: int) -> bytes:
    """Frame ``k`` as the board resends it (FLAG2_BACKFILL, stream-start cleared)."""
    f = bytearray(frames[k])
    f[1] &= ~proto.FLAG_STREAM_START & 0xFF
    f[proto.FRAME_FLAGS2_OFFSET] |= proto.FLAG2_BACKFILL
    return bytes(f)


def collect(blocks: list[SampleBlock | None]) -> tuple[np.ndarray, np.ndarray, list]:
    got = [b for b in blocks if b is not None]
    if not got:
        return np.zeros(0, np.int64), np.zeros((0, 6), np.int16), []
    idx = np.concatenate([b.sample_index for b in got])
    raw = np.concatenate([b.raw for b in got])
    return idx, raw, [g for b in got for g in b.gaps]


def held_assembler() -> StreamAssembler:
    asm = StreamAssembler()
    assert asm.apply_event({"event": "backfill_on"}) is None
    assert asm.hold
    return asm


def test_a_lost_frame_holds_what_follows_until_it_is_resent() -> None:
    raw = make_raw(PER * 10)
    frames = encode_frames(raw, rate_hz=500)
    asm = held_assembler()
    out = [asm.feed(frames[:3]), asm.feed(frames[4:7])]  # frame 3 lost
    idx, _, gaps = collect(out)
    assert idx.max() == 3 * PER - 1 and gaps == []  # frames 4..6 wait
    assert asm.pending_holes() == [(3 * PER, PER)]
    out.append(asm.feed([resent(frames, 3)]))  # the resend fills the hole: all goes on
    out.append(asm.feed(frames[7:]))
    idx, got, gaps = collect(out)
    np.testing.assert_array_equal(idx, np.arange(PER * 10))
    np.testing.assert_array_equal(got, raw)
    assert gaps == [] and asm.samples_lost == 0 and asm.backfilled == PER
    assert asm.duplicates == 0 and asm.late == 0


def test_an_unavailable_range_becomes_a_gap_and_a_late_resend_is_counted() -> None:
    raw = make_raw(PER * 10)
    frames = encode_frames(raw, rate_hz=500)
    asm = held_assembler()
    out = [asm.feed(frames[:3] + frames[5:8])]  # frames 3 and 4 lost
    answer = {
        "event": "backfill_answer",
        "first_index": 3 * PER,
        "n": 2 * PER,
        "result": proto.RESULT_NOT_AVAILABLE,
        "available_first": 4 * PER,
        "available_n": PER,
    }
    out.append(asm.apply_event(answer))  # frame 3 is gone, frame 4 will come
    assert asm.pending_holes() == [(4 * PER, PER)]
    out.append(asm.feed([resent(frames, 4)]))
    idx, _, gaps = collect(out)
    assert gaps == [(3 * PER, PER)]
    np.testing.assert_array_equal(
        idx, np.concatenate([np.arange(3 * PER), np.arange(4 * PER, 8 * PER)])
    )
    assert asm.feed([resent(frames, 3)]) is None  # after all: too late, counted
    assert asm.late == PER and asm.duplicates == 0


def test_busy_settles_nothing_and_giving_up_releases() -> None:
    frames = encode_frames(make_raw(PER * 6), rate_hz=500)
    asm = held_assembler()
    asm.feed(frames[:2] + frames[3:6])
    busy = {
        "event": "backfill_answer",
        "first_index": 2 * PER,
        "n": PER,
        "result": proto.RESULT_BUSY,
    }
    assert asm.apply_event(busy) is None and asm.pending_holes() == [(2 * PER, PER)]
    block = asm.apply_event({"event": "backfill_gave_up", "first_index": 2 * PER, "n": PER})
    assert block is not None and block.gaps == [(2 * PER, PER)] and block.n_samples == 3 * PER


def test_an_older_board_without_backfill_reports_gaps_at_once() -> None:
    frames = encode_frames(make_raw(PER * 6), rate_hz=500, version=1)
    asm = StreamAssembler()
    idx, _, gaps = collect([asm.feed(frames[:2]), asm.feed(frames[3:])])
    assert gaps == [(2 * PER, PER)] and idx.size == 5 * PER
    assert asm.pending_holes() == []


def test_settle_all_hands_on_what_is_held() -> None:
    frames = encode_frames(make_raw(PER * 6), rate_hz=500)
    asm = held_assembler()
    out = [asm.feed(frames[:2] + frames[3:])]
    out.append(asm.settle_all())
    idx, _, gaps = collect(out)
    assert gaps == [(2 * PER, PER)] and idx.size == 5 * PER
    assert np.all(np.diff(idx) > 0)


@pytest.mark.parametrize("bit", [4, 6, 9, 14, 20, 27, 30, 31])
def test_a_flipped_index_bit_is_a_corrupt_frame_not_the_new_truth(bit: int) -> None:
    raw = make_raw(PER * 40)
    frames = encode_frames(raw, rate_hz=500, first_index=1000)
    bad = bytearray(frames[20])
    idx = int.from_bytes(bad[4:8], "big") ^ (1 << bit)
    bad[4:8] = idx.to_bytes(4, "big")
    frames[20] = bytes(bad)
    for hold in (False, True):
        asm = held_assembler() if hold else StreamAssembler()
        out = [asm.feed(frames[k : k + 3]) for k in range(0, 40, 3)]
        out.append(asm.settle_all())
        got, _, gaps = collect(out)
        assert asm.rejected == {RejectReason.CLOCK_MISMATCH.value: 1}
        assert gaps == [(1000 + 20 * PER, PER)]  # only the damaged frame is missing
        assert asm.duplicates == 0 and got.size == 39 * PER


@pytest.mark.parametrize("bit", [16, 22, 31])
def test_a_flipped_clock_bit_is_a_corrupt_frame(bit: int) -> None:
    frames = encode_frames(make_raw(PER * 12), rate_hz=500)
    bad = bytearray(frames[6])
    t = int.from_bytes(bad[8:12], "big") ^ (1 << bit)
    bad[8:12] = t.to_bytes(4, "big")
    frames[6] = bytes(bad)
    asm = StreamAssembler()
    _, _, gaps = collect([asm.feed(frames), asm.settle_all()])
    assert asm.rejected == {RejectReason.CLOCK_MISMATCH.value: 1} and gaps == [(6 * PER, PER)]


def test_a_corrupt_first_frame_does_not_anchor_the_stream() -> None:
    frames = encode_frames(make_raw(PER * 8), rate_hz=500, first_index=5000)
    bad = bytearray(frames[0])
    bad[4] ^= 0x40  # the index jumps by 2**30
    frames[0] = bytes(bad)
    asm = StreamAssembler()
    idx, _, gaps = collect([asm.feed([f]) for f in frames])
    np.testing.assert_array_equal(idx, np.arange(5000 + PER, 5000 + 8 * PER))
    assert gaps == [] and asm.rejected == {RejectReason.CLOCK_MISMATCH.value: 1}


def test_a_rate_change_and_a_reboot_are_steps_not_corruption() -> None:
    a = encode_frames(make_raw(PER * 5, 1), rate_hz=500, first_index=100, t0_us=10_000)
    # the rate changes: the index goes on, the clock goes on at the new period
    b = encode_frames(
        make_raw(PER * 5, 2), rate_hz=250, first_index=100 + 5 * PER, t0_us=10_000 + 5 * PER * 2000
    )
    # a reboot: index and clock start again (stream start flag on the first frame)
    flags = np.zeros(PER * 5, np.uint8)
    flags[0] = proto.FLAG_STREAM_START
    c = encode_frames(make_raw(PER * 5, 3), rate_hz=250, first_index=40, t0_us=77, flags=flags)
    asm = StreamAssembler()
    idx, _, gaps = collect([asm.feed([f]) for f in a + b + c])
    assert asm.rejected == {} and gaps == [] and asm.index_resets == 1
    np.testing.assert_array_equal(idx, np.arange(100, 100 + 15 * PER))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_batching_never_changes_what_is_released(data: st.DataObject) -> None:
    """Live batches and replay batches differ; the samples and gaps released must not."""
    raw = make_raw(PER * 30, 5)
    frames = encode_frames(raw, rate_hz=500)
    lost = data.draw(st.sets(st.integers(1, 28), max_size=6))
    arrivals: list[tuple[str, object]] = [("f", f) for k, f in enumerate(frames) if k not in lost]
    for k in sorted(lost):  # each lost frame is resent later, or given up
        where = data.draw(st.integers(k + 1, len(arrivals)))
        if data.draw(st.booleans()):
            arrivals.insert(where, ("f", resent(frames, k)))
        else:
            arrivals.insert(
                where, ("e", {"event": "backfill_gave_up", "first_index": k * PER, "n": PER})
            )

    def play(cuts: list[int]) -> tuple[np.ndarray, list]:
        asm = held_assembler()
        out: list[SampleBlock | None] = []
        batch: list[bytes] = []
        for i, (kind, item) in enumerate(arrivals):
            if kind == "e":
                out.append(asm.feed(batch))
                batch = []
                out.append(asm.apply_event(item))  # type: ignore[arg-type]
                continue
            batch.append(item)  # type: ignore[arg-type]
            if i in cuts:
                out.append(asm.feed(batch))
                batch = []
        out.append(asm.feed(batch))
        out.append(asm.settle_all())
        idx, _, gaps = collect(out)
        return idx, gaps

    one = play(list(range(len(arrivals))))
    other = play(data.draw(st.lists(st.integers(0, len(arrivals)), max_size=8)))
    np.testing.assert_array_equal(one[0], other[0])
    assert one[1] == other[1]
    assert np.all(np.diff(one[0]) > 0)  # in index order, each sample once


# ------------------------------------------------------------------ offline decoding


@pytest.mark.parametrize("bit", [5, 12, 24, 31])
def test_offline_decoding_rejects_a_flipped_index(bit: int) -> None:
    raw = make_raw(PER * 30)
    frames = encode_frames(raw, rate_hz=500, first_index=123)
    bad = bytearray(frames[11])
    bad[4:8] = (int.from_bytes(bad[4:8], "big") ^ (1 << bit)).to_bytes(4, "big")
    frames[11] = bytes(bad)
    d = decode_frames(frames)
    assert d.report.rejected == {RejectReason.CLOCK_MISMATCH.value: 1}
    assert d.report.gaps == [(123 + 11 * PER, PER)]
    assert d.sample_index[-1] - d.sample_index[0] == 30 * PER - 1  # no hours-long hole


def test_offline_decoding_keeps_steps_and_resends() -> None:
    a = encode_frames(make_raw(PER * 5, 1), rate_hz=500, first_index=100, t0_us=10_000)
    b = encode_frames(
        make_raw(PER * 5, 2), rate_hz=250, first_index=100 + 5 * PER, t0_us=10_000 + 5 * PER * 2000
    )
    frames = a + b
    order = frames[:3] + frames[4:] + [resent(frames, 3)]  # frame 3 resent at the end
    d = decode_frames(order)
    assert d.report.rejected == {} and d.report.gaps == [] and d.report.backfill_frames == 1
    np.testing.assert_array_equal(d.sample_index, np.arange(100, 100 + 10 * PER))


# ------------------------------------------------------------------ what the link asks for


def test_planner_asks_retries_and_gives_up() -> None:
    p = BackfillPlanner(retry_after_s=0.5, max_attempts=2)
    plan = p.plan([(100, 19)], now_s=0.0, rate_hz=500, connected=True)
    assert plan.request == [(100, 19)] and plan.give_up == []
    p.sent(100, 19, 0.0)
    p.answered(100, 19, proto.RESULT_SUCCESS, 0.05)
    assert p.plan([(100, 19)], 0.3, 500, True).request == []  # waiting for the frames
    again = p.plan([(105, 14)], 0.7, 500, True)  # part came, the rest did not: ask again
    assert again.request == [(105, 14)]
    p.sent(105, 14, 0.7)
    last = p.plan([(105, 14)], 2.0, 500, True)
    assert last.give_up == [(105, 14)] and last.request == []


def test_planner_waits_for_the_link_and_a_busy_board() -> None:
    p = BackfillPlanner(busy_retry_s=0.2)
    holes = [(k * 100, 10) for k in range(6)]
    assert p.plan(holes, 0.0, 500, connected=False).request == []
    plan = p.plan(holes, 0.1, 500, connected=True)
    assert len(plan.request) == MAX_OUTSTANDING  # the board queues four
    for a, n in plan.request:
        p.sent(a, n, 0.1)
    p.answered(0, 10, proto.RESULT_BUSY, 0.15)
    # the busy request waits busy_retry_s; its place in the queue goes to the next hole
    assert p.plan(holes, 0.2, 500, True).request == [(400, 10)]
    p.sent(400, 10, 0.2)
    assert p.plan(holes, 0.4, 500, True).request == []  # four in flight: wait
    holes = [h for h in holes if h != (100, 10)]  # that one was resent
    assert p.plan(holes, 0.45, 500, True).request == [(0, 10)]
    p.link_down(1.0)
    assert p.plan(holes, 5.0, 500, False).give_up == []
    assert p.plan(holes, 11.5, 500, False).give_up == [(a, n) for a, n in holes]
