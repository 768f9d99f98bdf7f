"""The alert detectors, one per module, each with its own state and config section.

Each looks at running strides (and events) and hands back decisions
(:class:`~strideguard.alerts.detectors.common.Raise`,
:class:`~strideguard.alerts.detectors.common.End`); the
:class:`~strideguard.alerts.policy.AlertPolicy` wires them together and runs
the one alert life cycle.
"""

from strideguard.alerts.detectors.gait_change import GaitChangeDetector
from strideguard.alerts.detectors.late_swing_load import LateSwingLoadDetector
from strideguard.alerts.detectors.notices import NoticeDetector
from strideguard.alerts.detectors.overstride import OverstrideDetector

__all__ = ["GaitChangeDetector", "LateSwingLoadDetector", "NoticeDetector", "OverstrideDetector"]
