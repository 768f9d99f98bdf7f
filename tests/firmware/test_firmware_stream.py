"""Frames produced under MicroPython decode on the host to exactly the samples played in."""

from __future__ import annotations

import itertools
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from strideguard import protocol
from strideguard.protocol import unpack_frame_header

MpRunner = Callable[..., str]

N_SOURCE = 4001  # samples in the played stream (played in a loop)
RAIL_EVERY = 997  # every 997th sample has an accelerometer value at the int16 rail
START_NEAR_WRAP_US = (1 << 30) - 400_000  # the board's ticks wrap during each run


def source_samples() -> np.ndarray:
    """Gait-like int16 samples (n, 6) with rails at known places."""
    rng = np.random.default_rng(7)
    t = np.arange(N_SOURCE) / 500.0
    out = rng.normal(0, 400, size=(N_SOURCE, 6))
    out[:, 2] += 2048  # 1 g
    out[:, 4] += 7000 * np.sin(2 * np.pi * 1.4 * t)  # gyro swing
    out = np.clip(np.round(out), -32767, 32766).astype(np.int16)
    out[::RAIL_EVERY, 0] = 32767
    out[RAIL_EVERY // 2 :: RAIL_EVERY, 4] = -32768
    return out


def read_frames(path: Path) -> list[bytes]:
    data = path.read_bytes()
    frames, i = [], 0
    while i < len(data):
        (n,) = struct.unpack_from(">H", data, i)
        frames.append(data[i + 2 : i + 2 + n])
        i += 2 + n
    return frames


def decode(frame: bytes) -> tuple[tuple[int, ...], np.ndarray]:
    head = unpack_frame_header(frame)
    count = head[6]
    values = np.frombuffer(frame, dtype=">i2", count=6 * count, offset=16).reshape(count, 6)
    return head, values.astype(np.int16)


@pytest.fixture(scope="module")
def stream_run(run_mp: MpRunner, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("stream")
    src = source_samples()
    (tmp / "samples.bin").write_bytes(src.astype(">i2").tobytes())
    spec = [
        {"name": f"r{rate}_m{mtu}", "rate": rate, "mtu": mtu, "seconds": 2, "drain_ms": 25}
        for rate in protocol.SUPPORTED_RATES_HZ
        for mtu in (185, 247)
    ]
    for s in spec:
        s["start_us"] = START_NEAR_WRAP_US
    spec += [
        {
            "name": "overflow",
            "rate": 500,
            "mtu": 247,
            "seconds": 3,
            "drain_ms": 20,
            "events": [[1000, "stall", 400]],
        },
        {
            "name": "i2c",
            "rate": 1000,
            "mtu": 247,
            "seconds": 4,
            "drain_ms": 20,
            "events": [[800, "fail", 1], [1600, "fail_for", 700]],
        },
    ]
    spec.append(
        {
            "name": "brownout",
            "rate": 500,
            "mtu": 247,
            "seconds": 3,
            "drain_ms": 20,
            "events": [[1000, "brownout", 0]],
        }
    )
    spec.append(
        {
            "name": "u32wrap",
            "rate": 1000,
            "mtu": 185,
            "seconds": 2,
            "drain_ms": 30,
            "clock_hi": 0xFFFF - 8,  # the board clock passes 2**32 us after ~0.5 s
        }
    )
    (tmp / "spec.json").write_text(json.dumps(spec))
    out = run_mp("mp_stream.py", str(tmp / "samples.bin"), str(tmp / "spec.json"), str(tmp / "out"))
    meta = {m["name"]: m for m in (json.loads(line) for line in out.splitlines() if line)}
    return {"tmp": tmp, "src": src, "meta": meta}


def check_frames(
    frames: list[bytes], src: np.ndarray, meta: dict[str, Any], rate: int, mtu: int
) -> list[int]:
    """Assert frame layout and content; return the index offsets after each loss."""
    n_per = protocol.samples_per_frame(mtu)
    k0 = meta["k0"]
    expected_index = 0
    offset = 0  # after a loss the index is a clock estimate: +-1 sample allowed
    offsets = []
    prev_seq = None
    anchor, tolerance = (meta["t_k0_us"], 0), meta["period_us"] // 2 + 1
    for frame in frames:
        head, values = decode(frame)
        version, flags, seq, first, t_us, rate_hz, count = head
        assert version == protocol.FRAME_VERSION
        assert rate_hz == rate
        assert count == n_per
        assert len(frame) == protocol.frame_size(count) <= mtu - protocol.ATT_OVERHEAD
        if prev_seq is not None:
            assert seq == (prev_seq + 1) & 0xFFFF
        prev_seq = seq
        lost = flags & (protocol.FLAG_FIFO_OVERFLOW | protocol.FLAG_I2C_RECOVERED)
        if lost:
            assert first > expected_index
            matches = [
                d
                for d in (-1, 0, 1)
                if np.array_equal(values, src[(k0 + first + d + np.arange(count)) % N_SOURCE])
            ]
            assert matches, "samples after a loss are not a contiguous run of played samples"
            offset = matches[0]
            offsets.append(offset)
        else:
            assert first == expected_index, "sample index must be contiguous without a loss flag"
        played = src[(k0 + first + offset + np.arange(count)) % N_SOURCE]
        np.testing.assert_array_equal(values, played)
        rail = bool(np.any((played == 32767) | (played == -32768)))
        assert bool(flags & protocol.FLAG_SATURATED) == rail
        period = meta["period_us"]
        if flags & protocol.FLAG_I2C_RECOVERED:
            # re-initialising the sensor restarts its sampling clock (new phase):
            # from here on, compare with this frame's own estimate
            anchor, tolerance = (t_us, first + offset), period + 1
        # board time of the first sample, within half a sample period
        t_true = anchor[0] + (first + offset - anchor[1]) * period
        err = ((t_us - t_true + (1 << 31)) % (1 << 32)) - (1 << 31)
        assert abs(err) <= tolerance
        expected_index = first + count
    return offsets


@pytest.mark.parametrize("rate", protocol.SUPPORTED_RATES_HZ)
@pytest.mark.parametrize("mtu", [185, 247])
def test_frames_decode_to_played_samples(stream_run: dict[str, Any], rate: int, mtu: int) -> None:
    name = f"r{rate}_m{mtu}"
    meta = stream_run["meta"][name]
    frames = read_frames(stream_run["tmp"] / f"out.{name}.bin")
    n_per = protocol.samples_per_frame(mtu)
    # 2 s of sampling minus the frame still filling
    assert len(frames) >= (2 * rate) // n_per - 2
    assert unpack_frame_header(frames[0])[1] & protocol.FLAG_STREAM_START
    assert check_frames(frames, stream_run["src"], meta, rate, mtu) == []
    assert meta["overflows"] == meta["i2c_errors"] == meta["samples_lost"] == 0
    # t_us is a u32 board clock: it keeps counting while the 30-bit ticks wrap
    times = [unpack_frame_header(f)[4] for f in frames]
    assert all(b > a for a, b in itertools.pairwise(times))


def test_fifo_overflow_is_flagged_counted_and_recovered(stream_run: dict[str, Any]) -> None:
    meta = stream_run["meta"]["overflow"]
    frames = read_frames(stream_run["tmp"] / "out.overflow.bin")
    assert meta["fake_overflow_bytes"] > 0, "the stall must overflow the 1024-byte FIFO"
    flagged = [f for f in frames if unpack_frame_header(f)[1] & protocol.FLAG_FIFO_OVERFLOW]
    assert len(flagged) == 1
    assert meta["overflows"] == 1
    # a 400 ms stall at 500 Hz loses ~200 samples plus what was waiting in the FIFO
    assert 190 <= meta["samples_lost"] <= 230
    offsets = check_frames(frames, stream_run["src"], meta, 500, 247)
    assert offsets and all(abs(d) <= 1 for d in offsets)
    # streaming goes on after the overflow
    last_index = unpack_frame_header(frames[-1])[3]
    assert last_index > 3 * 500 - 2 * 19 - 1 - 230 - 60


def test_i2c_faults_are_flagged_counted_and_recovered(stream_run: dict[str, Any]) -> None:
    meta = stream_run["meta"]["i2c"]
    frames = read_frames(stream_run["tmp"] / "out.i2c.bin")
    flagged = [f for f in frames if unpack_frame_header(f)[1] & protocol.FLAG_I2C_RECOVERED]
    # one glitch, then a 700 ms outage: each recovered once
    assert len(flagged) == 2
    assert meta["i2c_errors"] >= 3
    assert not meta["fault"], "the sampler must leave the fault state once the bus answers"
    check_frames(frames, stream_run["src"], meta, 1000, 247)
    heads = [unpack_frame_header(f) for f in frames]
    gap = max(b[3] - a[3] for a, b in itertools.pairwise(heads))
    assert 650 <= gap <= 1100, "the outage shows as a sample-index gap of about its length"
    assert heads[-1][3] > 3500 - 1000


@pytest.mark.parametrize("name", ["r500_m247", "r1000_m185", "overflow", "u32wrap"])
def test_host_decoder_accepts_firmware_frames(stream_run: dict[str, Any], name: str) -> None:
    """The host's own decoder (strideguard.frames) reads the firmware's frames."""
    from strideguard.frames import decode_frames, fit_timebase

    meta = stream_run["meta"][name]
    frames = read_frames(stream_run["tmp"] / f"out.{name}.bin")
    decoded = decode_frames(frames)
    report = decoded.report
    assert report.frames_rejected == 0 and report.frames_accepted == len(frames)
    src = stream_run["src"]
    if name == "overflow":
        assert report.overflow_frames == 1
        assert len(report.gaps) == 1
        assert abs(report.samples_lost - meta["samples_lost"]) <= 1
    else:
        assert report.gaps == [] and report.samples_lost == 0
        played = src[(meta["k0"] + decoded.sample_index) % N_SOURCE]
        np.testing.assert_array_equal(decoded.raw, played)
    # the board clock gives the true rate (the fake sensor runs exactly at nominal)
    fit = fit_timebase(decoded)
    assert abs(fit.rate_error_pct) < 0.05, fit
    assert fit.residual_us < meta["period_us"]


def test_board_clock_wraps_at_32_bits(stream_run: dict[str, Any]) -> None:
    meta = stream_run["meta"]["u32wrap"]
    frames = read_frames(stream_run["tmp"] / "out.u32wrap.bin")
    assert check_frames(frames, stream_run["src"], meta, 1000, 185) == []
    times = [unpack_frame_header(f)[4] for f in frames]
    wraps = sum(1 for a, b in itertools.pairwise(times) if b < a)
    assert wraps == 1 and times[0] > 0xFFF0_0000 and times[-1] < 0x0020_0000


def test_sensor_brownout_is_detected_and_reconfigured(stream_run: dict[str, Any]) -> None:
    """The MPU6050 resets itself (no I2C error): no data for 0.5 s -> reconfigure."""
    meta = stream_run["meta"]["brownout"]
    frames = read_frames(stream_run["tmp"] / "out.brownout.bin")
    heads = [unpack_frame_header(f) for f in frames]
    flagged = [h for h in heads if h[1] & protocol.FLAG_I2C_RECOVERED]
    assert len(flagged) == 1 and meta["i2c_errors"] == 1
    check_frames(frames, stream_run["src"], meta, 500, 247)
    gap = max(b[3] - a[3] - a[6] for a, b in itertools.pairwise(heads))
    assert 250 <= gap <= 340, gap  # ~0.5 s stall + re-init at 500 Hz
    assert heads[-1][3] > 1000
