"""The phone page's "Acknowledge" button: ``POST /action/acknowledge`` acknowledges an alert.

The web server answers actions in a worker thread. :class:`AcknowledgeAction`
checks the request and calls :meth:`LiveRun.acknowledge
<strideguard.live.run.LiveRun.acknowledge>` — the one host-side acknowledge
path, safe to call from any thread (it hands the call to the run's event
loop). That records an ``acknowledge`` event with the sensor link's frames (so
``strideguard analyze`` and ``strideguard replay`` acknowledge at the same
place), the alert policy emits an ``acknowledged`` alert event (the alert stays
on, its reminders stop until it escalates), and every sensor still repeating
the alert's pattern is told to stop (``OP_ACKNOWLEDGE``), exactly as after a
long press on the sensor. A headless session attaches each new run.

Request body (JSON, at most 4 KiB, with the token and ``X-Strideguard: 1``
like every action): ``{"sensor": "StrideGuard-R", "kind": "gait_changed"}``
(the alert the banner shows) or ``{}`` (the most urgent alert not yet
acknowledged). Answer: ``{"ok": true, "acknowledged": {"sensor", "kind"}}``, or
``{"ok": false, "acknowledged": null, "why": ...}`` when no run is on or no
alert waits for one.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from strideguard.live.run import LiveRun

#: longest ``sensor``/``kind`` string accepted (names are at most 40 characters)
MAX_FIELD_CHARS = 64


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
    source
        Recorded with each acknowledgement.
    """

    def __init__(self, *, source: str = "phone") -> None:
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
        done = run.acknowledge(kind=kind, source=self.source, sensor=sensor)
        if done is None:
            return {"ok": False, "acknowledged": None, "why": "no alert to acknowledge"}
        return {"ok": True, "acknowledged": done}
