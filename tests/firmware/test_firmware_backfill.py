"""The firmware's backfill ring under MicroPython: OP_RESEND answers and the resent bytes.

``mp_backfill.py`` runs the real App (MPU6050 and bluetooth models at the edge)
through the scenarios its docstring lists; here every resent frame is decoded
and compared with what the sensor really measured.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from strideguard import protocol

MpRunner = Callable[..., str]
N_SOURCE = 4001


def source() -> np.ndarray:
    """Noisy int16 rows: each row is unique, so a sample tells where it came from."""
    rng = np.random.default_rng(11)
    out = rng.normal(0, 400, size=(N_SOURCE, 6))
    out[:, 2] += 2048
    return np.clip(np.round(out), -32767, 32766).astype(np.int16)


def read(path: Path) -> list[tuple[int, bytes]]:
    data = path.read_bytes()
    out, i = [], 0
    while i < len(data):
        conn, n = struct.unpack_from(">BH", data, i)
        out.append((conn, data[i + 3 : i + 3 + n]))
        i += 3 + n
    return out


def parse(frame: bytes) -> dict[str, Any]:
    v, flags, _seq, first, t_us, rate, count = protocol.unpack_frame_header(frame)
    samples = np.frombuffer(frame, ">i2", 6 * count, 16).reshape(count, 6).astype(np.int16)
    return {
        "version": v,
        "flags": flags,
        "flags2": frame[15],
        "first": first,
        "t_us": t_us,
        "rate": rate,
        "count": count,
        "samples": samples,
        "size": len(frame),
    }


def response(hexdata: str) -> tuple[int, int, int]:
    decoded = protocol.decode_resend_response(bytes.fromhex(hexdata))
    assert decoded is not None, hexdata
    return decoded


@pytest.fixture(scope="module")
def scenarios(run_mp: MpRunner, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("backfill")
    (tmp / "samples.bin").write_bytes(source().astype(">i2").tobytes())
    out = run_mp("mp_backfill.py", str(tmp / "samples.bin"), str(tmp / "bf"), timeout_s=120)
    result = {}
    for line in out.splitlines():
        if line.startswith("{"):
            info = json.loads(line)
            frames = [(c, parse(f)) for c, f in read(tmp / f"bf.{info['name']}.bin")]
            result[info["name"]] = (info, frames)
    return result


def split(frames: list[tuple[int, dict[str, Any]]], conn: int | None = None) -> tuple[list, list]:
    live = [f for c, f in frames if not f["flags2"] & protocol.FLAG2_BACKFILL and c in (conn, None)]
    resent = [f for c, f in frames if f["flags2"] & protocol.FLAG2_BACKFILL]
    return live, resent


def by_index(frames: list[dict[str, Any]]) -> dict[int, tuple[np.ndarray, int]]:
    """Sample index -> (sample, board time of that sample) from frames."""
    out = {}
    for f in frames:
        period = 1_000_000 // f["rate"]
        for k in range(f["count"]):
            out[f["first"] + k] = (f["samples"][k], (f["t_us"] + k * period) % (1 << 32))
    return out


def assert_resent_match(live: list, resent: list) -> None:
    truth = by_index(live)
    for f in resent:
        assert f["version"] == protocol.FRAME_VERSION
        assert not f["flags"] & protocol.FLAG_STREAM_START
        got = by_index([f])
        for i, (sample, t) in got.items():
            np.testing.assert_array_equal(sample, truth[i][0])
            assert t == truth[i][1], (i, t, truth[i][1])  # the original board time


def test_resent_frames_are_the_originals(scenarios: dict[str, Any]) -> None:
    info, frames = scenarios["live"]
    result, first, count = response(info["resp"])
    assert (result, first, count) == (protocol.RESULT_SUCCESS, *info["asked"])
    live, resent = split(frames, 1)
    assert live[0]["flags"] & protocol.FLAG_STREAM_START
    assert response(info["resp0"]) == (protocol.RESULT_SUCCESS, live[0]["first"], 19)
    # the stored frames, cut to the range; then the stream's first frame again
    assert [f["count"] for f in resent] == [14, 19, 19, 5, 19]
    assert [f["first"] for f in resent] == [
        first,
        first + 14,
        first + 33,
        first + 52,
        live[0]["first"],
    ]
    assert_resent_match(live, resent)


def test_an_outage_is_resent_whole(scenarios: dict[str, Any]) -> None:
    info, frames = scenarios["outage"]
    result, first, count = response(info["resp"])
    assert (result, first, count) == (protocol.RESULT_SUCCESS, *info["asked"])
    assert count > 900  # 2 s at 500 Hz, measured while no central listened
    live1, _ = split(frames, 1)
    live2, resent = split(frames, 2)
    idx = sorted(by_index(resent))
    assert idx == list(range(first, first + count))  # every sample once, none more
    # the samples are what the sensor measured: the played rows, in order
    src = source()
    everything = by_index(live1 + resent + live2)
    i0 = min(everything)
    row0 = int(np.flatnonzero((src == everything[i0][0]).all(axis=1))[0])
    for i, (sample, _t) in everything.items():
        np.testing.assert_array_equal(sample, src[(row0 + i - i0) % N_SOURCE])
    assert sorted(everything) == list(range(i0, max(everything) + 1))  # no hole left


def test_stored_frames_are_split_for_a_smaller_mtu(scenarios: dict[str, Any]) -> None:
    info, frames = scenarios["mtu"]
    result, first, count = response(info["resp"])
    assert (result, first, count) == (protocol.RESULT_SUCCESS, *info["asked"])
    live, resent = split(frames, 1)
    per = protocol.samples_per_frame(100)
    assert per == 6
    assert all(f["count"] <= per and f["size"] <= 100 - 3 for f in resent)
    assert sorted(by_index(resent)) == list(range(first, first + count))
    assert_resent_match(live, resent)


def test_a_small_ring_answers_what_it_still_has(scenarios: dict[str, Any]) -> None:
    info, frames = scenarios["small_ring"]
    newest, span = info["newest"], info["span"]
    assert info["ring"] == 8192 and 500 < span < 700  # 33 frames of 19 samples
    result, first, count = response(info["old"])
    assert result == protocol.RESULT_NOT_AVAILABLE
    assert first == newest - span  # the oldest sample still kept (a frame start)
    assert first + count == newest - 200  # the end asked for
    assert response(info["gone"]) == (protocol.RESULT_NOT_AVAILABLE, 0, 0)
    assert response(info["future"]) == (protocol.RESULT_NOT_AVAILABLE, newest - 10, 10)
    live, resent = split(frames, 1)
    got = sorted(by_index(resent))
    assert got == list(range(first, first + count)) + list(range(newest - 10, newest))
    assert_resent_match(live, resent)


def test_queue_full_is_busy_and_bad_requests_are_refused(scenarios: dict[str, Any]) -> None:
    info, frames = scenarios["busy"]
    answers = [response(h) for h in info["busy"]]
    assert [a[0] for a in answers] == [protocol.RESULT_SUCCESS] * 4 + [protocol.RESULT_BUSY]
    assert answers[4][2] == 0
    assert bytes.fromhex(info["zero"]) == bytes(
        (protocol.RESPONSE_CODE, protocol.OP_RESEND, protocol.RESULT_INVALID_PARAMETER)
    )
    assert bytes.fromhex(info["short"])[2] == protocol.RESULT_BAD_LENGTH
    _live, resent = split(frames)
    assert sum(f["count"] for f in resent) == 4 * 19  # the four queued ranges, nothing else


def test_backfill_never_exceeds_its_budget(scenarios: dict[str, Any]) -> None:
    info, _frames = scenarios["budget"]
    assert info["max_per_pass"] <= 4
    assert 0 < info["resent"] <= 2 * info["live"] + 8  # two per live frame, eight saved up


def test_resending_allocates_nothing(scenarios: dict[str, Any]) -> None:
    info, _frames = scenarios["locked"]
    # served under micropython.heap_lock() with gc.mem_alloc() unchanged (checked there)
    assert info["resent"] >= 60 and info["pending"] == 0
    assert info["notified"] >= info["resent"]


def test_the_ring_runs_the_same_under_cpython(run_mp: MpRunner) -> None:
    """The benchmark models the firmware with this very module under CPython."""
    import os
    import subprocess
    import sys

    from tests.firmware.conftest import FIRMWARE, HERE

    mp_out = run_mp("mp_backfill_twin.py")
    env = dict(os.environ, PYTHONPATH=str(FIRMWARE))
    cp = subprocess.run(
        [sys.executable, str(HERE / "mp_backfill_twin.py")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    assert cp.stdout == mp_out
    lines = mp_out.splitlines()
    results = [
        protocol.decode_resend_response(bytes.fromhex(ln.split()[1]))
        for ln in lines
        if ln.startswith("resp")
    ]
    assert [r[0] for r in results if r] == [1, 7, 7, 7, 1]
    sent = [(ln[0], parse(bytes.fromhex(ln.split()[1]))) for ln in lines if ln[:2] in ("1 ", "2 ")]
    assert len(sent) > 30 and all(f["flags2"] & protocol.FLAG2_BACKFILL for _, f in sent)
    small = [f["count"] for conn, f in sent if conn == "2"]  # the central at MTU 60
    assert small and max(small) <= protocol.samples_per_frame(60) == 3
