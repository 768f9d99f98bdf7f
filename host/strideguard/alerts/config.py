"""Alert policy configuration: documented defaults, TOML or JSON files, validation.

Every setting has a default that the README and ``docs/alerts.md`` explain.
A config file only needs the settings it changes, grouped in sections::

    [baseline]
    skip_s = 60
    duration_s = 180

    [overstride]
    angle_above_reference_deg = 5.0
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from strideguard.errors import ConfigError


@dataclass
class BaselineConfig:
    """How the personal baseline is learned.

    Attributes
    ----------
    skip_s
        Running time ignored at the start (warm-up) before learning begins.
    duration_s
        Running time the baseline is learned from.
    min_strides
        Fewest running strides a usable baseline needs.
    drift_half_life_strides
        The baseline follows slow changes (fatigue drift over a long run) with
        this half-life; abrupt changes stand out against it.
    """

    skip_s: float = 60.0
    duration_s: float = 120.0
    min_strides: int = 60
    drift_half_life_strides: float = 150.0


@dataclass
class GaitChangeConfig:
    """The "gait changed — stop and get checked" detector (CUSUM over strides).

    Attributes
    ----------
    cusum_slack_sd
        Per-stride allowance (in baseline SDs of the combined score) before
        evidence accumulates.
    cusum_threshold_sd
        Accumulated evidence that raises the alert.
    max_stride_score_sd
        Cap on any single stride's contribution: one odd stride (a stumble)
        can never raise the alert alone.
    irregularity_ratio
        The irregularity the second detector looks for: stride-to-stride
        variation this many times the runner's normal.
    irregularity_threshold
        Log-likelihood evidence (CUSUM) for that irregularity needed, together
        with the level evidence, to raise the alert.
    end_after_strides
        Normal strides in a row after which a raised alert is reported as ended.
    resume_skip_strides
        Strides ignored after a walking break, stop or data gap.
    """

    cusum_slack_sd: float = 2.5
    cusum_threshold_sd: float = 8.0
    max_stride_score_sd: float = 4.0
    irregularity_ratio: float = 2.0
    irregularity_threshold: float = 8.0
    end_after_strides: int = 40
    resume_skip_strides: int = 8


@dataclass
class OverstrideConfig:
    """Overstride coaching.

    Attributes
    ----------
    angle_above_reference_deg
        Rolling tibia angle at IC this far above the runner's reference is
        overstriding (≈ the 5° difference Sugimoto 2019 found in injured runners).
    default_limit_deg
        Absolute limit used before a personal reference exists (calibrated
        angles only): no validated universal cut-off exists (Souza 2016).
    rolling_strides
        Strides in the rolling median.
    cadence_increase_pct
        Suggested cadence increase (Heiderscheit 2011: +5–10 %).
    max_cadence_rise_pct
        Above this rise over the reference cadence the runner is speeding up,
        not overstriding.
    reminder_s
        Least time between two cues while overstriding continues.
    """

    angle_above_reference_deg: float = 5.0
    default_limit_deg: float = 12.0
    rolling_strides: int = 7
    cadence_increase_pct: float = 7.5
    max_cadence_rise_pct: float = 3.0
    reminder_s: float = 90.0


@dataclass
class LateSwingLoadConfig:
    """High late-swing load caution.

    Attributes
    ----------
    ratio_above_normal
        Late-swing deceleration or mid-swing peak this many times the runner's
        normal is "high".
    strides_of_last_5
        How many of the last five strides must be high.
    reminder_s
        Least time between two cautions.
    """

    ratio_above_normal: float = 1.35
    strides_of_last_5: int = 3
    reminder_s: float = 120.0


@dataclass
class NoticeConfig:
    """Sensor and link notices.

    Attributes
    ----------
    clipped_share
        Share of the last 20 strides whose shock clipped the sensor range.
    battery_low_pct
        Battery level that raises "battery low".
    data_lost_s
        Gap length that is reported.
    mounting_change_deg
        Change of the gravity direction in the sensor frame (at stance) that
        means the sensor moved on the strap.
    """

    clipped_share: float = 0.25
    battery_low_pct: int = 15
    data_lost_s: float = 2.0
    mounting_change_deg: float = 12.0


@dataclass
class AlertConfig:
    """All alert settings."""

    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    gait_change: GaitChangeConfig = field(default_factory=GaitChangeConfig)
    overstride: OverstrideConfig = field(default_factory=OverstrideConfig)
    late_swing_load: LateSwingLoadConfig = field(default_factory=LateSwingLoadConfig)
    notices: NoticeConfig = field(default_factory=NoticeConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Settings as nested dicts."""
        return {
            f.name: {
                g.name: getattr(getattr(self, f.name), g.name)
                for g in fields(getattr(self, f.name))
            }
            for f in fields(self)
        }


#: (min, max) allowed per setting; outside is a ConfigError
LIMITS: dict[str, tuple[float, float]] = {
    "baseline.skip_s": (0, 3600),
    "baseline.duration_s": (20, 3600),
    "baseline.min_strides": (10, 5000),
    "baseline.drift_half_life_strides": (20, 100000),
    "gait_change.cusum_slack_sd": (0.1, 5),
    "gait_change.cusum_threshold_sd": (2, 200),
    "gait_change.max_stride_score_sd": (1, 20),
    "gait_change.irregularity_ratio": (1.1, 10),
    "gait_change.irregularity_threshold": (1, 200),
    "gait_change.end_after_strides": (5, 1000),
    "gait_change.resume_skip_strides": (0, 100),
    "overstride.angle_above_reference_deg": (1, 30),
    "overstride.default_limit_deg": (0, 40),
    "overstride.rolling_strides": (3, 101),
    "overstride.cadence_increase_pct": (1, 20),
    "overstride.max_cadence_rise_pct": (0, 30),
    "overstride.reminder_s": (5, 3600),
    "late_swing_load.ratio_above_normal": (1.05, 5),
    "late_swing_load.strides_of_last_5": (1, 5),
    "late_swing_load.reminder_s": (5, 3600),
    "notices.clipped_share": (0.01, 1),
    "notices.battery_low_pct": (1, 99),
    "notices.data_lost_s": (0.1, 600),
    "notices.mounting_change_deg": (2, 90),
}


def config_from_dict(data: dict[str, Any], *, origin: str = "config") -> AlertConfig:
    """Build a validated :class:`AlertConfig` from nested dicts.

    Parameters
    ----------
    data
        ``{section: {setting: value}}``; missing settings keep their defaults.
    origin
        Name used in error messages (the file name).

    Raises
    ------
    ConfigError
        Unknown section or setting, wrong type, or a value out of range.
    """
    cfg = AlertConfig()
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a table of sections")
    sections = {f.name for f in fields(cfg)}
    for section, values in data.items():
        if section not in sections:
            raise ConfigError(
                f"{origin}: unknown section [{section}] (known: {', '.join(sorted(sections))})"
            )
        target = getattr(cfg, section)
        assert is_dataclass(target)
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: [{section}] must be a table")
        known = {f.name: f for f in fields(target)}
        for key, value in values.items():
            if key not in known:
                raise ConfigError(f"{origin}: unknown setting {section}.{key}")
            default = getattr(target, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{origin}: {section}.{key} must be a number, got {value!r}")
            if isinstance(default, int) and not float(value).is_integer():
                raise ConfigError(
                    f"{origin}: {section}.{key} must be a whole number, got {value!r}"
                )
            lo, hi = LIMITS[f"{section}.{key}"]
            if not lo <= value <= hi:
                raise ConfigError(
                    f"{origin}: {section}.{key} = {value} is out of range [{lo}, {hi}]"
                )
            setattr(target, key, type(default)(value))
    return cfg


def load_config(path: str | Path | None) -> AlertConfig:
    """Load a TOML (``.toml``) or JSON alert config; ``None`` gives the defaults.

    Raises
    ------
    ConfigError
        The file is unreadable, malformed or has invalid values.
    """
    if path is None:
        return AlertConfig()
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read alert config {p}: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(text) if p.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"{p}: not valid {'TOML' if p.suffix.lower() == '.toml' else 'JSON'}: {exc}"
        ) from exc
    return config_from_dict(data, origin=str(p))
