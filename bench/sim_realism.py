"""Compare the simulator with the shared real recordings (numbers + a plot).

``python -m bench.sim_realism [--plot docs/simulator_realism.png]``

Needs ``../shared/data`` (RBDS0041 virtual shin IMU from motion capture at
2.5 m/s, BACH_T07 real shin accelerometer at 8.5 km/h); prints a notice and
returns when it is absent. Only derived numbers are printed; no real data is
written anywhere.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from strideguard.atomic import AtomicOutputs
from strideguard.imudata import STANDARD_GRAVITY_MPS2
from strideguard_devkit.sim import SensorErrors, SimRun, simulate
from strideguard_devkit.sim.kinematics import GAIT_RUN, GAIT_STAND
from strideguard_devkit.sim.scenarios import Plan, Segment, custom_scenario


def _find_data() -> Path:
    """``shared/data`` next to the repository (or next to a parent: worktrees)."""
    for parent in Path(__file__).resolve().parents[1:]:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return Path(__file__).resolve().parents[2] / "shared" / "data"


DATA = _find_data()
N_PHASE = 200
FloatArray = npt.NDArray[np.float64]


def _templates(t: FloatArray, x: FloatArray, ic: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mean and SD of ``x`` over strides, IC to next IC, on ``N_PHASE`` points."""
    ph = np.arange(N_PHASE) / N_PHASE
    rows = [np.interp(a + ph * (b - a), t, x) for a, b in itertools.pairwise(ic)]
    arr = np.array(rows)
    return arr.mean(axis=0), arr.std(axis=0)


def _stride_stats(
    t: FloatArray, gyr: FloatArray, ic: FloatArray, to: FloatArray
) -> dict[str, float]:
    peaks, dips, push = [], [], []
    for k in range(len(ic) - 1):
        sw = (t > to[k]) & (t < ic[k + 1])
        st = (t >= ic[k]) & (t < ic[k] + 0.15 * (ic[k + 1] - ic[k]))
        po = (t >= ic[k] + 0.35 * (ic[k + 1] - ic[k])) & (t < ic[k] + 0.6 * (ic[k + 1] - ic[k]))
        peaks.append(gyr[sw].max())
        dips.append(gyr[st].min())
        push.append(gyr[po].min())
    return {
        "swing_peak_dps": float(np.median(peaks)),
        "post_ic_dip_dps": float(np.median(dips)),
        "push_off_dip_dps": float(np.median(push)),
        "stride_time_s": float(np.mean(np.diff(ic))),
        "contact_time_s": float(np.mean(to[: len(ic)] - ic)),
    }


def real_rbds(leg: str) -> dict[str, Any] | None:
    """RBDS clean file in the shank frame (x anterior, y right, z down)."""
    csv = DATA / f"RBDS0041_T25_{leg}_clean.csv"
    if not csv.exists():
        return None
    d = np.genfromtxt(csv, delimiter=",", names=True)
    truth = json.loads(csv.with_suffix("").with_suffix(".truth.json").read_text())
    ic = np.array([s["initial_contact_s"] for s in truth["strides"]])
    to = np.array([s["toe_off_s"] for s in truth["strides"]])
    ang = np.array([s["shank_angle_at_ic_deg"] for s in truth["strides"]])
    t = d["time_s"]
    gyr_y = d["gyr_z"]  # clean frame: z to the right = our y
    acc_up = d["acc_y"]  # superior = "up the tibia" = our -z
    # shank angle: integrate the sagittal gyro, pin each stride to the IC truth
    integ = np.concatenate(([0.0], np.cumsum(0.5 * (gyr_y[1:] + gyr_y[:-1]) * np.diff(t))))
    angle = np.full_like(t, np.nan)
    for k in range(len(ic) - 1):
        sl = (t >= ic[k]) & (t <= ic[k + 1])
        a0, a1 = np.interp([ic[k], ic[k + 1]], t, integ)
        frac = (t[sl] - ic[k]) / (ic[k + 1] - ic[k])
        drift = (a1 - a0 - (ang[k + 1] - ang[k])) * frac
        angle[sl] = ang[k] + (integ[sl] - a0) - drift
    ok = ~np.isnan(angle)
    return {
        "t": t,
        "gyr": gyr_y,
        "acc_up": acc_up,
        "acc_ant": d["acc_x"],
        "angle": np.where(ok, angle, 0.0),
        "ic": ic,
        "to": to,
        "angle_ic": ang,
    }


def sim_at(speed_mps: float, leg: str, seed: int = 0, duration_s: float = 130.0) -> SimRun:
    """Steady running at ``speed_mps`` on an ideal, shank-aligned sensor."""
    segs = [
        Segment(0.0, 5.0, "stand", gait=GAIT_STAND, speed_start_mps=0.0, speed_end_mps=0.0),
        Segment(
            5.0,
            duration_s,
            "steady",
            gait=GAIT_RUN,
            speed_start_mps=speed_mps,
            speed_end_mps=speed_mps,
        ),
    ]
    sc = custom_scenario(f"steady_{speed_mps}", "realism check", Plan("realism", duration_s, segs))
    return simulate(
        sc,
        duration_s=duration_s,
        rate_hz=200,
        seed=seed,
        leg=leg,
        mounting="identity",
        errors=SensorErrors.ideal(),
        keep_shank=True,
    )


def sim_rbds_like(run: SimRun) -> dict[str, Any]:
    tr = run.truth
    keep = tr.initial_contact_s > 30.0  # after the speed has settled
    t = run.recording.time_s
    g = run.shank_gyr_dps
    a = run.shank_acc_mps2
    assert g is not None and a is not None
    return {
        "t": t,
        "gyr": g[:, 1],
        "acc_up": -a[:, 2],
        "acc_ant": a[:, 0],
        "angle": tr.shank_angle_deg,
        "ic": tr.initial_contact_s[keep],
        "to": tr.toe_off_s[keep],
        "angle_ic": tr.shank_angle_at_ic_deg[keep],
    }


def bach_impacts() -> dict[str, float] | None:
    csv = DATA / "BACH_T07.csv"
    if not csv.exists():
        return None
    d = np.genfromtxt(csv, delimiter=",", names=True)
    truth = json.loads((DATA / "BACH_T07.truth.json").read_text())
    ic = np.array([s["initial_contact_s"] for s in truth["strides"]])
    t = d["time_s"]
    norm = np.sqrt(d["acc_x"] ** 2 + d["acc_y"] ** 2 + d["acc_z"] ** 2) / STANDARD_GRAVITY_MPS2
    return _impact_stats(t, norm, ic, clip_g=8.0)


def _impact_stats(
    t: FloatArray, norm_g: FloatArray, ic: FloatArray, clip_g: float
) -> dict[str, float]:
    peaks, lags = [], []
    for x in ic:
        sl = (t >= x) & (t < x + 0.1)
        if sl.sum() < 3:
            continue
        seg = np.minimum(norm_g[sl], clip_g)
        peaks.append(seg.max())
        lags.append(t[sl][np.argmax(seg)] - x)
    return {
        "impact_peak_median_g": float(np.median(peaks)),
        "impact_peak_iqr_g": float(np.subtract(*np.percentile(peaks, [75, 25]))),
        "peak_after_ic_median_ms": 1000 * float(np.median(lags)),
        "clipped_fraction": float(np.mean(np.array(peaks) >= clip_g - 1e-6)),
    }


def _contact_features(
    t: FloatArray, gyr: FloatArray, ic: FloatArray, to: FloatArray, angle_ic: FloatArray
) -> dict[str, float]:
    """What changes with the foot strike, measured the same way on real and simulated data."""
    from strideguard.events import StrikeClassifier

    fs = 1.0 / float(np.median(np.diff(t)))
    t0 = float(t[0])
    retraction, dip = [], []
    for x in ic[1:-1]:
        i = round((x - t0) * fs)
        if gyr[i] >= 0 or i + int(0.1 * fs) >= gyr.size:
            continue
        j = i - int(np.argmax(gyr[i::-1] >= 0))
        retraction.append(x - t0 - (j + gyr[j] / (gyr[j] - gyr[j + 1])) / fs)
        dip.append(np.argmin(gyr[i : i + int(0.1 * fs)]) / fs)
    cen = StrikeClassifier().detect(gyr, ic - t0, sampling_rate_hz=fs).centroid_s_
    stride = np.diff(ic)
    return {
        "cadence_spm": float(120.0 / np.mean(stride)),
        "contact_time_s": float(np.mean(to[: len(ic)] - ic)),
        "tibia_angle_at_ic_deg": float(np.mean(angle_ic)),
        "retraction_ms": 1e3 * float(np.median(retraction)),
        "post_ic_dip_ms": 1e3 * float(np.median(dip)),
        "response_centroid_ms": 1e3 * float(np.nanmedian(cen)),
    }


def archetype_table() -> dict[str, dict[str, float]]:
    """Every simulated archetype (marker-like, 20 Hz, like the lab files) and the real runner.

    The contact features (retraction, post-contact dip, response centroid) are what a
    strike-robust detector must cope with; the real rows are the shared RBDS0041 legs
    (a rearfoot striker, the counterpart of ``recreational`` and, for the left leg's
    11.6° at IC, of ``heel_overstrider``). No real forefoot or midfoot data is shared.
    """
    from strideguard_devkit.sim.athlete import ARCHETYPES

    rows: dict[str, dict[str, float]] = {}
    for leg in ("R", "L"):
        real = real_rbds(leg)
        if real is not None:
            rows[f"RBDS0041 {leg} (real)"] = _contact_features(
                real["t"], real["gyr"], real["ic"], real["to"], real["angle_ic"]
            )
    for name in ARCHETYPES:
        run = simulate(
            "steady",
            duration_s=70,
            rate_hz=200,
            seed=5,
            runner=name,
            mounting="identity",
            errors=SensorErrors.ideal(),
            keep_shank=True,
            lowpass_hz=20.0,
        )
        tr = run.truth
        keep = tr.initial_contact_s > 20.0
        g = run.shank_gyr_dps
        assert g is not None
        rows[f"{name} (sim)"] = _contact_features(
            run.recording.time_s,
            g[:, 1],
            tr.initial_contact_s[keep],
            tr.toe_off_s[keep],
            tr.shank_angle_at_ic_deg[keep],
        )
    keys = list(next(iter(rows.values())))
    print("archetypes (marker-like 20 Hz) and the real runner:")
    print(f"    {'':26s}" + "".join(f"{k[:14]:>15s}" for k in keys))
    for name, row in rows.items():
        print(
            f"    {name:26s}"
            + "".join(f"{row[k]:15.3f}" if k.endswith("_s") else f"{row[k]:15.1f}" for k in keys)
        )
    return rows


def compare(plot: Path | None = None) -> dict[str, Any] | None:
    """Print the comparison; optionally save the plot. ``None`` without data."""
    if not DATA.exists():
        print(f"realism: {DATA} not found, skipped")
        return None
    out: dict[str, Any] = {}
    curves: dict[tuple[str, str], Any] = {}
    for leg in ("R", "L"):
        real = real_rbds(leg)
        if real is None:
            continue
        sim = sim_rbds_like(sim_at(2.5, leg))
        row: dict[str, Any] = {}
        for name, src in (("real", real), ("sim", sim)):
            stats = _stride_stats(src["t"], src["gyr"], src["ic"], src["to"])
            stats["angle_at_ic_mean_deg"] = float(np.mean(src["angle_ic"]))
            stats["angle_at_ic_sd_deg"] = float(np.std(src["angle_ic"]))
            gm, gs = _templates(src["t"], src["gyr"], src["ic"])
            am, as_ = _templates(src["t"], src["angle"], src["ic"])
            cm, cs = _templates(src["t"], src["acc_up"], src["ic"])
            stats["angle_range_deg"] = float(am.max() - am.min())
            row[name] = stats
            xm, _ = _templates(src["t"], src["acc_ant"], src["ic"])
            curves[(leg, name)] = (gm, gs, am, as_, cm, cs, xm)
        g_r, g_s = curves[(leg, "real")][0], curves[(leg, "sim")][0]
        a_r, a_s = curves[(leg, "real")][2], curves[(leg, "sim")][2]
        c_r, c_s = curves[(leg, "real")][4], curves[(leg, "sim")][4]
        row["gyro_template_rms_dps"] = float(np.sqrt(np.mean((g_r - g_s) ** 2)))
        row["gyro_template_r"] = float(np.corrcoef(g_r, g_s)[0, 1])
        row["angle_template_rms_deg"] = float(np.sqrt(np.mean((a_r - a_s) ** 2)))
        row["acc_long_axis_template_r"] = float(np.corrcoef(c_r, c_s)[0, 1])
        late = slice(N_PHASE * 12 // 100, None)  # without the impact (absent in the real file)
        row["acc_long_axis_r_after_12pct"] = float(np.corrcoef(c_r[late], c_s[late])[0, 1])
        x_r, x_s = curves[(leg, "real")][6], curves[(leg, "sim")][6]
        row["acc_anterior_r_after_12pct"] = float(np.corrcoef(x_r[late], x_s[late])[0, 1])
        out[f"RBDS_{leg}"] = row
    bach = bach_impacts()
    if bach is not None:
        run = sim_at(2.36, "R", seed=1)
        tr = run.truth
        keep = tr.initial_contact_s > 30.0
        acc = run.recording.acc_mps2
        assert acc is not None
        norm = np.linalg.norm(acc, axis=1) / STANDARD_GRAVITY_MPS2
        out["BACH_T07_impacts"] = {
            "real": bach,
            "sim": _impact_stats(
                run.recording.time_s, norm, tr.initial_contact_s[keep], clip_g=8.0
            ),
        }
    _print(out)
    out["archetypes"] = archetype_table()
    if plot is not None:
        _plot(curves, plot)
    return out


def _print(out: dict[str, Any]) -> None:
    for key, row in out.items():
        print(f"{key}:")
        if "real" in row and "sim" in row:
            for stat in row["real"]:
                r, s = row["real"][stat], row["sim"][stat]
                print(f"    {stat:26s} real {r:9.3f}   sim {s:9.3f}")
        for stat, v in row.items():
            if stat not in ("real", "sim"):
                print(f"    {stat:26s} {v:9.3f}")


def _plot(curves: dict[Any, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ph = 100 * np.arange(N_PHASE) / N_PHASE
    fig, axes = plt.subplots(2, 3, figsize=(14, 7), sharex=True)
    titles = ("sagittal gyro (°/s)", "shank angle (°)", "acc along tibia, up (m/s²)")
    for r, leg in enumerate(("R", "L")):
        for c in range(3):
            ax = axes[r, c]
            for name, color in (("real", "k"), ("sim", "tab:red")):
                if (leg, name) not in curves:
                    continue
                m, s = curves[(leg, name)][2 * c], curves[(leg, name)][2 * c + 1]
                label = "RBDS0041 2.5 m/s" if name == "real" else "simulator 2.5 m/s"
                ax.plot(ph, m, color=color, label=label)
                ax.fill_between(ph, m - s, m + s, color=color, alpha=0.15)
            ax.set_title(f"{titles[c]} — {leg} leg", fontsize=10)
            ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("% stride (IC to IC)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(
        "Simulator vs real mean stride (±1 SD); real acc has no impact (markers low-passed at 20 Hz)"
    )
    fig.tight_layout()
    with AtomicOutputs(what=str(path)) as out:  # a half-written picture never replaces the old
        fig.savefig(out.path(path), dpi=80, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)


def demo_plot(path: Path) -> None:
    """Per-stride truth of the ``demo`` scenario, both legs (what the alerts should see)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from strideguard_devkit.sim import simulate_pair

    left, right = simulate_pair("demo", duration_s=600, rate_hz=200, seed=0)
    fig, axes = plt.subplots(4, 1, figsize=(12, 9), sharex=True)
    for run, color in ((left, "tab:blue"), (right, "tab:red")):
        tr = run.truth
        ic = tr.initial_contact_s
        run_mask = np.array(tr.gait) == "run"
        g = run.recording.gyr_dps
        assert g is not None
        norm = np.linalg.norm(g, axis=1)
        t = run.recording.time_s
        peaks = [
            norm[(t > a) & (t < b + c)].max() if np.any((t > a) & (t < b + c)) else np.nan
            for a, b, c in zip(tr.toe_off_s, ic, tr.stride_time_s, strict=True)
        ]
        lab = f"{tr.leg} leg"
        axes[0].plot(
            ic[run_mask], tr.shank_angle_at_ic_deg[run_mask], ".", ms=2, color=color, label=lab
        )
        axes[1].plot(ic[run_mask], tr.cadence_spm[run_mask], ".", ms=2, color=color)
        axes[2].plot(ic[run_mask], tr.peak_tibial_accel_g[run_mask], ".", ms=2, color=color)
        axes[3].plot(ic[run_mask], np.array(peaks)[run_mask], ".", ms=2, color=color)
    for ax, name in zip(
        axes,
        (
            "tibia angle at IC (°)",
            "cadence (steps/min)",
            "peak tibial accel (g)",
            "swing |gyro| peak (°/s)",
        ),
        strict=True,
    ):
        ax.set_ylabel(name, fontsize=9)
        ax.grid(alpha=0.3)
        for c in right.truth.changes:
            ax.axvline(c["onset_s"], color="k", lw=0.6, ls=":")
    for c in right.truth.changes:
        axes[0].text(c["onset_s"] + 2, axes[0].get_ylim()[1], c["label"], fontsize=8, va="top")
    axes[0].legend(fontsize=8, loc="lower left")
    axes[-1].set_xlabel("time (s)")
    fig.suptitle(
        "demo scenario (seed 0): overstride episode at 240 s, guarded gait on the right leg from 420 s"
    )
    fig.tight_layout()
    with AtomicOutputs(what=str(path)) as out:  # a half-written picture never replaces the old
        fig.savefig(out.path(path), dpi=80, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--plot", type=Path, default=None, help="save the realism plot here")
    p.add_argument("--demo-plot", type=Path, default=None, help="save the demo overview here")
    args = p.parse_args(argv)
    compare(args.plot)
    if args.demo_plot is not None:
        demo_plot(args.demo_plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
