"""The phone page as a live sink: every live event goes to the phone as it happens.

:class:`WebSink` is a :class:`~strideguard.live.web_server.PhonePageServer`
(HTTP and Server-Sent Events) that takes :class:`~strideguard.live.updates.LiveEvent`
objects and keeps a :class:`ReplayState`, so a phone that connects late, or
reconnects after a Wi-Fi drop, first sees the current numbers and the active
alerts (marked ``"replay": true``: shown, not spoken again).

Example
-------
>>> from strideguard.live.updates import SessionUpdate
>>> with WebSink("127.0.0.1", 0) as web:
...     web.handle(SessionUpdate("started", "Run started"))
...     web.state.session["message"]
'Run started'
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from strideguard.live.updates import LiveEvent
from strideguard.live.web_server import DEFAULT_PORT, PhonePageServer


@dataclass
class ReplayState:
    """What a phone that connects late needs: the latest state, fed with event dicts.

    The session, the last link, calibration and stride of each sensor, and the
    active alerts (an alert leaves when it ends). A :class:`CatchUpState
    <strideguard.live.web_server.CatchUpState>`.
    """

    session: dict[str, Any] | None = None
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    calibrations: dict[str, dict[str, Any]] = field(default_factory=dict)
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)
    symmetry: dict[str, Any] | None = None
    strides: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    question: dict[str, Any] | None = None
    #: what each sensor's motor does (the latest ``haptic`` event per sensor)
    haptics: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: what the page may offer (``{"type": "capabilities", "acknowledge": true}``)
    capabilities: dict[str, Any] | None = None

    def update(self, d: dict[str, Any]) -> None:
        """Fold one event dict into the state.

        A run that starts (``session`` ``started``) clears the previous run's
        links, calibrations, baseline states, symmetry, strides, alerts and
        motor activity (a headless session has many runs: each judges with its
        own baseline); the question and the capabilities stay.
        """
        kind = d.get("type")
        if kind == "session" and d.get("state") == "started":
            self.links.clear()
            self.calibrations.clear()
            self.baselines.clear()
            self.symmetry = None
            self.strides.clear()
            self.alerts.clear()
            self.haptics.clear()
        if kind == "capabilities":
            self.capabilities = d
        elif kind == "question":
            self.question = d
        elif kind == "stride":
            self.strides[d["sensor"]] = d
        elif kind == "link":
            self.links[d["sensor"]] = d
        elif kind == "calibration":
            self.calibrations[d["sensor"]] = d
        elif kind == "baseline":
            self.baselines[d["sensor"]] = d
        elif kind == "symmetry":
            self.symmetry = d
        elif kind == "session":
            self.session = d
        elif kind == "haptic":
            self.haptics[str(d.get("sensor"))] = d
        elif kind == "alert":
            key = (str(d.get("sensor")), str(d.get("kind")))
            if d.get("state") == "ended":
                self.alerts.pop(key, None)
            else:
                self.alerts[key] = d

    def events(self) -> list[dict[str, Any]]:
        """The state as events in a sensible order, each marked ``"replay": true``."""
        out: list[dict[str, Any]] = []
        if self.capabilities is not None:
            out.append(self.capabilities)
        if self.session is not None:
            out.append(self.session)
        out += self.links.values()
        out += self.calibrations.values()
        out += self.baselines.values()
        if self.symmetry is not None:
            out.append(self.symmetry)
        out += self.strides.values()
        out += sorted(self.alerts.values(), key=lambda a: float(a.get("time_s") or 0.0))
        out += self.haptics.values()
        if self.question is not None:
            out.append(self.question)
        return [{**d, "replay": True} for d in out]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready snapshot (``/state``)."""
        return {
            "session": self.session,
            "links": self.links,
            "calibrations": self.calibrations,
            "baselines": self.baselines,
            "symmetry": self.symmetry,
            "strides": self.strides,
            "alerts": list(self.alerts.values()),
            "haptics": self.haptics,
            "question": self.question,
            "capabilities": self.capabilities,
        }


class WebSink(PhonePageServer):
    """Serve the phone page and stream live events to it (a :class:`~strideguard.live.updates.Sink`).

    Parameters
    ----------
    host, port
        Address to bind (``127.0.0.1`` by default; e.g. ``0.0.0.0`` for the LAN,
        which requires a token) and TCP port (0 picks a free one).
    **server_options
        ``token``, ``max_clients``, ``max_queue``, ``heartbeat_s``, ``retry_ms``
        of :class:`~strideguard.live.web_server.PhonePageServer`.

    Attributes
    ----------
    state
        The :class:`ReplayState` a new client gets first.
    """

    state: ReplayState

    def __init__(
        self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, **server_options: Any
    ) -> None:
        super().__init__(ReplayState(), host, port, **server_options)

    def handle(self, event: LiveEvent) -> None:
        """Record ``event`` for late clients and queue it for every client (any thread)."""
        self.publish(event.to_dict())

    def offer_acknowledge(self, handler: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Show the "Acknowledge" button; ``POST /action/acknowledge`` goes to ``handler``.

        See :class:`~strideguard.live.acknowledge.AcknowledgeAction`.
        """
        self.add_action("acknowledge", handler)
        self.publish({"type": "capabilities", "acknowledge": True})

    def ask(
        self,
        question_id: int,
        text: str,
        on_answer: Callable[[str], str],
        *,
        choices: tuple[str, ...] = ("yes", "no", "skipped"),
    ) -> None:
        """Show a question with buttons on every phone (e.g. the day-after question).

        The first answer (``POST /action/answer`` with ``{"id", "answer"}``) is
        passed to ``on_answer``, which returns the advice to show; every phone
        then shows that advice instead of the question. Later answers are
        ignored (they get the first one's advice).
        """
        lock = threading.Lock()
        done: dict[str, str] = {}

        def answer(data: dict[str, Any]) -> dict[str, Any]:
            if data.get("id") != question_id:
                raise ValueError("no such question")
            given = data.get("answer")
            if given not in choices:
                raise ValueError(f"answer must be one of {', '.join(choices)}")
            with lock:
                if not done:
                    done["answer"] = str(given)
                    done["advice"] = on_answer(str(given))
                    self.publish(
                        {
                            "type": "question",
                            "id": question_id,
                            "text": text,
                            "answered": done["answer"],
                            "advice": done["advice"],
                        }
                    )
            return {"ok": True, "answered": done["answer"], "advice": done["advice"]}

        self.add_action("answer", answer)
        self.publish(
            {"type": "question", "id": question_id, "text": text, "choices": list(choices)}
        )
