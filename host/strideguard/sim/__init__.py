"""Gait simulator: synthetic shin-IMU runs with ground truth.

Examples
--------
>>> from strideguard.sim import simulate, list_scenarios
>>> run = simulate("steady", duration_s=60, rate_hz=200, seed=1)
>>> run.recording.acc_mps2.shape[1], run.truth.n_strides > 50
(3, True)
>>> "guarded_onset" in [s["name"] for s in list_scenarios()]
True

Modules: :mod:`~strideguard.sim.kinematics` (shank angle over the gait cycle),
:mod:`~strideguard.sim.runner` (stride-level model), :mod:`~strideguard.sim.sensor`
(MPU6050 model), :mod:`~strideguard.sim.scenarios` (named scenarios and their
expected alerts), :mod:`~strideguard.sim.transport` (protocol frames with link
faults). See ``docs/simulator.md``.
"""

from strideguard.sim.core import SimRun, SimTruth, simulate, simulate_pair
from strideguard.sim.scenarios import (
    ALERTS,
    SCENARIOS,
    Plan,
    Scenario,
    Segment,
    get_scenario,
    list_scenarios,
)
from strideguard.sim.sensor import SensorErrors

__all__ = [
    "ALERTS",
    "SCENARIOS",
    "Plan",
    "Scenario",
    "Segment",
    "SensorErrors",
    "SimRun",
    "SimTruth",
    "get_scenario",
    "list_scenarios",
    "simulate",
    "simulate_pair",
]
