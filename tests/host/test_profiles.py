"""Runner profiles (#16 §3): stored baselines per runner and leg, the fit check, the screen state.

Every test writes into its own data folder (``tests/conftest.py`` sets
``$STRIDEGUARD_DATA_DIR``); some pass one explicitly as well.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pytest

from strideguard.alerts import AlertKind, AlertPolicy, AlertState, PersonalBaseline, Severity
from strideguard.alerts.baseline_validate import BaselineError, validate_baseline
from strideguard.errors import InputError
from strideguard.profiles import (
    baseline_path,
    check_runner_name,
    load_baseline,
    runners,
    save_baseline,
)
from tests.host.profile_helpers import VALID_PROFILE
from tests.host.test_alert_policy import step, strides

ORIENT_R = {"gravity_x": 0.05, "gravity_y": -0.99, "gravity_z": 0.1}
SWING = {"swing_axis_x": 0.0, "swing_axis_y": 0.1, "swing_axis_z": 0.99}


def with_orientation(rows: list[dict[str, float]], turn_deg: float = 0.0) -> list[dict[str, float]]:
    """Add the sensor's orientation vectors, turned ``turn_deg`` about the tibia (y)."""
    a = np.radians(turn_deg)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    g = rot @ np.array([ORIENT_R[f"gravity_{k}"] for k in "xyz"])
    s = rot @ np.array([SWING[f"swing_axis_{k}"] for k in "xyz"])
    extra = {f"gravity_{k}": float(v) for k, v in zip("xyz", g, strict=True)}
    extra |= {f"swing_axis_{k}": float(v) for k, v in zip("xyz", s, strict=True)}
    return [{**r, **extra} for r in rows]


def learned_baseline(seed: int = 0) -> PersonalBaseline:
    """A baseline learned the way a run learns it (with the sensor's orientation)."""
    policy = AlertPolicy(leg="R")
    policy.run(with_orientation(strides(600, seed=seed)))
    assert policy.baseline_ is not None and "orientation" in policy.baseline_.extra
    return policy.baseline_


# ---------------------------------------------------------------- files


def test_saved_per_runner_and_leg_and_loaded_again(tmp_path: Path) -> None:
    base = learned_baseline()
    when = dt.datetime(2026, 12, 3, 7, 30, tzinfo=dt.UTC)
    path = save_baseline(base, "anna", "R", tmp_path, now=when)
    assert path == tmp_path / "baselines" / "anna" / "R.json"
    assert not list(path.parent.glob(".*"))  # no temporary file left beside it
    loaded, why = load_baseline("anna", "R", tmp_path)
    assert why is None and loaded is not None
    assert loaded.source == "profile" and loaded.leg == "R"
    assert loaded.created == "2026-12-03T07:30:00+00:00"
    assert loaded.cadence_ref_spm == pytest.approx(base.cadence_ref_spm)
    assert loaded.extra["orientation"] == pytest.approx(base.extra["orientation"])
    # other runners and the other leg have nothing stored
    assert load_baseline("anna", "L", tmp_path) == (None, None)
    assert load_baseline("ben", "R", tmp_path) == (None, None)
    assert runners(tmp_path) == ["anna"]


def test_default_folder_is_the_data_folder_from_the_environment(tmp_path: Path) -> None:
    # conftest points $STRIDEGUARD_DATA_DIR at a temporary folder: the default goes there
    folder = Path(os.environ["STRIDEGUARD_DATA_DIR"])
    path = save_baseline(learned_baseline(), "default", "L")
    assert path.is_relative_to(folder)
    assert baseline_path("default", "L") == path


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "x" * 41, "with space", "é"])
def test_runner_names_that_cannot_be_folders_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="--runner"):
        check_runner_name(name)


def test_a_damaged_stored_file_gives_a_reason_not_a_crash(tmp_path: Path) -> None:
    path = save_baseline(learned_baseline(), "anna", "R", tmp_path)
    path.write_text(path.read_text()[:200])
    base, why = load_baseline("anna", "R", tmp_path)
    assert base is None and why is not None and "JSON" in why


def test_schema_1_still_loads_and_schema_2_symmetry_is_validated() -> None:
    assert validate_baseline(copy.deepcopy(VALID_PROFILE))["symmetry"] is None
    v2 = {
        **copy.deepcopy(VALID_PROFILE),
        "schema": "strideguard.baseline/2",
        "leg": "R",
        "created": "2026-12-03T07:30:00+01:00",
        "symmetry": {
            "mean": {"contact_time_s": 0.02},
            "sd": {"contact_time_s": 0.04},
            "score_sd": 0.8,
            "n_pairs": 120,
        },
    }
    out = validate_baseline(v2)
    assert out["symmetry"]["mean"] == {"contact_time_s": 0.02} and out["leg"] == "R"
    for path, bad in [
        (("symmetry", "mean", "contact_time_s"), float("nan")),
        (("symmetry", "mean", "contact_time_s"), 3.0),  # 20x between the legs
        (("symmetry", "sd", "contact_time_s"), 0.0),
        (("symmetry", "score_sd"), 9.0),  # could never say stop
        (("leg",), "X"),
        (("created",), "yesterday"),
    ]:
        broken = copy.deepcopy(v2)
        node = broken
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = bad
        with pytest.raises(BaselineError):
            validate_baseline(json.loads(json.dumps(broken, allow_nan=True)))


# ---------------------------------------------------------------- the fit check


def policy_with(base: PersonalBaseline) -> AlertPolicy:
    stored = PersonalBaseline.from_json(base.to_json())
    assert stored.source == "profile"
    return AlertPolicy(leg="R", baseline=stored)


def test_a_fitting_stored_baseline_is_used_from_the_first_stride() -> None:
    policy = policy_with(learned_baseline(seed=1))
    alerts = policy.run(with_orientation(strides(400, seed=2)))
    assert alerts == []
    assert policy.baseline_ is not None and policy.baseline_.source == "profile"
    assert policy.baseline_status()["state"] == "stored"


def test_a_sensor_mounted_differently_relearns_with_a_notice() -> None:
    policy = policy_with(learned_baseline(seed=1))
    n_check = policy.config.baseline.fit_check_strides
    alerts = policy.run(with_orientation(strides(900, seed=2), turn_deg=35.0))
    notices = [a for a in alerts if a.kind is AlertKind.BASELINE_REFUSED]
    assert len(notices) == 1, [a.one_line() for a in alerts]
    assert notices[0].stride_index == n_check - 1
    assert "turned" in notices[0].reason and "no longer fits" in notices[0].title
    assert not any(a.severity is Severity.STOP for a in alerts)
    # learned afresh in this run
    assert policy.baseline_ is not None and policy.baseline_.source == "learned"


def test_new_shoes_that_change_the_features_far_beyond_a_guarded_gait_relearn() -> None:
    policy = policy_with(learned_baseline(seed=1))
    # contact 40 % longer at the same cadence: nothing a guarded gait does in 30 strides
    alerts = policy.run(with_orientation(strides(900, seed=2, contact_factor=1.4)))
    notices = [a for a in alerts if a.kind is AlertKind.BASELINE_REFUSED]
    assert len(notices) == 1 and "ground contact time" in notices[0].reason
    assert policy.baseline_dropped_ is not None


def test_a_guarded_gait_from_the_start_is_caught_not_taken_for_a_misfit() -> None:
    """Protection from the first minute: the stored baseline judges the first strides."""
    n, onset = 500, 100  # a 5-minute run; the guarded gait starts after ~75 s
    rows = strides(
        n,
        seed=3,
        peak_factor=step(n, onset, 1.0, 0.88),
        decel_factor=step(n, onset, 1.0, 0.85),
        contact_factor=step(n, onset, 1.0, 1.04),
        stride_time_noise=step(n, onset, 0.01, 0.025),
        noise_factor=step(n, onset, 1.0, 2.5),
    )
    policy = policy_with(learned_baseline(seed=1))
    alerts = policy.run(with_orientation(rows))
    stops = [a for a in alerts if a.kind is AlertKind.GAIT_CHANGED and a.state is AlertState.RAISED]
    assert [a.kind for a in alerts if a.kind is AlertKind.BASELINE_REFUSED] == []
    assert stops and onset <= stops[0].stride_index <= onset + 45, [a.stride_index for a in stops]
    assert policy.baseline_ is not None and policy.baseline_.source == "profile"


def test_screen_state_counts_down_while_learning_then_names_the_date() -> None:
    policy = AlertPolicy(leg="L")
    first = policy.baseline_status()
    assert first["state"] == "learning" and first["message"] == "learning your normal: 3:00 left"
    rows = strides(300, seed=5)
    policy.run(rows[:100])  # about 70 s of running
    mid = policy.baseline_status()
    assert mid["state"] == "learning" and 100 < float(mid["seconds_left"]) < 120  # type: ignore[arg-type]
    policy.run(rows[100:])
    assert policy.baseline_status()["message"] == "using the normal learned in this run"
    stored = PersonalBaseline.from_json(
        {**learned_baseline().to_json(), "created": "2026-12-03T08:00:00+01:00"}
    )
    assert (
        AlertPolicy(baseline=stored).baseline_status()["message"]
        == "using your baseline from 3 Dec"
    )


# ---------------------------------------------------------------- live, end to end

FAST = "[baseline]\nskip_s = 0\nduration_s = 20\nmin_strides = 10\n"


def live(tmp_path: Path, scenario: str, record: str, *extra: str) -> tuple[dict, str]:
    import subprocess
    import sys

    argv = [
        sys.executable, "-m", "strideguard", "live", "--virtual", scenario,
        "--virtual-duration", "75", "--speed", "15", "--board", "model", "--plain",
        "--no-sound", "--log-every", "20", "--alert-config", "fast.toml", "--record", record,
        "--format", "json", "--no-history", *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    proc = subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout), proc.stderr


@pytest.mark.slow
def test_live_saves_each_leg_at_the_end_and_the_next_run_starts_with_it(tmp_path: Path) -> None:
    (tmp_path / "fast.toml").write_text(FAST)
    data = tmp_path / "data"
    summary, err = live(tmp_path, "steady", "a.sgrec", "--data-dir", str(data), "--runner", "anna")
    assert "learning your normal: 0:20 left" in err
    saved = summary["stored_baseline"]
    assert saved["runner"] == "anna"
    assert sorted(Path(p).name for p in saved["saved"]) == ["L.json", "R.json"]
    for leg in "LR":
        base, why = load_baseline("anna", leg, data)
        assert why is None and base is not None and base.leg == leg
    # nothing went to the default data folder (conftest's), nor to another runner
    assert not any(Path(os.environ["STRIDEGUARD_DATA_DIR"]).rglob("*.json"))
    assert runners(data) == ["anna"]
    today = dt.datetime.now().astimezone()
    # the next run of the same runner (same sensor mounting: same seed) uses it from the start
    summary, err = live(tmp_path, "steady", "b.sgrec", "--data-dir", str(data), "--runner", "anna")
    assert f"using your baseline from {today.day} {today.strftime('%b')}" in err
    assert "learning your normal" not in err and summary["notices"] == []
    assert summary["stored_baseline"]["saved"] == []  # nothing new learned
    # another runner learns their own
    _, err = live(tmp_path, "steady", "c.sgrec", "--data-dir", str(data), "--runner", "ben")
    assert "learning your normal" in err and runners(data) == ["anna", "ben"]


@pytest.mark.slow
def test_a_run_with_a_stop_saves_nothing(tmp_path: Path) -> None:
    (tmp_path / "fast.toml").write_text(FAST)
    summary, _ = live(tmp_path, "guarded_onset", "g.sgrec", "--virtual-duration", "150")
    assert any(a["severity"] == "stop" for s in summary["sensors"] for a in s["alerts"])
    assert summary["stored_baseline"] == {"runner": "default", "saved": [], "why_not": "stop alert"}
    assert runners() == []
