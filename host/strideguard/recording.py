"""Raw-frame recordings: append-only, crash-safe files of what the sensors sent.

Every live run is recorded as the exact notification payloads with their host
arrival times, so it can be replayed through the same code path later
(``strideguard replay``) and analysed offline (``strideguard analyze``).

File layout, format 2 (little-endian, see ``docs/protocol.md``)::

    magic        8 bytes  b"SGREC\\xff\\x02\\n"
    header       twice:   u32 length, u32 CRC-32 of the JSON, the JSON
                          {"schema": "strideguard.recording/2", "created_utc", "sensors": [...], ...}
    records      repeated: sync b"SG\\xa5\\x5a", kind u8, stream u8, length u16,
                          arrival_s f64, payload[length], u32 CRC-32 of kind..payload

``kind`` is :data:`KIND_FRAME` (a stream frame), :data:`KIND_STATUS` (a status
record) or :data:`KIND_EVENT` (a JSON event: connect, disconnect, mtu, backfill,
note). ``stream`` numbers the sensor (0, 1) in a two-sensor run. The writer
flushes to the operating system at least every ``flush_interval_s`` and at
close, so a killed process loses at most that much; a torn last record is
ignored on read.

A damaged file costs only what is damaged: a record whose checksum fails is
skipped and the reader finds the next one by its sync marker (and checksum);
the count of damaged records is reported. The header is written twice, each
copy with its checksum: a damaged copy falls back to the other, two damaged
copies to defaults, with a warning. A magic with up to three flipped bits is
still recognised. Format 1 files (magic ``SGREC\\x00\\x01\\n``, one header,
records without sync or checksum) stay readable; there a record that cannot be
a record (an unknown kind, a length that fits no frame) starts a search for
the next plausible one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import struct
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from strideguard.errors import InputError, StrideguardError
from strideguard.frames import DecodedFrames, decode_buffer, to_recording
from strideguard.imudata import ImuRecording

MAGIC_V1 = b"SGREC\x00\x01\n"
MAGIC = b"SGREC\xff\x02\n"  # format 2; 10 bits away from format 1's
SCHEMA_V1 = "strideguard.recording/1"
SCHEMA = "strideguard.recording/2"
RECORD_HEADER_V1 = struct.Struct("<BBHd")
RECORD_SYNC = b"SG\xa5\x5a"
RECORD_HEADER = struct.Struct("<4sBBHd")  # sync, kind, stream, length, arrival_s
RECORD_CRC = struct.Struct("<I")
HEADER_BLOCK = struct.Struct("<II")  # JSON length, CRC-32 of the JSON
KIND_FRAME = 0
KIND_STATUS = 1
KIND_EVENT = 2
KINDS = (KIND_FRAME, KIND_STATUS, KIND_EVENT)
MAX_HEADER_BYTES = 1 << 20
#: a magic this many bits off still counts (the two formats' magics are 10 bits apart)
MAGIC_MAX_FLIPPED_BITS = 3


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
        block = HEADER_BLOCK.pack(len(blob), zlib.crc32(blob)) + blob
        try:
            self._fh: BinaryIO = open(self.path, "xb", buffering=0)
        except OSError as exc:
            raise RecordingError(
                f"cannot create recording {self.path}: {exc.strerror or exc}"
            ) from exc
        # records wait here until a flush; each end offset marks a whole record
        self._pending = bytearray(MAGIC + block + block)  # two copies: one may be damaged
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
        head = RECORD_HEADER.pack(RECORD_SYNC, kind, stream, len(payload), t)
        crc = zlib.crc32(payload, zlib.crc32(head[len(RECORD_SYNC) :]))
        self._pending += head + payload + RECORD_CRC.pack(crc)
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
        done = 0
        try:
            # every view released even when the write raises (a traceback may still hold
            # the slice), so the buffer can shrink and the OSError is the error seen
            with memoryview(self._pending) as view:
                while done < len(view):
                    with view[done:] as chunk:
                        n = self._fh.write(chunk)
                    if not n:
                        raise OSError(errno.EIO, "nothing written")
                    done += n
        finally:
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
    events
        ``(arrival_s, stream, event)`` per event record, in file order.
    event_records
        The record number of each entry of ``events``.
    format_version
        1 or 2 (see the module docstring).
    damaged_records
        Damaged stretches skipped (each costs at least one record: a bad
        checksum, or bytes that are no record).
    damaged_bytes
        Bytes skipped in them.
    warnings
        What the reader had to repair (a damaged header copy, a damaged magic ...).
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
    event_records: list[int] = field(default_factory=list)
    format_version: int = 2
    damaged_records: int = 0
    damaged_bytes: int = 0
    warnings: list[str] = field(default_factory=list)

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


def _bit_distance(a: bytes, b: bytes) -> int:
    return sum(bin(x ^ y).count("1") for x, y in zip(a, b, strict=True))


def read_recording(path: str | Path) -> Recording:
    """Read a recording written by :class:`RecordingWriter` (format 2, or an older format 1).

    Parameters
    ----------
    path
        The ``.sgrec`` file.

    Returns
    -------
    Recording
        Index of all whole, intact records; damaged records are skipped and
        counted (``damaged_records``), a torn final record is skipped and
        counted (``torn_tail_bytes``), repairs are listed in ``warnings``.

    Raises
    ------
    InputError
        Not a recording, or an unsupported schema.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    head = data[: len(MAGIC)]
    if len(head) < len(MAGIC):
        raise InputError(f"{path} is not a strideguard recording (bad magic bytes)")
    d1, d2 = _bit_distance(head, MAGIC_V1), _bit_distance(head, MAGIC)
    if min(d1, d2) > MAGIC_MAX_FLIPPED_BITS:
        raise InputError(f"{path} is not a strideguard recording (bad magic bytes)")
    version = 2 if d2 < d1 else 1
    warnings = [] if min(d1, d2) == 0 else [f"magic bytes damaged ({min(d1, d2)} bits): repaired"]
    if version == 2:
        header, pos, hw = _read_header_v2(data, path)
        rec = _read_records_v2(data, pos)
    else:
        header, pos, hw = _read_header_v1(data, path)
        rec = _read_records_v1(data, pos)
    rec.header = header
    rec.format_version = version
    rec.warnings = warnings + hw + rec.warnings
    return rec


def _check_schema(header: Any, path: str | Path) -> dict[str, Any]:
    if not isinstance(header, dict) or header.get("schema") not in (SCHEMA, SCHEMA_V1):
        raise InputError(
            f"{path}: unsupported recording schema {header.get('schema') if isinstance(header, dict) else None!r}"
        )
    return header


def _read_header_v1(data: bytes, path: str | Path) -> tuple[dict[str, Any], int, list[str]]:
    pos = len(MAGIC)
    if len(data) < pos + 4:
        raise InputError(f"{path}: recording header is truncated")
    (hlen,) = struct.unpack_from("<I", data, pos)
    pos += 4
    try:
        header = json.loads(data[pos : pos + hlen].decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: recording header is not valid JSON") from exc
    return _check_schema(header, path), pos + hlen, []


def _header_block(data: bytes, pos: int) -> tuple[int, dict[str, Any] | None]:
    """``(json_length, header)`` of a header copy at ``pos`` (header None: damaged)."""
    if pos + HEADER_BLOCK.size > len(data):
        return -1, None
    n, crc = HEADER_BLOCK.unpack_from(data, pos)
    start = pos + HEADER_BLOCK.size
    if n > MAX_HEADER_BYTES or start + n > len(data):
        return -1, None
    blob = data[start : start + n]
    if zlib.crc32(blob) != crc:
        return n, None
    try:
        header = json.loads(blob.decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return n, None
    return n, header if isinstance(header, dict) else None


def _loose_header(data: bytes, pos: int) -> dict[str, Any] | None:
    """A header copy read without its checksum (both copies damaged)."""
    if pos + HEADER_BLOCK.size > len(data):
        return None
    n, _crc = HEADER_BLOCK.unpack_from(data, pos)
    start = pos + HEADER_BLOCK.size
    if n > MAX_HEADER_BYTES:
        return None
    try:
        header = json.loads(data[start : start + n].decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return header if isinstance(header, dict) else None


def _read_header_v2(data: bytes, path: str | Path) -> tuple[dict[str, Any], int, list[str]]:
    """The header (a checked copy, else a fallback) and where the records start."""
    a = len(MAGIC)
    n1, h1 = _header_block(data, a)
    if h1 is not None:
        b = a + HEADER_BLOCK.size + n1
        n2, h2 = _header_block(data, b)
        if h2 is not None and n2 == n1:
            return _check_schema(h1, path), b + HEADER_BLOCK.size + n2, []
        # the copy is damaged: the records start where an intact copy would end
        return (
            _check_schema(h1, path),
            b + HEADER_BLOCK.size + n1,
            ["second header copy damaged: the first is used"],
        )
    # the first copy is damaged, maybe its length too: find the second by its own length
    limit = min(len(data) - HEADER_BLOCK.size, a + HEADER_BLOCK.size + MAX_HEADER_BYTES)
    for b in range(a + HEADER_BLOCK.size, limit + 1):
        (n2,) = struct.unpack_from("<I", data, b)
        if n2 == b - a - HEADER_BLOCK.size:
            m, h2 = _header_block(data, b)
            if h2 is not None:
                return (
                    _check_schema(h2, path),
                    b + HEADER_BLOCK.size + m,
                    ["first header copy damaged: the second is used"],
                )
    loose = _loose_header(data, a)
    if loose is not None and loose.get("schema") in (SCHEMA, SCHEMA_V1):
        header, note = loose, "both header copies damaged: the first is used as read"
    else:
        header = {"schema": SCHEMA, "sensors": []}
        note = "header unreadable (both copies damaged): defaults used, sensor names unknown"
    found = _resync_v2(data, a)
    return header, len(data) if found is None else found, [note]


def _record_v2(data: bytes, mv: memoryview, pos: int) -> int:
    """Length of the intact record at ``pos`` (sync may be damaged), -1 if none, -2 if cut off."""
    size = len(data)
    if pos + RECORD_HEADER.size + RECORD_CRC.size > size:
        return -2
    _sync, kind, _stream, length, _arrival = RECORD_HEADER.unpack_from(data, pos)
    end = pos + RECORD_HEADER.size + length
    if end + RECORD_CRC.size > size:
        return -2
    (crc,) = RECORD_CRC.unpack_from(data, end)
    if zlib.crc32(mv[pos + len(RECORD_SYNC) : end]) != crc:
        return -1
    return length if kind in KINDS else -1


def _resync_v2(data: bytes, start: int) -> int | None:
    """Position of the next intact record at or after ``start`` (found by its sync marker)."""
    mv = memoryview(data)
    p = data.find(RECORD_SYNC, start)
    while p != -1:
        if _record_v2(data, mv, p) >= 0:
            return p
        p = data.find(RECORD_SYNC, p + 1)
    return None


class _Index:
    """Record index being built."""

    def __init__(self) -> None:
        self.kinds: list[int] = []
        self.streams: list[int] = []
        self.offsets: list[int] = []
        self.lengths: list[int] = []
        self.arrivals: list[float] = []
        self.events: list[tuple[float, int, dict[str, Any]]] = []
        self.event_records: list[int] = []

    def add(self, data: bytes, kind: int, stream: int, offset: int, length: int, t: float) -> None:
        if kind == KIND_EVENT:
            try:
                ev = json.loads(data[offset : offset + length])
            except (UnicodeDecodeError, json.JSONDecodeError):
                ev = {"event": "unreadable"}
            self.events.append((t, stream, ev if isinstance(ev, dict) else {"event": "unreadable"}))
            self.event_records.append(len(self.kinds))
        self.kinds.append(kind)
        self.streams.append(stream)
        self.offsets.append(offset)
        self.lengths.append(length)
        self.arrivals.append(t)

    def recording(self, data: bytes, torn: int, damaged: int, damaged_bytes: int) -> Recording:
        return Recording(
            header={},
            buffer=data,
            kind=np.asarray(self.kinds, np.uint8),
            stream=np.asarray(self.streams, np.uint8),
            offset=np.asarray(self.offsets, np.int64),
            length=np.asarray(self.lengths, np.int64),
            arrival_s=np.asarray(self.arrivals, np.float64),
            torn_tail_bytes=torn,
            events=self.events,
            event_records=self.event_records,
            damaged_records=damaged,
            damaged_bytes=damaged_bytes,
        )


def _read_records_v2(data: bytes, pos: int) -> Recording:
    out = _Index()
    mv = memoryview(data)
    size = len(data)
    rh = RECORD_HEADER.size
    damaged = damaged_bytes = torn = 0
    while pos < size:
        length = _record_v2(data, mv, pos)
        if length >= 0:
            _sync, kind, stream, _n, arrival = RECORD_HEADER.unpack_from(data, pos)
            out.add(data, kind, stream, pos + rh, length, arrival)
            pos += rh + length + RECORD_CRC.size
            continue
        nxt = _resync_v2(data, pos + 1)
        if nxt is None:
            # nothing intact follows: a torn tail, or a damaged last record
            if length == -1 and _ends_at_eof(data, pos):
                damaged += 1
                damaged_bytes += size - pos
            else:
                torn = size - pos
            break
        damaged += 1
        damaged_bytes += nxt - pos
        pos = nxt
    return out.recording(data, torn, damaged, damaged_bytes)


def _ends_at_eof(data: bytes, pos: int) -> bool:
    """The record at ``pos`` claims exactly the rest of the file (complete, yet damaged)."""
    if pos + RECORD_HEADER.size > len(data):
        return False
    length = RECORD_HEADER.unpack_from(data, pos)[3]
    return pos + RECORD_HEADER.size + length + RECORD_CRC.size == len(data)


def _plausible_v1(data: bytes, pos: int) -> int:
    """Length of a plausible format-1 record at ``pos``; -1 if it cannot be one, -2 if cut off."""
    size = len(data)
    rh = RECORD_HEADER_V1.size
    if pos + rh > size:
        return -2
    kind, stream, length, arrival = RECORD_HEADER_V1.unpack_from(data, pos)
    if kind not in KINDS or stream > 15 or not math.isfinite(arrival) or abs(arrival) > 1e8:
        return -1
    if pos + rh + length > size:
        return -2
    body = data[pos + rh : pos + rh + length]
    if kind == KIND_FRAME:
        n = (length - 16) // 12
        ok = (
            length >= 28
            and (length - 16) % 12 == 0
            and body[0] in (1, 2)
            and body[14] == n
            and int.from_bytes(body[12:14], "big") in (100, 200, 250, 500, 1000)
        )
    elif kind == KIND_STATUS:
        ok = 0 < length <= 255
    else:
        ok = length >= 2 and body[:1] == b"{" and body[-1:] == b"}"
    return length if ok else -1


def _read_records_v1(data: bytes, pos: int) -> Recording:
    out = _Index()
    size = len(data)
    rh = RECORD_HEADER_V1.size
    damaged = damaged_bytes = 0
    while pos + rh <= size:
        length = _plausible_v1(data, pos)
        if length == -2:
            break
        if length >= 0:
            kind, stream, _n, arrival = RECORD_HEADER_V1.unpack_from(data, pos)
            out.add(data, kind, stream, pos + rh, length, arrival)
            pos += rh + length
            continue
        # no checksums in format 1: the next place where two plausible records follow
        nxt = pos + 1
        while nxt + rh <= size:
            n1 = _plausible_v1(data, nxt)
            if n1 >= 0 and (nxt + rh + n1 == size or _plausible_v1(data, nxt + rh + n1) != -1):
                break
            nxt += 1
        damaged += 1
        damaged_bytes += nxt - pos
        pos = nxt
    return out.recording(data, size - pos if pos < size else 0, damaged, damaged_bytes)


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


def load_imu(path: str | Path, stream: int = 0, warnings: list[str] | None = None) -> ImuRecording:
    """Read a recording and return one sensor's samples in physical units.

    Parameters
    ----------
    path
        The ``.sgrec`` file.
    stream
        Sensor number (0 for the first sensor).
    warnings
        Receives what was repaired or skipped (damaged records, header, corrupt frames).

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
    if warnings is not None:
        warnings.extend(damage_warnings(rec, decoded))
    if decoded.n_samples == 0:
        raise InputError(
            f"{path}: no decodable frames for sensor {stream} ({decoded.report.frames_received} received)"
        )
    names = rec.header.get("sensors") or []
    label = names[stream] if stream < len(names) else f"sensor {stream}"
    imu = to_recording(decoded, source=f"{Path(path).name}:{label}")
    from strideguard.acknowledgements import recorded_acknowledgements

    imu.acknowledgements = recorded_acknowledgements(rec, stream, decoded, imu.sampling_rate_hz)
    return imu


def damage_warnings(rec: Recording, decoded: DecodedFrames | None = None) -> list[str]:
    """One line per repair or loss the reader saw (empty for an intact file)."""
    out = list(rec.warnings)
    if rec.damaged_records:
        out.append(
            f"{rec.damaged_records} damaged record(s) skipped ({rec.damaged_bytes} bytes): "
            "their samples are counted as lost"
        )
    if rec.torn_tail_bytes:
        out.append(f"the last record is cut off ({rec.torn_tail_bytes} bytes): skipped")
    if decoded is not None:
        bad = decoded.report.rejected.get("clock_mismatch", 0)
        if bad:
            out.append(
                f"{bad} frame(s) rejected: their index or board time disagrees with the stream (corrupt)"
            )
    return out
