"""Alert settings: every number that changes what the alerts do, with its range and unit.

Each setting is a field of a frozen dataclass, one section per detector. Its
default, allowed range, unit and meaning are stated once, on the field
(:func:`setting`); loading a file (:func:`load_config`), building a section
and the table in ``docs/alerts.md`` (:func:`settings_table`) all read them
from there. A config file only needs the settings it changes, grouped in
sections::

    [baseline]
    skip_s = 60
    duration_s = 180

    [overstride]
    angle_above_reference_deg = 5.0

Settings are immutable: a derived setting is a new object
(``dataclasses.replace(cfg.baseline, duration_s=180.0)``), so one config
can be shared by both legs and by many runs without one changing another.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from strideguard.cliargs import shown, shown_name
from strideguard.errors import ConfigError
from strideguard.optionfile import json_kind, parse_json, read_option_text

_N = TypeVar("_N", int, float)


def setting(default: _N, lo: float, hi: float, unit: str, doc: str) -> _N:
    """A config field with its allowed range ``[lo, hi]``, unit and one-line meaning.

    Parameters
    ----------
    default
        The default value; an ``int`` default makes the setting a whole number.
    lo, hi
        Allowed range (inclusive); values outside are a :class:`ConfigError`.
    unit
        Unit of the value (``"s"``, ``"strides"``, ``"SD"``, ``"°"``, ``"%"``, …; ``""`` for none).
    doc
        What the setting does, in one sentence (shown in ``docs/alerts.md``).
    """
    meta = {"range": (lo, hi), "unit": unit, "doc": doc}
    return field(default=default, metadata=meta)


def _check(section: object) -> None:
    """Refuse values outside each field's declared range (any section type)."""
    for f in fields(section):  # type: ignore[arg-type]
        value = getattr(section, f.name)
        lo, hi = f.metadata["range"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{f.name} must be a number, got {value!r}")
        if not lo <= value <= hi:
            raise ConfigError(f"{f.name} = {value} is out of range [{lo}, {hi}]")


@dataclass(frozen=True)
class BaselineConfig:
    """How the personal baseline is learned (see ``docs/alerts.md``)."""

    skip_s: float = setting(
        60.0, 0, 3600, "s", "Running time ignored at the start (warm-up) before learning begins."
    )
    duration_s: float = setting(120.0, 20, 3600, "s", "Running time the baseline is learned from.")
    min_strides: int = setting(60, 10, 5000, "strides", "Fewest running strides a baseline needs.")
    fit_check_strides: int = setting(
        30,
        5,
        1000,
        "strides",
        "A stored baseline is checked against this run's first running strides (detection "
        "runs meanwhile); one that no longer fits is dropped and learned again.",
    )
    fit_max_sd: float = setting(
        6.0,
        2,
        50,
        "SD",
        "A stored baseline no longer fits when a feature's median over the check strides is "
        "this many of its SDs away from what it predicts (a new shoe, a different mounting): "
        "far beyond a guarded gait's few SDs.",
    )
    fit_max_turn_deg: float = setting(
        20.0,
        5,
        90,
        "°",
        "… or when the sensor sits turned this much on the shin against when the baseline "
        "was learned (gravity or swing axis in the sensor frame).",
    )
    max_age_days: float = setting(
        60.0,
        1,
        3650,
        "days",
        "A stored baseline older than this (a long break) is not used: the run learns afresh.",
    )
    extend_s: float = setting(
        30.0,
        5,
        600,
        "s",
        "When the learning time held fewer than `min_strides` running strides (walking breaks), "
        "learning goes on for this much more running time, as often as needed.",
    )
    drift_half_life_strides: float = setting(
        150.0,
        20,
        100000,
        "strides",
        "Half-life with which the baseline follows slow changes (fatigue over a long run); "
        "abrupt changes stand out against it.",
    )

    def __post_init__(self) -> None:
        _check(self)


@dataclass(frozen=True)
class RunningConfig:
    """Which strides are running: only those reach the detectors."""

    min_cadence_spm: float = setting(
        130.0,
        60,
        200,
        "steps/min",
        "Strides below this cadence are walking: the detectors skip them and gait-change "
        "detection pauses.",
    )
    max_duty_factor: float = setting(
        0.5,
        0.3,
        0.9,
        "",
        "Strides with a longer share of ground contact are walking (running has a flight "
        "phase, so its duty factor stays below 0.5).",
    )

    def __post_init__(self) -> None:
        _check(self)


@dataclass(frozen=True)
class GaitChangeConfig:
    """The "gait changed — stop and get checked" detector (two CUSUMs over strides)."""

    cusum_slack_sd: float = setting(
        2.5,
        0.1,
        5,
        "SD",
        "Per-stride allowance of the level evidence (baseline SDs of the combined score) "
        "before it accumulates.",
    )
    cusum_threshold_sd: float = setting(
        8.0, 2, 200, "SD", "Accumulated level evidence that, with the irregularity, says stop."
    )
    max_stride_score_sd: float = setting(
        4.0,
        1,
        20,
        "SD",
        "Cap on one stride's level evidence: one odd stride (a stumble) never fires it alone.",
    )
    level_window_strides: int = setting(
        5,
        1,
        50,
        "strides",
        "The level evidence is the median of this many strides' scores: a lasting shift "
        "passes, the scatter of rough ground does not.",
    )
    stance_slack_sd: float = setting(
        1.0,
        0.1,
        10,
        "SD",
        "Per-stride allowance of the antalgic-stance evidence (contact shorter than the pace "
        "explains, in SDs of contact time) before it accumulates.",
    )
    stance_threshold_sd: float = setting(
        8.0,
        1,
        200,
        "SD",
        "Accumulated antalgic-stance evidence that, with the level evidence, says stop.",
    )
    irregularity_ratio: float = setting(
        2.0,
        1.1,
        10,
        "×",
        "The irregularity looked for: stride-to-stride variation this many times the normal.",
    )
    irregularity_threshold: float = setting(
        8.0,
        1,
        200,
        "log LR",
        "Accumulated log-likelihood evidence for that irregularity needed with the level evidence.",
    )
    co_onset_strides: int = setting(
        40,
        5,
        10000,
        "strides",
        "Irregularity counts only if it began at most this many strides before the first level "
        "evidence of its episode: a guarded gait starts at a moment, rough ground (a trail) has "
        "been irregular all along.",
    )
    evidence_memory_strides: int = setting(
        1,
        1,
        1000,
        "strides",
        "The second kind of evidence (irregularity or a shorter stance) counts at its strongest "
        "over this many recent strides: the two kinds of evidence of one change must come "
        "together, not on the very same stride (1: the same stride only).",
    )
    end_episode_strides: int = setting(
        10,
        1,
        1000,
        "strides",
        "Quiet strides in a row that end an episode of irregularity or level evidence "
        "(for the co-onset rule).",
    )
    ground_half_life_strides: float = setting(
        40.0,
        5,
        10000,
        "strides",
        "Half-life with which the irregularity reference follows lasting irregularity "
        "(rough ground).",
    )
    end_after_strides: int = setting(
        40, 5, 1000, "strides", "Quiet strides in a row after which a raised alert ends."
    )
    quiet_share: float = setting(
        0.25,
        0.05,
        0.9,
        "",
        "Evidence below this share of the threshold is quiet: such strides count towards the "
        "end, and only then does the baseline follow slow drift.",
    )
    reminder_s: float = setting(
        60.0, 5, 3600, "s", "Least time between two reminders while the alert stays on."
    )
    known_pace_ratio: float = setting(
        1.35,
        1.05,
        5,
        "×",
        "Strides whose mid-swing peak is beyond this factor of the runner's normal (either "
        "way, e.g. a sprint) are outside the pace the baseline's pace model knows: they give no "
        "evidence, evidence waits for the pace to settle after them, and they neither move the "
        "slow drift nor measure a moved sensor's new position.",
    )
    resume_skip_strides: int = setting(
        8,
        0,
        100,
        "strides",
        "Strides ignored after a walking break, stop, data gap or sensor move.",
    )
    drift_step_max_sd: float = setting(
        3.0, 0.5, 10, "SD", "Cap on one stride's pull on the slow-drift tracker."
    )
    report_strides: int = setting(
        8,
        1,
        100,
        "strides",
        "Strides the change named in the alert (e.g. '12 % slower') is averaged over.",
    )
    pace_window_strides: int = setting(
        3,
        2,
        20,
        "strides",
        "A pace transition compares the medians of this many strides with the same many before.",
    )
    pace_transition_spm: float = setting(
        11.0,
        2,
        50,
        "steps/min",
        "Median cadence change that is a pace transition (e.g. out of a sprint).",
    )
    pace_transition_log_peak: float = setting(
        0.35,
        0.05,
        2,
        "log",
        "Change of log median mid-swing peak that is a pace transition (0.35 ≈ 40 %).",
    )
    pace_transition_skip_strides: int = setting(
        3,
        0,
        50,
        "strides",
        "Strides without evidence after a pace transition (the pace covariates lag the swing).",
    )
    pace_settle_from_ratio: float = setting(
        1.25,
        1.0,
        5,
        "×",
        "A transition out of a pace whose mid-swing peak was this many times the runner's "
        "normal (a hard effort) waits for the pace to settle.",
    )
    pace_settle_spm: float = setting(
        3.0,
        0.5,
        50,
        "steps/min",
        "After a pace transition, evidence waits until the median cadence of the last "
        "`pace_window_strides` strides is this close to the rolling pace.",
    )
    pace_settle_log_contact: float = setting(
        0.05,
        0.005,
        1,
        "log",
        "… and their median contact time this close (log ratio) to the rolling contact time.",
    )
    pace_settle_max_strides: int = setting(
        30,
        0,
        1000,
        "strides",
        "Longest wait for the pace to settle after a transition.",
    )
    gap_reset_s: float = setting(
        1.0,
        0.1,
        60,
        "s",
        "Data gaps this long pause detection; after shorter ones the strides around them count "
        "with the features measured clear of the gap.",
    )
    missing_strides_gap_s: float = setting(
        2.5,
        1,
        60,
        "s",
        "More than this between two contacts means strides are missing: consecutive-stride "
        "comparisons restart.",
    )
    stop_gap_s: float = setting(
        5.0,
        1,
        600,
        "s",
        "More than this between two contacts: the runner stopped (or the data did); "
        "detection pauses.",
    )
    pain_boost_strides: int = setting(
        100,
        1,
        10000,
        "strides",
        "After a pain mark, for this many strides the level evidence alone counts.",
    )
    pain_slack_share: float = setting(
        0.5, 0, 1, "", "Share of `cusum_slack_sd` the level evidence uses after a pain mark."
    )
    pain_threshold_share: float = setting(
        0.5, 0.1, 1, "", "Share of `cusum_threshold_sd` that says stop after a pain mark."
    )
    pain_developing_share: float = setting(
        1.0 / 3.0,
        0.05,
        1,
        "",
        "A pain mark says stop at once when the evidence (with the pain slack) is at least "
        "this share of the threshold.",
    )

    def __post_init__(self) -> None:
        _check(self)


@dataclass(frozen=True)
class SymmetryConfig:
    """Two sensors: a one-sided change against the runner's own left/right balance."""

    slack_sd: float = setting(
        1.0,
        0.1,
        5,
        "SD",
        "Per-pair allowance of the symmetry evidence (SDs of the runner's normal balance) "
        "before it accumulates.",
    )
    threshold_sd: float = setting(
        8.0,
        2,
        200,
        "SD",
        "Accumulated one-sided evidence that says stop and names the leg.",
    )
    max_pair_score_sd: float = setting(
        5.0,
        1,
        20,
        "SD",
        "Cap on one pair's evidence: one odd stride never fires it alone.",
    )
    noise_half_life_pairs: float = setting(
        15.0,
        5,
        10000,
        "pairs",
        "Half-life with which the pair-to-pair noise of the balance is followed (rough "
        "ground makes it noisier on both legs; a one-sided change moves it, which this ignores).",
    )
    pace_range_ratio: float = setting(
        1.35,
        1.05,
        5,
        "×",
        "Pairs count only while both legs' mid-swing speed is within this factor of their "
        "normal (either way): the balance is known at the runner's usual paces, not at a sprint.",
    )
    min_pairs: int = setting(
        40, 20, 5000, "pairs", "Fewest stride pairs the runner's own balance is learned from."
    )
    rolling_pairs: int = setting(
        15, 3, 500, "pairs", "Pairs in the rolling symmetry shown live and in the summary."
    )
    reanchor_pairs: int = setting(
        30,
        5,
        1000,
        "pairs",
        "After a sensor moved: pairs the balance is measured again from before it counts.",
    )

    def __post_init__(self) -> None:
        _check(self)


@dataclass(frozen=True)
class OverstrideConfig:
    """Overstride coaching, live and in the analysis summary."""

    angle_above_reference_deg: float = setting(
        5.0,
        1,
        30,
        "°",
        "Tibia angle at IC this far above the runner's reference is overstriding "
        "(≈ the 5° Sugimoto 2019 found in injured runners).",
    )
    default_limit_deg: float = setting(
        12.0,
        0,
        40,
        "°",
        "Absolute limit before a personal reference exists (calibrated angles only; "
        "no validated universal cut-off exists, Souza 2016).",
    )
    reference_strides: int = setting(
        20,
        3,
        500,
        "strides",
        "Without a baseline (analysis summary, or after the sensor moved) the reference angle "
        "is the median of this many strides.",
    )
    rolling_strides: int = setting(
        7, 3, 101, "strides", "Strides in the rolling median of the angle and the cadence."
    )
    persist_strides: int = setting(
        3, 1, 50, "strides", "Rolling medians in a row above the limit that raise the cue."
    )
    scatter_strides: int = setting(
        21,
        5,
        501,
        "strides",
        "Recent strides the angle's stride-to-stride scatter is measured over (robust SD of "
        "consecutive differences: rough ground raises it, a lasting shift does not).",
    )
    margin_se: float = setting(
        1.0,
        0,
        5,
        "SE",
        "The rolling median must clear the limit by this many of its standard errors (from "
        "that scatter): a sustained forward shift, not the scatter of irregular footing.",
    )
    max_cadence_rise_pct: float = setting(
        3.0,
        0,
        30,
        "%",
        "Above this rise over the reference cadence the runner is speeding up, not overstriding.",
    )
    cadence_increase_pct: float = setting(
        7.5, 1, 20, "%", "Cadence increase the cue names as the target (Heiderscheit 2011)."
    )
    cadence_target_low_pct: float = setting(
        5.0, 0, 20, "%", "Low end of the cadence range the cue and the summary name."
    )
    cadence_target_high_pct: float = setting(
        10.0, 1, 30, "%", "High end of that range (Heiderscheit 2011: +5–10 %)."
    )
    end_after_windows: int = setting(
        2,
        1,
        20,
        "windows",
        "The cue ends after this many rolling windows (`rolling_strides` each) of strides "
        "without it, counted since the last one: the rolling median is clean of it by then.",
    )
    reminder_s: float = setting(
        90.0,
        5,
        3600,
        "s",
        "Least time between two cues, while overstriding continues or after a cue that ended "
        "(a median hovering at the limit does not cue again and again).",
    )
    summary_share: float = setting(
        0.25,
        0.01,
        1,
        "",
        "Analysis summary: coaching advice when this share of strides overstride "
        "(or a rolling episode occurred).",
    )

    def __post_init__(self) -> None:
        _check(self)
        if self.cadence_target_low_pct > self.cadence_target_high_pct:
            raise ConfigError(
                "cadence_target_low_pct must not be above cadence_target_high_pct "
                f"({self.cadence_target_low_pct} > {self.cadence_target_high_pct})"
            )


@dataclass(frozen=True)
class LateSwingLoadConfig:
    """High late-swing load caution."""

    ratio_above_normal: float = setting(
        1.35,
        1.05,
        5,
        "×",
        "Late-swing deceleration or mid-swing peak this many times the runner's normal is high.",
    )
    window_strides: int = setting(5, 1, 50, "strides", "The recent strides that are looked at.")
    min_high_strides: int = setting(
        3, 1, 50, "strides", "High strides among those that raise the caution."
    )
    end_after_calm_strides: int = setting(
        10,
        1,
        1000,
        "strides",
        "Strides with no high stride in the window, counted since the last caution, after "
        "which it ends.",
    )
    reminder_s: float = setting(120.0, 5, 3600, "s", "Least time between two cautions.")

    def __post_init__(self) -> None:
        _check(self)
        if self.min_high_strides > self.window_strides:
            raise ConfigError(
                f"min_high_strides ({self.min_high_strides}) must not exceed "
                f"window_strides ({self.window_strides})"
            )


@dataclass(frozen=True)
class NoticeConfig:
    """Sensor and link notices."""

    clipped_window_strides: int = setting(
        20, 5, 500, "strides", "Recent strides the clipped share is taken over."
    )
    clipped_share: float = setting(
        0.25, 0.01, 1, "", "Share of those strides whose shock clipped the sensor range."
    )
    clipping_reminder_s: float = setting(
        600.0, 5, 3600, "s", "Least time between two clipping notices."
    )
    battery_low_pct: int = setting(15, 1, 99, "%", "Battery level that raises 'battery low'.")
    data_lost_s: float = setting(2.0, 0.1, 600, "s", "Data gaps this long are reported.")
    mounting_change_deg: float = setting(
        12.0,
        2,
        90,
        "°",
        "Turn of the gravity direction or swing axis in the sensor frame that means the "
        "sensor moved on the strap.",
    )
    mounting_reference_strides: int = setting(
        10, 3, 200, "strides", "Strides the sensor's orientation reference is averaged over."
    )
    mounting_persist_strides: int = setting(
        5, 1, 100, "strides", "Strides in a row beyond the turn that report the move."
    )
    mounting_reanchor_strides: int = setting(
        30,
        5,
        1000,
        "strides",
        "After the sensor moved: running strides its numbers are measured again from (the "
        "notice stays on meanwhile) before gait-change evidence counts again.",
    )

    def __post_init__(self) -> None:
        _check(self)


@dataclass(frozen=True)
class PatternConfig:
    """Alert patterns on the sensors' motors (the sensor is the alarm; see ``docs/live.md``).

    Durations go to the sensor in 10-ms steps (``protocol.OP_PLAY_PATTERN``).
    """

    enabled: int = setting(
        1,
        0,
        1,
        "",
        "1: send an alert pattern to the sensor for every raised, escalated and "
        "reminded alert of severity coach or higher; 0: the sensors stay silent.",
    )
    both_legs: int = setting(
        0,
        0,
        1,
        "",
        "0: buzz the shin the alert concerns (the other one when that sensor is not "
        "connected); 1: both shins.",
    )
    stop_pulses: int = setting(3, 1, 8, "pulses", "Long pulses of the stop pattern.")
    stop_pulse_ms: int = setting(600, 100, 2550, "ms", "Length of each stop pulse.")
    stop_gap_ms: int = setting(300, 50, 2550, "ms", "Pause between stop pulses.")
    stop_repeat_s: float = setting(
        10.0,
        3,
        60,
        "s",
        "The stop pattern starts again this often until the runner acknowledges it "
        "(long press, phone) or the alert ends.",
    )
    caution_pulses: int = setting(2, 1, 8, "pulses", "Short pulses of the caution pattern.")
    caution_pulse_ms: int = setting(150, 50, 1000, "ms", "Length of each caution pulse.")
    caution_gap_ms: int = setting(150, 50, 1000, "ms", "Pause between caution pulses.")
    coach_pulse_ms: int = setting(
        60, 50, 200, "ms", "Coaching metronome: one pulse per step at the target cadence."
    )
    coach_duration_s: float = setting(20.0, 2, 60, "s", "How long the metronome plays.")

    def __post_init__(self) -> None:
        _check(self)
        play_ms = self.stop_pulses * (self.stop_pulse_ms + self.stop_gap_ms)
        if self.stop_repeat_s * 1000.0 < play_ms:
            raise ConfigError(
                f"stop_repeat_s ({self.stop_repeat_s:g} s) is shorter than the stop pattern "
                f"({play_ms / 1000:g} s)"
            )


@dataclass(frozen=True)
class AlertConfig:
    """All alert settings, one section per detector (immutable)."""

    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    running: RunningConfig = field(default_factory=RunningConfig)
    gait_change: GaitChangeConfig = field(default_factory=GaitChangeConfig)
    symmetry: SymmetryConfig = field(default_factory=SymmetryConfig)
    overstride: OverstrideConfig = field(default_factory=OverstrideConfig)
    late_swing_load: LateSwingLoadConfig = field(default_factory=LateSwingLoadConfig)
    notices: NoticeConfig = field(default_factory=NoticeConfig)
    patterns: PatternConfig = field(default_factory=PatternConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Settings as nested dicts."""
        return {
            section: {f.name: getattr(values, f.name) for f in fields(values)}
            for section, values in self.sections()
        }

    def sections(self) -> Iterator[tuple[str, Any]]:
        """``(name, section)`` pairs in file order."""
        for f in fields(self):
            yield f.name, getattr(self, f.name)


def settings_fields() -> Iterator[tuple[str, Field[Any]]]:
    """Every setting as ``(section name, dataclass field)``, in file order."""
    for section, values in AlertConfig().sections():
        for f in fields(values):
            yield section, f


def settings_table() -> str:
    """The Markdown table of every setting (``docs/alerts.md`` holds it; a test compares)."""

    def num(v: float) -> str:
        return f"{v:g}"

    lines = [
        "| setting | default | range | unit | what it does |",
        "|---|---|---|---|---|",
    ]
    defaults = AlertConfig().to_dict()
    for section, f in settings_fields():
        lo, hi = f.metadata["range"]
        default = defaults[section][f.name]
        shown = f"{default:.3g}" if isinstance(default, float) else str(default)
        lines.append(
            f"| `{section}.{f.name}` | {shown} | {num(lo)}–{num(hi)} | {f.metadata['unit'] or '—'} "
            f"| {f.metadata['doc']} |"
        )
    return "\n".join(lines) + "\n"


def defaults_toml() -> str:
    """Every setting with its default, as a TOML file (``docs/alerts.md`` holds it)."""
    out: list[str] = []
    for section, values in AlertConfig().to_dict().items():
        if out:
            out.append("")
        out.append(f"[{section}]")
        out += [f"{name} = {value!r}" for name, value in values.items()]
    return "\n".join(out) + "\n"


def config_from_dict(data: object, *, origin: str = "config") -> AlertConfig:
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
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a table of sections, not a JSON {json_kind(data)}")
    cfg = AlertConfig()
    current = dict(cfg.sections())
    changed: dict[str, Any] = {}
    for section, values in data.items():
        if section not in current:
            raise ConfigError(
                f"{origin}: unknown section [{shown_name(section)}] (known: {', '.join(current)})"
            )
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: [{section}] must be a table")
        target = current[section]
        known = {f.name: f for f in fields(target)}
        typed: dict[str, int | float] = {}
        for key, value in values.items():
            if key not in known:
                raise ConfigError(
                    f"{origin}: unknown setting {section}.{shown_name(key)} (known: {', '.join(known)})"
                )
            default = getattr(target, key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{origin}: {section}.{key} must be a number, got {shown(value)}")
            lo, hi = known[key].metadata["range"]
            if not lo <= value <= hi:  # (False for NaN) before any conversion can overflow
                raise ConfigError(
                    f"{origin}: {section}.{key} = {shown(value)} is out of range [{lo}, {hi}]"
                )
            if isinstance(default, int) and not float(value).is_integer():
                raise ConfigError(
                    f"{origin}: {section}.{key} must be a whole number, got {shown(value)}"
                )
            typed[key] = type(default)(value)
        try:
            changed[section] = replace(target, **typed)
        except ConfigError as exc:
            raise ConfigError(f"{origin}: {section}.{exc}") from None
    return replace(cfg, **changed)


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
    text = read_option_text(p, "alert config", error=ConfigError)
    if p.suffix.lower() != ".toml":
        data = parse_json(text, "alert config", p, error=ConfigError)
    else:
        try:
            data = tomllib.loads(text)
        except RecursionError:
            raise ConfigError(f"alert config {p} is nested too deeply to read") from None
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise ConfigError(f"{p}: not valid TOML: {str(exc).splitlines()[0][:120]}") from None
    return config_from_dict(data, origin=str(p))
