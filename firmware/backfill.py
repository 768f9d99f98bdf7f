"""Backfill: the board keeps the frames it built and resends them on request.

The host asks with ``OP_RESEND`` (first running index, count) for samples it
missed (a lost notification, a link outage); the board answers on the control
point with the part it still holds and resends those samples on the data
characteristic as frames flagged ``FLAG2_BACKFILL``, with their original index
and board timestamp.

**Ring.** Every frame the sampler builds (sent or not: while no central listens
the frames still go in) is stored as built, header and samples, back to back in
one preallocated byte store. The store is an ``io.BytesIO`` because its
``seek``/``readinto``/``write`` copy bytes at any position without allocating
(a slice of a ``bytearray`` or ``memoryview`` would allocate a new object). A
frame that does not fit before the end of the store goes to its start; the
oldest frames are overwritten first. A small table keeps, per stored frame, the
running index of its first sample (modulo 2**30, a small integer on the ESP32),
its sample count and its byte position.

**Resend.** Up to ``MAX_REQUESTS`` ranges wait, each for the central that asked.
:meth:`Backfill.serve` sends them oldest request first, oldest sample first
(the ring overwrites the oldest first), in frames sized to that central's MTU:
a stored frame larger than the MTU allows is split, its pieces get the index and
the timestamp of their first sample. It never allocates.

**Policy** (the live stream first): :meth:`Backfill.serve` runs after the pass's
live frames went out, and not at all in a pass where a live notification
failed; it spends tokens earned at ``BACKFILL_PER_LIVE`` per live frame built
(capped at ``_TOKENS_MAX``), so backfill adds at most twice the live
notification rate, and a pass sends at most ``_MAX_PER_PASS`` resent frames.

This module runs under CPython too (the dev kit's benchmarks drive it there);
public names do not start with ``_``.
"""

import io
from array import array

import protocol

try:
    from micropython import const  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # CPython

    def const(x: int) -> int:  # type: ignore[no-redef, misc, unused-ignore]
        return x


MAX_REQUESTS = const(4)  # OP_RESEND ranges waiting at once (more: RESULT_BUSY)
BACKFILL_PER_LIVE = const(2)  # resent frames allowed per live frame built
RING_BYTES = const(40960)  # wanted store: 6.2 s at 500 Hz and MTU 247 (12.8 B per sample)
RING_BYTES_MIN = const(8192)  # smallest store tried when the heap is short
_TOKENS_MAX = const(8)  # resend tokens kept while nothing waits
_MAX_PER_PASS = const(4)  # resent frames per main-loop pass at most
_MIN_FRAME_SAMPLES = const(8)  # the frame table is sized for frames of >= this many samples
_MASK30 = const(0x3FFFFFFF)
_HALF30 = const(0x20000000)
_FILL = const(256)


def _diff30(a, b):
    """``a - b`` for indices modulo 2**30 (distances below 2**29)."""
    d = (a - b) & _MASK30
    if d >= _HALF30:
        d -= 1 << 30
    return d


def _new_store(n):
    """A ``BytesIO`` of ``n`` zero bytes, allocated once (no doubling on MicroPython)."""
    try:
        s = io.BytesIO(n)  # type: ignore[arg-type, unused-ignore]  # MicroPython: preallocated, empty
    except TypeError:  # CPython wants initial bytes
        return io.BytesIO(bytes(n))
    zero = memoryview(bytearray(_FILL))
    left = n
    while left > 0:
        k = _FILL if left > _FILL else left
        s.write(zero[:k])
        left -= k
    return s


class Backfill:
    """Frame ring and resend queue (see the module docstring).

    Parameters
    ----------
    capacity_bytes
        Size of the frame store. Frames are at most
        ``frame_size(MAX_SAMPLES_PER_FRAME)`` bytes.
    """

    def __init__(self, capacity_bytes):
        big = protocol.frame_size(protocol.MAX_SAMPLES_PER_FRAME)
        if capacity_bytes < big:
            capacity_bytes = big
        self.capacity = capacity_bytes
        self.max_frames = capacity_bytes // protocol.frame_size(_MIN_FRAME_SAMPLES) + 1
        self._store = _new_store(capacity_bytes)
        self._first = array("i", bytes(4 * self.max_frames))  # index of the first sample, mod 2**30
        self._count = bytearray(self.max_frames)
        self._pos = array("i", bytes(4 * self.max_frames))
        self._oldest = 0  # serial number of the oldest stored frame
        self._next = 0  # serial number the next stored frame gets
        self._head = 0  # byte position for the next frame
        self._hdr = bytearray(protocol.FRAME_HEADER_SIZE)
        self._out = bytearray(big)
        mv = memoryview(self._out)
        self._views = [
            mv[: protocol.frame_size(k)] for k in range(protocol.MAX_SAMPLES_PER_FRAME + 1)
        ]
        self._resp = bytearray(protocol.RESEND_RESPONSE_SIZE)
        # the waiting requests: a slot is free when its conn is -1
        self._rq_conn = [-1] * MAX_REQUESTS
        self._rq_serial = [0] * MAX_REQUESTS  # next stored frame to look at
        self._rq_at = [0] * MAX_REQUESTS  # next sample index to send (mod 2**30)
        self._rq_end = [0] * MAX_REQUESTS  # first index after the range (mod 2**30)
        self._rq_order = [0] * MAX_REQUESTS  # arrival number: served oldest first
        self._rq_n = 0
        self.tokens = _TOKENS_MAX
        self.frames_resent = 0
        self.samples_resent = 0
        self.samples_expired = 0  # requested and promised, but overwritten before their turn
        self.requests = 0
        self.requests_busy = 0

    # ------------------------------------------------------------ ring
    @property
    def frames_stored(self):
        """Frames currently in the ring."""
        return self._next - self._oldest

    def span_samples(self):
        """Samples from the oldest stored one to the newest (0 when empty)."""
        if self._next == self._oldest:
            return 0
        o = self._oldest % self.max_frames
        n = (self._next - 1) % self.max_frames
        return _diff30(self._first[n], self._first[o]) + self._count[n]

    def _evict_oldest(self):
        self._oldest += 1

    def store(self, frame):
        """Keep a frame as built (a ``memoryview`` of its header and samples). No allocation."""
        length = len(frame)
        cap = self.capacity
        if self._head + length > cap:
            # the frames in the unused tail are the oldest: they go, the next frame starts at 0
            while (
                self._oldest < self._next
                and self._pos[self._oldest % self.max_frames] >= self._head
            ):
                self._oldest += 1
            self._head = 0
        end = self._head + length
        while self._oldest < self._next:
            p = self._pos[self._oldest % self.max_frames]
            if p < self._head or p >= end:
                break
            self._oldest += 1
        if self._next - self._oldest >= self.max_frames:
            self._oldest += 1
        slot = self._next % self.max_frames
        self._first[slot] = (
            ((frame[4] & 0x3F) << 24) | (frame[5] << 16) | (frame[6] << 8) | frame[7]
        )
        self._count[slot] = frame[14]
        self._pos[slot] = self._head
        self._store.seek(self._head)
        self._store.write(frame)
        self._head = end
        self._next += 1
        t = self.tokens + BACKFILL_PER_LIVE
        self.tokens = _TOKENS_MAX if t > _TOKENS_MAX else t

    def _find(self, first30):
        """Serial of the oldest stored frame ending after ``first30`` (``_next`` if none)."""
        s = self._oldest
        m = self.max_frames
        while s < self._next:
            k = s % m
            if _diff30(self._first[k] + self._count[k], first30) > 0:
                return s
            s += 1
        return s

    # ------------------------------------------------------------ requests
    def request(self, conn, data):
        """Handle a validated ``OP_RESEND`` write from ``conn``; return its 9-byte response.

        The response says which part of the range will be resent: ``RESULT_SUCCESS``
        for all of it, ``RESULT_NOT_AVAILABLE`` when (part of) it is no longer in
        the ring (count 0: nothing), ``RESULT_BUSY`` when ``MAX_REQUESTS`` wait.
        """
        P = protocol
        self.requests += 1
        first30 = ((data[1] & 0x3F) << 24) | (data[2] << 16) | (data[3] << 8) | data[4]
        count = (data[5] << 8) | data[6]
        end30 = (first30 + count) & _MASK30
        slot = -1
        for i in range(MAX_REQUESTS):
            if self._rq_conn[i] == -1:
                slot = i
                break
        if slot < 0:
            self.requests_busy += 1
            P.encode_resend_response(self._resp, P.RESULT_BUSY, 0, 0, 0)
            return self._resp
        s = self._find(first30)
        result = P.RESULT_SUCCESS
        avail = 0
        hi = (data[1] << 8) | data[2]
        lo = (data[3] << 8) | data[4]
        if s == self._next:
            result = P.RESULT_NOT_AVAILABLE
        else:
            k = s % self.max_frames
            f = self._first[k]
            start30 = first30
            if _diff30(f, first30) > 0:  # the ring starts inside the range
                result = P.RESULT_NOT_AVAILABLE
                start30 = f
                self._store.seek(self._pos[k])
                self._store.readinto(self._hdr)
                h = self._hdr
                hi = (h[4] << 8) | h[5]
                lo = (h[6] << 8) | h[7]
            newest = (self._next - 1) % self.max_frames
            last30 = (self._first[newest] + self._count[newest]) & _MASK30
            stop30 = end30
            if _diff30(end30, last30) > 0:  # asks for samples not built yet
                result = P.RESULT_NOT_AVAILABLE
                stop30 = last30
            avail = _diff30(stop30, start30)
            if avail <= 0:
                avail = 0
                result = P.RESULT_NOT_AVAILABLE
            else:
                self._rq_conn[slot] = conn
                self._rq_serial[slot] = s
                self._rq_at[slot] = start30
                self._rq_end[slot] = stop30
                self._rq_order[slot] = self.requests
                self._rq_n += 1
        if avail == 0:
            hi = lo = 0
        P.encode_resend_response(self._resp, result, hi, lo, avail)
        return self._resp

    def pending(self):
        """Requests waiting to be served."""
        return self._rq_n

    def _drop(self, i):
        self._rq_conn[i] = -1
        self._rq_n -= 1

    def _oldest_request(self):
        best = -1
        for i in range(MAX_REQUESTS):
            if self._rq_conn[i] != -1 and (best < 0 or self._rq_order[i] < self._rq_order[best]):
                best = i
        return best

    # ------------------------------------------------------------ serving (hot path)
    def serve(self, server):
        """Send resent frames within the budget; return how many went out. No allocation.

        ``server`` is the :class:`ble_server.BleServer` (``conns`` maps a
        connection to its MTU; ``notify_data(conn, frame)`` sends one frame).
        """
        sent = 0
        while self._rq_n > 0 and self.tokens > 0 and sent < _MAX_PER_PASS:
            i = self._oldest_request()
            conn = self._rq_conn[i]
            mtu = server.conns.get(conn, 0)
            per = protocol.samples_per_frame(mtu)
            if per == 0:  # gone, or an MTU without room for a sample
                if mtu == 0:
                    self._drop(i)
                    continue
                return sent
            n = self._next_piece(i, per)
            if n < 0:
                continue  # the request is done (or expired): look at the next one
            if not server.notify_data(conn, self._views[n]):
                return sent  # TX full: try the same piece in the next pass
            self._rq_at[i] = (self._rq_at[i] + n) & _MASK30
            self.tokens -= 1
            self.frames_resent += 1
            self.samples_resent += n
            sent += 1
        return sent

    def _next_piece(self, i, per):
        """Build the next frame of request ``i`` in ``_out``; its sample count, or -1 (done)."""
        m = self.max_frames
        at = self._rq_at[i]
        end = self._rq_end[i]
        s = self._rq_serial[i]
        if s < self._oldest:  # frames it wanted were overwritten before their turn
            s = self._oldest
            f = self._first[s % m] if s < self._next else end
            if _diff30(f, at) > 0:
                stop = f if _diff30(end, f) > 0 else end
                self.samples_expired += _diff30(stop, at)
                at = stop
        while s < self._next and _diff30(end, at) > 0:
            k = s % m
            f = self._first[k]
            c = self._count[k]
            if _diff30(f + c, at) <= 0:  # this frame ends before the next sample wanted
                s += 1
                continue
            if _diff30(f, end) >= 0:  # the rest of the range was never built
                break
            if _diff30(f, at) > 0:  # a hole in the ring: samples the sensor lost
                at = f
            off = _diff30(at, f)
            n = c - off
            left = _diff30(end, at)
            if n > left:
                n = left
            if n > per:
                n = per
            self._rq_serial[i] = s
            self._rq_at[i] = at
            self._build(k, off, n)
            return n
        self._drop(i)
        return -1

    def _build(self, k, off, n):
        """Resent frame: samples ``off .. off + n - 1`` of stored frame ``k``, into ``_out``."""
        st = self._store
        pos = self._pos[k]
        h = self._hdr
        st.seek(pos)
        st.readinto(h)
        # the 16 bytes before the first sample (the header, or earlier samples) land where
        # the header goes and are overwritten below: one read, no slice
        st.seek(pos + protocol.SAMPLE_SIZE * off)
        st.readinto(self._views[n])
        out = self._out
        for j in range(protocol.FRAME_HEADER_SIZE):
            out[j] = h[j]
        out[0] = protocol.FRAME_VERSION
        out[1] = h[1] & ~protocol.FLAG_STREAM_START & 0xFF
        out[protocol.FRAME_FLAGS2_OFFSET] = (
            h[protocol.FRAME_FLAGS2_OFFSET] | protocol.FLAG2_BACKFILL
        )
        out[14] = n
        if off:
            _add_u32(out, 4, off)
            rate = (h[12] << 8) | h[13]
            _add_u32(out, 8, off * (1000000 // rate))


def _add_u32(buf, at, value):
    """Add ``value`` (< 2**24) to the big-endian u32 at ``buf[at:at + 4]`` (wraps). No allocation."""
    v = buf[at + 3] + (value & 0xFF)
    buf[at + 3] = v & 0xFF
    v = buf[at + 2] + ((value >> 8) & 0xFF) + (v >> 8)
    buf[at + 2] = v & 0xFF
    v = buf[at + 1] + ((value >> 16) & 0xFF) + (v >> 8)
    buf[at + 1] = v & 0xFF
    buf[at] = (buf[at] + (v >> 8)) & 0xFF
