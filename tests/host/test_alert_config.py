"""Alert settings: ranges on the fields, immutable objects shared safely, the docs table."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from strideguard.alerts import AlertConfig, AlertPolicy
from strideguard.alerts.config import (
    OverstrideConfig,
    config_from_dict,
    defaults_toml,
    settings_fields,
    settings_table,
)
from strideguard.alerts.offline import alerts_for_strides
from strideguard.errors import ConfigError
from strideguard.live.run import LiveRun
from tests.conftest import REPO
from tests.host.test_alert_policy import strides


def walk_during_warmup(seed: int) -> list[dict[str, float]]:
    """Running with a long walking break inside the baseline's learning time.

    The default learning window (60–180 s of running) then holds too few
    running strides, so the learner has to go on learning for longer.
    """
    run1 = strides(100, seed=seed)
    walk = strides(
        120,
        seed=seed + 1,
        cadence_spm=112.0,
        contact_factor=2.2,
        t0_s=run1[-1]["initial_contact_s"] + 0.8,
    )
    run2 = strides(400, seed=seed + 2, t0_s=walk[-1]["initial_contact_s"] + 1.0)
    return run1 + walk + run2


def baseline_facts(policy: AlertPolicy) -> tuple[int, float]:
    assert policy.baseline_ is not None
    return policy.baseline_.n_strides, policy.baseline_.cadence_ref_spm


# ---------------------------------------------------------------------- shared settings


def test_two_legs_see_the_settings_given() -> None:
    # the live runner hands one config object to both legs; the left leg walks during its
    # warm-up and must learn longer; the right leg must not learn longer because of that
    steady = strides(600, seed=31)
    alone = AlertPolicy()
    alone.run(steady)

    config = AlertConfig()
    run = LiveRun(["StrideGuard-L", "StrideGuard-R"], lambda e: None, config=config)
    left, right = (p.policy for p in run.pipelines)
    left.run(walk_during_warmup(40))
    assert left.baseline_ is not None and left.baseline_.n_strides >= 60
    right.run(steady)

    assert baseline_facts(right) == baseline_facts(alone)
    assert left.config == right.config == config == AlertConfig()


def test_repeated_evaluations_see_the_settings_given() -> None:
    # eval-alerts scores many runs with one config object: a run that learns longer must not
    # make the next run learn longer
    config = AlertConfig()
    steady = strides(600, seed=32)
    fresh = alerts_for_strides(steady, config=AlertConfig())
    alerts_for_strides(walk_during_warmup(50), config=config)
    again = alerts_for_strides(steady, config=config)
    assert baseline_facts(again) == baseline_facts(fresh)
    assert [a.to_dict() for a in again.alerts_] == [a.to_dict() for a in fresh.alerts_]
    assert config == AlertConfig()


def test_settings_are_immutable_and_derived_by_replace() -> None:
    cfg = AlertConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.baseline.duration_s += 30.0  # type: ignore[misc]
    longer = dataclasses.replace(cfg.baseline, duration_s=180.0)
    assert longer.duration_s == 180.0 and cfg.baseline.duration_s == 120.0
    with pytest.raises(ConfigError, match=r"duration_s = 5000.0 is out of range \[20, 3600\]"):
        dataclasses.replace(cfg.baseline, duration_s=5000.0)


# ---------------------------------------------------------------------- ranges on the fields


def test_every_setting_states_its_range_unit_and_meaning() -> None:
    n = 0
    for section, f in settings_fields():
        lo, hi = f.metadata["range"]
        default = getattr(getattr(AlertConfig(), section), f.name)
        assert lo <= default <= hi, (section, f.name)
        assert isinstance(f.metadata["unit"], str)
        assert len(f.metadata["doc"]) > 15, (section, f.name)
        n += 1
    assert n == sum(len(v) for v in AlertConfig().to_dict().values())


def test_loading_checks_every_range_from_the_field() -> None:
    for section, f in settings_fields():
        lo, hi = f.metadata["range"]
        whole = isinstance(f.default, int)
        above = int(hi) + 1 if whole else hi * 1.01 + 0.01
        with pytest.raises(ConfigError, match=rf"x.toml: {section}\.{f.name} = .* out of range"):
            config_from_dict({section: {f.name: above}}, origin="x.toml")
        if lo > 0:
            below = int(lo) - 1 if whole else lo * 0.99 - 0.01
            with pytest.raises(ConfigError, match="out of range"):
                config_from_dict({section: {f.name: below}}, origin="x.toml")
        for end in (lo, hi):  # the ends of the range are allowed
            try:
                config_from_dict({section: {f.name: type(f.default)(end)}})
            except ConfigError as exc:  # another setting may forbid it, the range does not
                assert "out of range" not in str(exc)


def test_settings_that_depend_on_each_other() -> None:
    with pytest.raises(ConfigError, match=r"min_high_strides .* must not exceed window_strides"):
        config_from_dict({"late_swing_load": {"window_strides": 4, "min_high_strides": 5}})
    cfg = config_from_dict({"late_swing_load": {"window_strides": 8, "min_high_strides": 5}})
    assert cfg.late_swing_load.window_strides == 8
    with pytest.raises(ConfigError, match="cadence_target_low_pct"):
        OverstrideConfig(cadence_target_low_pct=12.0, cadence_target_high_pct=10.0)
    with pytest.raises(ConfigError, match=r"unknown setting late_swing_load\.strides_of_last_5"):
        config_from_dict({"late_swing_load": {"strides_of_last_5": 3}})


# ---------------------------------------------------------------------- docs


def test_docs_list_every_setting() -> None:
    doc = (REPO / "docs" / "alerts.md").read_text()
    table = re.search(r"<!-- settings-table:begin -->\n(.*?)<!-- settings-table:end -->", doc, re.S)
    assert table is not None
    assert table.group(1) == settings_table(), "regenerate with settings_table()"
    toml = re.search(r"```toml\n(.*?)```", doc, re.S)
    assert toml is not None and toml.group(1) == defaults_toml()
    for section, f in settings_fields():
        assert f"`{section}.{f.name}`" in table.group(1)


# ---------------------------------------------------------------------- one overstride config


def test_alert_config_reaches_the_analysis_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from strideguard.cli import main

    def summary(*extra: str) -> dict[str, Any]:
        assert main(["analyze", "--example", "--format", "json", *extra]) == 0
        return json.loads(capsys.readouterr().out)["summary"]["overstride"]

    default = summary()
    assert default["threshold_deg"] == OverstrideConfig().angle_above_reference_deg
    cfg = tmp_path / "alerts.toml"
    cfg.write_text("[overstride]\nangle_above_reference_deg = 1.0\n")
    tuned = summary("--alert-config", str(cfg))
    assert tuned["threshold_deg"] == 1.0
    assert tuned["overstride_share"] > default["overstride_share"]
    cfg.write_text("[overstride]\nreference_strides = 5\n")
    assert summary("--alert-config", str(cfg))["reference_source"] == "first 5 strides"
