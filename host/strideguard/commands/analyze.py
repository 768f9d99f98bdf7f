"""``strideguard analyze FILE``: strides, late swing and overstride from a recording.

A raw recording of two sensors, one per leg, also gives the run's left/right
symmetry, from the live path's code (:mod:`strideguard.legpair`); so do two
files, one per leg (``--pair OTHER``), once their clocks are matched
(``--pair-offset-s``, or by the stride rhythms: :mod:`strideguard.legclock`).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strideguard.cliargs import real, whole

if TYPE_CHECKING:
    from strideguard.alerts.policy import AlertPolicy
    from strideguard.metrics import StrideTable


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``analyze`` parser."""
    p = subparsers.add_parser(
        "analyze",
        help="analyse a recording: stride events, late swing, overstride, metrics",
        description="Analyse a shin-IMU recording (CSV with time_s, acc_x..z in m/s², gyr_x..z in °/s).",
    )
    p.add_argument(
        "file", type=Path, nargs="?", metavar="FILE", help="recording (.csv or raw .sgrec)"
    )
    p.add_argument(
        "--example",
        action="store_true",
        help="analyse the sample recording shipped with strideguard (real lab data, right shin)",
    )
    p.add_argument(
        "--standing", type=Path, metavar="FILE", help="quiet-standing recording for calibration"
    )
    p.add_argument("--leg", choices=("L", "R"), help="which leg wears the sensor (label only)")
    p.add_argument(
        "--sensor",
        type=whole(0, 255),
        default=0,
        metavar="N",
        help="sensor number in a raw recording (0-255); with a sensor on each leg, the leg "
        "reported (the left/right symmetry is added)",
    )
    p.add_argument(
        "--pair",
        type=Path,
        metavar="OTHER",
        help="the other leg's recording of the same run (a CSV: one file per shin; FILE's leg "
        "with --leg): the left/right symmetry is added",
    )
    p.add_argument(
        "--pair-offset-s",
        type=real(-1e10, 1e10),
        metavar="S",
        help="--pair: seconds to add to OTHER's times to put them on FILE's clock (0 when both "
        "share one clock); default: matched by the two legs' stride rhythms, refused if they "
        "do not identify it",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="output on stdout")
    p.add_argument(
        "--out", type=Path, metavar="DIR", help="write strides.csv and analysis.json to DIR"
    )
    p.add_argument(
        "--alert-config",
        type=Path,
        metavar="FILE",
        help="alert settings (TOML or JSON, docs/alerts.md)",
    )
    p.add_argument(
        "--baseline", type=Path, metavar="FILE", help="stored personal baseline profile (JSON)"
    )
    p.add_argument(
        "--save-baseline", type=Path, metavar="FILE", help="save the baseline learned from this run"
    )
    p.set_defaults(_run=run)


#: the sample shipped in the package (``strideguard/samples``, see its README)
EXAMPLE = "RBDS0041_T25_R_mpu"


def example_files() -> tuple[Path, Path]:
    """The shipped sample recording and its standing-calibration file."""
    folder = Path(__file__).resolve().parent.parent / "samples"
    return folder / f"{EXAMPLE}.csv", folder / f"{EXAMPLE}.standing.csv"


def _strides_csv(strides: StrideTable) -> str:
    """The exported stride columns as CSV: numbers as ``%.6g`` (NaN ``nan``), categories by name."""
    import numpy as np

    from strideguard.metrics import EXPORTED_STRIDE_COLUMNS, STRIDE_COLUMNS

    names = list(EXPORTED_STRIDE_COLUMNS)
    cats = {c.name: c.categories for c in STRIDE_COLUMNS if c.categories}
    cells: list[list[str]] = []
    for name in names:
        col = strides.columns[name]
        if name in cats:
            cells.append([cats[name][int(v)] if np.isfinite(v) else "" for v in col])
        else:
            cells.append([f"{v:.6g}" for v in col.tolist()])
    lines = [",".join(names), *(",".join(row) for row in zip(*cells, strict=True))]
    return "\n".join(lines) + "\n"


def _pairs_csv(rows: list[dict[str, Any]]) -> str:
    """A two-leg run's stride pairs (``symmetry.stride_pairs``) as CSV (unknown: ``nan``)."""
    from strideguard.legpair import PAIR_COLUMNS

    lines = [",".join(PAIR_COLUMNS)]
    lines += [
        ",".join("nan" if r.get(c) is None else f"{r[c]:.6g}" for c in PAIR_COLUMNS) for r in rows
    ]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Run the analysis and print or write the result."""
    from strideguard.analysis import analyze
    from strideguard.errors import InputError
    from strideguard.load import load_recording

    if args.example:
        if args.file is not None:
            raise InputError("give either FILE or --example, not both")
        args.file, example_standing = example_files()
        if args.standing is None:
            args.standing = example_standing
            args.leg = args.leg or "R"
    elif args.file is None:
        raise InputError("which recording? give FILE (or --example for the shipped sample)")
    from strideguard.alerts import PersonalBaseline, load_config
    from strideguard.alerts.offline import alerts_for_strides
    from strideguard.atomic import check_writable

    # every option file and output place is checked before the (long) analysis
    config = load_config(args.alert_config)
    baseline = PersonalBaseline.load(args.baseline) if args.baseline else None
    if args.save_baseline is not None:
        check_writable(args.save_baseline, "--save-baseline")
    if args.out is not None:
        _check_out_dir(args.out)
    from strideguard.legpair import recording_legs

    legs = recording_legs(args.file)
    _check_pair_options(args, legs)
    if legs is not None:
        leg_of = {stream: leg for leg, stream in legs.items()}
        if args.sensor not in leg_of:
            raise InputError(f"{args.file}: no sensor {args.sensor} (it has sensors 0 and 1)")
        if args.leg is not None and args.leg != leg_of[args.sensor]:
            raise InputError(
                f"{args.file}: sensor {args.sensor} is the {'left' if leg_of[args.sensor] == 'L' else 'right'} "
                "leg's (--leg disagrees)"
            )
        args.leg = leg_of[args.sensor]
    rec, report = load_recording(args.file, stream=args.sensor)
    standing = None
    warnings = list(report.warnings)
    if args.standing is not None:
        # any length: the aligner judges the standing data by how well it fixes gravity
        standing, srep = load_recording(args.standing, min_duration_s=0.0)
        warnings.extend(f"standing file: {w}" for w in srep.warnings)
    result = analyze(rec, standing=standing, leg=args.leg, warnings=warnings, alert_config=config)
    calibrated = bool(result.alignment.calibrated) if result.alignment else False
    policy: AlertPolicy | None = None
    if legs is not None:
        # two legs: both policies and the symmetry monitor, as the live run has them
        # (None when the other leg gives nothing to pair with: this leg alone then)
        policy = _two_legs(args, legs, rec, result, calibrated, config, baseline)
    elif args.pair is not None:
        # two files, one per leg: the same, once their clocks are matched (or refused)
        policy = _two_files(args, rec, result, calibrated, config, baseline)
    if policy is None:
        # the same policy the live path runs, stride by stride
        policy = alerts_for_strides(
            result.strides.rows(),
            pain_marks_s=rec.pain_marks_s,
            acknowledgements=rec.acknowledgements,
            gaps=rec.gaps,
            config=config,
            baseline=baseline,
            leg=args.leg,
            angle_calibrated=calibrated,
            end_time_s=float(rec.time_s[-1]),
        )
    result.alerts = [a.to_dict() for a in policy.alerts_]
    if args.save_baseline is not None:
        if policy.baseline_ is None:
            raise InputError(
                "the run is too short to learn a baseline (needs about 3 minutes of running)"
            )
        policy.baseline_.save(args.save_baseline)
    if args.out is not None:
        _write_out(args.out, result)
    if args.format == "json":
        sys.stdout.write(result.to_json() + "\n")
    else:
        sys.stdout.write(result.to_text() + "\n")
        shown = [a for a in policy.alerts_ if a.state.value in ("raised", "escalated")]
        sys.stdout.write(f"  alerts             {len(shown)}\n")
        for a in shown:
            sys.stdout.write(f"    {a.one_line()}\n")
        if args.out is not None:
            extra = f", {args.out / 'pairs.csv'}" if result.symmetry is not None else ""
            sys.stdout.write(
                f"wrote {args.out / 'strides.csv'}{extra} and {args.out / 'analysis.json'}\n"
            )
    return 0


def _two_legs(
    args: argparse.Namespace,
    legs: dict[str, int],
    rec: Any,
    result: Any,
    calibrated: bool,
    config: Any,
    baseline: Any,
) -> AlertPolicy | None:
    """Analyse the other leg too, run both through the live path's symmetry code
    (:func:`~strideguard.alerts.offline.alerts_for_pair`), set ``result.symmetry``;
    return the policy of the leg ``result`` is about (``None``, with a warning,
    when the other leg cannot be analysed: no symmetry then)."""
    from strideguard.analysis import analyze
    from strideguard.errors import InputError
    from strideguard.legpair import recording_host_offset_s
    from strideguard.load import load_recording

    leg = str(args.leg)
    other = "L" if leg == "R" else "R"
    try:
        orec, oreport = load_recording(args.file, stream=legs[other])
        # the other sensor calibrates from its own standing at the start (no --standing for it)
        ores = analyze(orec, leg=other, warnings=list(oreport.warnings), alert_config=config)
    except InputError as exc:
        side = "left" if other == "L" else "right"
        result.warnings.append(f"no left/right symmetry: the {side} sensor: {exc}")
        return None
    recs = {leg: rec, other: orec}
    results = {leg: result, other: ores}
    offsets = {k: recording_host_offset_s(args.file, s) for k, s in legs.items()}
    return _pair_policies(leg, recs, results, calibrated, config, baseline, offsets)


def _check_pair_options(args: argparse.Namespace, legs: dict[str, int] | None) -> None:
    """``--pair`` and ``--pair-offset-s``: what they need, checked before the analysis."""
    from strideguard.errors import InputError

    if args.pair is None:
        if args.pair_offset_s is not None:
            raise InputError("--pair-offset-s is for --pair OTHER (two files, one per leg)")
        return
    if legs is not None:
        raise InputError(f"--pair: {args.file} already holds both legs (use --sensor N)")
    if args.leg is None:
        raise InputError(
            f"--pair: say which leg {args.file} is (--leg L or R); {args.pair} is the other one"
        )
    if not args.pair.is_file():
        raise InputError(f"--pair {args.pair}: no such file")
    if args.pair.resolve() == Path(args.file).resolve():
        raise InputError("--pair: the other leg's file, not FILE again")


def _two_files(
    args: argparse.Namespace,
    rec: Any,
    result: Any,
    calibrated: bool,
    config: Any,
    baseline: Any,
) -> AlertPolicy:
    """``--pair OTHER``: analyse the other leg's file, put it on FILE's clock, pair the legs.

    The clock offset is ``--pair-offset-s``, or matched by the stride rhythms
    (:func:`strideguard.legclock.rhythm_offset_s`); when neither works the
    pairing is refused with one line (exit 2), never guessed.
    """
    from strideguard.analysis import analyze
    from strideguard.errors import InputError
    from strideguard.legclock import rhythm_offset_s
    from strideguard.load import load_recording

    leg = str(args.leg)
    other = "L" if leg == "R" else "R"
    try:
        orec, oreport = load_recording(args.pair)
        ores = analyze(orec, leg=other, warnings=list(oreport.warnings), alert_config=config)
    except InputError as exc:
        raise InputError(f"--pair: {exc}") from None
    if args.pair_offset_s is not None:
        offset = float(args.pair_offset_s)
        pairing: dict[str, Any] = {"method": "given", "offset_s": round(offset, 4)}
    else:
        ic = {leg: result.strides["initial_contact_s"], other: ores.strides["initial_contact_s"]}
        try:
            m = rhythm_offset_s(ic["R"], ic["L"])  # the left leg's times onto the right's clock
        except InputError as exc:
            raise InputError(
                f"--pair: cannot pair {args.file} and {args.pair}: {exc}; give --pair-offset-s S "
                f"(seconds to add to {args.pair.name}'s times to put them on "
                f"{Path(args.file).name}'s clock, 0 if they share one)"
            ) from None
        offset = m.offset_s if other == "L" else -m.offset_s
        pairing = {
            "method": "stride rhythm",
            "offset_s": round(offset, 4),
            "match": round(m.match, 3),
            "peak_sd": round(m.peak_z, 1),
            "strides_compared": m.strides,
            "drift_s": round(m.drift_s, 4),
        }
    t_this = (float(rec.time_s[0]), float(rec.time_s[-1]))
    t_other = (float(orec.time_s[0]) + offset, float(orec.time_s[-1]) + offset)
    overlap_s = min(t_this[1], t_other[1]) - max(t_this[0], t_other[0])
    if overlap_s < 10.0:
        raise InputError(
            f"--pair: with an offset of {offset:+.3f} s the two files overlap "
            f"{max(overlap_s, 0.0):.1f} s (at least 10 s needed to pair their strides)"
        )
    policy = _pair_policies(
        leg,
        {leg: rec, other: orec},
        {leg: result, other: ores},
        calibrated,
        config,
        baseline,
        {leg: 0.0, other: offset},
    )
    assert result.symmetry is not None
    if result.symmetry["pairs"] == 0:
        raise InputError(f"--pair: no stride of {args.pair} pairs with one of {args.file}")
    result.symmetry["pairing"] = {"file": str(args.pair), **pairing}
    return policy


def _pair_policies(
    leg: str,
    recs: dict[str, Any],
    results: dict[str, Any],
    calibrated: bool,
    config: Any,
    baseline: Any,
    offsets: dict[str, float],
) -> AlertPolicy:
    """Both legs through the live path's symmetry code on one clock (``offsets`` per leg);
    sets ``results[leg].symmetry`` and returns ``leg``'s policy."""
    from strideguard.alerts.offline import alerts_for_pair
    from strideguard.legpair import symmetry_block

    other = "L" if leg == "R" else "R"
    result, ores = results[leg], results[other]
    monitor = alerts_for_pair(
        {k: r.strides.rows() for k, r in results.items()},
        pain_marks_s={k: r.pain_marks_s for k, r in recs.items()},
        gaps={k: r.gaps for k, r in recs.items()},
        acknowledgements={k: r.acknowledgements for k, r in recs.items()},
        config=config,
        baselines={leg: baseline, other: baseline},
        angle_calibrated={
            leg: calibrated,
            other: bool(ores.alignment.calibrated) if ores.alignment else False,
        },
        offsets_s=offsets,
        keep_pairs=True,
    )
    for k, r in recs.items():
        monitor.policies[k].finish(float(r.time_s[-1]))
    result.symmetry = symmetry_block(monitor)
    base = monitor.policies[leg].baseline_
    if base is not None and base.source == "learned" and monitor.model_source_ == "learned":
        # --save-baseline keeps the runner's own balance with it, as the live run stores it
        base.symmetry = monitor.balance_for(leg)
    return monitor.policies[leg]


def _write_out(folder: Path, result: Any) -> None:
    """``strides.csv`` and ``analysis.json`` in ``folder``: both whole, or neither."""
    from strideguard.atomic import AtomicOutputs
    from strideguard.errors import InputError

    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {folder}: {exc.strerror or exc}") from None
    try:
        with AtomicOutputs(what=f"to {folder}") as out:
            out.path(folder / "analysis.json").write_text(result.to_json() + "\n", encoding="utf-8")
            out.path(folder / "strides.csv").write_text(
                _strides_csv(result.strides), encoding="utf-8"
            )
            if result.symmetry is not None:
                out.path(folder / "pairs.csv").write_text(
                    _pairs_csv(result.symmetry["stride_pairs"]), encoding="utf-8"
                )
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: we made it for these files
        raise


def _check_out_dir(out: Path) -> None:
    """``--out DIR`` must be (or become) a folder we can write in; nothing is created yet."""
    from strideguard.atomic import check_writable
    from strideguard.errors import InputError

    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    existing = out
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"--out {out}: {existing} is not a folder")
    check_writable(existing / "analysis.json", "--out")
