"""Ending a live run from outside: Ctrl-C (SIGINT) and SIGTERM stop it cleanly.

The first Ctrl-C, or a SIGTERM (how a service manager or ``kill`` stops a
program), does not kill anything: it sets the run's stop event, so the links
close, the recording is closed, the summary is printed and the baseline saved,
exactly as when ``--duration`` runs out. A second signal while the run is
ending aborts at once (``KeyboardInterrupt``, exit code 130).

Example
-------
>>> import asyncio
>>> async def main(stop: StopSignals) -> bool:
...     event = stop.attach()
...     return event.is_set()
>>> with StopSignals() as stop:
...     asyncio.run(main(stop))
False
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any, TextIO

#: the signals that end a run
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Turn Ctrl-C and SIGTERM into a stop request while the ``with`` block runs.

    Parameters
    ----------
    stream
        Where the one line "stopping…" goes (default stderr).

    Attributes
    ----------
    requested
        Name of the first signal received (``"SIGINT"``, ``"SIGTERM"``), else ``None``.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.requested: str | None = None
        self._stream = stream
        self._previous: dict[int, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.getsignal(sig)
                signal.signal(sig, self._on_signal)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def attach(self) -> asyncio.Event:
        """The stop event for the running event loop (already set if a signal came first)."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        if self.requested is not None:
            self._event.set()
        return self._event

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.requested is not None:
            raise KeyboardInterrupt  # the second one: abort at once
        self.requested = signal.Signals(signum).name
        stream = self._stream if self._stream is not None else sys.stderr
        try:
            print(
                f"strideguard: {self.requested}: ending the run (saving what there is; "
                "Ctrl-C again to abort at once)",
                file=stream,
                flush=True,
            )
        except (OSError, ValueError):
            pass
        loop, event = self._loop, self._event
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)
