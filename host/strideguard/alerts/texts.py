"""Every word an alert says to the runner, in one place to review and, later, translate.

The detectors decide *whether* and *with which numbers*; the functions here
turn those numbers into a title (a few words for a banner), a reason (why, in
words a runner understands) and advice (what to do now).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from strideguard import protocol as proto

#: a feature must differ from the normal by more than this (%) to be named in the gait-change reason
NAMED_CHANGE_MIN_PCT = 4.0

STOP_ADVICE_DOCTOR = "pain for more than a day deserves a doctor"
RUN_ENDED = "The run ended."
#: where an acknowledgement came from -> how the reason names it
ACKNOWLEDGED_BY = {"sensor": "with the sensor's button", "phone": "on the phone", "host": "here"}


def acknowledged(source: str) -> str:
    """Reason of an ``acknowledged`` alert event: who confirmed it, what changes."""
    how = ACKNOWLEDGED_BY.get(source, "")
    return f"Acknowledged{' ' + how if how else ''}: no reminders while it stays on."


@dataclass(frozen=True)
class AlertText:
    """What an alert says.

    Attributes
    ----------
    title
        A few words for a banner.
    reason
        Why, in plain words.
    advice
        What to do now (empty for an ended alert).
    """

    title: str
    reason: str
    advice: str = ""


# ---------------------------------------------------------------- gait changed


def gait_changed(cadence_spm: float, change_pct: Mapping[str, float]) -> AlertText:
    """The stop alert; ``change_pct`` is each feature's recent change from the normal (%)."""
    parts = []
    named = NAMED_CHANGE_MIN_PCT
    if change_pct.get("peak_midswing_gyr_dps", 0.0) < -named:
        parts.append(f"your leg swings {abs(change_pct['peak_midswing_gyr_dps']):.0f} % slower")
    if change_pct.get("late_swing_peak_decel_dps2", 0.0) < -named:
        parts.append("it brakes less before landing")
    if change_pct.get("contact_time_s", 0.0) > named:
        parts.append("your foot stays longer on the ground")
    elif change_pct.get("contact_time_s", 0.0) < -named:
        parts.append("you leave the ground sooner")
    what = ", ".join(parts) if parts else "your stride pattern is different and less regular"
    return AlertText(
        "Gait changed — stop and get checked",
        f"Your running has changed from your normal at the same cadence ({cadence_spm:.0f} "
        f"steps/min): {what}.",
        "Stop running and walk. If anything hurts or the change stays, get it checked; "
        f"{STOP_ADVICE_DOCTOR}.",
    )


GAIT_NORMAL_AGAIN = "Your strides look like your normal again."

LEG_NAMES = {"L": "left", "R": "right"}


def _pct(log_change: float) -> float:
    return 100.0 * (math.exp(log_change) - 1.0)


def gait_changed_one_side(leg: str | None, change: Mapping[str, float]) -> AlertText:
    """The stop alert from a one-sided change.

    ``change`` holds, per paired feature, this leg against the other compared
    with the runner's normal balance: a log ratio (degrees for the angle).
    """
    this = LEG_NAMES.get(leg or "", "one")
    other = {"left": "right", "right": "left"}.get(this, "other")
    parts = []
    named = NAMED_CHANGE_MIN_PCT
    peak = _pct(change.get("peak_midswing_gyr_dps", 0.0))
    if peak < -named:
        parts.append(f"it swings {abs(peak):.0f} % slower")
    if _pct(change.get("late_swing_peak_decel_dps2", 0.0)) < -named:
        parts.append("it brakes less before landing")
    contact = _pct(change.get("contact_time_s", 0.0))
    if contact < -named:
        parts.append(f"it leaves the ground {abs(contact):.0f} % sooner")
    elif contact > named:
        parts.append(f"it stays {contact:.0f} % longer on the ground")
    if _pct(change.get("peak_tibial_accel_g", 0.0)) < -3 * named:
        parts.append("it lands more softly")
    what = ", ".join(parts) if parts else "its stride pattern has changed"
    return AlertText(
        f"Gait changed — your {this} leg — stop and get checked",
        f"Your {this} leg has changed against your {other} leg, compared with your normal "
        f"balance: {what}. Hills, pace and tiredness change both legs alike; this is one-sided.",
        f"Stop running and walk. If your {this} leg hurts or the change stays, get it checked; "
        f"{STOP_ADVICE_DOCTOR}.",
    )


def pain_and_gait_change() -> AlertText:
    """A pain mark while a gait change develops: stop at once."""
    return AlertText(
        "Pain and a changed gait — stop",
        "You marked pain and your running pattern has been changing.",
        f"Stop running now and get it checked; {STOP_ADVICE_DOCTOR}.",
    )


PAIN_WHILE_CHANGED = "You marked pain while your gait is changed."


def pain_marked() -> AlertText:
    """A pain mark with a normal-looking gait."""
    return AlertText(
        "Pain marked",
        "You marked pain. Your gait looks normal so far.",
        "If the pain grows, or changes the way you run, stop and get checked.",
    )


# ---------------------------------------------------------------- overstride


def overstride(
    angle_deg: float,
    cadence_spm: float,
    target_spm: int,
    target_range_spm: tuple[int, int],
    *,
    above_reference_deg: float | None,
    reference_deg: float | None,
    default_limit_deg: float,
) -> AlertText:
    """The coaching cue.

    ``reference_deg`` is the runner's own reference (``None`` when the absolute
    ``default_limit_deg`` applies).
    """
    if reference_deg is not None and above_reference_deg is not None:
        against = f"{above_reference_deg:.0f}° more than your normal {reference_deg:.1f}°"
    else:
        against = f"above the default limit of {default_limit_deg:.0f}°"
    lo, hi = target_range_spm
    return AlertText(
        "Overstriding",
        f"Your shin is at {angle_deg:+.1f}° when your foot lands ({against}; + = ankle ahead of "
        f"the knee) at {cadence_spm:.0f} steps/min: your foot lands further ahead of you than "
        "usual, which loads the hamstrings.",
        f"Shorten your stride: take quicker, lighter steps — aim for about {target_spm} "
        f"steps/min ({lo}–{hi}).",
    )


def overstride_ended(angle_deg: float) -> str:
    """Why the overstride cue ended."""
    return f"Your foot lands closer under you again ({angle_deg:.1f}°)."


def overstride_summary(
    threshold_deg: float,
    share: float,
    range_pct: tuple[float, float],
    cadence_spm: float,
    target_range_spm: tuple[int, int],
) -> str:
    """The analysis summary's coaching advice."""
    lo, hi = range_pct
    return (
        f"Your shin landed more than {threshold_deg:.0f}° further ahead than at your reference "
        f"on {100 * share:.0f} % of strides: take quicker, shorter steps — raise your cadence "
        f"by {lo:.0f}–{hi:.0f} % from {cadence_spm:.0f} to {target_range_spm[0]}–"
        f"{target_range_spm[1]} steps/min."
    )


# ---------------------------------------------------------------- late-swing load


def late_swing_load(ratio: float) -> AlertText:
    """The caution; ``ratio`` is the highest of this stride's load ratios to the normal."""
    return AlertText(
        "High hamstring load",
        f"Your shin swings and brakes {100 * (ratio - 1):.0f} % harder than your normal before "
        "landing — late swing is when hamstrings strain.",
        "Fine for a planned sprint; ease off if you are tired or feel the back of your thigh.",
    )


LATE_SWING_NORMAL_AGAIN = "Late-swing load is back to your normal."


# ---------------------------------------------------------------- notices


def clipping(clipped: int, strides: int) -> AlertText:
    """Landings beyond the accelerometer's full scale."""
    return AlertText(
        "Shock above sensor range",
        f"{clipped} of the last {strides} landings exceeded the sensor's ±{proto.ACC_RANGE_G} g "
        "range, so peak shock is underestimated.",
        "Check that the sensor sits tight on the shin; hard landings also cause this.",
    )


def sensor_moved(rotation_deg: float, reanchor_strides: int) -> AlertText:
    """The sensor turned on the strap: gait-change detection waits until it is re-measured."""
    return AlertText(
        "Sensor moved",
        f"The sensor turned about {rotation_deg:.0f}° on your shin. Your numbers are measured "
        f"again from its new position over the next {reanchor_strides} strides; until then "
        "this leg cannot say whether your gait changed.",
        "Tighten the strap when you can and keep running normally for half a minute.",
    )


SENSOR_MOVED_REANCHORED = (
    "Measuring from the sensor's new position now: gait-change detection is back on this leg."
)


def data_lost(lost_s: float) -> AlertText:
    """Samples did not arrive."""
    return AlertText(
        "Data lost",
        f"{lost_s:.1f} s of sensor data did not arrive.",
        "Keep the phone or laptop within a few metres; check the sensor battery.",
    )


def sensor_lost(silent_s: float) -> AlertText:
    """The link stayed down."""
    return AlertText(
        "Sensor lost",
        f"No data from the sensor for {silent_s:.0f} s.",
        "Check the sensor's battery and strap; the run so far is saved.",
    )


def recording_stopped(why: str) -> AlertText:
    """The recording could not be written any more (a full disk)."""
    return AlertText(
        f"Recording stopped: {why} — alerts continue",
        f"The run can no longer be saved ({why}); what was recorded so far is kept.",
        "Keep running if you like: strides and alerts go on. Free some space before the next run.",
    )


def baseline_refused(why: str) -> AlertText:
    """A stored baseline profile was refused."""
    return AlertText(
        "Stored baseline not used — learning from scratch",
        f"Your saved baseline cannot be used ({why}).",
        "Run normally: strideguard learns your normal in the first minutes, then alerts as usual.",
    )


#: features in plain words (stored-baseline checks)
FEATURE_WORDS = {
    "peak_midswing_gyr_dps": "leg swing speed",
    "late_swing_peak_decel_dps2": "braking before landing",
    "contact_time_s": "ground contact time",
}


def feature_words(name: str) -> str:
    """A stride feature in plain words."""
    return FEATURE_WORDS.get(name, name.replace("_", " "))


def _short_date(created: str | None) -> str | None:
    """``"3 Dec"`` from an ISO 8601 timestamp (``None`` when unknown or unreadable)."""
    if not created:
        return None
    import datetime as dt

    try:
        d = dt.datetime.fromisoformat(created)
    except ValueError:
        return None
    return f"{d.day} {d.strftime('%b')}"


def baseline_misfit(why: str, created: str | None) -> AlertText:
    """A stored baseline no longer fits this run's strides: learned again."""
    when = _short_date(created)
    of = f" from {when}" if when else ""
    return AlertText(
        "Stored baseline no longer fits — learning your normal again",
        f"Your saved baseline{of} does not match how you run today ({why}): a new shoe, a "
        "different mounting or a long break.",
        "Run normally: strideguard learns your normal again in the next minutes, then alerts "
        "as usual.",
    )


def baseline_too_old(created: str | None, days: float) -> str:
    """Why a stored baseline is not used: it is older than the limit."""
    when = _short_date(created) or "an unknown date"
    return f"it is from {when}, more than {days:.0f} days ago"


def baseline_status(state: str, created: str | None, seconds_left: float | None) -> str:
    """What the screen says about the runner's normal.

    ``"using your baseline from 3 Dec"``, ``"using the normal learned in this run"``
    or ``"learning your normal: 2:00 left"``.
    """
    if state == "stored":
        when = _short_date(created)
        return f"using your baseline from {when}" if when else "using your stored baseline"
    if state == "learned":
        return "using the normal learned in this run"
    left = max(0, round(seconds_left or 0.0))
    return f"learning your normal: {left // 60}:{left % 60:02d} left"


#: what the run history and the summaries say about each baseline source
#: (:attr:`strideguard.alerts.policy.AlertPolicy.baseline_source_`)
BASELINE_SOURCE_WORDS = {
    "stored": "stored baseline",
    "relearned": "relearned (stored baseline did not fit)",
    "learned": "learned in run",
}


def baseline_used(source: str | None, created: str | None = None, learned: bool = True) -> str:
    """Which normal judged a run, in the words of the history, the report and the summary.

    ``"your baseline from 3 Dec"``, ``"relearned (stored baseline did not fit)"``,
    ``"learned in run"`` or ``"none (run too short to learn one)"``.

    Parameters
    ----------
    source
        ``"stored"``, ``"relearned"``, ``"learned"`` or ``None``.
    created
        When the stored baseline was learned (ISO 8601), for ``"stored"``.
    learned
        For ``"relearned"``: whether the run lasted long enough to learn a new one.
    """
    if source == "stored":
        when = _short_date(created)
        return f"your baseline from {when}" if when else BASELINE_SOURCE_WORDS["stored"]
    if source == "relearned" and not learned:
        return "stored baseline did not fit; run too short to relearn"
    if source in BASELINE_SOURCE_WORDS:
        return BASELINE_SOURCE_WORDS[source]
    return "none (run too short to learn one)"


def battery_low(percent: int) -> AlertText:
    """The sensor's battery is low."""
    return AlertText(
        "Sensor battery low", f"The sensor battery is at {percent} %.", "Charge it after this run."
    )
