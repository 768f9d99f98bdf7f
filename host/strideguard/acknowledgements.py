"""What a recording says the runner acknowledged, for the offline alert policy.

Live (:class:`strideguard.live.run.LiveRun`) an acknowledgement reaches an alert
policy two ways:

* a long press on a sensor (``FLAG2_ACKNOWLEDGED`` in its stream) acknowledges
  the alert whose pattern that sensor played — the recorded ``alert_pattern``
  events say which, possibly the other leg's — or, when it played none (or that
  alert is no longer on), the most urgent alert of its own leg;
* the phone page or the host (:meth:`LiveRun.acknowledge`): an ``acknowledge``
  event recorded on the stream of the alert.

:func:`recorded_acknowledgements` reads both back for one sensor, so
``analyze`` (and the run history's import) give the alerts the live run gave:
an acknowledged alert is not reminded. Times are in the sensor's recording
time (seconds from its first sample): a flag at its frame's first sample, an
event at the end of the sensor's last frame that arrived before it (where the
live pipeline stood).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from strideguard import protocol as proto
from strideguard.frames import DecodedFrames, decode_buffer
from strideguard.imudata import Acknowledgement
from strideguard.recording import KIND_FRAME, Recording

#: recorded events this reads (written by :mod:`strideguard.live.alarm` and ``LiveRun``)
PATTERN_EVENT = "alert_pattern"
PATTERN_STOP_EVENT = "alert_pattern_stop"
ACKNOWLEDGE_EVENT = "acknowledge"


def _flagged(rec: Recording, stream: int) -> DecodedFrames | None:
    """The accepted frames of ``stream`` when any of its frames has ``FLAG2_ACKNOWLEDGED``."""
    idx = rec.frame_records(stream)
    if idx.size == 0:
        return None
    buf = np.frombuffer(rec.buffer, dtype=np.uint8)
    offsets = rec.offset[idx]
    whole = rec.length[idx] > proto.FRAME_FLAGS2_OFFSET
    flags2 = buf[offsets[whole] + proto.FRAME_FLAGS2_OFFSET]
    if not np.any(flags2 & proto.FLAG2_ACKNOWLEDGED):
        return None  # the usual case: no need to decode another sensor's stream
    return decode_buffer(rec.buffer, rec.offset[idx], rec.length[idx], rec.arrival_s[idx])


def recorded_acknowledgements(
    rec: Recording, stream: int, decoded: DecodedFrames, rate_hz: float
) -> list[Acknowledgement]:
    """The acknowledgements of sensor ``stream``'s alerts during the recorded run.

    Parameters
    ----------
    rec
        The recording.
    stream
        The sensor whose alerts are analysed.
    decoded
        Its decoded frames (:func:`strideguard.recording.decode_stream`).
    rate_hz
        Its sample rate (recording time = (index - first index) / rate).

    Returns
    -------
    list of Acknowledgement
        In time order; empty for a run without any.
    """
    if decoded.n_samples == 0 or rate_hz <= 0:
        return []
    i0 = int(decoded.sample_index[0])
    own = decoded.frames
    # where the sensor's live pipeline stood at each arrival time: the end of its last frame
    order = np.argsort(own["arrival_s"], kind="stable")
    own_arrival = own["arrival_s"][order]
    own_end = (own["first_index"][order] + own["count"][order] - i0) / rate_hz

    def time_at(arrival_s: float) -> float:
        k = int(np.searchsorted(own_arrival, arrival_s, side="right")) - 1
        return float(own_end[k]) if k >= 0 else 0.0

    # everything that acts, in arrival order: (arrival, order, what, stream, payload)
    steps: list[tuple[float, int, str, int, Any]] = []
    for n, (arrival, s, event) in enumerate(rec.events):
        name = event.get("event")
        if name in (PATTERN_EVENT, PATTERN_STOP_EVENT, ACKNOWLEDGE_EVENT):
            steps.append((float(arrival), n, str(name), int(s), event))
    streams = sorted({int(s) for s in np.unique(rec.stream[rec.kind == KIND_FRAME])})
    for s in streams:
        frames = own if s == stream else None
        if frames is None:
            other = _flagged(rec, s)
            frames = other.frames if other is not None else None
        if frames is None:
            continue
        hit = (frames["flags2"] & proto.FLAG2_ACKNOWLEDGED) != 0
        for arrival, first in zip(
            frames["arrival_s"][hit].tolist(), frames["first_index"][hit].tolist(), strict=True
        ):
            steps.append((float(arrival), -1, "press", s, int(first)))
    steps.sort(key=lambda x: (x[0], x[1]))
    playing: dict[int, dict[str, Any]] = {}  # sensor -> the pattern event it plays
    out: list[Acknowledgement] = []
    for arrival, _, what, s, data in steps:
        if what == PATTERN_EVENT:
            if data.get("ok"):
                playing[s] = data
        elif what == PATTERN_STOP_EVENT:
            playing.pop(s, None)
        elif what == ACKNOWLEDGE_EVENT:
            if s == stream:
                kind = data.get("kind")
                out.append(
                    Acknowledgement(
                        time_at(arrival),
                        str(kind) if kind is not None else None,
                        str(data.get("source") or ""),
                        False,
                    )
                )
        else:  # a long press on sensor s
            ev = playing.pop(s, None)
            owner = _owner(ev)
            t = (data - i0) / rate_hz if s == stream else time_at(arrival)
            if owner is not None and owner[0] == stream:
                out.append(Acknowledgement(t, owner[1], "sensor", s == stream))
            elif owner is None and s == stream:
                out.append(Acknowledgement(t, None, "sensor", True))
            # else: the other leg's alert, or this sensor's press for another alert
    out.sort(key=lambda a: a.time_s)
    return out


def _owner(event: dict[str, Any] | None) -> tuple[int, str] | None:
    """``(alert stream, kind)`` of a recorded pattern event (None: unknown)."""
    if event is None:
        return None
    try:
        return int(event["alert_stream"]), str(event["kind"])
    except (KeyError, TypeError, ValueError):
        return None
