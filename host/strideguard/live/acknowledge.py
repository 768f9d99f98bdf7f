"""The phone page's "Acknowledge" button: ``POST /action/acknowledge`` ends an alert's reminders.

The web server answers actions in a worker thread; the run (its pipelines,
alert policies and sensor links) lives in the event loop's thread.
:class:`AcknowledgeAction` carries the request across: it asks
:meth:`LiveRun.acknowledge <strideguard.live.run.LiveRun.acknowledge>` in the
loop, which sends an ``acknowledge`` event down the sensor's link (recorded with
the frames, so ``strideguard replay`` acknowledges at the same place) and the
alert policy emits an ``acknowledged`` alert event: the alert stays on, its
reminders stop until it escalates. A headless session attaches each new run.

Request body (JSON, at most 4 KiB, with the token and ``X-Strideguard: 1``
like every action): ``{"sensor": "StrideGuard-R", "kind": "gait_changed"}``
(the alert the banner shows) or ``{}`` (the most urgent alert not yet
acknowledged). Answer: ``{"ok": true, "acknowledged": {"sensor", "kind"}}``, or
``{"ok": false, "acknowledged": null, "why": ...}`` when no run is on or no
alert waits for one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from strideguard.live.run import LiveRun

#: longest ``sensor``/``kind`` string accepted (names are at most 40 characters)
MAX_FIELD_CHARS = 64
#: how long the web worker waits for the event loop
LOOP_TIMEOUT_S = 5.0


def _field(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_FIELD_CHARS:
        raise ValueError(f"{key} must be a short string")
    return value


class AcknowledgeAction:
    """The handler of ``POST /action/acknowledge`` (see the module docstring).

    Parameters
    ----------
    loop
        The event loop the runs live in.
    source
        Recorded with each acknowledgement.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, *, source: str = "phone") -> None:
        self.loop = loop
        self.source = source
        self._run: LiveRun | None = None
        self._lock = threading.Lock()

    def attach(self, run: LiveRun | None) -> None:
        """The run acknowledgements go to (``None`` between runs)."""
        with self._lock:
            self._run = run

    def __call__(self, data: dict[str, Any]) -> dict[str, Any]:
        """Answer one request (called in the web server's worker thread).

        Raises
        ------
        ValueError
            For a malformed request (answered with 400).
        """
        sensor, kind = _field(data, "sensor"), _field(data, "kind")
        with self._lock:
            run = self._run
        if run is None:
            return {"ok": False, "acknowledged": None, "why": "no run is on"}
        result: concurrent.futures.Future[dict[str, Any] | None] = concurrent.futures.Future()

        def in_loop() -> None:
            try:
                result.set_result(run.acknowledge(sensor, kind, source=self.source))
            except Exception as exc:  # handed to the worker, answered with 500
                result.set_exception(exc)

        try:
            self.loop.call_soon_threadsafe(in_loop)
        except RuntimeError:  # the loop is closed: the run is over
            return {"ok": False, "acknowledged": None, "why": "no run is on"}
        done = result.result(timeout=LOOP_TIMEOUT_S)
        if done is None:
            return {"ok": False, "acknowledged": None, "why": "no alert to acknowledge"}
        return {"ok": True, "acknowledged": done}
