"""Recordings survive damage: checksummed records, a duplicated header, old files still read.

The bit-flip campaign flips 1-3 bits anywhere in a two-sensor recording (magic,
header copies, sync markers, record headers and lengths, payloads, checksums)
and checks that each flip costs at most the record it hit: every record read
back is byte-identical to the one written, no sensor appears that was not
there, the damage is counted, and nothing raises.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from strideguard.frames import encode_frames
from strideguard.live.run import replay
from strideguard.load import load_recording
from strideguard.recording import (
    HEADER_BLOCK,
    KIND_EVENT,
    KIND_FRAME,
    MAGIC,
    MAGIC_V1,
    RECORD_CRC,
    RECORD_HEADER,
    RECORD_SYNC,
    RecordingWriter,
    decode_stream,
    read_recording,
)

PER = 19


def write_two_sensor_run(path: Path, n_frames: int = 40) -> dict[int, list[bytes]]:
    frames = {
        s: encode_frames(
            np.random.default_rng(s).integers(-3000, 3000, size=(PER * n_frames, 6)),
            rate_hz=500,
            first_index=1000 * s,
        )
        for s in (0, 1)
    }
    with RecordingWriter(path, {"sensors": ["StrideGuard-L", "StrideGuard-R"]}) as rec:
        rec.append_event({"event": "connect"}, arrival_s=0.0, stream=0)
        rec.append_status(bytes(37), arrival_s=0.01, stream=1)
        for k in range(n_frames):
            for s in (0, 1):
                rec.append_frame(frames[s][k], arrival_s=0.04 * k, stream=s)
        rec.append_event({"event": "disconnect", "reason": "closed"}, arrival_s=2.0, stream=1)
    return frames


def record_spans(data: bytes, start: int) -> list[tuple[int, int]]:
    """``(start, end)`` of every record of an intact format-2 file."""
    spans, pos = [], start
    while pos < len(data):
        length = RECORD_HEADER.unpack_from(data, pos)[3]
        end = pos + RECORD_HEADER.size + length + RECORD_CRC.size
        spans.append((pos, end))
        pos = end
    return spans


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[int, list[bytes]], list]:
    path = tmp_path_factory.mktemp("rec") / "run.sgrec"
    frames = write_two_sensor_run(path)
    data = path.read_bytes()
    rec = read_recording(path)
    assert rec.format_version == 2 and rec.damaged_records == 0 and rec.warnings == []
    first = int(rec.offset[0]) - RECORD_HEADER.size
    spans = record_spans(data, first)
    assert len(spans) == len(rec.kind) == 2 * 40 + 3
    return data, frames, spans


def test_format_2_layout(clean: tuple) -> None:
    data, _frames, spans = clean
    assert data.startswith(MAGIC)
    n, crc = HEADER_BLOCK.unpack_from(data, len(MAGIC))
    first = data[len(MAGIC) : len(MAGIC) + 8 + n]
    assert zlib.crc32(first[8:]) == crc and data[len(MAGIC) + 8 + n : spans[0][0]] == first
    for a, b in spans:
        assert data[a : a + 4] == RECORD_SYNC
        assert zlib.crc32(data[a + 4 : b - 4]) == RECORD_CRC.unpack_from(data, b - 4)[0]


def test_bit_flip_campaign(clean: tuple, tmp_path: Path) -> None:
    data, frames, spans = clean
    n_header = spans[0][0]
    originals = [data[a:b] for a, b in spans]
    bodies = {orig[4:] for orig in originals}  # checksummed part: kind .. CRC
    path = tmp_path / "flipped.sgrec"
    lost_total = 0
    for seed in range(300):
        rng = np.random.default_rng(seed)
        n_flips = int(rng.integers(1, 4))
        if seed % 3 == 0:  # a third of the runs aim at the header and record headers
            pos = rng.integers(0, n_header + 16 * 4, size=n_flips)
            pos = np.where(pos < n_header, pos, spans[int(rng.integers(len(spans)))][0] + pos % 16)
        else:
            pos = rng.integers(0, len(data), size=n_flips)
        bits = rng.integers(0, 8, size=n_flips)
        bad = bytearray(data)
        for p, b in zip(pos, bits, strict=True):
            bad[int(p)] ^= 1 << int(b)
        path.write_bytes(bytes(bad))
        rec = read_recording(path)  # never raises
        # no phantom sensor, names recovered unless both header copies were hit
        assert set(rec.streams()) <= {0, 1}, seed
        header_hits = [p for p in pos if p < n_header]
        if not header_hits:
            assert rec.header["sensors"] == ["StrideGuard-L", "StrideGuard-R"], seed
        # every record read is one that was written, byte for byte
        got = []
        for i in range(rec.kind.size):
            o = int(rec.offset[i])
            a = o - RECORD_HEADER.size
            end = o + int(rec.length[i]) + RECORD_CRC.size
            body = bytes(bad[a + 4 : end])
            assert body in bodies, seed
            got.append(body)
        lost = len(originals) - len(got)
        assert 0 <= lost <= n_flips, (seed, lost, n_flips)
        lost_total += lost
        hit = {k for k, (a, b) in enumerate(spans) for p in pos if a + 4 <= p < b}
        assert lost <= len(hit), seed  # a flipped sync marker alone costs nothing
        if hit:
            assert rec.damaged_records >= 1, seed  # the loss is reported
        # decoding what is left works and places samples correctly
        for s in rec.streams():
            dec = decode_stream(rec, s)
            lost_samples = 40 * PER - dec.n_samples
            assert dec.report.samples_lost <= lost_samples
            truth = np.concatenate(
                [np.frombuffer(f, ">i2", offset=16).reshape(-1, 6) for f in frames[s]]
            )
            np.testing.assert_array_equal(dec.raw, truth[dec.sample_index - 1000 * s])
    assert lost_total > 100  # the campaign really damaged records


def test_a_damaged_header_copy_falls_back_to_the_other(tmp_path: Path) -> None:
    path = tmp_path / "run.sgrec"
    write_two_sensor_run(path, 3)
    data = bytearray(path.read_bytes())
    n = struct.unpack_from("<I", data, 8)[0]
    data[8] ^= 0x10  # the first copy's length: its copy cannot even be found by it
    path.write_bytes(bytes(data))
    rec = read_recording(path)
    assert rec.header["sensors"] == ["StrideGuard-L", "StrideGuard-R"]
    assert rec.warnings == ["first header copy damaged: the second is used"]
    assert rec.damaged_records == 0 and rec.kind.size == 2 * 3 + 3
    # both copies damaged in their JSON: defaults, and the records still read
    data = bytearray(path.read_bytes())
    data[8] ^= 0x10
    data[16 + 3] ^= 0x01
    data[16 + n + 8 + 3] ^= 0x01
    path.write_bytes(bytes(data))
    rec = read_recording(path)
    assert "both header copies damaged" in rec.warnings[0] or "defaults" in rec.warnings[0]
    assert rec.kind.size == 2 * 3 + 3 and rec.streams() == [0, 1]


def test_a_damaged_magic_is_repaired(tmp_path: Path) -> None:
    path = tmp_path / "run.sgrec"
    write_two_sensor_run(path, 3)
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01
    data[6] ^= 0x80
    path.write_bytes(bytes(data))
    rec = read_recording(path)
    assert rec.format_version == 2 and "magic" in rec.warnings[0]
    assert rec.kind.size == 9


def test_damaged_last_record_and_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "run.sgrec"
    write_two_sensor_run(path, 3)
    data = path.read_bytes()
    damaged = bytearray(data)
    damaged[-6] ^= 0x04  # inside the last record's payload
    path.write_bytes(bytes(damaged))
    rec = read_recording(path)
    assert rec.damaged_records == 1 and rec.torn_tail_bytes == 0 and rec.kind.size == 8
    path.write_bytes(data[:-10])  # a crash while writing the last record
    rec = read_recording(path)
    assert rec.damaged_records == 0 and rec.torn_tail_bytes > 0 and rec.kind.size == 8


# ------------------------------------------------------------------ format 1 (older files)


def write_v1(path: Path, header: dict, records: list[tuple[int, int, float, bytes]]) -> None:
    blob = json.dumps(header).encode()
    out = bytearray(MAGIC_V1 + struct.pack("<I", len(blob)) + blob)
    for kind, stream, t, payload in records:
        out += struct.pack("<BBHd", kind, stream, len(payload), t) + payload
    path.write_bytes(bytes(out))


def v1_run(n_frames: int = 200) -> tuple[np.ndarray, list[tuple[int, int, float, bytes]]]:
    raw = np.random.default_rng(3).integers(-3000, 3000, size=(PER * n_frames, 6))
    frames = encode_frames(raw, rate_hz=500, version=1, first_index=50_000)
    records = [(KIND_EVENT, 0, 0.0, b'{"event": "connect"}')]
    records += [(KIND_FRAME, 0, 0.038 * k, f) for k, f in enumerate(frames)]
    return raw, records


def test_format_1_files_still_read(tmp_path: Path) -> None:
    path = tmp_path / "old.sgrec"
    raw, records = v1_run()
    write_v1(path, {"schema": "strideguard.recording/1", "sensors": ["StrideGuard-L"]}, records)
    rec = read_recording(path)
    assert rec.format_version == 1 and rec.damaged_records == 0
    assert rec.events == [(0.0, 0, {"event": "connect"})]
    dec = decode_stream(rec, 0)
    np.testing.assert_array_equal(dec.raw, raw)


def test_format_1_with_a_flipped_index_bit_stays_small(tmp_path: Path) -> None:
    """The reported failure: one flipped index bit made `analyze` grow to 24 GB."""
    _raw, records = v1_run(400)
    kind, stream, t, frame = records[150]
    bad = bytearray(frame)
    bad[4] ^= 0x40  # bit 30 of the running index
    records[150] = (kind, stream, t, bytes(bad))
    path = tmp_path / "old.sgrec"
    write_v1(path, {"schema": "strideguard.recording/1", "sensors": ["StrideGuard-L"]}, records)
    imu, report = load_recording(path)
    assert imu.n_samples <= 400 * PER + 1  # the hole is one frame, not 2**30 samples
    assert any("rejected" in w for w in report.warnings)
    # the live path too (it reported "100 % lost" and dropped the rest as duplicates)
    run = replay(path, lambda e: None)
    (summary,) = run.finish()["sensors"]
    assert summary["samples"] == 399 * PER and summary["samples_lost"] == PER
    assert summary["frames_rejected"] == {"clock_mismatch": 1}


def test_format_1_with_a_flipped_length_resynchronises(tmp_path: Path) -> None:
    _raw, records = v1_run(100)
    path = tmp_path / "old.sgrec"
    write_v1(path, {"schema": "strideguard.recording/1", "sensors": ["StrideGuard-L"]}, records)
    data = bytearray(path.read_bytes())
    hlen = struct.unpack_from("<I", data, 8)[0]
    first_rec = 12 + hlen + 12 + len(records[0][3])  # past the event record
    pos = first_rec + 30 * (12 + 16 + 12 * PER)  # frame record 30
    data[pos + 3] ^= 0x02  # its length field (high byte)
    path.write_bytes(bytes(data))
    rec = read_recording(path)
    assert rec.streams() == [0] and rec.damaged_records == 1
    dec = decode_stream(rec, 0)
    assert dec.n_samples == 99 * PER  # one record lost, and only one
