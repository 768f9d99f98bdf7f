"""Terminal view of a live run: numbers per sensor, alerts, calibration prompt.

On a terminal (TTY) :class:`TerminalSink` redraws a :class:`rich.live.Live`
view a few times per second; anywhere else (CI, pipes, log files) it prints a
plain log: one line per alert, link or calibration change, and a compact line
every few strides.

Names and texts from outside (sensor names come from BLE advertisements, which
anyone nearby controls) are always rendered as plain :class:`rich.text.Text`,
never parsed as rich markup.

Example
-------
>>> import io
>>> from rich.console import Console
>>> from strideguard.live.updates import StrideUpdate
>>> sink = TerminalSink(Console(file=io.StringIO(), width=100), live=False)
>>> sink.handle(StrideUpdate("StrideGuard-L", "L", 0, 12.3, {"cadence_spm": 172.0}))
>>> "172" in sink.render_text(width=100)
True
"""

from __future__ import annotations

import io
import math
import threading
import time
from collections import deque
from dataclasses import dataclass

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from strideguard.alerts.model import AlertState, Severity
from strideguard.live.updates import (
    AlertUpdate,
    BaselineUpdate,
    CalibrationUpdate,
    HapticUpdate,
    LinkUpdate,
    LiveEvent,
    SessionUpdate,
    StrideUpdate,
    SymmetryUpdate,
)

#: rich style per alert severity
SEVERITY_STYLE: dict[str, str] = {
    Severity.INFO.value: "white on grey30",
    Severity.COACH.value: "black on cyan",
    Severity.CAUTION.value: "black on yellow",
    Severity.STOP.value: "bold white on red",
}

LINK_STYLE: dict[str, str] = {
    "connected": "green",
    "scanning": "yellow",
    "connecting": "yellow",
    "reconnecting": "bold yellow",
    "lost": "bold red",
}


def _num(value: float | int | str | None, fmt: str, unit: str = "", scale: float = 1.0) -> str:
    """Format a metric or return an em dash when it is missing or not finite."""
    if value is None or isinstance(value, str):
        return "—"
    v = float(value) * scale
    if not math.isfinite(v):
        return "—"
    return f"{v:{fmt}}{unit}"


def format_stride(metrics: dict[str, float | None]) -> dict[str, str]:
    """Format a stride's metrics for display.

    Returns
    -------
    dict
        ``cadence``, ``angle``, ``late_swing``, ``decel``, ``shock`` as short strings
        with units (``"—"`` when not measurable).
    """
    shock = _num(metrics.get("peak_tibial_accel_g"), ".1f", " g")
    if metrics.get("peak_tibial_accel_clipped") and shock != "—":
        shock = "≥" + shock
    return {
        "cadence": _num(metrics.get("cadence_spm"), ".0f", " spm"),
        "angle": _num(metrics.get("shank_angle_at_ic_deg"), "+.1f", "°"),
        "late_swing": _num(metrics.get("late_swing_duration_s"), ".0f", " ms", 1000.0),
        "decel": _num(metrics.get("late_swing_peak_decel_dps2"), ".1f", " k°/s²", 1e-3),
        "shock": shock,
    }


@dataclass
class _SensorState:
    leg: str | None = None
    stride: StrideUpdate | None = None
    strides: int = 0
    link: LinkUpdate | None = None
    calibration: CalibrationUpdate | None = None
    baseline: BaselineUpdate | None = None
    calibration_at_s: float = 0.0


#: short names of the paired features on the terminal and the phone page
SYMMETRY_LABELS = {
    "contact_time_s": "contact",
    "swing_time_s": "swing",
    "peak_midswing_gyr_dps": "mid-swing",
    "late_swing_peak_decel_dps2": "braking",
    "shank_angle_at_ic_deg": "tibia at IC",
    "peak_tibial_accel_g": "shock",
}


def format_symmetry(u: SymmetryUpdate) -> str:
    """One line: the rolling symmetry indices (right against left)."""
    parts = []
    for name, label in SYMMETRY_LABELS.items():
        v = u.indices.get(name)
        if v is None:
            continue
        unit = "°" if name == "shank_angle_at_ic_deg" else "%"
        parts.append(f"{label} {v:+.1f}{unit}")
    body = ", ".join(parts) if parts else "no stride pairs yet"
    return f"R vs L ({u.state}, {u.pairs} pairs): {body}"


class TerminalSink:
    """Show live events in the terminal (a :class:`~strideguard.live.updates.Sink`).

    Parameters
    ----------
    console
        Where to draw; default a new :class:`rich.console.Console` on stdout.
    live
        ``True`` redraws a live view, ``False`` prints a plain log; ``None``
        (default) picks the live view only when the console is a terminal.
    refresh_hz
        Redraws per second of the live view.
    log_every_strides
        In the plain log, print one stride line per sensor every this many strides.
    recent_alerts
        How many recent alerts the live view lists.
    session_log_interval_s
        In the plain log, repeated session updates in the same state (status
        refreshes) are printed at most this often.

    Attributes
    ----------
    lines_printed_
        Plain-log lines written so far.
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        live: bool | None = None,
        refresh_hz: float = 4.0,
        log_every_strides: int = 10,
        recent_alerts: int = 6,
        session_log_interval_s: float = 30.0,
    ) -> None:
        if log_every_strides < 1:
            raise ValueError("log_every_strides must be at least 1")
        self.console = console if console is not None else Console()
        self.live_mode = self.console.is_terminal if live is None else live
        self.refresh_hz = refresh_hz
        self.log_every_strides = log_every_strides
        self.session_log_interval_s = session_log_interval_s
        self.lines_printed_ = 0
        self._lock = threading.RLock()
        self._sensors: dict[str, _SensorState] = {}
        self._active: dict[tuple[str, str], AlertUpdate] = {}
        self._recent: deque[AlertUpdate] = deque(maxlen=recent_alerts)
        self._session: SessionUpdate | None = None
        self._symmetry: SymmetryUpdate | None = None
        self._session_logged_s = -math.inf
        #: what the sensors' motors do, per sensor (the latest)
        self._haptic: dict[str, HapticUpdate] = {}
        self._live: Live | None = None
        self._closed = False
        #: a line shown at the bottom of the live view (e.g. the phone page's URL)
        self.footer: str | None = None

    # ------------------------------------------------------------------ events

    def handle(self, event: LiveEvent) -> None:
        """Update the view with one event (never blocks for long)."""
        with self._lock:
            if self._closed:
                return
            line = self._update(event)
        if self.live_mode:
            self._ensure_live()
        elif line is not None:
            self._print(line)

    def _sensor(self, name: str) -> _SensorState:
        return self._sensors.setdefault(name, _SensorState())

    def _update(self, event: LiveEvent) -> str | None:
        """Apply ``event`` to the state; return the plain-log line for it, if any."""
        if isinstance(event, StrideUpdate):
            s = self._sensor(event.sensor)
            s.leg = event.leg or s.leg
            s.stride = event
            s.strides += 1
            if (s.strides - 1) % self.log_every_strides:
                return None
            f = format_stride(event.metrics)
            return (
                f"{event.sensor}: stride {event.stride_index:5d} at {event.time_s:8.1f} s  "
                f"cadence {f['cadence']}  tibia at IC {f['angle']}  late swing {f['late_swing']}, "
                f"{f['decel']}  shock {f['shock']}"
            )
        if isinstance(event, AlertUpdate):
            a = event.alert
            key = (event.sensor, a.kind.value)
            if a.state == AlertState.ENDED:
                self._active.pop(key, None)
            else:
                self._active[key] = event
            self._recent.append(event)
            return f"{event.sensor}: ALERT {a.one_line()}"
        if isinstance(event, LinkUpdate):
            s = self._sensor(event.sensor)
            old = s.link
            s.link = event
            if old is not None and old.state == event.state:
                return None
            extra = f", MTU {event.mtu}" if event.mtu else ""
            if event.battery_pct is not None:
                extra += f", battery {event.battery_pct} %"
            return f"{event.sensor}: link {event.state}{extra}, {event.loss_pct:.1f} % samples lost"
        if isinstance(event, SymmetryUpdate):
            old_sym, self._symmetry = self._symmetry, event
            if old_sym is not None and old_sym.state == event.state:
                return None  # the live view shows the numbers; the log only state changes
            return f"left/right symmetry: {event.state} ({event.pairs} stride pairs)"
        if isinstance(event, BaselineUpdate):
            s = self._sensor(event.sensor)
            old_base = s.baseline
            s.baseline = event
            if old_base is not None and old_base.state == event.state:
                return None  # the countdown: the live view shows it, the log only changes
            return f"{event.sensor}: baseline: {event.message}"
        if isinstance(event, CalibrationUpdate):
            s = self._sensor(event.sensor)
            old_cal = s.calibration
            s.calibration = event
            s.calibration_at_s = time.monotonic()
            if old_cal is not None and old_cal.state == event.state:
                return None
            return f"{event.sensor}: calibration {event.state}: {event.message}"
        if isinstance(event, HapticUpdate):
            self._haptic[event.sensor] = event
            return f"{event.sensor}: BUZZ {event.message}"
        if isinstance(event, SessionUpdate):
            old_session, self._session = self._session, event
            if event.state == "started" and old_session is not None:
                # the next run of a headless session: its own sensors, baselines and alerts
                self._sensors.clear()
                self._active.clear()
                self._symmetry = None
            now = time.monotonic()
            if (
                old_session is not None
                and old_session.state == event.state
                and now - self._session_logged_s < self.session_log_interval_s
            ):
                return None  # a status refresh: the live view shows it, the log thins it out
            self._session_logged_s = now
            return f"session {event.state}: {event.message}"
        return None  # pragma: no cover - unknown events are ignored

    def _print(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)
        self.lines_printed_ += 1

    def _ensure_live(self) -> None:
        if self._live is None and not self._closed:
            self._live = Live(
                get_renderable=self.render,
                console=self.console,
                refresh_per_second=self.refresh_hz,
                transient=False,
                # other output (warnings, prints) scrolls above the view instead of garbling it
                redirect_stdout=True,
                redirect_stderr=True,
            )
            self._live.start()

    # ------------------------------------------------------------------ rendering

    def render(self) -> RenderableType:
        """Build the live view from the current state (thread-safe)."""
        with self._lock:
            parts: list[RenderableType] = []
            title = "strideguard live"
            if self._session is not None:
                title += f" — {self._session.message}"
            parts.append(Text(title, style="bold"))
            for name, s in sorted(self._sensors.items(), key=lambda kv: (kv[1].leg or "~", kv[0])):
                c = s.calibration
                if c is not None and c.state == "stand_still":
                    msg = Text(c.message or "Stand still…", style="bold black on bright_white")
                    if c.seconds_left is not None:
                        # count down between updates too
                        left = c.seconds_left - (time.monotonic() - s.calibration_at_s)
                        msg.append(f"   {math.ceil(max(0.0, left)):.0f} s", style="bold")
                    parts.append(
                        Panel(
                            msg,
                            title=Text(f"calibration {name}"),
                            box=box.DOUBLE,
                            style="bright_white",
                        )
                    )
            stops = [u for u in self._active.values() if u.alert.severity == Severity.STOP]
            for u in stops:
                a = u.alert
                body = Text(
                    f"⛔  {a.title.upper()}  ⛔\n", style="bold white on red", justify="center"
                )
                body.append(f"{a.reason}\n", style="white on red")
                body.append(a.advice, style="bold white on red")
                parts.append(
                    Panel(
                        body,
                        box=box.HEAVY,
                        style="bold white on red",
                        title=Text(f"STOP — {u.sensor}"),
                    )
                )
            others = sorted(
                (u for u in self._active.values() if u.alert.severity != Severity.STOP),
                key=lambda u: -u.alert.severity.rank,
            )
            for u in others:
                a = u.alert
                style = SEVERITY_STYLE[a.severity.value]
                body = Text(f"{a.title}: ", style=f"bold {style}")
                body.append(a.reason, style=style)
                if a.advice:
                    body.append(f"  → {a.advice}", style=f"bold {style}")
                parts.append(body)
            for h in self._haptic.values():
                if h.action == "play" or not h.ok:
                    style = "bold" if h.ok else "bold red"
                    parts.append(Text(f"📳 {h.message}", style=style))
            parts.append(self._sensor_table())
            if self._symmetry is not None:
                parts.append(Text(format_symmetry(self._symmetry)))
            if self._recent:
                recent = Table(
                    box=box.SIMPLE, show_header=False, title="recent alerts", expand=True
                )
                recent.add_column("alert", ratio=1)
                for u in reversed(self._recent):
                    a = u.alert
                    style = SEVERITY_STYLE[a.severity.value]
                    t = Text(f"{a.time_s:7.1f} s ", style="dim")
                    t.append(f" {a.severity.value.upper()} ", style=style)
                    t.append(f" {a.state.value} {a.title} ({u.sensor})")
                    recent.add_row(t)
                parts.append(recent)
            if self.footer:
                parts.append(Text(self.footer, style="dim"))
            return Group(*parts)

    def _sensor_table(self) -> Table:
        """Metrics in rows, one column per sensor (fits narrow terminals)."""
        sensors = sorted(self._sensors.items(), key=lambda kv: (kv[1].leg or "~", kv[0]))
        table = Table(box=box.ROUNDED, expand=False, title="sensors", title_justify="left")
        table.add_column("", style="dim", no_wrap=True)
        for name, s in sensors:
            # names come over the air: plain text, never markup
            header = Text(f"{name} ({s.leg})" if s.leg else name)
            table.add_column(header, justify="right", no_wrap=True)
        rows: dict[str, list[str | Text]] = {
            k: []
            for k in (
                "cadence",
                "tibia angle at IC",
                "shock (peak tibial)",
                "late swing",
                "late-swing peak decel",
                "strides",
                "normal",
                "link",
                "samples lost",
                "battery",
            )
        }
        for _, s in sensors:
            f = format_stride(s.stride.metrics if s.stride else {})
            link = s.link
            rows["cadence"].append(Text(f["cadence"], style="bold"))
            rows["tibia angle at IC"].append(Text(f["angle"], style="bold"))
            rows["shock (peak tibial)"].append(Text(f["shock"], style="bold"))
            rows["late swing"].append(f["late_swing"])
            rows["late-swing peak decel"].append(f["decel"])
            rows["strides"].append(str(s.strides))
            rows["normal"].append(s.baseline.message if s.baseline is not None else "—")
            if link is None:
                rows["link"].append("—")
                rows["samples lost"].append("—")
                rows["battery"].append("—")
                continue
            state = link.state + (f" ({link.rssi_dbm} dBm)" if link.rssi_dbm is not None else "")
            rows["link"].append(Text(state, style=LINK_STYLE.get(link.state, "")))
            rows["samples lost"].append(f"{link.loss_pct:.1f} % ({link.samples_lost})")
            rows["battery"].append(f"{link.battery_pct} %" if link.battery_pct is not None else "—")
        for label, cells in rows.items():
            table.add_row(label, *cells)
        return table

    def render_text(self, width: int = 100) -> str:
        """The live view as plain text (for tests and logs).

        Parameters
        ----------
        width
            Console width in characters.
        """
        rec = Console(record=True, width=width, file=io.StringIO(), color_system=None)
        rec.print(self.render())
        return rec.export_text()

    # ------------------------------------------------------------------ end

    def close(self) -> None:
        """Stop the live view (its last frame stays on screen)."""
        with self._lock:
            self._closed = True
            live, self._live = self._live, None
        if live is not None:
            live.refresh()
            live.stop()
