"""Words for the reports: what each number means (with units) and what to do.

The advice follows the article behind strideguard (docs/gait-primer.md): if pain
grows as you run or changes the way you run, stop and get checked; strains
hurt when running, especially uphill or doing speedwork; reduce mileage and
intensity until things are under control (2–8 weeks of healing); pain that has
not gone away after about 24 hours deserves a doctor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: metric → (name, unit shown, plain-language explanation)
EXPLANATIONS: dict[str, tuple[str, str, str]] = {
    "cadence_spm": (
        "Cadence",
        "steps/min",
        "Steps per minute, both legs together (most runners: 150–190). Raising it by 5–10 % "
        "shortens the stride and lowers braking and hamstring load (Heiderscheit 2011).",
    ),
    "shank_angle_at_ic_deg": (
        "Tibia angle at foot strike",
        "°",
        "How far your shin leans when the foot lands: 0° is vertical, positive means the ankle "
        "is ahead of the knee (overstriding). Near vertical is the coaching aim. There is no "
        "universal cut-off, so strideguard compares you with yourself. 'Relative' means there "
        "was no standing calibration: changes within the run are valid, the absolute value is not.",
    ),
    "peak_tibial_accel_g": (
        "Shock",
        "g",
        "The peak acceleration of the shin just after the foot lands (1 g = 9.81 m/s²), "
        "typically 5–15 g; higher with overstriding, hard heel strikes and faster running.",
    ),
    "late_swing_peak_decel_dps2": (
        "Late-swing braking",
        "k°/s²",
        "How hard the shin is slowed down just before the foot lands, in thousands of degrees "
        "per second squared. The hamstrings do this braking, and this is when they get strained "
        "(Chumanov 2011, Schache 2012). It rises with speed and with longer strides.",
    ),
    "peak_midswing_gyr_dps": (
        "Swing speed",
        "°/s",
        "How fast the shin swings forward in mid-swing; it grows with running speed. A slower "
        "swing than usual at the same cadence can mean a leg is being protected.",
    ),
    "contact_time_s": (
        "Contact time",
        "ms",
        "How long each foot stays on the ground (about 230–310 ms at 3.5–2.5 m/s); longer when "
        "running slower or uphill.",
    ),
    "late_swing_load": (
        "Late-swing load",
        "units",
        "Your strides, each weighted by how hard it braked in late swing, added up (per leg; "
        "one unit is 10⁶ °/s², about 75 easy strides). It is your hamstring-load budget: "
        "compare it week to week.",
    ),
    "symmetry_pct": (
        "Left/right symmetry",
        "%",
        "The difference between the right and the left leg as a share of their mean: 0 % is "
        "even, 'R +4 %' means the right leg's value is 4 % higher. Small differences are "
        "normal (bends, camber, habit); a change from your usual symmetry is what matters.",
    ),
    "speedwork": (
        "Speedwork",
        "min",
        "Running clearly faster than your usual (swing at least 15 % faster and contact at "
        "least 10 % shorter than your usual running): about threshold pace and faster.",
    ),
    "uphill": (
        "Uphill",
        "min",
        "Running with contact at least 10 % longer than your cadence explains and a slower "
        "swing: what a clear climb looks like to a shin sensor.",
    ),
}

NO_DIAGNOSIS = (
    "strideguard gives no diagnosis. It compares your running with your own normal. If pain "
    "grows as you run, or changes the way you run, stop and get checked; pain that lasts more "
    "than about a day deserves a doctor."
)


def advice(
    alerts: Sequence[dict[str, Any]], n_pain_marks: int, cadence_spm: float | None
) -> list[tuple[str, str]]:
    """The "what to do" list for a run: ``(severity, text)`` per rule that applies."""
    kinds = {a.get("kind") for a in alerts if a.get("state") in ("raised", "escalated")}
    stop = any(
        a.get("severity") == "stop" for a in alerts if a.get("state") in ("raised", "escalated")
    )
    out: list[tuple[str, str]] = []
    if stop:
        out.append(
            (
                "stop",
                "strideguard told you to stop: your running pattern changed in a way that pace, "
                "hills and ordinary fatigue do not explain. If pain grew as you ran, or changed "
                "the way you ran, get checked before you run again.",
            )
        )
    if n_pain_marks or "pain_marked" in kinds:
        out.append(
            (
                "caution",
                "You marked pain. Strains hurt when running, especially uphill or doing "
                "speedwork: leave those out, and reduce mileage and intensity until you get "
                "things under control (healing takes 2–8 weeks). Pain that has not gone away "
                "after about 24 hours deserves a doctor.",
            )
        )
    if "late_swing_load" in kinds:
        out.append(
            (
                "caution",
                "Your late-swing braking was far above your normal at times (a sprint late in a "
                "run does this). Add fast running gradually, when you are fresh.",
            )
        )
    if "overstride" in kinds:
        target = ""
        if cadence_spm:
            target = f" (about {1.05 * cadence_spm:.0f}–{1.10 * cadence_spm:.0f} steps/min)"
        out.append(
            (
                "coach",
                "You got overstriding cues: your shin landed further ahead than usual. Try a "
                f"cadence 5–10 % higher{target}: shorter steps, landing closer under your body.",
            )
        )
    if not out:
        out.append(
            (
                "ok",
                "Nothing unusual in this run. Keep building gradually: running time and "
                "late-swing load up by no more than about 10 % a week.",
            )
        )
    return out
