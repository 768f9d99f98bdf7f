"""Run history, report and FIT export on a one-hour two-sensor run (issue 17's targets).

The hour is a simulated 10-minute two-sensor run (the demo scenario: overstriding and a
guarded right leg, so it has alerts) analysed by the real import path and repeated six
times, about 10,000 strides in all. Adding it at the end of a live run also reads the
run's recording back (its SHA-256 and the sensors' status records), measured on a
one-hour two-sensor ``.sgrec``. Best of three untimed-by-anything-else runs; each line
says how the number compares with its target ("met" / "not met"); nothing is asserted.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

#: issue 17's targets
ADD_TARGET_S = 2.0
LIST_TARGET_S = 0.5
REPORT_TARGET_S = 5.0
DB_TARGET_MB_PER_HOUR = 5.0


def _best(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _line(name: str, value: float, unit: str, target: float) -> None:
    verdict = "met" if value <= target else "not met"
    print(
        f"{name:46s} {value:8.3f} {unit:5s} target ≤ {target:g} {unit} ({value / target:5.2f} × target): {verdict}"
    )


def hour_record() -> Any:
    """A one-hour two-sensor run record (~10,000 strides)."""
    from strideguard.history.ingest import record_from_imus
    from strideguard_devkit.sim import simulate_pair

    left, right = simulate_pair("demo", duration_s=600.0, rate_hz=500, seed=3)
    ten = record_from_imus(
        [(0, "StrideGuard-L", "L", left.recording), (1, "StrideGuard-R", "R", right.recording)],
        started_utc=datetime(2026, 3, 2, 7, 0, tzinfo=UTC),
    )
    for leg in ten.legs:
        parts = {k: [] for k in leg.strides}
        alerts = []
        for rep in range(6):
            shift = rep * 600.0
            for k, v in leg.strides.items():
                parts[k].append(
                    v + shift
                    if k.endswith("_s") and k.startswith(("initial", "toe", "mid", "next"))
                    else v
                )
            alerts += [{**a, "time_s": a["time_s"] + shift} for a in leg.alerts]
        leg.strides = {k: np.concatenate(v) for k, v in parts.items()}
        leg.alerts = alerts
    ten.duration_s = 3600.0
    return ten


def hour_sgrec(path: Path) -> None:
    """A one-hour two-sensor recording at 500 Hz, MTU 247, with status records."""
    from strideguard import protocol as proto
    from strideguard.frames import encode_frames
    from strideguard.recording import RecordingWriter

    rng = np.random.default_rng(0)
    n = 3600 * 500
    status = bytearray(proto.STATUS_SIZE)
    proto.pack_status(status, (1, 1, 500, 1, 80, 3900, 0, 1, 0, 247, 0, 0, 0, 0, 0, 0, 0, 170, 0))
    with RecordingWriter(
        path, {"sensors": ["StrideGuard-L", "StrideGuard-R"], "mode": "live"}
    ) as w:
        for stream in (0, 1):
            raw = rng.integers(-3000, 3000, size=(n, 6), dtype=np.int64)
            for i, f in enumerate(encode_frames(raw, rate_hz=500, mtu=247)):
                w.append_frame(f, arrival_s=i * 0.038, stream=stream)
                if i % 26 == 0:
                    w.append_status(bytes(status), arrival_s=i * 0.038, stream=stream)


def run() -> None:
    """Print the history, listing, report and size numbers against their targets."""
    from strideguard.cli import main
    from strideguard.history import History
    from strideguard.history.fit import encode_fit
    from strideguard.history.ingest import firmware_versions, sha256_hex
    from strideguard.history.record import LegRun, RunRecord
    from strideguard.recording import read_recording
    from strideguard.report.run import run_report_html

    t0 = time.perf_counter()
    record = hour_record()
    n = sum(leg.n_strides for leg in record.legs)
    print(
        f"one hour, two sensors: {n} strides, {sum(len(leg.alerts) for leg in record.legs)} alert events "
        f"(built in {time.perf_counter() - t0:.1f} s)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        rec_path = tmpdir / "hour.sgrec"
        hour_sgrec(rec_path)
        print(f"(one-hour two-sensor recording: {rec_path.stat().st_size / 2**20:.0f} MB)")

        def read_back() -> Any:
            rec = read_recording(rec_path)
            return sha256_hex(rec.buffer), firmware_versions(rec)

        t_read, _ = _best(read_back)
        k = [0]

        def add() -> Any:
            k[0] += 1
            db = tmpdir / f"add{k[0]}.sqlite"
            with History(db) as h:
                return h.add_run(record)

        t_add, _ = _best(add)
        print(f"{'  reading the recording back (hash, status)':46s} {t_read:8.3f} s")
        print(f"{'  database transaction':46s} {t_add:8.3f} s")
        _line("history add of a 1-hour two-sensor run", t_read + t_add, "s", ADD_TARGET_S)

        db = tmpdir / "add1.sqlite"
        with History(db) as h:
            h.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size_mb = db.stat().st_size / 2**20
        _line("database size per hour of two-sensor running", size_mb, "MB", DB_TARGET_MB_PER_HOUR)

        def report() -> str:
            with History(db) as h:
                return run_report_html(h.load_run(1))

        t_rep, html = _best(report)
        _line("report of a 1-hour run (load + HTML + plots)", t_rep, "s", REPORT_TARGET_S)
        print(f"{'  report size':46s} {len(html) / 1024:8.0f} kB")
        t_fit, data = _best(lambda: encode_fit(record))
        print(f"{'FIT export of the hour':46s} {t_fit:8.3f} s  ({len(data) / 1024:.0f} kB)")

        # 1,000 runs of a year and a half
        big = tmpdir / "thousand.sqlite"
        small = {key: v[:40] for key, v in record.legs[0].strides.items()}
        with History(big) as h:
            for i in range(1000):
                h.add_run(
                    RunRecord(
                        started_utc=datetime(2025, 1, 1, 7, 0, tzinfo=UTC)
                        + timedelta(hours=13 * i),
                        duration_s=1800.0,
                        source="import",
                        legs=[
                            LegRun(0, "StrideGuard-R", "R", small, alerts=record.legs[1].alerts[:2])
                        ],
                        fingerprint=f"run{i}",
                    )
                )
        t_list, rows = _best(lambda: History(big).list_runs())
        _line(f"listing {len(rows)} runs (database)", t_list, "s", LIST_TARGET_S)

        def command(fmt: str) -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                main(["history", "--db", str(big), "--format", fmt])

        t_cmd, _ = _best(lambda: command("text"))
        _line("`strideguard history` of 1,000 runs (in process)", t_cmd, "s", LIST_TARGET_S)
        t_json, _ = _best(lambda: command("json"))
        _line("`strideguard history --format json` (in process)", t_json, "s", LIST_TARGET_S)
