"""Raw-frame recordings: append-only, crash-safe files of what the sensors sent.

Every live run is recorded as the exact notification payloads with their host
arrival times, so it can be replayed through the same code path later
(``strideguard replay``) and analysed offline (``strideguard analyze``).

File layout (little-endian, see ``docs/protocol.md``)::

    magic        8 bytes  b"SGREC\\x00\\x01\\n"
    header_len   u32      length of the JSON header that follows
    header       JSON     {"schema": "strideguard.recording/1", "created_utc", "sensors": [...], ...}
    records      repeated: kind u8, stream u8, length u16, arrival_s f64, payload[length]

``kind`` is :data:`KIND_FRAME` (a stream frame), :data:`KIND_STATUS` (a status
record) or :data:`KIND_EVENT` (a JSON event: connect, disconnect, mtu, note).
``stream`` numbers the sensor (0, 1) in a two-sensor run. The writer flushes
to the operating system at least every ``flush_interval_s`` and at close, so a
killed process loses at most that much; a torn last record is ignored on read.
"""

from __future__ import annotations

import json
import os
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from strideguard.errors import InputError, StrideguardError
from strideguard.frames import DecodedFrames, decode_buffer, to_recording
from strideguard.imudata import ImuRecording

MAGIC = b"SGREC\x00\x01\n"
SCHEMA = "strideguard.recording/1"
RECORD_HEADER = struct.Struct("<BBHd")
KIND_FRAME = 0
KIND_STATUS = 1
KIND_EVENT = 2


class RecordingError(StrideguardError):
    """The recording cannot be written (e.g. the disk is full)."""


class RecordingWriter:
    """Append records to a recording file, flushing at least once a second.

    Parameters
    ----------
    path
        File to create (an existing file is not overwritten).
    metadata
        Extra JSON-serialisable header fields (sensor names, legs, rate ...).
    flush_interval_s
        Longest time a record may sit in the process before reaching the OS.
    fsync
        Also ask the OS to write to disk at each flush (survives power loss).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.sgrec"
    >>> with RecordingWriter(p, {"sensors": ["StrideGuard-L"]}) as rec:
    ...     rec.append_frame(b"\\x01" * 16, arrival_s=0.0)
    """

    def __init__(
        self,
        path: str | Path,
        metadata: dict[str, Any] | None = None,
        *,
        flush_interval_s: float = 1.0,
        fsync: bool = False,
    ) -> None:
        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self.fsync = fsync
        self.records_written = 0
        self._t0 = time.monotonic()
        header: dict[str, Any] = {
            "schema": SCHEMA,
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            # arrival times are seconds after this (the system-wide monotonic clock)
            "t0_monotonic_s": self._t0,
        }
        header.update(metadata or {})
        blob = json.dumps(header).encode()
        try:
            self._fh: BinaryIO = open(self.path, "xb")
            self._fh.write(MAGIC + struct.pack("<I", len(blob)) + blob)
            self._fh.flush()
        except OSError as exc:
            raise RecordingError(
                f"cannot create recording {self.path}: {exc.strerror or exc}"
            ) from exc
        self._last_flush = time.monotonic()
        self._closed = False

    def elapsed_s(self) -> float:
        """Seconds since the recording was opened (the default arrival clock)."""
        return time.monotonic() - self._t0

    def _append(self, kind: int, stream: int, payload: bytes, arrival_s: float | None) -> None:
        if self._closed:
            raise RecordingError(f"recording {self.path} is closed")
        if len(payload) > 0xFFFF:
            raise ValueError("record payload too long")
        t = self.elapsed_s() if arrival_s is None else arrival_s
        try:
            self._fh.write(RECORD_HEADER.pack(kind, stream, len(payload), t) + payload)
            self.records_written += 1
            if time.monotonic() - self._last_flush >= self.flush_interval_s:
                self.flush()
        except OSError as exc:
            raise RecordingError(f"recording {self.path} stopped: {exc.strerror or exc}") from exc

    def append_frame(
        self,
        payload: bytes | bytearray | memoryview,
        *,
        arrival_s: float | None = None,
        stream: int = 0,
    ) -> None:
        """Append one stream frame as received."""
        self._append(KIND_FRAME, stream, bytes(payload), arrival_s)

    def append_status(
        self,
        payload: bytes | bytearray | memoryview,
        *,
        arrival_s: float | None = None,
        stream: int = 0,
    ) -> None:
        """Append one status record as received."""
        self._append(KIND_STATUS, stream, bytes(payload), arrival_s)

    def append_event(
        self, event: dict[str, Any], *, arrival_s: float | None = None, stream: int = 0
    ) -> None:
        """Append a JSON event (connect, disconnect, mtu, calibration, note)."""
        self._append(KIND_EVENT, stream, json.dumps(event).encode(), arrival_s)

    def flush(self) -> None:
        """Hand buffered records to the OS (and the disk, with ``fsync``)."""
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Flush and close; safe to call twice."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._fh.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass
class Recording:
    """A recording read back.

    Attributes
    ----------
    header
        The JSON header.
    buffer
        The whole file as bytes (payloads are slices of it).
    kind, stream, offset, length, arrival_s
        One entry per record: kind code, sensor number, payload offset and
        length in ``buffer``, host arrival time.
    torn_tail_bytes
        Bytes at the end that did not form a whole record (a crash mid-write).
    """

    header: dict[str, Any]
    buffer: bytes
    kind: npt.NDArray[np.uint8]
    stream: npt.NDArray[np.uint8]
    offset: npt.NDArray[np.int64]
    length: npt.NDArray[np.int64]
    arrival_s: npt.NDArray[np.float64]
    torn_tail_bytes: int = 0
    events: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)

    def streams(self) -> list[int]:
        """Sensor numbers present in the frame records."""
        return sorted({int(s) for s in np.unique(self.stream[self.kind == KIND_FRAME])})

    def frame_records(self, stream: int = 0) -> npt.NDArray[np.int64]:
        """Indices of the frame records of one sensor, in arrival order."""
        return np.flatnonzero((self.kind == KIND_FRAME) & (self.stream == stream))

    def payload(self, i: int) -> bytes:
        """Payload of record ``i``."""
        o = int(self.offset[i])
        return self.buffer[o : o + int(self.length[i])]


def read_recording(path: str | Path) -> Recording:
    """Read a recording written by :class:`RecordingWriter`.

    Parameters
    ----------
    path
        The ``.sgrec`` file.

    Returns
    -------
    Recording
        Index of all whole records; a torn final record is skipped and counted.

    Raises
    ------
    InputError
        Not a recording, or its header is unreadable.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not data.startswith(MAGIC):
        raise InputError(f"{path} is not a strideguard recording (bad magic bytes)")
    pos = len(MAGIC)
    if len(data) < pos + 4:
        raise InputError(f"{path}: recording header is truncated")
    (hlen,) = struct.unpack_from("<I", data, pos)
    pos += 4
    try:
        header = json.loads(data[pos : pos + hlen].decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: recording header is not valid JSON") from exc
    if not isinstance(header, dict) or header.get("schema") != SCHEMA:
        raise InputError(
            f"{path}: unsupported recording schema {header.get('schema') if isinstance(header, dict) else None!r}"
        )
    pos += hlen
    kinds: list[int] = []
    streams: list[int] = []
    offsets: list[int] = []
    lengths: list[int] = []
    arrivals: list[float] = []
    events: list[tuple[float, int, dict[str, Any]]] = []
    size = len(data)
    rh = RECORD_HEADER.size
    unpack = RECORD_HEADER.unpack_from
    while pos + rh <= size:
        kind, stream, length, arrival = unpack(data, pos)
        if pos + rh + length > size:
            break
        kinds.append(kind)
        streams.append(stream)
        offsets.append(pos + rh)
        lengths.append(length)
        arrivals.append(arrival)
        if kind == KIND_EVENT:
            try:
                events.append((arrival, stream, json.loads(data[pos + rh : pos + rh + length])))
            except (UnicodeDecodeError, json.JSONDecodeError):
                events.append((arrival, stream, {"event": "unreadable"}))
        pos += rh + length
    return Recording(
        header=header,
        buffer=data,
        kind=np.asarray(kinds, np.uint8),
        stream=np.asarray(streams, np.uint8),
        offset=np.asarray(offsets, np.int64),
        length=np.asarray(lengths, np.int64),
        arrival_s=np.asarray(arrivals, np.float64),
        torn_tail_bytes=size - pos,
        events=events,
    )


def decode_stream(recording: Recording, stream: int = 0) -> DecodedFrames:
    """Decode one sensor's frames of a recording (see :mod:`strideguard.frames`).

    Parameters
    ----------
    recording
        From :func:`read_recording`.
    stream
        Sensor number.

    Returns
    -------
    strideguard.frames.DecodedFrames
        Samples and loss report.
    """
    idx = recording.frame_records(stream)
    return decode_buffer(
        recording.buffer, recording.offset[idx], recording.length[idx], recording.arrival_s[idx]
    )


def load_imu(path: str | Path, stream: int = 0) -> ImuRecording:
    """Read a recording and return one sensor's samples in physical units.

    Parameters
    ----------
    path
        The ``.sgrec`` file.
    stream
        Sensor number (0 for the first sensor).

    Returns
    -------
    ImuRecording
        Sensor-frame data with gaps and pain marks.

    Raises
    ------
    InputError
        Unreadable file, or no decodable frames for ``stream``.
    """
    rec = read_recording(path)
    decoded = decode_stream(rec, stream)
    if decoded.n_samples == 0:
        raise InputError(
            f"{path}: no decodable frames for sensor {stream} ({decoded.report.frames_received} received)"
        )
    names = rec.header.get("sensors") or []
    label = names[stream] if stream < len(names) else f"sensor {stream}"
    return to_recording(decoded, source=f"{Path(path).name}:{label}")
