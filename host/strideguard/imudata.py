"""The in-memory IMU recording every part of the host passes around.

Columns follow the gaitmap/mobgap convention: ``time_s``; ``acc_x, acc_y, acc_z``
in m/s² (specific force: a resting sensor reads +9.81 along "up");
``gyr_x, gyr_y, gyr_z`` in °/s. Values are in the **sensor** frame unless a
function says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

STANDARD_GRAVITY_MPS2 = 9.80665
ACC_COLUMNS = ("acc_x", "acc_y", "acc_z")
GYR_COLUMNS = ("gyr_x", "gyr_y", "gyr_z")

FloatArray = npt.NDArray[np.float64]


class Acknowledgement(NamedTuple):
    """The runner acknowledged an alert (a long press on a sensor, the phone).

    ``time_s`` in the recording's time; ``kind`` the alert (``AlertKind`` value) or
    ``None`` (the most urgent one on); ``source`` ``"sensor"``/``"phone"``/...;
    ``fallback``: when ``kind`` is not on, the most urgent alert instead.
    """

    time_s: float
    kind: str | None
    source: str
    fallback: bool


@dataclass
class ImuRecording:
    """A 6-axis (or accelerometer-only) shin IMU recording.

    Parameters
    ----------
    time_s
        Sample times in seconds, shape ``(n,)``, increasing.
    acc_mps2
        Specific force in m/s², shape ``(n, 3)``, or ``None`` if absent.
    gyr_dps
        Angular velocity in °/s, shape ``(n, 3)``, or ``None`` if absent.
    sampling_rate_hz
        Nominal (or estimated) sample rate.
    source
        Where the data came from (file name, sensor name, "simulator:...").
    acc_range_g, gyr_range_dps
        Full-scale range of the sensor, for clipping flags; ``None`` if unknown.
    pain_marks_s
        Times at which the runner marked "pain now" on the sensor.
    gaps
        ``(start_s, end_s)`` spans where samples were lost (link or FIFO loss).
    acknowledgements
        Alerts the runner acknowledged during the run (a ``.sgrec`` says which:
        :func:`strideguard.acknowledgements.recorded_acknowledgements`).
    """

    time_s: FloatArray
    acc_mps2: FloatArray | None
    gyr_dps: FloatArray | None
    sampling_rate_hz: float
    source: str = ""
    acc_range_g: float | None = None
    gyr_range_dps: float | None = None
    pain_marks_s: FloatArray = field(default_factory=lambda: np.zeros(0))
    gaps: list[tuple[float, float]] = field(default_factory=list)
    acknowledgements: list[Acknowledgement] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.time_s.shape[0])

    @property
    def duration_s(self) -> float:
        """Time from first to last sample."""
        return float(self.time_s[-1] - self.time_s[0]) if self.n_samples else 0.0

    def columns(self) -> dict[str, FloatArray]:
        """The recording as a ``{column: array}`` mapping in CSV column order."""
        out: dict[str, FloatArray] = {"time_s": self.time_s}
        if self.acc_mps2 is not None:
            out.update(zip(ACC_COLUMNS, self.acc_mps2.T, strict=True))
        if self.gyr_dps is not None:
            out.update(zip(GYR_COLUMNS, self.gyr_dps.T, strict=True))
        return out


def write_csv(recording: ImuRecording, path: str | Path) -> None:
    """Write ``recording`` as CSV with the gaitmap column names.

    Parameters
    ----------
    recording
        The data to write.
    path
        Destination file; overwritten.
    """
    cols = recording.columns()
    names = list(cols)
    table = np.column_stack([cols[n] for n in names])
    fmt = ["%.6f"] + ["%.5f"] * (len(names) - 1)
    np.savetxt(path, table, delimiter=",", header=",".join(names), comments="", fmt=fmt)
