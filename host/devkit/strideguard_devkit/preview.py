"""Try the terminal view and the phone page without a sensor: scripted events.

Run ``python -m strideguard_devkit.preview --web 0.0.0.0`` and open the printed URL
(or scan the QR code) on the phone: it shows a calibration countdown, two legs'
strides, a coaching cue, a stop alert and its end, then repeats. Same options as
``strideguard live`` for the sinks (``--web``, ``--plain``, ``--no-sound``, ``--notify``).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator, Sequence

from strideguard.alerts.model import Alert, AlertKind, AlertState, Severity
from strideguard.live.updates import (
    AlertUpdate,
    CalibrationUpdate,
    LinkUpdate,
    LiveEvent,
    SessionUpdate,
    StrideUpdate,
)

SENSORS = (("StrideGuard-L", "L"), ("StrideGuard-R", "R"))


def script(seed: int = 1) -> Iterator[tuple[float, LiveEvent]]:
    """Yield ``(delay_s, event)`` for one scripted run of about 75 s."""
    rng = random.Random(seed)
    yield 0.0, SessionUpdate("started", "Preview run (no sensors)")
    for name, _ in SENSORS:
        yield 0.3, LinkUpdate(name, "connecting")
        yield 0.3, LinkUpdate(name, "connected", mtu=247, battery_pct=rng.randint(60, 95))
    for left in (5, 4, 3, 2, 1):
        for name, _ in SENSORS:
            yield 0.0, CalibrationUpdate(name, "stand_still", "Stand still, feet together…", left)
        yield 1.0, SessionUpdate("running", "Calibrating")
    for name, _ in SENSORS:
        yield 0.0, CalibrationUpdate(name, "done", "Calibrated: tibia angles are absolute")
    t = 0.0
    lost = {name: 0 for name, _ in SENSORS}
    for i in range(100):
        t += 0.7
        guarded = 55 <= i < 80
        for name, leg in SENSORS:
            cad = 172.0 + 3 * math.sin(i / 9) + rng.gauss(0, 1) - (8 if guarded else 0)
            angle = 5.0 + rng.gauss(0, 0.6) + (3.5 if 20 <= i < 45 else 0.0)
            metrics: dict[str, float | None] = {
                "cadence_spm": cad,
                "shank_angle_at_ic_deg": angle,
                "late_swing_duration_s": 0.115 + rng.gauss(0, 0.004),
                "late_swing_peak_decel_dps2": 18500 + rng.gauss(0, 700) - (3000 if guarded else 0),
                "peak_tibial_accel_g": 8.5 + rng.gauss(0, 0.6),
                "contact_time_s": 0.26 + (0.02 if guarded else 0.0),
            }
            yield 0.0, StrideUpdate(name, leg, i, t, metrics)
            if i % 10 == 0:
                lost[name] += rng.randint(0, 6)
                yield (
                    0.0,
                    LinkUpdate(
                        name, "connected", 247, 80, lost[name], 100 * lost[name] / (200 * t + 1)
                    ),
                )
        yield 0.35, SessionUpdate("running", f"Preview run · {int(t // 60)}:{int(t % 60):02d}")
        if i == 28:
            yield 0.0, _alert(AlertKind.OVERSTRIDE, Severity.COACH, AlertState.RAISED, t, i)
        if i == 50:
            yield 0.0, _alert(AlertKind.OVERSTRIDE, Severity.COACH, AlertState.ENDED, t, i)
        if i == 62:
            yield 0.0, _alert(AlertKind.GAIT_CHANGED, Severity.STOP, AlertState.RAISED, t, i)
        if i == 88:
            yield 0.0, _alert(AlertKind.GAIT_CHANGED, Severity.STOP, AlertState.ENDED, t, i)
    # (not "ended": the page would take the end of the run for good, and the script repeats)
    yield 1.0, SessionUpdate("running", "Preview run: again from the start")


def _alert(kind: AlertKind, sev: Severity, state: AlertState, t: float, i: int) -> AlertUpdate:
    if kind == AlertKind.OVERSTRIDE:
        title = "Overstriding"
        reason = "Your shin is tilted 8.6° forward when your foot lands (4° more than your normal 5.0°) at 171 steps/min."
        advice = "Shorten your stride: take quicker, lighter steps — aim for about 180 steps/min (180–188)."
    else:
        title = "Gait changed — stop and get checked"
        reason = "Your running has changed from your normal at the same cadence (164 steps/min): it brakes less before landing, your foot stays longer on the ground."
        advice = "Stop running and walk. If anything hurts or the change stays, get it checked; pain for more than a day deserves a doctor."
    if state == AlertState.ENDED:
        reason, advice = "Back to your normal.", ""
    return AlertUpdate(
        "StrideGuard-L", Alert(kind, sev, state, t, i, title, reason, advice, {}, "L")
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Play the script through the sinks until interrupted (or ``--once``)."""
    from strideguard.cliargs import CliParser, real
    from strideguard.live.sinkargs import add_sink_arguments, open_sinks

    p = CliParser(prog="python -m strideguard_devkit.preview", description=__doc__)
    add_sink_arguments(p)
    p.add_argument(
        "--speed", type=real(0, 10000, lo_open=True), default=1.0, help="play faster (e.g. 4)"
    )
    p.add_argument("--once", action="store_true", help="play the script once, then stop")
    args = p.parse_args(argv)
    hub = open_sinks(args)
    try:
        while True:
            for delay_s, event in script():
                if delay_s:
                    time.sleep(delay_s / max(args.speed, 1e-3))
                hub.handle(event)
            if args.once:
                hub.handle(SessionUpdate("ended", "Preview run ended"))
                break
    except KeyboardInterrupt:
        pass
    finally:
        hub.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
