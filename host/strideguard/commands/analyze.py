"""``strideguard analyze FILE``: strides, late swing and overstride from a recording."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``analyze`` parser."""
    p = subparsers.add_parser(
        "analyze",
        help="analyse a recording: stride events, late swing, overstride, metrics",
        description="Analyse a shin-IMU recording (CSV with time_s, acc_x..z in m/s², gyr_x..z in °/s).",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="recording (.csv or raw .sgrec)")
    p.add_argument(
        "--standing", type=Path, metavar="FILE", help="quiet-standing recording for calibration"
    )
    p.add_argument("--leg", choices=("L", "R"), help="which leg wears the sensor (label only)")
    p.add_argument(
        "--sensor", type=int, default=0, metavar="N", help="sensor number in a raw recording"
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="output on stdout")
    p.add_argument(
        "--out", type=Path, metavar="DIR", help="write strides.csv and analysis.json to DIR"
    )
    p.set_defaults(_run=run)


def run(args: argparse.Namespace) -> int:
    """Run the analysis and print or write the result."""
    import numpy as np

    from strideguard.analysis import JSON_STRIDE_FIELDS, analyze
    from strideguard.errors import InputError
    from strideguard.load import load_recording

    rec, report = load_recording(args.file, stream=args.sensor)
    standing = None
    warnings = list(report.warnings)
    if args.standing is not None:
        standing, srep = load_recording(args.standing)
        warnings.extend(f"standing file: {w}" for w in srep.warnings)
    result = analyze(rec, standing=standing, leg=args.leg, warnings=warnings)
    if args.out is not None:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "analysis.json").write_text(result.to_json() + "\n", encoding="utf-8")
            cols = result.strides.columns
            names = [n for n in JSON_STRIDE_FIELDS if n in cols]
            table = np.column_stack([cols[n] for n in names])
            np.savetxt(
                args.out / "strides.csv",
                table,
                delimiter=",",
                header=",".join(names),
                comments="",
                fmt="%.6g",
            )
        except OSError as exc:
            raise InputError(f"cannot write to {args.out}: {exc.strerror or exc}") from None
    if args.format == "json":
        sys.stdout.write(result.to_json() + "\n")
    else:
        sys.stdout.write(result.to_text() + "\n")
        if args.out is not None:
            sys.stdout.write(f"wrote {args.out / 'strides.csv'} and {args.out / 'analysis.json'}\n")
    return 0
