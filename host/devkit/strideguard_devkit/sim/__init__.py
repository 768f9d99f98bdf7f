"""Gait simulator: synthetic shin-IMU runs with ground truth.

Examples
--------
>>> from strideguard_devkit.sim import simulate, list_scenarios
>>> run = simulate("steady", duration_s=60, rate_hz=200, seed=1)
>>> run.recording.acc_mps2.shape[1], run.truth.n_strides > 50
(3, True)
>>> "guarded_onset" in [s["name"] for s in list_scenarios()]
True

Modules: :mod:`~strideguard_devkit.sim.kinematics` (shank angle over the gait cycle),
:mod:`~strideguard_devkit.sim.athlete` (stride-level model), :mod:`~strideguard_devkit.sim.sensor`
(MPU6050 model), :mod:`~strideguard_devkit.sim.scenarios` (named scenarios and their
expected alerts), :mod:`~strideguard_devkit.sim.transport` (protocol frames with link
faults). See ``docs/simulator.md``.
"""

from strideguard_devkit.sim.core import SimRun, SimTruth, simulate, simulate_pair
from strideguard_devkit.sim.scenarios import (
    ALERTS,
    SCENARIOS,
    Plan,
    Scenario,
    Segment,
    get_scenario,
    list_scenarios,
)
from strideguard_devkit.sim.sensor import SensorErrors

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
