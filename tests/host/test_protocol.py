"""The wire protocol: one definition, byte-compatible between MicroPython and CPython."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strideguard import protocol as proto
from strideguard.frames import (
    HEADER_DTYPE,
    RejectReason,
    decode_frames,
    encode_frames,
    fit_timebase,
    to_recording,
)
from tests.conftest import FIRMWARE, REPO, run_micropython


def test_host_module_is_the_firmware_file() -> None:
    assert os.path.realpath(proto.__file__) == str((FIRMWARE / "protocol.py").resolve())


def public_constants(module: object) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in dir(module):
        if name.startswith("_"):
            continue
        value = getattr(module, name)
        if isinstance(value, (int, str, tuple)):
            out[name] = list(value) if isinstance(value, tuple) else value
    return out


def test_constants_identical_under_micropython() -> None:
    code = (
        "import json, protocol\n"
        "d = {}\n"
        "for n in dir(protocol):\n"
        "    if n.startswith('_'):\n"
        "        continue\n"
        "    v = getattr(protocol, n)\n"
        "    if isinstance(v, (int, str, tuple)):\n"
        "        d[n] = list(v) if isinstance(v, tuple) else v\n"
        "print(json.dumps(d))\n"
    )
    mp = json.loads(run_micropython(code))
    cp = public_constants(proto)
    cp.pop("annotations", None)  # ``from __future__`` is not used, but be safe
    assert mp == cp
    assert len(mp) > 60  # the whole profile is there, not an empty module


def test_struct_sizes() -> None:
    import struct

    assert (
        struct.calcsize(proto.FRAME_HEADER_FORMAT)
        == proto.FRAME_HEADER_SIZE
        == HEADER_DTYPE.itemsize
    )
    assert struct.calcsize(proto.STATUS_FORMAT) == proto.STATUS_SIZE
    assert len(proto.STATUS_FIELDS) == len(proto.STATUS_FORMAT) - 1


@pytest.mark.parametrize(
    ("mtu", "expected"), [(23, 0), (27, 0), (31, 1), (185, 13), (247, 19), (517, 40)]
)
def test_samples_per_frame(mtu: int, expected: int) -> None:
    assert proto.samples_per_frame(mtu) == expected
    if expected:
        assert proto.frame_size(expected) <= mtu - proto.ATT_OVERHEAD


FRAME_SCRIPT = """
import protocol, struct
rows = {rows}
count = len(rows)
buf = bytearray(protocol.frame_size(count))
protocol.pack_frame_header(buf, {flags}, {seq}, {first}, {t_us}, {rate}, count, {flags2})
for i in range(count):
    struct.pack_into('>hhhhhh', buf, protocol.FRAME_HEADER_SIZE + 12 * i, *rows[i])
print(buf.hex() if hasattr(buf, 'hex') else ''.join('%02x' % b for b in buf))
"""


@pytest.mark.parametrize("mtu", [185, 247])
def test_micropython_encoded_frames_decode_bit_exact(mtu: int) -> None:
    rng = np.random.default_rng(mtu)
    per = proto.samples_per_frame(mtu)
    payloads = []
    expected = []
    first = 2**32 - 2 * per  # crosses the 32-bit wrap
    for k in range(4):
        rows = rng.integers(-32768, 32768, size=(per, 6))
        rows[0] = [-32768, 32767, 0, -1, 1, 12345]
        expected.append(rows)
        script = FRAME_SCRIPT.format(
            rows=[tuple(int(v) for v in r) for r in rows],
            flags=proto.FLAG_PAIN_MARK if k == 2 else 0,
            seq=65534 + k,
            first=(first + k * per) & 0xFFFFFFFF,
            t_us=(4_294_960_000 + k * per * 2000) & 0xFFFFFFFF,
            rate=500,
            flags2=proto.FLAG2_BACKFILL if k == 3 else 0,
        )
        payloads.append(bytes.fromhex(run_micropython(script).strip()))
    assert all(len(p) == proto.frame_size(per) <= mtu - 3 for p in payloads)
    decoded = decode_frames(payloads, arrival_s=np.arange(4) * 0.04)
    np.testing.assert_array_equal(decoded.raw, np.concatenate(expected))
    assert decoded.report.frames_accepted == 4
    assert decoded.report.gaps == []
    idx = decoded.sample_index
    np.testing.assert_array_equal(np.diff(idx), 1)  # unwrapped across 2**32
    assert list(decoded.frames["seq"]) == [65534, 65535, 0, 1]
    assert np.all(np.diff(decoded.frames["t_us"]) == per * 2000)  # clock unwrapped too
    assert all(p[0] == proto.FRAME_VERSION == 2 for p in payloads)
    assert list(decoded.frames["flags2"]) == [0, 0, 0, proto.FLAG2_BACKFILL]
    assert decoded.report.backfill_frames == 1
    rec = to_recording(decoded, source="mp")
    assert rec.pain_marks_s.shape == (1,)
    np.testing.assert_allclose(rec.gyr_dps[0], np.array([-1, 1, 12345]) / 16.4)
    np.testing.assert_allclose(rec.acc_mps2[0, :2], np.array([-32768, 32767]) / 2048 * 9.80665)


def test_host_commands_parse_in_micropython() -> None:
    cases = [
        (proto.OP_START_STREAM, None),
        (proto.OP_SET_RATE, 1000),
        (proto.OP_SET_RATE, 333),
        (proto.OP_SET_LEG, proto.LEG_RIGHT),
        (proto.OP_SET_LEG, 7),
        (proto.OP_CALIBRATE, 3),
        (proto.OP_CALIBRATE, 0),
        (proto.OP_IDENTIFY, 31),
        (proto.OP_SET_CADENCE_TARGET, 170),
        (proto.OP_SET_CADENCE_TARGET, 50),
        (proto.OP_SET_CUE, 1),
    ]
    writes = [proto.encode_control(op, v) for op, v in cases]
    writes += [b"", b"\x7f", b"\x03\x01", b"\x01\x00", bytes([proto.OP_SET_RATE, 0x01, 0xF4, 0x00])]
    resends = [
        proto.encode_resend(2**32 - 5, 65535),  # the u32 index wraps, the largest count
        proto.encode_resend(123456, 0),  # nothing asked for
        proto.encode_resend(7, 19)[:6],  # cut short
    ]
    writes += resends
    code = (
        "import protocol\n"
        f"for w in {[list(w) for w in writes]!r}:\n"
        "    print(protocol.parse_control(bytes(w)))\n"
    )
    lines = run_micropython(code).strip().splitlines()
    host = [str(proto.parse_control(w)) for w in writes]
    assert lines == host
    results = [proto.parse_control(w)[0] for w in writes]
    assert results[:11] == [
        proto.RESULT_SUCCESS,
        proto.RESULT_SUCCESS,
        proto.RESULT_INVALID_PARAMETER,
        proto.RESULT_SUCCESS,
        proto.RESULT_INVALID_PARAMETER,
        proto.RESULT_SUCCESS,
        proto.RESULT_INVALID_PARAMETER,
        proto.RESULT_INVALID_PARAMETER,
        proto.RESULT_SUCCESS,
        proto.RESULT_INVALID_PARAMETER,
        proto.RESULT_SUCCESS,
    ]
    assert results[11:16] == [
        proto.RESULT_BAD_LENGTH,
        proto.RESULT_OP_NOT_SUPPORTED,
        proto.RESULT_BAD_LENGTH,
        proto.RESULT_BAD_LENGTH,
        proto.RESULT_BAD_LENGTH,
    ]
    assert results[16:] == [
        proto.RESULT_SUCCESS,
        proto.RESULT_INVALID_PARAMETER,
        proto.RESULT_BAD_LENGTH,
    ]
    assert proto.parse_control(resends[0])[2] == 65535
    assert proto.resend_first_index(resends[0]) == 2**32 - 5


def test_pattern_writes_parse_alike_in_micropython() -> None:
    P = proto
    h = P.PATTERN_HEADER_SIZE
    stop = P.encode_pattern([(600, 300)] * 3, P.PATTERN_UNTIL_ACK, 10_000)
    longest = P.encode_pattern([(2550, 2550)] * P.PATTERN_MAX_PULSES, 1, 0)
    writes = [
        stop,
        P.encode_pattern([(150, 150)] * 2),  # caution: once
        P.encode_pattern([(60, 0)], 57, 353),  # coach: a 170-steps/min metronome
        P.encode_pattern([(50, 0)], 255, 60),  # the edges: shortest pulse, most plays
        longest,
        stop[:h],  # no pulse
        stop[: h + 1],  # half a pulse
        longest + bytes((5, 5)),  # nine pulses
        bytes((P.OP_PLAY_PATTERN,)),  # no header
        bytes((P.OP_PLAY_PATTERN, 1, 0, 0, 4, 0)),  # a 40-ms pulse
        bytes((P.OP_PLAY_PATTERN, 2, 0, 100, 60, 60)),  # plays overlap (100 ms < 1.2 s)
        bytes((P.OP_PLAY_PATTERN, 0, 0, 0, 60, 30)),  # until acknowledged, period 0
        bytes((P.OP_PLAY_PATTERN, 0, 0xEA, 0x61, 60, 30)),  # period 60.001 s
        bytes((P.OP_PLAY_PATTERN, 12, 0xEA, 0x60, 60, 30)),  # 11 min of plays
        bytes((P.OP_ACKNOWLEDGE,)),
        bytes((P.OP_ACKNOWLEDGE, 0)),  # with a parameter
    ]
    code = (
        "import protocol\n"
        f"for w in {[list(w) for w in writes]!r}:\n"
        "    print(protocol.parse_control(bytes(w)))\n"
    )
    lines = run_micropython(code).strip().splitlines()
    assert lines == [str(P.parse_control(w)) for w in writes]
    ok, bad, invalid = P.RESULT_SUCCESS, P.RESULT_BAD_LENGTH, P.RESULT_INVALID_PARAMETER
    assert [P.parse_control(w)[0] for w in writes] == [ok] * 5 + [bad] * 4 + [invalid] * 5 + [
        ok,
        bad,
    ]
    # the bytes on the wire, as docs/protocol.md lays them out
    assert stop.hex() == "0c0027103c1e3c1e3c1e"
    assert P.parse_control(stop)[2] == 3  # the value: pulses
    assert P.decode_pattern(stop) == (0, 10_000, [(600, 300)] * 3)
    assert len(longest) == h + 2 * P.PATTERN_MAX_PULSES <= P.CONTROL_WRITE_MAX
    for pulses, repeats, period in (([(40, 0)], 1, 0), ([(100, 0)] * 9, 1, 0), ([(60, 0)], 0, 0)):
        with pytest.raises(ValueError):
            P.encode_pattern(pulses, repeats, period)
    with pytest.raises(ValueError):
        P.encode_control(P.OP_PLAY_PATTERN, 1)


def test_resend_response_roundtrip_under_micropython() -> None:
    cases = [
        (proto.RESULT_SUCCESS, 0xFFFF, 0xFFFB, 65535),
        (proto.RESULT_NOT_AVAILABLE, 0x0001, 0x2345, 17),
        (proto.RESULT_NOT_AVAILABLE, 0, 0, 0),
    ]
    code = (
        "import protocol\n"
        "b = bytearray(protocol.RESEND_RESPONSE_SIZE)\n"
        f"for r, hi, lo, n in {cases!r}:\n"
        "    protocol.encode_resend_response(b, r, hi, lo, n)\n"
        "    print(''.join('%02x' % x for x in b))\n"
    )
    lines = run_micropython(code).strip().splitlines()
    decoded = [proto.decode_resend_response(bytes.fromhex(h)) for h in lines]
    assert decoded == [(r, (hi << 16) | lo, n) for r, hi, lo, n in cases]
    assert proto.decode_resend_response(bytes((0x80, proto.OP_RESEND, 2))) is None  # a short error


def test_status_roundtrip_under_micropython() -> None:
    values = (
        2,
        0x05,
        500,
        1,
        87,
        3950,
        0,
        4,
        0,
        247,
        123456,
        42,
        3,
        2,
        1,
        6789,
        3600,
        172,
        1,
        3,
        517,
    )
    code = (
        "import protocol\n"
        "b = bytearray(protocol.STATUS_SIZE)\n"
        f"protocol.pack_status(b, {values!r})\n"
        "print(''.join('%02x' % x for x in b))\n"
    )
    blob = bytes.fromhex(run_micropython(code).strip())
    status = proto.unpack_status(blob)
    assert [status[f] for f in proto.STATUS_FIELDS] == list(values)
    # a version-1 record (firmware before 0.4.0) still reads: the new fields are None
    old = proto.unpack_status(blob[: proto.STATUS_SIZE_V1])
    assert [old[f] for f in proto.STATUS_FIELDS] == [*values[:-2], None, None]


# ------------------------------------------------------------------ decoder


def make_raw(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(-32768, 32768, size=(n, 6))


def test_gaps_duplicates_and_reordering_are_reported() -> None:
    raw = make_raw(19 * 20)
    frames = encode_frames(raw, rate_hz=500, mtu=247)
    lost = {5, 6, 13}
    stream = [f for i, f in enumerate(frames) if i not in lost]
    stream.insert(3, stream[2])  # duplicate
    stream[8], stream[9] = stream[9], stream[8]  # reorder
    d = decode_frames(stream)
    assert d.report.frames_received == len(stream)
    assert d.report.frames_accepted == 17
    assert d.report.rejected == {RejectReason.DUPLICATE.value: 1}
    assert d.report.out_of_order >= 1
    assert d.report.gaps == [(5 * 19, 2 * 19), (13 * 19, 19)]
    assert d.report.samples_lost == 3 * 19
    keep = np.ones(len(raw), bool)
    for i in lost:
        keep[i * 19 : (i + 1) * 19] = False
    np.testing.assert_array_equal(d.raw, raw[keep])
    np.testing.assert_array_equal(d.sample_index, np.flatnonzero(keep))


def test_bad_frames_rejected_with_reasons() -> None:
    good = encode_frames(make_raw(19), rate_hz=500, mtu=247)[0]
    good_v1 = encode_frames(make_raw(19), rate_hz=500, mtu=247, version=1)[0]
    bad = {
        "truncated": good[:10],
        "bad_version": bytes([9]) + good[1:],
        "bad_count": good[:14] + bytes([0, 0]) + good[16:],
        "length_mismatch": good[:-1],
        "bad_rate": good[:12] + (333).to_bytes(2, "big") + good[14:],
        "bad_reserved": good_v1[:15] + b"\x01" + good_v1[16:],  # version 1: byte 15 is 0
    }
    d = decode_frames([*bad.values(), good])
    assert d.report.rejected == dict.fromkeys(bad, 1)
    assert d.report.frames_accepted == 1
    assert d.n_samples == 19


def test_mtu_23_yields_no_frames() -> None:
    assert encode_frames(make_raw(10), rate_hz=500, mtu=23) == []


def test_timebase_recovers_clock_error() -> None:
    raw = make_raw(19 * 500)
    frames = encode_frames(raw, rate_hz=500, mtu=247, clock_scale=1.015, t0_us=123)
    tb = fit_timebase(decode_frames(frames))
    assert tb.rate_hz == pytest.approx(500 / 1.015, rel=1e-6)
    assert tb.rate_error_pct == pytest.approx(-1.478, abs=0.01)


def test_empty_input() -> None:
    d = decode_frames([])
    assert d.n_samples == 0 and d.report.frames_received == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=300), max_size=12))
def test_random_bytes_never_raise(payloads: list[bytes]) -> None:
    d = decode_frames(payloads)
    r = d.report
    assert r.frames_accepted + r.frames_rejected == r.frames_received == len(payloads)
    assert d.raw.shape == (d.n_samples, 6)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 7), st.integers(0, 300), st.integers(0, 255)),
        min_size=1,
        max_size=6,
    )
)
def test_mutated_frames_are_accepted_or_rejected_never_raise(
    mutations: list[tuple[int, int, int]],
) -> None:
    frames = [bytearray(f) for f in encode_frames(make_raw(19 * 8, seed=3), rate_hz=500, mtu=247)]
    for k, pos, value in mutations:
        f = frames[k]
        if pos < len(f) or not f:
            f[pos : pos + 1] = bytes([value])
        else:
            del f[value % len(f) :]  # truncate
    d = decode_frames([bytes(f) for f in frames])
    r = d.report
    assert r.frames_accepted + r.frames_rejected == 8
    # every accepted sample comes from a frame that survived validation
    assert d.n_samples == int(d.frames["count"].sum())
    assert np.all(np.diff(d.sample_index) > 0)


# ------------------------------------------------------------------ docs


def test_protocol_doc_matches_module() -> None:
    doc = (REPO / "docs" / "protocol.md").read_text()
    for uuid in (
        proto.SERVICE_UUID,
        proto.DATA_CHAR_UUID,
        proto.CONTROL_CHAR_UUID,
        proto.STATUS_CHAR_UUID,
    ):
        assert uuid in doc
    assert re.search(rf"header[^\n]*{proto.FRAME_HEADER_SIZE} bytes", doc, re.IGNORECASE)
    assert f"status record ({proto.STATUS_SIZE} bytes)" in doc.lower()
    for name in (
        "OP_START_STREAM",
        "OP_SET_RATE",
        "OP_RESEND",
        "RESULT_INVALID_PARAMETER",
        "RESULT_NOT_AVAILABLE",
        "FLAG_FIFO_OVERFLOW",
        "FLAG_PAIN_MARK",
        "FLAG2_BACKFILL",
        "OP_PLAY_PATTERN",
        "OP_ACKNOWLEDGE",
        "FLAG2_ACKNOWLEDGED",
        "FLAG2_LINK_LOST_CUE",
        "OP_CLEAR_BONDS",
        "OP_OPEN_PAIRING",
        "SECURITY_PAIRING_OPEN",
        "SECURITY_HAS_BONDS",
        "ADV_PAIRING_OPEN",
        "ADV_HAS_BONDS",
    ):
        value = getattr(proto, name)
        assert re.search(rf"`{name}`\s*\|\s*`?0x{value:02X}`?", doc), name
    for field_name in proto.STATUS_FIELDS:
        assert f"`{field_name}`" in doc
