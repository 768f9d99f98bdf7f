"""Alerts you can hear (speech or the terminal bell) and desktop notifications.

Both sinks start a child process and never wait for it, so the event loop is
never blocked; both are rate-limited and silently do nothing when their tool is
missing (``mode_ == "off"``).

* :class:`SoundSink` speaks the alert with ``espeak-ng`` (or ``espeak``) when on
  ``PATH``, otherwise rings the terminal bell when stdout is a terminal.
* :class:`DesktopNotifySink` shows a desktop notification with ``notify-send``
  (``libnotify-bin``); off unless asked for (``strideguard live --notify``).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TextIO

from strideguard.alerts.model import ANNOUNCED_NOTICES, Alert, AlertState, Severity
from strideguard.live.updates import AlertUpdate, LiveEvent

#: alert states worth announcing (an ``ended`` alert is shown, not announced)
ANNOUNCED_STATES = frozenset({AlertState.RAISED, AlertState.ESCALATED, AlertState.REMINDER})

Popen = Callable[..., Any]


def speech_text(alert: Alert) -> str:
    """Short sentence to speak: the title and the first sentence of the advice."""
    advice = alert.advice.split(". ")[0].rstrip(".")
    side = {"L": "Left leg. ", "R": "Right leg. "}.get(alert.leg or "", "")
    text = f"{side}{alert.title}."
    if advice:
        text += f" {advice}."
    return text.replace("—", ",")


class _Spawner:
    """Start child processes without waiting; reap them later."""

    def __init__(self, popen: Popen) -> None:
        self._popen = popen
        self._running: list[Any] = []

    def spawn(self, argv: Sequence[str]) -> bool:
        self.reap()
        try:
            proc = self._popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError:
            return False
        self._running.append(proc)
        return True

    def reap(self) -> None:
        self._running = [p for p in self._running if p.poll() is None]

    def busy(self) -> bool:
        self.reap()
        return bool(self._running)

    def stop_all(self) -> None:
        for p in self._running:
            with contextlib.suppress(OSError):
                p.terminate()
        for p in self._running:
            with contextlib.suppress(subprocess.TimeoutExpired, OSError):
                p.wait(timeout=1.0)
        self._running = []

    def close(self, wait_s: float) -> None:
        """Let running children finish for up to ``wait_s``, then stop them."""
        deadline = time.monotonic() + wait_s
        for p in self._running:
            with contextlib.suppress(subprocess.TimeoutExpired, OSError):
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
        self.stop_all()


class _RateLimit:
    """Per-kind repeat interval plus a global minimum gap (stop alerts bypass the latter)."""

    def __init__(self, min_interval_s: float, repeat_kind_s: float, clock: Callable[[], float]):
        self.min_interval_s = min_interval_s
        self.repeat_kind_s = repeat_kind_s
        self._clock = clock
        self._last_any: float | None = None
        self._last_kind: dict[str, float] = {}

    def allow(self, alert: Alert) -> bool:
        now = self._clock()
        kind = alert.kind.value
        last = self._last_kind.get(kind)
        if (
            last is not None
            and now - last < self.repeat_kind_s
            and alert.state != AlertState.ESCALATED
        ):
            return False
        if (
            self._last_any is not None
            and now - self._last_any < self.min_interval_s
            and alert.severity != Severity.STOP
        ):
            return False
        self._last_any = now
        self._last_kind[kind] = now
        return True


class SoundSink:
    """Speak alerts (espeak-ng) or ring the bell; a :class:`~strideguard.live.updates.Sink`.

    Parameters
    ----------
    min_severity
        Quieter alerts are not announced (default: coaching cues and above).
    min_interval_s
        Minimum gap between two announcements (stop alerts may interrupt).
    repeat_kind_s
        Minimum gap between two announcements of the same alert kind (an
        escalation is always announced).
    speech_rate_wpm
        espeak-ng speed in words per minute.
    bell_stream
        Where the bell goes when there is no speech (only if it is a terminal);
        default ``sys.stdout``.
    which, popen, clock
        Injected for tests: ``shutil.which``, ``subprocess.Popen``, ``time.monotonic``.

    Attributes
    ----------
    mode_
        ``"speech"``, ``"bell"`` or ``"off"``.
    announced_, suppressed_
        Alerts announced and alerts held back by the rate limit.
    """

    def __init__(
        self,
        *,
        min_severity: Severity = Severity.COACH,
        min_interval_s: float = 8.0,
        repeat_kind_s: float = 30.0,
        speech_rate_wpm: int = 165,
        bell_stream: TextIO | None = None,
        which: Callable[[str], str | None] = shutil.which,
        popen: Popen = subprocess.Popen,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.min_severity = min_severity
        self.speech_rate_wpm = speech_rate_wpm
        self._bell = bell_stream if bell_stream is not None else sys.stdout
        self._limit = _RateLimit(min_interval_s, repeat_kind_s, clock)
        self._spawner = _Spawner(popen)
        self._speaker = which("espeak-ng") or which("espeak")
        if self._speaker:
            self.mode_ = "speech"
        elif _isatty(self._bell):
            self.mode_ = "bell"
        else:
            self.mode_ = "off"
        self.announced_ = 0
        self.suppressed_ = 0

    def handle(self, event: LiveEvent) -> None:
        """Announce an alert if it is loud enough and the rate limit allows."""
        if self.mode_ == "off" or not isinstance(event, AlertUpdate):
            return
        alert = event.alert
        if alert.state not in ANNOUNCED_STATES or not _loud_enough(alert, self.min_severity):
            return
        if not self._limit.allow(alert):
            self.suppressed_ += 1
            return
        if self.mode_ == "speech" and self._speaker:
            if self._spawner.busy():
                if alert.severity != Severity.STOP:
                    self.suppressed_ += 1
                    return
                self._spawner.stop_all()  # a stop alert interrupts anything quieter
            argv = [self._speaker, "-s", str(self.speech_rate_wpm), speech_text(alert)]
            if not self._spawner.spawn(argv):
                self.mode_ = "off"
                return
        else:
            rings = 3 if alert.severity == Severity.STOP else 1
            try:
                self._bell.write("\a" * rings)
                self._bell.flush()
            except (OSError, ValueError):
                self.mode_ = "off"
                return
        self.announced_ += 1

    def close(self) -> None:
        """Let the last sentence finish (up to 3 s), then stop."""
        self._spawner.close(wait_s=3.0)


class DesktopNotifySink:
    """Desktop notifications with ``notify-send``; a :class:`~strideguard.live.updates.Sink`.

    Parameters
    ----------
    min_severity
        Quieter alerts get no notification.
    repeat_kind_s
        Minimum gap between two notifications of the same alert kind.
    which, popen, clock
        Injected for tests.

    Attributes
    ----------
    mode_
        ``"notify-send"`` or ``"off"`` (tool missing).
    notified_
        Notifications sent.
    """

    URGENCY: ClassVar[dict[str, str]] = {
        Severity.INFO.value: "low",
        Severity.COACH.value: "normal",
        Severity.CAUTION.value: "normal",
        Severity.STOP.value: "critical",
    }

    def __init__(
        self,
        *,
        min_severity: Severity = Severity.COACH,
        repeat_kind_s: float = 30.0,
        which: Callable[[str], str | None] = shutil.which,
        popen: Popen = subprocess.Popen,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.min_severity = min_severity
        self._tool = which("notify-send")
        self.mode_ = "notify-send" if self._tool else "off"
        self._limit = _RateLimit(0.0, repeat_kind_s, clock)
        self._spawner = _Spawner(popen)
        self.notified_ = 0

    def handle(self, event: LiveEvent) -> None:
        """Show a notification for a loud enough alert."""
        if self.mode_ == "off" or not isinstance(event, AlertUpdate) or not self._tool:
            return
        a = event.alert
        if a.state not in ANNOUNCED_STATES or not _loud_enough(a, self.min_severity):
            return
        if not self._limit.allow(a):
            return
        argv = [
            self._tool,
            "--app-name=strideguard",
            f"--urgency={self.URGENCY[a.severity.value]}",
            f"strideguard: {a.title}",
            f"{a.reason}\n{a.advice}".strip(),
        ]
        if self._spawner.spawn(argv):
            self.notified_ += 1
        else:
            self.mode_ = "off"

    def close(self) -> None:
        """Reap the notification processes."""
        self._spawner.close(wait_s=1.0)


def _loud_enough(alert: Alert, min_severity: Severity) -> bool:
    """Announced: severe enough, or one of the notices the runner must hear (a full disk)."""
    return alert.severity.rank >= min_severity.rank or alert.kind in ANNOUNCED_NOTICES


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
