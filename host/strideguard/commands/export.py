"""``strideguard export REC`` — a raw-frame recording to CSV (gaitmap columns) and JSON."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``export`` parser."""
    from strideguard.commands.history import add_db_argument

    p = subparsers.add_parser(
        "export",
        help="convert a .sgrec recording to CSV (time_s, acc_*, gyr_*) and a JSON summary, "
        "or a run to a FIT activity file (--fit)",
        description="Convert a raw-frame recording to CSV in the gaitmap column convention "
        "(time_s, acc_x..z in m/s², gyr_x..z in °/s; sensor frame, time from the board's sample clock) "
        "plus a JSON file with the stream report (gaps, duplicates, rejected frames) and events. "
        "With --fit, write a run as a FIT activity file (Garmin Connect, Strava, TrainingPeaks): "
        "RUN is a run number from `strideguard history`, 'last', or a recording/CSV file.",
    )
    p.add_argument(
        "recording",
        metavar="RUN|FILE",
        help="the .sgrec file; with --fit also a run number or 'last'",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="output folder (default: next to the recording)"
    )
    p.add_argument(
        "--fit",
        type=Path,
        default=None,
        metavar="OUT.fit",
        help="write a FIT activity file instead (cadence in strides/min, as FIT wants it)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="what to print")
    add_db_argument(p)
    p.set_defaults(_run=run)


def run_fit(args: argparse.Namespace) -> int:
    """``export RUN --fit OUT``: a stored run (or a file, analysed on the fly) as FIT."""
    from strideguard.history import History
    from strideguard.history.fit import write_fit
    from strideguard.history.ingest import record_from_file
    from strideguard.userdirs import history_path

    source = str(args.recording)
    if Path(source).is_file():
        record = record_from_file(source)
    else:
        with History(history_path(args.db), create=False) as h:
            record = h.load_run(h.resolve(source))
    out = write_fit(record, args.fit)
    if args.format == "json":
        print(json.dumps({"fit": str(out), "run_id": record.run_id}, indent=1))
    else:
        what = f"run {record.run_id}" if record.run_id is not None else source
        print(f"{what} -> {out} (FIT activity; cadence in strides/min)")
    return 0


def run(args: argparse.Namespace) -> int:
    """Export every sensor stream of the recording (or a run as FIT with ``--fit``)."""
    from strideguard.atomic import AtomicOutputs
    from strideguard.errors import InputError
    from strideguard.recording import read_recording

    if args.fit is not None:
        return run_fit(args)
    args.recording = Path(args.recording)

    rec = read_recording(args.recording)
    out_dir: Path = args.out or args.recording.parent
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {out_dir}: {exc.strerror or exc}") from exc
    names = rec.header.get("sensors") or []
    written: list[dict[str, object]] = []
    # every file whole, or none of them
    with AtomicOutputs(what=str(out_dir)) as out:
        _export_streams(args, rec, names, out, out_dir, written)
    if not written:
        raise InputError(f"{args.recording}: no decodable frames to export")
    if args.format == "json":
        print(json.dumps(written, indent=1))
    else:
        for info in written:
            s = info["stream"]
            assert isinstance(s, dict)
            print(
                f"{info['sensor']}: {info['samples']} samples at {float(info['sample_rate_hz']):.2f} Hz "  # type: ignore[arg-type]
                f"({s['samples_lost']} lost in {len(s['gaps'])} gaps) -> {out_dir / str(info['csv'])}"
            )
            for line in info["file_damage"]:  # type: ignore[attr-defined]
                print(f"  recording damaged: {line}")
    return 0


def _export_streams(
    args: argparse.Namespace,
    rec: Any,
    names: list[Any],
    out: Any,
    out_dir: Path,
    written: list[dict[str, object]],
) -> None:
    """Write each sensor's CSV and JSON through ``out`` (an AtomicOutputs)."""
    from strideguard.frames import fit_timebase, to_recording
    from strideguard.imudata import write_csv
    from strideguard.recording import damage_warnings, decode_stream

    for stream in rec.streams():
        decoded = decode_stream(rec, stream)
        if decoded.n_samples == 0:
            continue
        label = str(names[stream]) if stream < len(names) else f"sensor{stream}"
        imu = to_recording(decoded, source=label)
        # the name came over the air: it must not pick the folder or the file type
        stem = f"{args.recording.stem}_{file_safe(label)}"
        csv_path = out_dir / f"{stem}.csv"
        json_path = out_dir / f"{stem}.json"
        tb = fit_timebase(decoded)
        info = {
            "schema": "strideguard.export/1",
            "recording": args.recording.name,
            "sensor": label,
            "samples": imu.n_samples,
            "sample_rate_hz": tb.rate_hz,
            "nominal_rate_hz": tb.nominal_rate_hz,
            "clock_error_pct": round(tb.rate_error_pct, 4),
            "stream": decoded.report.to_dict(),
            "gaps_s": imu.gaps,
            "pain_marks_s": imu.pain_marks_s.tolist(),
            "events": [{"arrival_s": t, **e} for t, s, e in rec.events if s == stream],
            "file_damage": damage_warnings(rec, decoded),
            "csv": csv_path.name,
        }
        write_csv(imu, out.path(csv_path))
        out.path(json_path).write_text(json.dumps(info, indent=1), encoding="utf-8")
        written.append(info)


def file_safe(name: str, limit: int = 40) -> str:
    """``name`` as a file-name part: letters, digits, ``-`` and ``_`` only (others become ``_``).

    >>> file_safe("StrideGuard-L")
    'StrideGuard-L'
    >>> file_safe("../../etc/passwd")
    '______etc_passwd'
    """
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:limit]
    return safe or "sensor"
