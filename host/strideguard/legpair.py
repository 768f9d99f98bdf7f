"""Two-sensor recordings offline: which stream is which leg, their common clock, the symmetry block.

``strideguard analyze`` on a raw recording of a left and a right sensor
(``live`` or ``simulate --leg both --frames`` with the sensors named
``StrideGuard-L`` and ``StrideGuard-R``) analyses both legs and runs them
through :func:`strideguard.alerts.offline.alerts_for_pair`: the same
:class:`~strideguard.alerts.symmetry.SymmetryMonitor` the live run uses, fed
in the order the live path would see the strides. This module holds the
pieces around it: the legs of a recording (:func:`recording_legs`), the offset
that brings a sensor's times onto the host clock as the live path does
(:func:`recording_host_offset_s`), and the JSON block (:func:`symmetry_block`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from strideguard.alerts.symmetry import SymmetryMonitor
from strideguard.symmetry import SYMMETRY_FEATURE_NAMES, host_clock_offset_s

#: the columns of a stride pair (``symmetry.stride_pairs`` rows, ``pairs.csv``)
PAIR_COLUMNS: tuple[str, ...] = (
    "initial_contact_r_s",
    "stride_l",
    "stride_r",
    *SYMMETRY_FEATURE_NAMES,
)


def recording_legs(path: str | Path) -> dict[str, int] | None:
    """Stream number per leg of a raw recording with exactly a left and a right sensor.

    Parameters
    ----------
    path
        A recording; anything but a readable ``.sgrec`` gives ``None``.

    Returns
    -------
    dict or None
        ``{"L": stream, "R": stream}`` when the header names two sensors, one per
        leg (``StrideGuard-L``/``-R``), and both sent frames; otherwise ``None``
        (one sensor, unnamed sensors, a CSV file).
    """
    p = Path(path)
    if p.suffix.lower() != ".sgrec" or not p.is_file():
        return None
    from strideguard.ble.receiver import leg_from_name
    from strideguard.recording import read_recording

    rec = read_recording(p)
    names = rec.header.get("sensors") or []
    streams = rec.streams()
    legs: dict[str, int] = {}
    for stream in streams:
        leg = leg_from_name(names[stream] if stream < len(names) else None)
        if leg is None or leg in legs:
            return None
        legs[leg] = stream
    return legs if set(legs) == {"L", "R"} and len(streams) == 2 else None


def recording_host_offset_s(path: str | Path, stream: int) -> float:
    """Seconds that put a sensor's analysis times (``analyze``'s clock) on the host clock.

    ``analyze`` times a sensor's samples from its first sample; the frames'
    arrival times put them on the host clock
    (:func:`~strideguard.symmetry.host_clock_offset_s`), which both sensors
    share. 0 when the frames carry no arrival times (as the live path).
    """
    from strideguard.frames import fit_timebase
    from strideguard.recording import decode_stream, read_recording

    decoded = decode_stream(read_recording(path), stream)
    if decoded.n_samples == 0:
        return 0.0
    period_s = fit_timebase(decoded).period_s
    i0 = int(decoded.sample_index[0])
    fr = decoded.frames
    offset = host_clock_offset_s(
        fr["first_index"],
        fr["count"],
        fr["arrival_s"],
        lambda idx: (np.asarray(idx, dtype=np.int64) - i0) * period_s,
    )
    return offset if math.isfinite(offset) else 0.0


def symmetry_block(monitor: SymmetryMonitor) -> dict[str, Any]:
    """The ``symmetry`` block of ``analyze``'s JSON (``docs/analysis.md``).

    The run summary's block (:meth:`SymmetryMonitor.summary`, as the live run
    reports it) plus ``stride_pairs``: one row per pair, like the stride
    table's rows, with the index of each leg's stride in that leg's stride
    list and the per-pair symmetry index (%) or difference (°) per feature.
    Needs a monitor that kept its pairs (``keep_pairs=True``).
    """
    out = monitor.summary()
    rows: list[dict[str, Any]] = []
    for pair in monitor.pairs_:
        ic = pair.strides["R"].get("initial_contact_s")
        row: dict[str, Any] = {
            "initial_contact_r_s": None if ic is None else round(float(ic), 4),
            "stride_l": pair.index["L"],
            "stride_r": pair.index["R"],
        }
        row.update(pair.indices())
        rows.append(row)
    out["stride_pairs"] = rows
    return out
