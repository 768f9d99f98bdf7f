"""Alert engine: personal baseline, change detection and the one alert policy.

:class:`AlertPolicy` is used identically by ``strideguard analyze`` (offline)
and by the live path, so a recording gives the same alerts it gave live.
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
