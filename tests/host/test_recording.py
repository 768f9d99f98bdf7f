"""Raw-frame recordings: round trip, torn tails, bad files."""

from __future__ import annotations

import contextlib
import errno
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from strideguard.errors import InputError
from strideguard.frames import encode_frames
from strideguard.recording import (
    KIND_EVENT,
    RecordingError,
    RecordingWriter,
    load_imu,
    read_recording,
)


def write_run(path: Path, n_frames: int = 50) -> np.ndarray:
    raw = np.random.default_rng(7).integers(-2000, 2000, size=(19 * n_frames, 6))
    frames = encode_frames(raw, rate_hz=500, mtu=247)
    with RecordingWriter(path, {"sensors": ["StrideGuard-L"]}) as rec:
        rec.append_event({"event": "connect", "mtu": 247}, arrival_s=0.0)
        for i, f in enumerate(frames):
            rec.append_frame(f, arrival_s=0.038 * i)
    return raw


def test_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "run.sgrec"
    raw = write_run(path)
    rec = read_recording(path)
    assert rec.header["sensors"] == ["StrideGuard-L"]
    assert rec.torn_tail_bytes == 0
    assert rec.streams() == [0]
    assert rec.events == [(0.0, 0, {"event": "connect", "mtu": 247})]
    assert int((rec.kind == KIND_EVENT).sum()) == 1
    imu = load_imu(path)
    assert imu.gyr_dps is not None and imu.acc_mps2 is not None
    np.testing.assert_allclose(imu.gyr_dps, raw[:, 3:] / 16.4)
    assert imu.sampling_rate_hz == pytest.approx(500)
    assert imu.source.endswith("StrideGuard-L")


def test_torn_tail_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "run.sgrec"
    raw = write_run(path)
    data = path.read_bytes()
    path.write_bytes(data[:-100])  # a crash in the middle of the last frame
    rec = read_recording(path)
    assert rec.torn_tail_bytes > 0
    imu = load_imu(path)
    assert imu.n_samples == len(raw) - 19
    np.testing.assert_allclose(imu.gyr_dps, raw[:-19, 3:] / 16.4)


def test_not_a_recording(tmp_path: Path) -> None:
    path = tmp_path / "x.sgrec"
    path.write_text("time_s,acc_x\n0,1\n")
    with pytest.raises(InputError, match="not a strideguard recording"):
        read_recording(path)
    with pytest.raises(InputError, match="cannot read"):
        read_recording(tmp_path / "missing.sgrec")


def test_no_overwrite_and_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "run.sgrec"
    write_run(path, 2)
    with pytest.raises(RecordingError, match="cannot create recording"):
        RecordingWriter(path)


def test_full_disk_is_a_recording_error(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("/dev/full not available")
    rec = RecordingWriter(tmp_path / "run.sgrec")
    rec._fh.close()
    rec._fh = open("/dev/full", "wb", buffering=0)  # every write fails with ENOSPC
    rec.append_frame(b"\x00" * 40, arrival_s=1.0)
    with pytest.raises(RecordingError, match="stopped: disk full"):
        rec.flush()
    assert rec.stopped == "disk full"
    # later records are dropped and counted, without raising: the caller keeps going
    rec.append_frame(b"\x00" * 40, arrival_s=2.0)
    assert rec.records_dropped == 2 and rec.records_written == 0
    rec.close()


class _DiskWithRoomFor:
    """A real file on a disk that fills up after ``room`` bytes (short write, then ENOSPC)."""

    def __init__(self, fh: Any, room: int) -> None:
        self._fh = fh
        self._room = room

    def write(self, data: Any) -> int:
        left = self._room - self._fh.tell()
        if left <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return int(self._fh.write(bytes(data[:left])))

    def fileno(self) -> int:
        return int(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


@pytest.mark.parametrize("room_after_header", [0, 1, 30, 9_000, 70_001, 150_003])
def test_a_disk_that_fills_mid_record_leaves_whole_checked_records(
    tmp_path: Path, room_after_header: int
) -> None:
    """Format 2 and the full-disk rule together: cut back to the last whole record, no damage."""
    path = tmp_path / "run.sgrec"
    raw = np.random.default_rng(3).integers(-2000, 2000, size=(19 * 800, 6))
    frames = encode_frames(raw, rate_hz=500, mtu=247)
    rec = RecordingWriter(path, {"sensors": ["StrideGuard-L"]}, flush_interval_s=1e9)
    header_end = rec._fh.tell()
    rec._fh = _DiskWithRoomFor(rec._fh, header_end + room_after_header)
    failures = 0
    for i, f in enumerate(frames):
        try:
            rec.append_frame(f, arrival_s=0.038 * i)
            if i % 97 == 0:
                rec.append_event({"event": "note", "i": i}, arrival_s=0.038 * i)
        except RecordingError:
            failures += 1
    with contextlib.suppress(RecordingError):
        rec.close()
    assert rec.stopped == "disk full" and failures == 1  # raised once, then only counted
    assert rec.records_written + rec.records_dropped == len(frames) + len(range(0, len(frames), 97))
    back = read_recording(path)
    assert back.format_version == 2 and back.warnings == []
    assert back.damaged_records == 0 and back.torn_tail_bytes == 0
    assert back.header["sensors"] == ["StrideGuard-L"]
    assert back.kind.size == rec.records_written
    assert path.stat().st_size <= header_end + room_after_header
    kept = back.frame_records(0)
    assert [back.payload(k) for k in kept] == [bytes(f) for f in frames[: kept.size]]
    if back.kind.size:
        assert rec.stopped_after_s == pytest.approx(float(back.arrival_s[-1]))
