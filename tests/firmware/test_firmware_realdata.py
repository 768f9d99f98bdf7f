"""The on-board stride detector on real-shaped data (RBDS virtual MPU6050, force-plate truth).

The RBDS files ship in ``tests/data`` (CC BY 4.0), so these tests never skip.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

MpRunner = Callable[..., str]
DATA = Path(__file__).resolve().parents[1] / "data"


def to_fifo_bytes(csv_path: Path, rotation_seed: int | None) -> tuple[bytes, int]:
    """Sensor-frame CSV (m/s², °/s) -> MPU6050 FIFO bytes at ±16 g / ±2000 °/s.

    With a seed, the board is re-mounted: a random rotation of both sensors.
    """
    d = np.genfromtxt(csv_path, delimiter=",", names=True)
    rate = round(1 / np.median(np.diff(d["time_s"])))
    acc = np.stack([d["acc_x"], d["acc_y"], d["acc_z"]], axis=1) / 9.80665 * 2048
    gyr = np.stack([d["gyr_x"], d["gyr_y"], d["gyr_z"]], axis=1) * 16.4
    if rotation_seed is not None:
        from scipy.spatial.transform import Rotation

        r = Rotation.random(random_state=rotation_seed).as_matrix()
        acc, gyr = acc @ r.T, gyr @ r.T
    lsb = np.clip(np.round(np.hstack([acc, gyr])), -32768, 32767).astype(">i2")
    return lsb.tobytes(), int(rate)


@pytest.mark.parametrize("rotation_seed", [None, 11, 12, 13])
@pytest.mark.parametrize("leg", ["R", "L"])
def test_onboard_detector_counts_one_stride_per_gait_cycle(
    run_mp: MpRunner, tmp_path: Path, leg: str, rotation_seed: int | None
) -> None:
    base = DATA / f"RBDS0041_T25_{leg}_mpu"
    truth = json.loads(base.with_suffix(".truth.json").read_text())
    data, rate = to_fifo_bytes(base.with_suffix(".csv"), rotation_seed)
    (tmp_path / "s.bin").write_bytes(data)
    out = run_mp("mp_realdata.py", str(tmp_path / "s.bin"), str(rate))
    events = [line.split() for line in out.splitlines() if line.startswith("stride ")]
    t_stride = np.array([int(e[1]) for e in events]) / rate
    cadence = [int(e[2]) for e in events]
    ic = np.array([s["initial_contact_s"] for s in truth["strides"]])
    # exactly one on-board stride between consecutive initial contacts (the mid-swing burst)
    per_cycle = np.histogram(t_stride, bins=ic)[0]
    assert np.all(per_cycle == 1), per_cycle
    # cadence in steps/min (both legs) as sent in RSC, once 4 strides are averaged
    want = truth["summary"]["cadence_steps_per_min"]
    steady = np.array(cadence[5:])
    assert np.all(np.abs(steady - want) <= 0.05 * want), (steady, want)
    assert abs(np.median(steady) - want) <= 2


@pytest.mark.parametrize("leg", ["R", "L"])
def test_recording_through_fifo_and_app_gives_rsc_cadence(
    run_mp: MpRunner, tmp_path: Path, leg: str
) -> None:
    """The recorded CSV played by the MPU6050 model, read by the app, sent as RSC."""
    base = DATA / f"RBDS0041_T25_{leg}_mpu"
    truth = json.loads(base.with_suffix(".truth.json").read_text())
    data, rate = to_fifo_bytes(base.with_suffix(".csv"), None)
    (tmp_path / "s.bin").write_bytes(data)
    out = run_mp("mp_realdata.py", str(tmp_path / "s.bin"), str(rate))
    rsc = [bytes.fromhex(line.split()[1]) for line in out.splitlines() if line.startswith("rsc")]
    assert len(rsc) >= truth["summary"]["n_strides"] - 2
    want = truth["summary"]["cadence_steps_per_min"]
    steady = rsc[5:]
    assert all(m[0] == 0x04 and m[1:3] == b"\x00\x00" for m in steady)  # running, no speed
    assert all(abs(m[3] - want) <= 0.05 * want for m in steady), [m[3] for m in steady]
