"""StreamAssembler across a board reboot whose new segment arrives in several batches."""

from __future__ import annotations

import numpy as np

from strideguard import protocol as proto
from strideguard.assembler import StreamAssembler
from strideguard.frames import encode_frames
from tests.host.ble_helpers import synth_samples


def test_reboot_segment_keeps_its_offset_in_later_batches() -> None:
    raw = synth_samples(400, seed=7)
    per = proto.samples_per_frame(proto.PREFERRED_MTU)
    before = encode_frames(raw[:190], rate_hz=500, first_index=1000)
    # the rebooted board counts from 600: lower than where the old boot stopped (1190)
    flags = np.zeros(10, np.uint8)
    flags[0] = proto.FLAG_STREAM_START
    after = encode_frames(raw[190:380], rate_hz=500, first_index=600, flags=flags)
    asm = StreamAssembler()
    blocks = [asm.feed(before), asm.feed(after[:1]), asm.feed(after[1:4]), asm.feed(after[4:])]
    got = np.vstack([b.raw for b in blocks if b is not None])
    np.testing.assert_array_equal(got, raw[:380])
    index = np.concatenate([b.sample_index for b in blocks if b is not None])
    np.testing.assert_array_equal(index, np.arange(1000, 1380))
    assert asm.duplicates == 0 and asm.index_resets == 1 and asm.gaps == []
    assert len(after) == 190 // per
