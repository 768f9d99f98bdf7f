"""Run the alert policy over a whole analysed recording, in time order.

The live path calls :class:`~strideguard.alerts.policy.AlertPolicy` as strides
complete; offline, :func:`alerts_for_strides` replays the same sequence —
strides, pain marks, acknowledgements and data gaps merged by time — so a file
gives the alerts the live run gave.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from strideguard.alerts.baseline import PersonalBaseline
from strideguard.alerts.config import AlertConfig
from strideguard.alerts.model import AlertKind
from strideguard.alerts.policy import AlertPolicy
from strideguard.alerts.symmetry import SymmetryMonitor
from strideguard.imudata import Acknowledgement


def alerts_for_strides(
    strides: Sequence[Mapping[str, float | None]],
    *,
    pain_marks_s: Iterable[float] = (),
    gaps: Iterable[tuple[float, float]] = (),
    config: AlertConfig | None = None,
    baseline: PersonalBaseline | None = None,
    leg: str | None = None,
    angle_calibrated: bool = False,
    end_time_s: float | None = None,
    acknowledgements: Iterable[Acknowledgement] = (),
) -> AlertPolicy:
    """Feed strides and events to a fresh :class:`AlertPolicy` in time order.

    Parameters
    ----------
    strides
        Per-stride metrics, in order, each with ``initial_contact_s``.
    pain_marks_s
        Times the runner marked pain.
    gaps
        ``(start_s, end_s)`` spans of lost data.
    config, baseline, leg, angle_calibrated
        Passed to :class:`AlertPolicy`.
    end_time_s
        End of the recording: active alerts are reported as ended there.
    acknowledgements
        Alerts the runner acknowledged (no reminders after them), as the live
        run applied them.

    Returns
    -------
    AlertPolicy
        The policy after the run; ``policy.alerts_`` holds the alerts.
    """
    policy = AlertPolicy(
        config=config,
        baseline=baseline,
        leg=leg,
        angle_calibrated=angle_calibrated,
    )
    acks = list(acknowledgements)
    events: list[tuple[float, str, float, float]] = [
        (float(t), "pain", float(t), float(t)) for t in pain_marks_s
    ]
    events += [(float(a), "gap", float(a), float(b)) for a, b in gaps]
    events += [
        (float(ack.time_s), "ack", float(ack.time_s), float(k)) for k, ack in enumerate(acks)
    ]
    events.sort(key=lambda e: e[0])

    def apply(event: tuple[float, str, float, float]) -> None:
        _, what, a, b = event
        if what == "pain":
            policy.mark_pain(a)
        elif what == "ack":
            _acknowledge(policy, acks[int(b)])
        else:
            policy.notice_gap(a, b)

    k = 0
    for stride in strides:
        t = float(stride.get("initial_contact_s") or 0.0)
        while k < len(events) and events[k][0] <= t:
            apply(events[k])
            k += 1
        policy.update(stride)
    for event in events[k:]:
        apply(event)
    if end_time_s is not None:
        policy.finish(end_time_s)
    return policy


def alerts_for_pair(
    strides: Mapping[str, Sequence[Mapping[str, float | None]]],
    *,
    pain_marks_s: Mapping[str, Iterable[float]] | None = None,
    gaps: Mapping[str, Iterable[tuple[float, float]]] | None = None,
    config: AlertConfig | None = None,
    baselines: Mapping[str, PersonalBaseline | None] | None = None,
    angle_calibrated: Mapping[str, bool] | None = None,
    offsets_s: Mapping[str, float] | None = None,
    end_time_s: float | None = None,
    keep_pairs: bool = False,
    acknowledgements: Mapping[str, Iterable[Acknowledgement]] | None = None,
) -> SymmetryMonitor:
    """Both legs of a run through their policies and the symmetry monitor, as live.

    Each leg's strides and events go to its own :class:`AlertPolicy` in time
    order, and every stride then to the :class:`SymmetryMonitor`, in the order
    the live path would see them (strides complete at their next contact).

    Parameters
    ----------
    strides
        Per leg (``"L"``, ``"R"``): per-stride metrics in order.
    pain_marks_s, gaps, baselines, angle_calibrated
        Per leg, as for :func:`alerts_for_strides`.
    config
        Alert settings.
    offsets_s
        Per leg: added to its times to put both legs on one clock (0 by default).
    end_time_s
        End of the recording (common clock): active alerts are reported as ended there.
    keep_pairs
        Keep every stride pair in ``monitor.pairs_`` (for summaries).
    acknowledgements
        Per leg: the alerts the runner acknowledged, as for :func:`alerts_for_strides`.

    Returns
    -------
    SymmetryMonitor
        After the run; ``monitor.policies[leg].alerts_`` hold each leg's alerts.
    """
    legs = ("L", "R")
    off = {leg: float((offsets_s or {}).get(leg, 0.0)) for leg in legs}
    policies = {
        leg: AlertPolicy(
            config=config,
            baseline=(baselines or {}).get(leg),
            leg=leg,
            angle_calibrated=bool((angle_calibrated or {}).get(leg, False)),
        )
        for leg in legs
    }
    monitor = SymmetryMonitor(policies, config, keep_pairs=keep_pairs)
    # (time on the common clock, order, leg, kind, payload)
    events: list[tuple[float, int, str, str, object]] = []
    for leg in legs:
        for s in strides.get(leg, ()):
            nxt = s.get("next_initial_contact_s")
            t = float(nxt if nxt is not None else s.get("initial_contact_s") or 0.0)
            events.append((t + off[leg], 2, leg, "stride", s))
        for t in (pain_marks_s or {}).get(leg, ()):
            events.append((float(t) + off[leg], 0, leg, "pain", float(t)))
        for a, b in (gaps or {}).get(leg, ()):
            events.append((float(a) + off[leg], 1, leg, "gap", (float(a), float(b))))
        for ack in (acknowledgements or {}).get(leg, ()):
            events.append((float(ack.time_s) + off[leg], 1, leg, "ack", ack))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    for _, _, leg, kind, payload in events:
        policy = policies[leg]
        if kind == "pain":
            policy.mark_pain(payload)  # type: ignore[arg-type]
        elif kind == "gap":
            a, b = payload  # type: ignore[misc]
            policy.notice_gap(a, b)
        elif kind == "ack":
            _acknowledge(policy, payload)  # type: ignore[arg-type]
        else:
            policy.update(payload)  # type: ignore[arg-type]
            monitor.add(leg, payload, off[leg])  # type: ignore[arg-type]
    if end_time_s is not None:
        for leg in legs:
            policies[leg].finish(end_time_s - off[leg])
    return monitor


def _acknowledge(policy: AlertPolicy, ack: Acknowledgement) -> None:
    """A recorded acknowledgement, as LiveRun applies it: the alert named, if on; else
    (a long press) the most urgent."""
    kind = _kind(ack.kind)
    if kind is not None and (policy.is_active(kind) or not ack.fallback):
        policy.acknowledge(ack.time_s, kind, source=ack.source)
    else:
        policy.acknowledge(ack.time_s, None, source=ack.source)


def _kind(value: str | None) -> AlertKind | None:
    """The alert kind of a recorded acknowledgement (``None``: unknown, the most urgent)."""
    try:
        return AlertKind(value) if value is not None else None
    except ValueError:
        return None
