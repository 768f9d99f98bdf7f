"""Terminal view, plain log, sound/notification sinks and the hub."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from rich.console import Console

from strideguard.alerts.model import AlertState, Severity
from strideguard.live.hub import SinkHub
from strideguard.live.sound import DesktopNotifySink, SoundSink, speech_text
from strideguard.live.terminal import TerminalSink, format_stride
from strideguard.live.updates import LiveEvent, SessionUpdate
from strideguard_devkit.preview import main as preview_main

from .sink_events import (
    LEFT,
    RIGHT,
    gait_alert,
    link,
    overstride_alert,
    session,
    stand_still,
    strap_slip_run,
    stride,
)


def plain_sink(**kw: Any) -> tuple[TerminalSink, io.StringIO]:
    out = io.StringIO()
    return TerminalSink(Console(file=out, width=200), **kw), out


# ---------------------------------------------------------------------- terminal


def test_format_stride_units_and_missing_values() -> None:
    f = format_stride(
        {
            "cadence_spm": 171.6,
            "shank_angle_at_ic_deg": -2.04,
            "late_swing_duration_s": None,
            "late_swing_peak_decel_dps2": float("nan"),
            "peak_tibial_accel_g": 16.0,
            "peak_tibial_accel_clipped": 1.0,
        }
    )
    assert f == {
        "cadence": "172 spm",
        "angle": "-2.0°",
        "late_swing": "—",
        "decel": "—",
        "shock": "≥16.0 g",
    }


def test_render_shows_numbers_per_sensor_and_link() -> None:
    sink, _ = plain_sink(live=False)
    sink.handle(link(LEFT, battery_pct=82, loss_pct=0.4, rssi_dbm=-61))
    sink.handle(link(RIGHT, "reconnecting", battery_pct=15))
    sink.handle(stride(LEFT))
    sink.handle(stride(RIGHT, cadence_spm=169.2, peak_tibial_accel_g=11.04))
    text = sink.render_text(width=90)
    for expected in (
        "StrideGuard-L (L)",
        "StrideGuard-R (R)",
        "172 spm",
        "169 spm",
        "+6.1°",
        "8.2 g",
        "11.0 g",
        "118 ms",
        "18.5 k°/s²",
        "connected (-61 dBm)",
        "reconnecting",
        "0.4 % (37)",
        "82 %",
        "15 %",
    ):
        assert expected in text, expected
    # the left sensor's column comes first
    assert text.index("StrideGuard-L") < text.index("StrideGuard-R")


def test_render_stop_banner_alerts_and_calibration() -> None:
    sink, _ = plain_sink(live=False)
    sink.handle(stand_still(RIGHT, seconds_left=2.9))
    sink.handle(overstride_alert())
    sink.handle(gait_alert())
    text = sink.render_text(width=100)
    assert "GAIT CHANGED — STOP AND GET CHECKED" in text
    assert "STOP — StrideGuard-L" in text
    assert "Stop running and walk" in text
    assert "Overstriding: Your shin is tilted 9.4°" in text
    assert "Stand still, feet together…" in text and "3 s" in text
    # the stop banner is above the coaching cue
    assert text.index("GAIT CHANGED") < text.index("Overstriding:")

    # the stop banner goes when the alert ends; the history keeps it
    sink.handle(gait_alert(AlertState.ENDED, time_s=1900.0))
    text = sink.render_text(width=100)
    assert "GAIT CHANGED — STOP" not in text
    assert "ended Gait changed" in text


def test_terminal_shows_every_alert_event_the_summary_lists() -> None:
    # the sensor slips on its strap: "sensor moved" is raised and ended at once; the runner must
    # see the end too, or the terminal keeps showing the notice as on for the rest of the run
    events, summary = strap_slip_run()
    listed = summary["alerts"]
    assert [(a["kind"], a["state"]) for a in listed] == [
        ("sensor_moved", "raised"),
        ("sensor_moved", "ended"),
    ]
    sink, out = plain_sink(live=None)
    for event in events:
        sink.handle(event)
    text = sink.render_text(width=120)
    sink.close()
    alert_lines = [ln for ln in out.getvalue().splitlines() if ": ALERT " in ln]
    assert len(alert_lines) == len(listed)
    for line, a in zip(alert_lines, listed, strict=True):
        assert f" {a['state']} " in line and a["title"] in line
    assert "ended Sensor moved" in text  # in the recent alerts
    assert "Sensor moved: The sensor turned" not in text  # no longer shown as on


def test_render_in_colour_marks_stop_red() -> None:
    sink, _ = plain_sink(live=False)
    sink.handle(gait_alert())
    rec = Console(record=True, width=100, file=io.StringIO(), force_terminal=True)
    rec.print(sink.render())
    html = rec.export_html(inline_styles=True)
    assert "background-color: #800000" in html or "background-color: #ff0000" in html.lower()


def test_plain_log_one_line_per_alert_and_every_n_strides() -> None:
    sink, out = plain_sink(live=None, log_every_strides=5)  # a StringIO is not a terminal
    assert sink.live_mode is False
    sink.handle(session())
    sink.handle(session("Run started · 0:01"))  # status refresh: thinned out
    sink.handle(link(LEFT))
    sink.handle(link(LEFT))  # unchanged state: no new line
    sink.handle(stand_still(LEFT, 3.0))
    sink.handle(stand_still(LEFT, 2.0))  # countdown only: no new line
    for i in range(12):
        sink.handle(stride(LEFT, index=i))
    sink.handle(gait_alert())
    sink.handle(link(LEFT, "reconnecting"))
    sink.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "session running: Run started with 2 sensors"
    assert lines[1].startswith("StrideGuard-L: link connected, MTU 247, battery 82 %")
    assert lines[2] == "StrideGuard-L: calibration stand_still: Stand still, feet together…"
    stride_lines = [ln for ln in lines if ": stride " in ln]
    assert len(stride_lines) == 3  # strides 0, 5, 10
    assert "stride     5" in stride_lines[1]
    assert "cadence 172 spm  tibia at IC +6.1°" in stride_lines[0]
    assert "shock 8.2 g" in stride_lines[0]
    alert_lines = [ln for ln in lines if "ALERT" in ln]
    assert len(alert_lines) == 1
    assert "STOP" in alert_lines[0] and "Gait changed — stop and get checked" in alert_lines[0]
    assert lines[-1].startswith("StrideGuard-L: link reconnecting")
    assert sink.lines_printed_ == len(lines)
    # no escape codes in a log
    assert "\x1b[" not in out.getvalue()


def test_live_view_draws_on_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=True, color_system="standard")
    sink = TerminalSink(console, refresh_hz=20)
    assert sink.live_mode is True
    sink.handle(stride(LEFT))
    sink.handle(gait_alert())
    sink.close()
    text = out.getvalue()
    assert "172 spm" in text and "GAIT CHANGED" in text


def test_terminal_rejects_bad_log_interval() -> None:
    with pytest.raises(ValueError, match="log_every_strides"):
        TerminalSink(Console(file=io.StringIO()), log_every_strides=0)


# ---------------------------------------------------------------------- sound


class FakeProc:
    def __init__(self, argv: list[str], **kw: Any) -> None:
        self.argv = argv
        self.kw = kw
        self.returncode: int | None = None
        self.terminated = False

    def poll(self) -> int | None:
        return self.returncode

    def terminate(self) -> None:
        self.terminated = True
        self.returncode = -15

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = 0
        return self.returncode


class FakePopen:
    def __init__(self) -> None:
        self.procs: list[FakeProc] = []

    def __call__(self, argv: list[str], **kw: Any) -> FakeProc:
        p = FakeProc(argv, **kw)
        self.procs.append(p)
        return p


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_speech_text_is_short() -> None:
    text = speech_text(gait_alert().alert)
    assert text == "Left leg. Gait changed , stop and get checked. Stop running and walk."


def test_sound_speaks_without_waiting_and_rate_limits() -> None:
    popen, clock = FakePopen(), Clock()
    sink = SoundSink(
        which=lambda name: "/usr/bin/espeak-ng" if name == "espeak-ng" else None,
        popen=popen,
        clock=clock,
        min_interval_s=8.0,
        repeat_kind_s=30.0,
    )
    assert sink.mode_ == "speech"
    sink.handle(overstride_alert())
    assert len(popen.procs) == 1
    argv = popen.procs[0].argv
    assert argv[0] == "/usr/bin/espeak-ng" and argv[-1].startswith("Left leg. Overstriding.")
    assert popen.procs[0].kw["stdin"] is not None  # detached from our terminal
    # same kind again soon: held back
    clock.t += 5
    sink.handle(overstride_alert())
    assert len(popen.procs) == 1 and sink.suppressed_ == 1
    # a stop alert comes through the global gap and interrupts the running speech
    sink.handle(gait_alert())
    assert len(popen.procs) == 2 and popen.procs[0].terminated
    # info notices, session events and ended alerts are not announced
    sink.handle(SessionUpdate("running", "x"))
    sink.handle(gait_alert(AlertState.ENDED))
    assert len(popen.procs) == 2
    # the reminder after the repeat interval is spoken again
    popen.procs[1].returncode = 0
    clock.t += 31
    sink.handle(gait_alert(AlertState.REMINDER))
    assert len(popen.procs) == 3 and sink.announced_ == 3
    sink.close()


def test_sound_falls_back_to_bell_then_off() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    bell = Tty()
    sink = SoundSink(which=lambda name: None, bell_stream=bell, clock=Clock())
    assert sink.mode_ == "bell"
    sink.handle(gait_alert())
    assert bell.getvalue() == "\a\a\a"
    quiet = SoundSink(which=lambda name: None, bell_stream=io.StringIO())
    assert quiet.mode_ == "off"
    quiet.handle(gait_alert())  # silently nothing
    assert quiet.announced_ == 0


def test_sound_disables_itself_when_the_tool_vanishes() -> None:
    def broken(argv: list[str], **kw: Any) -> FakeProc:
        raise FileNotFoundError(argv[0])

    sink = SoundSink(which=lambda name: "/nope/espeak-ng", popen=broken, clock=Clock())
    sink.handle(gait_alert())  # no exception
    assert sink.mode_ == "off"


def test_desktop_notification_urgency_and_minimum_severity() -> None:
    popen, clock = FakePopen(), Clock()
    sink = DesktopNotifySink(which=lambda name: "/usr/bin/notify-send", popen=popen, clock=clock)
    sink.handle(gait_alert())
    info = overstride_alert()
    info.alert.severity = Severity.INFO
    sink.handle(info)
    assert len(popen.procs) == 1
    argv = popen.procs[0].argv
    assert "--urgency=critical" in argv
    assert argv[-2] == "strideguard: Gait changed — stop and get checked"
    assert sink.notified_ == 1
    sink.close()
    assert DesktopNotifySink(which=lambda name: None).mode_ == "off"


# ---------------------------------------------------------------------- hub


class Recorder:
    def __init__(self) -> None:
        self.events: list[LiveEvent] = []
        self.closed = False

    def handle(self, event: LiveEvent) -> None:
        self.events.append(event)

    def close(self) -> None:
        self.closed = True


class Broken:
    def handle(self, event: LiveEvent) -> None:
        raise RuntimeError("display gone")

    def close(self) -> None:
        raise OSError("already closed")


def test_hub_isolates_a_failing_sink(caplog: pytest.LogCaptureFixture) -> None:
    first, last = Recorder(), Recorder()
    hub = SinkHub([first, Broken(), last])
    events = [session(), stride(), gait_alert()]
    with caplog.at_level(logging.WARNING, logger="strideguard.live.hub"):
        for e in events:
            hub.handle(e)
        hub.close()
    assert first.events == events and last.events == events
    assert hub.errors_ == {"Broken": 4}  # three events and close
    assert first.closed and last.closed
    # logged once per sink and error type, not once per event
    assert sum("failed (RuntimeError" in r.getMessage() for r in caplog.records) == 1
    hub.handle(session())  # closed: ignored
    assert len(first.events) == 3


def test_hub_names_repeated_sink_types() -> None:
    hub = SinkHub([Broken(), Broken(), Recorder()])
    hub.handle(session())
    assert hub.errors_ == {"Broken": 1, "Broken#2": 1}
    assert len(hub.sinks) == 3


def test_hub_measures_delivery_and_origin_latency() -> None:
    clock = Clock()

    class Slow(Recorder):
        def handle(self, event: LiveEvent) -> None:
            clock.t += 0.004
            super().handle(event)

    hub = SinkHub([Slow()], clock=clock)
    assert hub.delivery_latency().count == 0
    for k in range(20):
        origin = clock.t
        clock.t += 0.010 + 0.001 * k  # analysis time before the hub
        hub.handle(gait_alert(), origin_s=origin)
        hub.handle(stride())
    d = hub.delivery_latency()
    assert d.count == 40
    assert d.p50_ms == pytest.approx(4.0) and d.max_ms == pytest.approx(4.0)
    o = hub.origin_latency("AlertUpdate")
    assert o.count == 20
    assert o.p50_ms == pytest.approx(23.5)
    assert o.max_ms == pytest.approx(33.0)
    assert 30.0 < o.p95_ms < 33.0
    assert hub.origin_latency("StrideUpdate").count == 0
    assert hub.origin_latency().count == 20


# ---------------------------------------------------------------------- preview


def test_preview_plays_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert preview_main(["--plain", "--no-sound", "--once", "--speed", "2000"]) == 0
    out = capsys.readouterr().out
    assert "calibration stand_still" in out
    assert "ALERT" in out and "Gait changed — stop and get checked" in out
    assert "session ended: Preview run ended" in out


@pytest.mark.parametrize(
    "name", ["StrideGuard-[/]", "[bold red]x[/bold red]", "[link=http://evil]L[/link]", "a]b[c"]
)
def test_outside_names_are_shown_as_text_never_markup(name: str) -> None:
    """Sensor names come from BLE advertisements, which anyone nearby controls (issue #14)."""
    from .sink_events import gait_alert, link, stand_still, stride

    sink = TerminalSink(Console(file=io.StringIO(), width=160), live=False)
    for event in (link(name), stand_still(name), stride(name), gait_alert(sensor=name)):
        sink.handle(event)
    text = sink.render_text(width=160)  # rich.errors.MarkupError before the fix
    assert name in text


def test_advertised_names_lose_their_control_characters() -> None:
    from strideguard.ble.receiver import MAX_NAME_CHARS, printable_name

    assert printable_name("StrideGuard-L") == "StrideGuard-L"
    assert printable_name("evil\x1b[2J\x07\nname") == "evil?[2J??name"
    assert len(printable_name("x" * 300)) == MAX_NAME_CHARS


def test_run_notices_are_spoken_though_they_are_info() -> None:
    """A full disk must be heard: the runner is not looking at the laptop."""
    from strideguard.alerts import texts
    from strideguard.alerts.model import Alert, AlertKind
    from strideguard.live.updates import AlertUpdate

    spawned: list[list[str]] = []

    class Proc:
        def poll(self) -> int:
            return 0

    def popen(argv: list[str], **_: Any) -> Proc:
        spawned.append(argv)
        return Proc()

    sink = SoundSink(which=lambda _: "/usr/bin/espeak-ng", popen=popen, clock=lambda: 0.0)
    t = texts.recording_stopped("disk full")
    notice = Alert(
        AlertKind.RECORDING_STOPPED, Severity.INFO, AlertState.RAISED, 10.0, None,
        t.title, t.reason, t.advice,
    )  # fmt: skip
    sink.handle(AlertUpdate("run", notice))
    battery = Alert(
        AlertKind.BATTERY_LOW, Severity.INFO, AlertState.RAISED, 11.0, None, "Battery", "low", ""
    )
    sink.handle(AlertUpdate("StrideGuard-L", battery))
    assert len(spawned) == 1 and "Recording stopped: disk full" in spawned[0][-1]


def test_each_run_of_a_session_names_its_own_baseline() -> None:
    """A headless session: run 2 starts with the same kind of baseline as run 1 ended with;
    the plain log and the phone page's state still say it for run 2 (#16)."""
    from strideguard.live.updates import BaselineUpdate
    from strideguard.live.web_sink import ReplayState

    def stored() -> BaselineUpdate:
        return BaselineUpdate(
            sensor=LEFT,
            state="stored",
            message="using your baseline from 3 Dec",
            seconds_left=None,
            created="2026-12-03T07:00:00+00:00",
        )

    sink, out = plain_sink(live=None)
    page = ReplayState()
    for event in (
        SessionUpdate("started", "Live with 2 sensor(s)"),
        stored(),
        SessionUpdate("ended", "Run finished"),
        SessionUpdate("started", "Live with 2 sensor(s)"),
    ):
        sink.handle(event)
        page.update(event.to_dict())
    # between the runs' start and the new baseline event, the page shows nothing stale
    assert page.baselines == {} and page.symmetry is None
    sink.handle(stored())
    page.update(stored().to_dict())
    lines = [ln for ln in out.getvalue().splitlines() if ": baseline: " in ln]
    assert lines == ["StrideGuard-L: baseline: using your baseline from 3 Dec"] * 2
    assert page.baselines[LEFT]["state"] == "stored"
