"""Alert engine: personal baseline, one detector per module, and the one alert policy.

:class:`AlertPolicy` (``policy.py``: wiring and the alert life cycle) is used
identically by ``strideguard analyze`` (offline) and by the live path, so a
recording gives the same alerts it gave live. The detectors live in
:mod:`strideguard.alerts.detectors`, the words in :mod:`strideguard.alerts.texts`
and every setting in :mod:`strideguard.alerts.config`.
"""

from strideguard.alerts.baseline import PersonalBaseline
from strideguard.alerts.config import AlertConfig, load_config
from strideguard.alerts.model import Alert, AlertKind, AlertState, Severity
from strideguard.alerts.policy import AlertPolicy

__all__ = [
    "Alert",
    "AlertConfig",
    "AlertKind",
    "AlertPolicy",
    "AlertState",
    "PersonalBaseline",
    "Severity",
    "load_config",
]
