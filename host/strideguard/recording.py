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

import contextlib
import errno
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

    Records are collected in memory and handed to the operating system at each
    flush (at least every ``flush_interval_s``, and when 64 kB are waiting).
    When a write fails (a full disk), the file is cut back to its last whole
    record, :attr:`stopped` says why, the failing call raises
    :class:`RecordingError` once, and every later record is dropped and counted
    (:attr:`records_dropped`) without raising: whoever feeds the recording keeps
    going, and what was written stays readable.

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

    Attributes
    ----------
    records_written
        Records accepted (in the file, or waiting for the next flush).
    frames_written
        Of those, stream frames.
    stopped
        Why writing stopped (``"disk full"``, …), ``None`` while it works.
    stopped_after_s
        Recording time (arrival clock) of the last record kept, when stopped.
    records_dropped
        Records not written because writing had stopped.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.sgrec"
    >>> with RecordingWriter(p, {"sensors": ["StrideGuard-L"]}) as rec:
    ...     rec.append_frame(b"\\x01" * 16, arrival_s=0.0)
    """

    #: bytes waiting in memory that trigger a flush before the interval is over
    FLUSH_BYTES = 65536

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
        self.frames_written = 0
        self.records_dropped = 0
        self.stopped: str | None = None
        self.stopped_after_s: float | None = None
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
            self._fh: BinaryIO = open(self.path, "xb", buffering=0)
        except OSError as exc:
            raise RecordingError(
                f"cannot create recording {self.path}: {exc.strerror or exc}"
            ) from exc
        # records wait here until a flush; each end offset marks a whole record
        self._pending = bytearray(MAGIC + struct.pack("<I", len(blob)) + blob)
        self._pending_ends: list[tuple[int, float]] = [(len(self._pending), 0.0)]
        self._on_disk = 0  # bytes of the file known to be written
        self._last_t = 0.0
        self._closed = False
        try:
            self._write_pending()
        except OSError as exc:
            self._fh.close()
            with contextlib.suppress(OSError):
                self.path.unlink()
            raise RecordingError(
                f"cannot create recording {self.path}: {exc.strerror or exc}"
            ) from exc
        self._last_flush = time.monotonic()

    def elapsed_s(self) -> float:
        """Seconds since the recording was opened (the default arrival clock)."""
        return time.monotonic() - self._t0

    def _append(self, kind: int, stream: int, payload: bytes, arrival_s: float | None) -> None:
        if self._closed:
            raise RecordingError(f"recording {self.path} is closed")
        if len(payload) > 0xFFFF:
            raise ValueError("record payload too long")
        if self.stopped is not None:
            self.records_dropped += 1
            return
        t = self.elapsed_s() if arrival_s is None else arrival_s
        self._pending += RECORD_HEADER.pack(kind, stream, len(payload), t) + payload
        self._pending_ends.append((self._on_disk + len(self._pending), t))
        self.records_written += 1
        self.frames_written += kind == KIND_FRAME
        self._last_t = t
        if (
            len(self._pending) >= self.FLUSH_BYTES
            or time.monotonic() - self._last_flush >= self.flush_interval_s
        ):
            self.flush()

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

    def _write_pending(self) -> None:
        """Hand the waiting bytes to the OS; ``_on_disk`` counts what arrived."""
        view = memoryview(self._pending)
        done = 0
        try:
            while done < len(view):
                n = self._fh.write(view[done:])
                if not n:
                    raise OSError(errno.EIO, "nothing written")
                done += n
        finally:
            view.release()
            self._on_disk += done
            del self._pending[:done]

    def flush(self) -> None:
        """Hand buffered records to the OS (and the disk, with ``fsync``).

        Raises
        ------
        RecordingError
            The write failed (the recording stops; see :attr:`stopped`).
        """
        if self.stopped is not None or self._closed:
            return
        try:
            self._write_pending()
            if self.fsync:
                os.fsync(self._fh.fileno())
        except OSError as exc:
            self._stop(exc)
            raise RecordingError(f"recording {self.path} stopped: {self.stopped}") from exc
        self._pending_ends = [(self._on_disk, self._last_t)]
        self._last_flush = time.monotonic()

    def _stop(self, exc: OSError) -> None:
        """Writing failed: keep the whole records that reached the file, drop the rest."""
        self.stopped = _why(exc)
        whole = [(end, t) for end, t in self._pending_ends if end <= self._on_disk]
        keep, self.stopped_after_s = whole[-1] if whole else (0, None)
        dropped = sum(1 for end, _ in self._pending_ends if end > self._on_disk)
        self.records_dropped += dropped
        self.records_written -= dropped
        with contextlib.suppress(OSError):  # a torn tail is skipped on reading anyway
            os.ftruncate(self._fh.fileno(), keep)
        self._pending = bytearray()
        self._pending_ends = []

    def close(self) -> None:
        """Flush and close; safe to call twice.

        Raises
        ------
        RecordingError
            The last flush failed (the file keeps its whole records).
        """
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
        if exc is None:
            self.close()
            return
        with contextlib.suppress(RecordingError):  # the first error is the one to see
            self.close()


def _why(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "disk full"
    if exc.errno == errno.EDQUOT:
        return "disk quota exceeded"
    return exc.strerror or str(exc) or type(exc).__name__


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
