"""The assembler's frame-by-frame path (live: one notification at a time) equals its batch path.

:meth:`StreamAssembler.feed` decodes a few frames one by one with ``struct``
and large batches (a recording) vectorised with :func:`parse_buffer`. Both must
accept, reject (for the same reason) and place exactly the same frames, on
clean, lossy and damaged streams.
"""

from __future__ import annotations

import numpy as np
import pytest

from strideguard import protocol as proto
from strideguard.assembler import SMALL_BATCH, StreamAssembler
from strideguard_devkit.sim import simulate
from strideguard_devkit.sim.transport import LinkFaults, make_frames


def _damage(payloads: list[bytes], seed: int) -> list[bytes]:
    """Every kind of bad frame the validation knows, mixed into the stream."""
    rng = np.random.default_rng(seed)
    out: list[bytes] = []
    for p in payloads:
        r = rng.random()
        b = bytearray(p)
        if r < 0.02:
            b = b[: rng.integers(0, proto.FRAME_HEADER_SIZE)]  # truncated
        elif r < 0.04:
            b[0] = int(rng.integers(3, 256))  # unknown version
        elif r < 0.06:
            b[14] = 0 if rng.random() < 0.5 else 255  # sample count out of range
        elif r < 0.08:
            b = b[:-1]  # length does not match the count
        elif r < 0.10:
            b[12:14] = (333).to_bytes(2, "big")  # unsupported rate
        elif r < 0.12:
            b[0], b[15] = proto.FRAME_VERSION_1, 7  # version 1 with its reserved byte set
        elif r < 0.14:
            b[4:8] = int(rng.integers(0, 2**32)).to_bytes(4, "big")  # a wild index
        elif r < 0.16:
            b[8:12] = int(rng.integers(0, 2**32)).to_bytes(4, "big")  # a wild timestamp
        elif r < 0.18:
            out.append(bytes(b))  # a duplicate
        out.append(bytes(b))
    return out


def _feed(payloads: list[bytes], arrival: list[float], batch: int) -> tuple[StreamAssembler, list]:
    a = StreamAssembler(0)
    blocks = []
    for i in range(0, len(payloads), batch):
        block = a.feed(payloads[i : i + batch], arrival[i : i + batch])
        if block is not None:
            blocks.append(block)
    end = a.settle_all()
    if end is not None:
        blocks.append(end)
    return a, blocks


def _joined(blocks: list) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    idx = np.concatenate([b.sample_index for b in blocks])
    raw = np.concatenate([b.raw for b in blocks])
    frames = np.concatenate([b.frames for b in blocks])
    gaps = [g for b in blocks for g in b.gaps]
    return idx, raw, frames, gaps


@pytest.mark.parametrize(("seed", "damaged"), [(1, False), (2, True), (3, True)])
def test_one_at_a_time_equals_the_batch_path(seed: int, damaged: bool) -> None:
    run = simulate("steady", duration_s=30, rate_hz=500, seed=seed, leg="R")
    faults = (
        LinkFaults(
            loss_rate=0.02,
            burst_rate=0.002,
            duplicate_rate=0.01,
            reorder_rate=0.01,
            disconnects=((12.0, 1.5),),
        )
        if damaged
        else LinkFaults()
    )
    fs = make_frames(run, mtu=247, seed=seed, faults=faults)
    payloads = list(fs.payloads)
    if damaged:
        payloads = _damage(payloads, seed)
    arrival = [float(k) * 0.04 for k in range(len(payloads))]
    small, small_blocks = _feed(payloads, arrival, 1)
    large, large_blocks = _feed(payloads, arrival, 4 * SMALL_BATCH)
    assert SMALL_BATCH < 4 * SMALL_BATCH  # the second run takes the vectorised path
    assert dict(small.rejected) == dict(large.rejected)
    if damaged:
        assert sum(small.rejected.values()) > 20  # the damage was seen
    i1, r1, f1, g1 = _joined(small_blocks)
    i2, r2, f2, g2 = _joined(large_blocks)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_array_equal(r1, r2)
    assert f1.tobytes() == f2.tobytes()
    assert g1 == g2
    assert (small.samples, small.duplicates, small.late) == (
        large.samples,
        large.duplicates,
        large.late,
    )
