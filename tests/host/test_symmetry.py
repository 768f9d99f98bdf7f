"""Left/right symmetry (#16 §1): pairing strides across legs, symmetry indices, the
runner's own balance as evidence that names the leg, and the two-sensor live path."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from strideguard.alerts import AlertKind, AlertState, Severity
from strideguard.alerts.baseline import SymmetryModel
from strideguard.alerts.config import config_from_dict
from strideguard.alerts.offline import alerts_for_pair
from strideguard.symmetry import (
    RollingSymmetry,
    StridePairer,
    host_clock_offset_s,
    pair_stride_tables,
    symmetry_index_pct,
    symmetry_summary,
)


def legs(
    n: int, *, right_peak: np.ndarray | float = 1.0, offset_l_s: float = 0.0, seed: int = 0
) -> dict[str, list[dict[str, float]]]:
    """Two legs' strides: the left lands half a stride after the right."""
    rng = np.random.default_rng(seed)
    st = 0.72 + rng.normal(0, 0.005, n)
    ic_r = 10.0 + np.concatenate(([0.0], np.cumsum(st)[:-1]))
    rp = np.broadcast_to(right_peak, (n,))
    out: dict[str, list[dict[str, float]]] = {"L": [], "R": []}
    for leg, ic in (("R", ic_r), ("L", ic_r + 0.36 + offset_l_s)):
        for k in range(n - 1):
            f = rp[k] if leg == "R" else 1.0
            out[leg].append(
                {
                    "initial_contact_s": float(ic[k]),
                    "next_initial_contact_s": float(ic[k + 1]),
                    "cadence_spm": 120.0 / st[k],
                    "stride_time_s": float(st[k]),
                    "contact_time_s": 0.25 * (1 + rng.normal(0, 0.02)),
                    "swing_time_s": float(st[k]) - 0.25,
                    "duty_factor": 0.25 / float(st[k]),
                    "peak_midswing_gyr_dps": 480.0 * f * (1 + rng.normal(0, 0.02)),
                    "late_swing_peak_decel_dps2": 32000.0 * f * (1 + rng.normal(0, 0.04)),
                    "shank_angle_at_ic_deg": 8.0 + rng.normal(0, 1.0),
                    "peak_tibial_accel_g": 9.0 * (1 + rng.normal(0, 0.08)),
                    "peak_tibial_accel_clipped": 0.0,
                }
            )
    return out


def test_symmetry_index_is_robinsons() -> None:
    # SI = 200 (R - L) / (R + L): R = 1.1, L = 1.0 -> 9.52 %
    assert symmetry_index_pct(math.log(1.1)) == pytest.approx(200 * 0.1 / 2.1)
    assert math.isnan(symmetry_index_pct(float("nan")))


def test_pairs_follow_time_in_any_arrival_order() -> None:
    s = legs(50)
    pairs = pair_stride_tables(s["R"], s["L"])
    assert len(pairs) == 49
    assert all(p.index["R"] == p.index["L"] for p in pairs)
    # strides arriving leg by leg in bursts (BLE) pair the same way
    pairer = StridePairer()
    live = []
    for k in range(0, 49, 4):
        for leg in ("L", "R"):
            for st in s[leg][k : k + 4]:
                live += pairer.add(leg, st)
    assert [(p.index["R"], p.index["L"]) for p in live] == [
        (p.index["R"], p.index["L"]) for p in pairs
    ]


def test_sensor_clocks_are_brought_together_by_the_offset() -> None:
    # the left sensor's clock started 30 s later: without the offset nothing pairs
    s = legs(40, offset_l_s=-30.0)
    assert pair_stride_tables(s["R"], s["L"]) == []
    assert len(pair_stride_tables(s["R"], s["L"], offset_l_s=30.0)) == 39


def test_host_clock_offset_is_the_lowest_arrival_lag() -> None:
    rng = np.random.default_rng(1)
    first = np.arange(0, 200 * 60, 20)
    count = np.full(first.size, 20)
    true_offset = 123.4
    arrival = (first + count - 1) / 200.0 + true_offset + 0.008 + rng.exponential(0.03, first.size)
    est = host_clock_offset_s(first, count, arrival, lambda i: np.asarray(i) / 200.0)
    assert est == pytest.approx(true_offset + 0.008, abs=0.01)
    assert math.isnan(host_clock_offset_s(first, count, np.full(first.size, np.nan), lambda i: i))


def test_rolling_and_run_summary_show_a_right_leg_swinging_slower() -> None:
    s = legs(80, right_peak=0.9)
    pairs = pair_stride_tables(s["R"], s["L"])
    roll = RollingSymmetry(15)
    for p in pairs:
        roll.add(p)
    si = roll.indices()["peak_midswing_gyr_dps"]
    assert si is not None and si == pytest.approx(200 * (0.9 - 1) / 1.9, abs=2.0)
    summ = symmetry_summary(pairs)
    assert summ["peak_midswing_gyr_dps"]["pairs"] == 79
    assert summ["contact_time_s"]["median"] == pytest.approx(0.0, abs=2.0)


def test_the_runners_own_balance_is_learned_and_flips_between_legs() -> None:
    s = legs(200, right_peak=1.04)  # a habitual 4 % faster right swing
    pairs = pair_stride_tables(s["R"], s["L"])
    model = SymmetryModel.fit({k: [p.values[k] for p in pairs] for k in pairs[0].values})
    assert model is not None
    assert model.mean["peak_midswing_gyr_dps"] == pytest.approx(math.log(1.04), abs=0.01)
    assert model.flipped().mean["peak_midswing_gyr_dps"] == -model.mean["peak_midswing_gyr_dps"]
    # the habit itself scores near zero; a 10 % slower right swing scores as guarded
    assert abs(model.score(pairs[-1].values)) < 3
    slower = dict(pairs[-1].values, peak_midswing_gyr_dps=math.log(0.94))
    assert model.raw_score(slower) > model.raw_score(pairs[-1].values)


FAST = {"baseline": {"skip_s": 0, "duration_s": 60, "min_strides": 30}}


def raised_stops(monitor: Any) -> dict[str, list[Any]]:
    """Per leg, the "stop" alerts the pair's policies raised."""
    return {
        leg: [
            a
            for a in monitor.policies[leg].alerts_
            if a.severity is Severity.STOP and a.state is AlertState.RAISED
        ]
        for leg in "LR"
    }


def test_a_one_sided_change_stops_and_names_the_leg_a_habit_does_not() -> None:
    n, onset = 600, 250
    right = np.where(np.arange(n) < onset, 1.04, 1.04 * 0.92)  # habit, then 8 % slower
    s = legs(n, right_peak=right, seed=3)
    monitor = alerts_for_pair(s, config=config_from_dict(FAST))
    stops = raised_stops(monitor)
    assert stops["L"] == []
    assert len(stops["R"]) >= 1
    a = stops["R"][0]
    assert a.kind is AlertKind.GAIT_CHANGED and "right leg" in a.title
    assert onset <= a.stride_index <= onset + 25, a.stride_index
    assert a.numbers["peak_midswing_gyr_dps_vs_other_leg_change_pct"] < -4
    # the same habit without the change: nothing
    calm = alerts_for_pair(legs(n, right_peak=1.04, seed=3), config=config_from_dict(FAST))
    assert all(a.severity is not Severity.STOP for leg in "LR" for a in calm.policies[leg].alerts_)


def test_a_guarded_leg_with_longer_contact_is_caught_too() -> None:
    """Contact time counts either way in the symmetry evidence: a guarded leg may leave the
    ground sooner (antalgic) or land softer and stay longer (docs/alerts.md). An 8 % slower
    swing with 8 % longer contact on the right leg still stops and names it (counting only a
    shorter stance, the longer contact cancelled the slower swing)."""
    n, onset = 600, 250
    for seed in (3, 4, 5):
        s = legs(n, right_peak=np.where(np.arange(n) < onset, 1.04, 1.04 * 0.92), seed=seed)
        for k, row in enumerate(s["R"]):
            if k >= onset:
                row["contact_time_s"] *= 1.08
        monitor = alerts_for_pair(s, config=config_from_dict(FAST))
        stops = raised_stops(monitor)
        assert stops["L"] == [], seed
        assert stops["R"] and onset <= stops["R"][0].stride_index <= onset + 25, seed
        assert "longer on the ground" in stops["R"][0].reason


@pytest.mark.slow
def test_two_leg_replay_shows_symmetry_and_names_the_limping_leg(tmp_path: Path) -> None:
    (tmp_path / "fast.toml").write_text("[baseline]\nskip_s = 0\nduration_s = 60\n")
    sg = [sys.executable, "-m", "strideguard"]

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*sg, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    run(
        "simulate", "guarded_limp", "--duration", "300", "--rate", "200", "--seed", "4",
        "--leg", "both", "--frames", "limp.sgrec",
    )  # fmt: skip
    proc = run("replay", "limp.sgrec", "--fast", "--format", "json", "--alert-config", "fast.toml")
    summary = json.loads(proc.stdout)
    sym = summary["symmetry"]
    assert sym["pairs"] > 150 and sym["balance_from"] == "learned"
    assert set(sym["features"]) >= {"contact_time_s", "peak_midswing_gyr_dps"}
    # (c) a limp on the right leg: shorter stance on that leg than the runner's normal balance
    assert sym["versus_normal"]["contact_time_s"] < -3
    stops = {
        s["leg"]: [a for a in s["alerts"] if a["severity"] == "stop" and a["state"] == "raised"]
        for s in summary["sensors"]
    }
    assert stops["L"] == [] and stops["R"], stops
    assert "right leg" in stops["R"][0]["title"]
    assert 150 <= stops["R"][0]["time_s"] <= 150 + 25
    assert "left/right symmetry: watching" in proc.stderr
