"""``strideguard simulate`` — synthetic shin-IMU runs with ground truth."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from strideguard.cliargs import SEED_MAX, real, whole
from strideguard.errors import InputError

#: simulated run lengths (s)
DURATION_S = (30.0, 21_600.0)
#: ATT MTUs Bluetooth allows
MTU_RANGE = (23, 517)
#: a probability per frame (1 would lose or repeat every frame)
PROBABILITY = real(0, 1, hi_open=True)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``simulate`` parser."""
    p = subparsers.add_parser(
        "simulate",
        help="simulate a shin sensor running a named scenario (CSV + truth JSON, or frames)",
        description=(
            "Simulate a shin-mounted IMU during a run. Writes OUT (CSV: time_s, acc_* in m/s², "
            "gyr_* in °/s, sensor frame) and OUT's stem + .truth.json (per-stride ground truth, "
            "expected alerts). With --leg both, writes one file pair per leg (.L/.R before the "
            "extension). --frames writes the BLE frame stream as a raw-frame recording."
        ),
    )
    p.add_argument("scenario", nargs="?", help="scenario name (see --list)")
    p.add_argument(
        "--list", action="store_true", help="list the scenarios and their expected alerts"
    )
    p.add_argument(
        "--duration",
        type=real(*DURATION_S),
        default=600.0,
        help="run length in s, 30-21600 (default 600)",
    )
    p.add_argument(
        "--rate",
        type=real(100, 1000),
        default=500.0,
        help="nominal sample rate in Hz, 100-1000 (default 500)",
    )
    p.add_argument(
        "--seed",
        type=whole(0, SEED_MAX),
        default=0,
        help="random seed (same seed, same output)",
    )
    p.add_argument(
        "--runner",
        default=None,
        metavar="KIND",
        help="runner archetype: recreational, heel_overstrider, midfoot_tempo, forefoot, "
        "mixed_strike (default: the scenario's, else recreational)",
    )
    p.add_argument(
        "--lowpass",
        type=real(1, 500),
        default=None,
        metavar="HZ",
        help="make a motion-capture-like virtual IMU: shank signals low-passed at HZ (e.g. 20)",
    )
    p.add_argument("--leg", default="R", help="L, R or both (default R)")
    p.add_argument(
        "--mounting",
        default="random",
        help="sensor mounting: random (from the seed), typical or identity (default random)",
    )
    p.add_argument(
        "--clock-error",
        type=real(-0.05, 0.05),
        default=None,
        help="sample clock error, e.g. 0.01 (default: random within ±1.5 %%)",
    )
    p.add_argument("--out", type=Path, default=None, help="CSV output file")
    p.add_argument("--frames", type=Path, default=None, help="write the frame stream (.sgrec) here")
    p.add_argument(
        "--mtu",
        type=whole(*MTU_RANGE),
        default=247,
        help="ATT MTU for --frames, 23-517 (23 cannot stream)",
    )
    p.add_argument("--loss", type=PROBABILITY, default=0.0, help="random frame loss probability")
    p.add_argument(
        "--burst",
        type=PROBABILITY,
        default=0.0,
        help="probability per frame that a loss burst starts",
    )
    p.add_argument("--duplicate", type=PROBABILITY, default=0.0, help="duplicate frame probability")
    p.add_argument("--reorder", type=PROBABILITY, default=0.0, help="reordered frame probability")
    p.add_argument(
        "--disconnects",
        type=whole(0, 1000),
        default=0,
        help="number of random 2-5 s disconnects",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.set_defaults(_run=run)


def _list(fmt: str, duration_s: float) -> int:
    from strideguard_devkit.sim import list_scenarios

    infos = list_scenarios(duration_s)
    if fmt == "json":
        print(json.dumps(infos, indent=1))
        return 0
    for s in infos:
        print(f"{s['name']}")
        print(f"    {s['description']}")
        must = ", ".join(f"{e['alert']} at {e['onset_s']:.0f} s" for e in s["must_alert"]) or "-"
        print(f"    must alert: {must}")
        print(f"    must not alert: {', '.join(s['must_not_alert']) or '-'}")
    print(f"(onsets for a {duration_s:g} s run)")
    return 0


def _leg_path(path: Path, leg: str, both: bool) -> Path:
    if not both:
        return path
    return path.with_name(f"{path.stem}.{leg}{path.suffix}")


def run(args: argparse.Namespace) -> int:
    """Run the simulator."""
    if args.list:
        return _list(args.format, args.duration)
    from strideguard import protocol as proto
    from strideguard.atomic import AtomicOutputs, check_writable
    from strideguard_devkit.sim import SCENARIOS, simulate, simulate_pair
    from strideguard_devkit.sim.transport import LinkFaults, make_frames, write_frames_file

    if not args.scenario:
        raise InputError("name a scenario (see `strideguard simulate --list`)")
    if args.scenario not in SCENARIOS:
        raise InputError(f"unknown scenario {args.scenario!r}; known: {', '.join(SCENARIOS)}")
    leg = str(args.leg).upper()
    if leg not in ("L", "R", "BOTH"):
        raise InputError(f"--leg must be L, R or both, not {args.leg!r}")
    if args.mounting not in ("random", "typical", "identity"):
        raise InputError(f"--mounting must be random, typical or identity, not {args.mounting!r}")
    from strideguard_devkit.sim.athlete import ARCHETYPES

    if args.runner is not None and args.runner not in ARCHETYPES:
        raise InputError(f"unknown runner {args.runner!r}; known: {', '.join(ARCHETYPES)}")
    if args.lowpass is not None and not (1.0 <= args.lowpass < args.rate / 2):
        raise InputError(f"--lowpass must be between 1 Hz and half the rate, not {args.lowpass:g}")
    if args.out is None and args.frames is None:
        raise InputError("give --out FILE.csv and/or --frames FILE.sgrec")
    faults = None
    if args.frames is not None:
        if args.rate not in proto.SUPPORTED_RATES_HZ:
            rates = ", ".join(map(str, proto.SUPPORTED_RATES_HZ))
            raise InputError(f"--frames needs a board rate ({rates} Hz), not {args.rate:g}")
        if proto.samples_per_frame(args.mtu) == 0:
            raise InputError(
                f"MTU {args.mtu} cannot carry one sample (needs >= 31): the board does not stream"
            )
        if args.frames.exists():
            raise InputError(f"{args.frames} exists; not overwriting a recording")
        try:
            faults = LinkFaults(
                loss_rate=args.loss,
                burst_rate=args.burst,
                duplicate_rate=args.duplicate,
                reorder_rate=args.reorder,
                random_disconnects=args.disconnects,
            )
        except ValueError as exc:
            raise InputError(str(exc)) from None
    if args.out is not None:
        check_writable(args.out, "--out")

    common: dict[str, Any] = {
        "duration_s": args.duration,
        "rate_hz": args.rate,
        "seed": args.seed,
        "mounting": args.mounting,
        "clock_error": args.clock_error,
        "runner": args.runner,
        "lowpass_hz": args.lowpass,
    }
    if leg == "BOTH":
        runs = list(zip(("L", "R"), simulate_pair(args.scenario, **common), strict=True))
    else:
        runs = [(leg, simulate(args.scenario, leg=leg, **common))]

    summary: dict[str, Any] = {"scenario": args.scenario, "seed": args.seed, "outputs": []}
    # every file whole, or none of them (a full disk leaves nothing behind)
    what = " and ".join(str(p) for p in (args.out, args.frames) if p is not None)
    with AtomicOutputs(what=what) as outputs:
        for name, r in runs:
            entry: dict[str, Any] = {
                "leg": name,
                "samples": r.recording.n_samples,
                "strides": r.truth.n_strides,
            }
            if args.out is not None:
                path = _leg_path(args.out, name, leg == "BOTH")
                truth_path = r.write(path, outputs)
                entry.update(csv=str(path), truth=str(truth_path))
            summary["outputs"].append(entry)
        if args.frames is not None:
            streams = [
                make_frames(r, mtu=args.mtu, faults=faults, seed=args.seed + i)
                for i, (_, r) in enumerate(runs)
            ]
            n = write_frames_file(
                args.frames,
                streams,
                sensors=[f"StrideGuard-{name}" for name, _ in runs],
                meta={
                    "scenario": args.scenario,
                    "seed": args.seed,
                    "legs": [name for name, _ in runs],
                    "link_truth": [s.truth.to_dict() for s in streams],
                },
                outputs=outputs,
            )
            summary["frames"] = {"file": str(args.frames), "frames": n}
    if args.format == "json":
        print(json.dumps(summary, indent=1))
    else:
        for e in summary["outputs"]:
            where = f" -> {e['csv']} + {e['truth']}" if "csv" in e else ""
            print(
                f"{args.scenario} leg {e['leg']}: {e['samples']} samples, {e['strides']} strides{where}"
            )
        truth = runs[-1][1].truth
        must = ", ".join(f"{e['alert']} at {e['onset_s']:.0f} s" for e in truth.must_alert)
        print(
            f"expected alerts: {must or 'none'}; must not: {', '.join(truth.must_not_alert) or '-'}"
        )
        if "frames" in summary:
            print(f"frames: {summary['frames']['frames']} -> {summary['frames']['file']}")
    return 0
