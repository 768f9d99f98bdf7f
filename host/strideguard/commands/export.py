"""``strideguard export REC`` — a raw-frame recording to CSV (gaitmap columns) and JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``export`` parser."""
    p = subparsers.add_parser(
        "export",
        help="convert a .sgrec recording to CSV (time_s, acc_*, gyr_*) and a JSON summary",
        description="Convert a raw-frame recording to CSV in the gaitmap column convention "
        "(time_s, acc_x..z in m/s², gyr_x..z in °/s; sensor frame, time from the board's sample clock) "
        "plus a JSON file with the stream report (gaps, duplicates, rejected frames) and events.",
    )
    p.add_argument("recording", type=Path, help="the .sgrec file")
    p.add_argument(
        "--out", type=Path, default=None, help="output folder (default: next to the recording)"
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="what to print")
    p.set_defaults(_run=run)


def run(args: argparse.Namespace) -> int:
    """Export every sensor stream of the recording."""
    from strideguard.errors import InputError
    from strideguard.frames import fit_timebase, to_recording
    from strideguard.imudata import write_csv
    from strideguard.recording import damage_warnings, decode_stream, read_recording

    rec = read_recording(args.recording)
    out_dir: Path = args.out or args.recording.parent
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {out_dir}: {exc.strerror or exc}") from exc
    names = rec.header.get("sensors") or []
    written: list[dict[str, object]] = []
    for stream in rec.streams():
        decoded = decode_stream(rec, stream)
        if decoded.n_samples == 0:
            continue
        label = str(names[stream]) if stream < len(names) else f"sensor{stream}"
        imu = to_recording(decoded, source=label)
        stem = f"{args.recording.stem}_{label}"
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
        try:
            write_csv(imu, csv_path)
            json_path.write_text(json.dumps(info, indent=1))
        except OSError as exc:
            raise InputError(f"cannot write {out_dir}: {exc.strerror or exc}") from exc
        written.append(info)
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
