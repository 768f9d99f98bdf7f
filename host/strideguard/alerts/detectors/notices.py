"""Sensor and link notices (info): clipping, sensor moved, data lost, sensor lost, battery low.

Per stride: landings beyond the accelerometer's full scale, and the sensor's
orientation on the shin seen two ways in the sensor frame — the stance
gravity direction (mostly along the tibia) and the swing axis (the knee's
flexion axis at mid-swing). A twist about the tibia barely moves gravity but
turns the swing axis, so either turning beyond ``mounting_change_deg`` for
``mounting_persist_strides`` strides means the sensor moved on the strap
(the notice stays on until the policy has measured the levels again from the
new position). Per event: lost data, a silent sensor, a low battery. Settings:
:class:`~strideguard.alerts.config.NoticeConfig`.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from strideguard.alerts import texts
from strideguard.alerts.config import NoticeConfig
from strideguard.alerts.detectors.common import Decision, Raise, Stride, value
from strideguard.alerts.model import AlertKind, Severity

#: per-stride unit vectors in the sensor frame that together give the sensor's orientation
ORIENTATION_VECTORS = ("gravity", "swing_axis")


class NoticeDetector:
    """Sensor and link notices (see the module docstring).

    Parameters
    ----------
    config
        The notices' settings.
    """

    def __init__(self, config: NoticeConfig) -> None:
        self.config = config
        self._clipped: deque[bool] = deque(maxlen=config.clipped_window_strides)
        self._orientation_ref: np.ndarray | None = None
        self._orientation_n = 0
        self._turned_run = 0

    def update(self, stride: Stride, *, sprint: bool = False) -> list[Decision]:
        """Check a running stride for clipping and a moved sensor.

        ``sprint``: the stride swings much faster than the runner's normal. A
        sprint's per-stride gravity and swing-axis directions are not the
        sensor's mounting: the swing twice as fast, a lean into a bend, and
        they turn by more than the mounting limit (a 7 m/s sprint round a
        track bend raised "sensor moved"). Such strides neither count towards
        nor against the mounting check.
        """
        return self._clipping(stride) + ([] if sprint else self._mounting(stride))

    def _clipping(self, stride: Stride) -> list[Decision]:
        cfg = self.config
        clipped = stride.get("peak_tibial_accel_clipped")
        if clipped is None:
            return []
        self._clipped.append(bool(clipped))
        n = sum(self._clipped)
        if len(self._clipped) < cfg.clipped_window_strides or n / len(self._clipped) < (
            cfg.clipped_share
        ):
            return []
        return [
            Raise(
                AlertKind.CLIPPING,
                Severity.INFO,
                texts.clipping(n, len(self._clipped)),
                {"clipped_strides": n},
                reminder_s=cfg.clipping_reminder_s,
            )
        ]

    def orientation(self) -> list[float] | None:
        """The sensor's orientation reference (gravity and swing-axis unit vectors, six
        numbers) once ``mounting_reference_strides`` strides have set it, else ``None``."""
        ref = self._orientation_ref
        if ref is None or self._orientation_n < self.config.mounting_reference_strides:
            return None
        out: list[float] = []
        for k in (0, 3):
            part = ref[k : k + 3]
            norm = float(np.linalg.norm(part))
            if not norm > 0:
                return None
            out += [round(float(x) / norm, 5) for x in part]
        return out

    def _mounting(self, stride: Stride) -> list[Decision]:
        cfg = self.config
        dirs = []
        for prefix in ORIENTATION_VECTORS:
            v = np.array([value(stride, f"{prefix}_{axis}") for axis in "xyz"])
            n = float(np.linalg.norm(v)) if np.all(np.isfinite(v)) else 0.0
            dirs.append(v / n if n > 0 else np.full(3, np.nan))
        g = np.concatenate(dirs)
        if not np.any(np.isfinite(g)):
            return []
        if self._orientation_ref is None or self._orientation_n < cfg.mounting_reference_strides:
            self._orientation_ref = (
                np.nan_to_num(g)
                if self._orientation_ref is None
                else self._orientation_ref + np.nan_to_num(g)
            )
            self._orientation_n += 1
            return []
        angles = []
        for k in (0, 3):
            ref_k = self._orientation_ref[k : k + 3]
            cur = g[k : k + 3]
            if np.all(np.isfinite(cur)) and np.linalg.norm(ref_k) > 0:
                ref_k = ref_k / np.linalg.norm(ref_k)
                angles.append(math.degrees(math.acos(max(-1.0, min(1.0, float(ref_k @ cur))))))
        ang = max(angles) if angles else 0.0
        self._turned_run = self._turned_run + 1 if ang > cfg.mounting_change_deg else 0
        if self._turned_run < cfg.mounting_persist_strides:
            return []
        self._orientation_ref, self._orientation_n, self._turned_run = None, 0, 0
        # on until the policy has measured the levels again from the new position
        return [
            Raise(
                AlertKind.SENSOR_MOVED,
                Severity.INFO,
                texts.sensor_moved(ang, cfg.mounting_reanchor_strides),
                {
                    "rotation_deg": round(ang, 1),
                    "reanchor_strides": cfg.mounting_reanchor_strides,
                },
            )
        ]

    # ------------------------------------------------------------------ events

    def notice_gap(self, duration_s: float) -> list[Decision]:
        """Samples were lost for ``duration_s``: report it when it is ``data_lost_s`` or more."""
        if duration_s < self.config.data_lost_s:
            return []
        return [
            Raise(
                AlertKind.DATA_LOST,
                Severity.INFO,
                texts.data_lost(duration_s),
                {"lost_s": round(duration_s, 2)},
                one_off=True,
            )
        ]

    def notice_battery(self, percent: int) -> list[Decision]:
        """The sensor reported its battery level."""
        if percent > self.config.battery_low_pct:
            return []
        return [
            Raise(
                AlertKind.BATTERY_LOW,
                Severity.INFO,
                texts.battery_low(percent),
                {"battery_pct": percent},
            )
        ]

    @staticmethod
    def notice_sensor_lost(silent_s: float) -> list[Decision]:
        """The sensor has sent nothing for ``silent_s`` and the link did not come back."""
        return [
            Raise(
                AlertKind.SENSOR_LOST,
                Severity.INFO,
                texts.sensor_lost(silent_s),
                {"silent_s": round(silent_s, 1)},
            )
        ]


def orientation_change_deg(a: list[float], b: list[float]) -> float:
    """Largest angle (°) between two orientation references' gravity and swing axes."""
    va, vb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if va.shape != (6,) or vb.shape != (6,):
        return float("nan")
    out = 0.0
    for k in (0, 3):
        x, y = va[k : k + 3], vb[k : k + 3]
        nx, ny = float(np.linalg.norm(x)), float(np.linalg.norm(y))
        if not (nx > 0 and ny > 0):
            return float("nan")
        c = max(-1.0, min(1.0, float(x @ y) / (nx * ny)))
        out = max(out, math.degrees(math.acos(c)))
    return out
