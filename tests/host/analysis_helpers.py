"""Shared helpers for the analysis tests: data paths, random rotations, event matching."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from strideguard.imudata import ImuRecording
from strideguard.load import read_csv

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
RBDS = ("RBDS0041_T25_R_clean", "RBDS0041_T25_L_clean", "RBDS0041_T25_R_mpu", "RBDS0041_T25_L_mpu")


def shared_data_file(name: str) -> Path | None:
    """A file of the project's shared data folder that is not redistributed here (BACH), or ``None``.

    The folder is ``$STRIDEGUARD_SHARED_DATA`` when set, else ``shared/data`` beside the
    repository or beside one of its ancestors (worktrees). Data that ships in
    ``tests/data`` is read from there, never from this folder.
    """
    env = os.environ.get("STRIDEGUARD_SHARED_DATA")
    folders = [Path(env)] if env else [base / "shared" / "data" for base in REPO.parents]
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    return None


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random proper rotation matrix."""
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def rotated(rec: ImuRecording, rot: np.ndarray) -> ImuRecording:
    """The same recording seen by a sensor rotated by ``rot``."""
    return ImuRecording(
        time_s=rec.time_s,
        acc_mps2=None if rec.acc_mps2 is None else rec.acc_mps2 @ rot.T,
        gyr_dps=None if rec.gyr_dps is None else rec.gyr_dps @ rot.T,
        sampling_rate_hz=rec.sampling_rate_hz,
        source=rec.source,
    )


def load_rbds(name: str) -> tuple[ImuRecording, ImuRecording, dict[str, Any]]:
    """Run, standing recording and truth of an RBDS test file."""
    rec, _ = read_csv(DATA / f"{name}.csv")
    st, _ = read_csv(DATA / "standing" / f"{name}.standing.csv")
    truth = json.loads((DATA / f"{name}.truth.json").read_text())
    return rec, st, truth


def match_events(
    detected: np.ndarray, truth: np.ndarray, window: tuple[float, float], tol_s: float = 0.1
):
    """Match events one-to-one within ``tol_s``; score only inside ``window``.

    Returns
    -------
    errors_s, recall, precision
        Signed errors (detected − truth) of matched truth events.
    """
    detected = np.sort(detected[np.isfinite(detected)])
    tr = truth[(truth >= window[0]) & (truth <= window[1])]
    det = detected[(detected >= window[0] - tol_s) & (detected <= window[1] + tol_s)]
    used = np.zeros(det.size, dtype=bool)
    errors = []
    for t in tr:
        if det.size == 0:
            break
        d = np.abs(det - t)
        d[used] = np.inf
        j = int(np.argmin(d))
        if d[j] <= tol_s:
            used[j] = True
            errors.append(det[j] - t)
    inside = (det >= window[0]) & (det <= window[1])
    n_det = int(inside.sum())
    matched_inside = int((used & inside).sum())
    recall = len(errors) / max(1, tr.size)
    precision = matched_inside / max(1, n_det)
    return np.array(errors), recall, precision
