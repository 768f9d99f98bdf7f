"""Simulated runs for the run-history tests: one simulated runner (one seed), runs of
chosen length, pace, slope and guarding, analysed by the real import path and dated
where a test needs them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from strideguard.history.ingest import record_from_imus
from strideguard.history.record import RunRecord
from strideguard_devkit.sim import simulate
from strideguard_devkit.sim.kinematics import GAIT_STAND
from strideguard_devkit.sim.scenarios import STANDING_S, Plan, Scenario, Segment

#: one runner: the simulator draws the runner from the seed
RUNNER_SEED = 11
RATE_HZ = 200.0


def scenario(parts: list[tuple[float, dict[str, Any]]], name: str = "test") -> Scenario:
    """A standing start, a short warm-up to the first part's speed, then ``parts``:
    ``(seconds, Segment keyword arguments)`` each, the last one stretched to the run's end."""

    def build(d: float) -> Plan:
        first_v = float(parts[0][1].get("speed_start_mps", 3.0))
        segs = [
            Segment(
                0.0, STANDING_S, "stand", gait=GAIT_STAND, speed_start_mps=0.0, speed_end_mps=0.0
            ),
            Segment(
                STANDING_S, STANDING_S + 15.0, "warmup", speed_start_mps=2.4, speed_end_mps=first_v
            ),
        ]
        t = STANDING_S + 15.0
        for k, (dur, kw) in enumerate(parts):
            end = d if k == len(parts) - 1 else min(t + dur, d)
            if end > t:
                segs.append(Segment(t, end, **{"label": "run", **kw}))
            t = end
        return Plan(name, d, segs)

    return Scenario(name, "a run for the history tests", build)


def steady(speed: float = 3.0, **kw: Any) -> list[tuple[float, dict[str, Any]]]:
    """One steady part."""
    return [(1e9, {"speed_start_mps": speed, "speed_end_mps": speed, **kw})]


def intervals(
    fast: float = 4.3, easy: float = 2.8, block_s: float = 40.0, n: int = 6
) -> list[tuple[float, dict[str, Any]]]:
    """Alternating fast and easy blocks."""
    out: list[tuple[float, dict[str, Any]]] = []
    for k in range(n):
        v = fast if k % 2 == 0 else easy
        out.append(
            (
                block_s,
                {
                    "label": "fast" if k % 2 == 0 else "easy",
                    "speed_start_mps": v,
                    "speed_end_mps": v,
                },
            )
        )
    return out


def hills(
    block_s: float = 45.0, n: int = 6, grade: float = 0.06
) -> list[tuple[float, dict[str, Any]]]:
    """Alternating flat 3.0 m/s and 2.6 m/s climbs."""
    out: list[tuple[float, dict[str, Any]]] = []
    for k in range(n):
        if k % 2 == 0:
            out.append((block_s, {"label": "flat", "speed_start_mps": 3.0, "speed_end_mps": 3.0}))
        else:
            out.append(
                (
                    block_s,
                    {"label": "up", "speed_start_mps": 2.6, "speed_end_mps": 2.6, "grade": grade},
                )
            )
    return out


def sim_record(
    started_utc: datetime,
    parts: list[tuple[float, dict[str, Any]]],
    *,
    duration_s: float,
    legs: str = "R",
    seed: int = RUNNER_SEED,
) -> RunRecord:
    """Simulate a run of the test runner and build its history record (as ``import`` does)."""
    imus = []
    for stream, leg in enumerate(legs):
        sim = simulate(scenario(parts), duration_s=duration_s, rate_hz=RATE_HZ, seed=seed, leg=leg)
        imus.append((stream, f"StrideGuard-{leg}", leg, sim.recording))
    return record_from_imus(imus, started_utc=started_utc.astimezone(UTC), simulated=False)
