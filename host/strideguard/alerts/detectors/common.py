"""What every detector shares: the stride it is shown, and the decisions it hands back.

A detector looks at strides (and events) and *decides*: raise this alert, or
end that one. It never emits alerts itself; the
:class:`~strideguard.alerts.policy.AlertPolicy` turns decisions into alert
events through the one life cycle (raise, remind, escalate, end).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from strideguard.alerts.baseline import PersonalBaseline
from strideguard.alerts.model import AlertKind, Severity
from strideguard.alerts.texts import AlertText

Stride = Mapping[str, float | None]
Numbers = dict[str, float | int | str | None]


def value(stride: Stride, key: str) -> float:
    """``stride[key]`` as a float, NaN when missing or ``None``."""
    v = stride.get(key)
    return float("nan") if v is None else float(v)


@dataclass(frozen=True)
class StrideContext:
    """What a detector knows about the stride besides its metrics.

    Attributes
    ----------
    index
        Index of the stride in the run (walking strides count too).
    time_s
        Its initial contact.
    baseline
        The runner's baseline (``None`` while it is still being learned).
    angle_calibrated
        Whether tibia angles are absolute.
    is_active
        Whether an alert kind is currently on.
    """

    index: int
    time_s: float
    baseline: PersonalBaseline | None
    angle_calibrated: bool
    is_active: Callable[[AlertKind], bool]


@dataclass(frozen=True)
class Raise:
    """Raise ``kind`` (or remind, or escalate, as the life cycle decides).

    Attributes
    ----------
    kind, severity, text, numbers
        The alert.
    reminder_s
        Repeat it as a reminder after this long while it stays on (``None``: never).
    escalate_reason
        If the alert is already on at this severity and no reminder is due,
        escalate it with this reason instead of staying quiet.
    one_off
        A single report (e.g. "data lost") that is never on, so never deduplicated or ended.
    """

    kind: AlertKind
    severity: Severity
    text: AlertText
    numbers: Numbers = field(default_factory=dict)
    reminder_s: float | None = None
    escalate_reason: str | None = None
    one_off: bool = False


@dataclass(frozen=True)
class End:
    """End ``kind`` if it is on, saying why."""

    kind: AlertKind
    reason: str


Decision = Raise | End
