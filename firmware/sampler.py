"""FIFO drain into stream frames sized to the negotiated MTU.

One preallocated frame buffer; the sensor's big-endian FIFO bytes are read
straight into the frame payload, the header is packed in place. In steady
state :meth:`Sampler.poll` allocates nothing on the heap.

Each frame's ``first_index`` is the running sample counter; when samples are
lost (FIFO overflow, I2C fault) the counter jumps by the number of samples the
board clock says were lost, so the host sees the gap. ``t_us`` is the board's
microsecond clock (32-bit, kept as two 16-bit halves so the ESP32 never needs
a big integer) at the estimated sampling time of the first sample.
"""

import protocol
from micropython import const
from mpu6050 import FIFO_SIZE, SAMPLE_BYTES
from stride_cue import SCAN_CUE, SCAN_SATURATED

_RECOVER_BACKOFF_MS = const(200)  # wait between recovery attempts of a sensor that fails
_STALL_US = const(500000)  # no sample for this long while running: recover the sensor
_CAP_HI = const(0x1000)  # elapsed-time cap in high halves: 2**28 us (~4.5 min)


class Sampler:
    """Drain an :class:`mpu6050.MPU6050` FIFO into stream frames.

    Parameters
    ----------
    imu
        The sensor driver (``configure``, ``fifo_count``, ``overflowed``,
        ``fifo_reset``, ``read_fifo_into``).
    ticks_us, ticks_diff
        The board clock (``time.ticks_us`` / ``time.ticks_diff`` or a fake).
    stride
        Optional :class:`stride_cue.StrideCue` fed with every frame.
    """

    def __init__(self, imu, ticks_us, ticks_diff, stride=None, mtu=protocol.PREFERRED_MTU):
        self._imu = imu
        self._ticks_us = ticks_us
        self._ticks_diff = ticks_diff
        self.stride = stride
        self._buf = bytearray(protocol.frame_size(protocol.MAX_SAMPLES_PER_FRAME))
        self._mv = memoryview(self._buf)
        self.rate_hz = 0
        self.period_us = 0
        self.running = False
        self.fault = False
        self.index = 0  # running sample counter (next sample's index)
        self.seq = 0
        self.pending_flags = 0
        self.sticky_flags = 0  # set in every frame while true (e.g. FLAG_LOW_BATTERY)
        self.reset_counters()
        self._last_ticks = ticks_us()
        self._t_hi = 0
        self._t_lo = 0
        self._last_sample_hi = 0
        self._last_sample_lo = 0
        self._fault_ms = 0
        self.n = 0
        self.set_mtu(mtu)

    def reset_counters(self):
        """Zero the error and traffic counters (not the sample index)."""
        self.overflows = 0
        self.i2c_errors = 0
        self.samples_lost = 0
        self.frames = 0

    # ------------------------------------------------------------ configuration
    def set_mtu(self, mtu):
        """Size frames for ``mtu``; returns samples per frame (0: MTU too small)."""
        n = protocol.samples_per_frame(mtu)
        if n != self.n:
            self.n = n
            head = protocol.FRAME_HEADER_SIZE
            self._payload = self._mv[head : head + SAMPLE_BYTES * n]
            self._frame = self._mv[: protocol.frame_size(n)]
        return n

    def start(self, rate_hz):
        """(Re)configure the sensor at ``rate_hz`` and start sampling."""
        self.rate_hz = rate_hz
        self.period_us = 1000000 // rate_hz
        if self.stride is not None:
            self.stride.set_rate(rate_hz)
        self._imu.configure(rate_hz)
        self._tick()
        self._last_sample_hi = self._t_hi
        self._last_sample_lo = self._t_lo
        self.running = True
        self.fault = False
        self.pending_flags |= protocol.FLAG_STREAM_START

    def stop(self):
        """Stop producing frames (the sensor keeps its configuration)."""
        self.running = False

    def mark(self, flag):
        """Set ``flag`` (e.g. ``FLAG_PAIN_MARK``) in the next frame."""
        self.pending_flags |= flag

    # ------------------------------------------------------------ clock
    def _tick(self):
        now = self._ticks_us()
        lo = self._t_lo + self._ticks_diff(now, self._last_ticks)
        self._last_ticks = now
        self._t_hi = (self._t_hi + (lo >> 16)) & 0xFFFF
        self._t_lo = lo & 0xFFFF

    def _elapsed_since_last_sample(self):
        hd = (self._t_hi - self._last_sample_hi) & 0xFFFF
        if hd >= _CAP_HI:  # more than ~4.5 min: cap (keeps it a small int)
            return _CAP_HI << 16
        return (hd << 16) + self._t_lo - self._last_sample_lo

    # ------------------------------------------------------------ hot path
    def poll(self, now_ms=0):
        """Return the next full frame as a memoryview, or None.

        Call repeatedly until None. The view stays valid until the next call.
        """
        if not self.running or self.n == 0:
            return None
        if self.fault:
            if self._ticks_diff(now_ms, self._fault_ms) < _RECOVER_BACKOFF_MS:
                return None
            return self._recover(now_ms)
        imu = self._imu
        try:
            self._tick()
            if imu.overflowed():
                return self._lost(protocol.FLAG_FIFO_OVERFLOW)
            count = imu.fifo_count()
            if count > FIFO_SIZE - SAMPLE_BYTES:
                return self._lost(protocol.FLAG_FIFO_OVERFLOW)
            avail = count // SAMPLE_BYTES
            n = self.n
            if avail < n:
                if self._elapsed_since_last_sample() > _STALL_US:
                    # no data for too long: the sensor was reset (brown-out) or hangs
                    self.i2c_errors += 1
                    return self._recover(now_ms)
                return None
            imu.read_fifo_into(self._payload)
        except OSError:
            self.i2c_errors += 1
            return self._recover(now_ms)
        # first sample's time: the newest sample in the FIFO is ~half a period old
        back = (avail - 1) * self.period_us + (self.period_us >> 1)
        lo = self._t_lo - back
        hi = (self._t_hi + (lo >> 16)) & 0xFFFF
        lo &= 0xFFFF
        last = lo + (n - 1) * self.period_us
        self._last_sample_hi = (hi + (last >> 16)) & 0xFFFF
        self._last_sample_lo = last & 0xFFFF
        flags = self.pending_flags | self.sticky_flags
        self.pending_flags = 0
        if self.stride is not None:
            r = self.stride.scan(self._buf, protocol.FRAME_HEADER_SIZE, n)
            if r & SCAN_SATURATED:
                flags |= protocol.FLAG_SATURATED
            if r & SCAN_CUE:
                flags |= protocol.FLAG_CUE
            if self.stride.calibrating:
                flags |= protocol.FLAG_CALIBRATING
        protocol.pack_frame_header_halves(
            self._buf, flags, self.seq, self.index, hi, lo, self.rate_hz, n
        )
        self.seq = (self.seq + 1) & 0xFFFF
        self.index += n
        self.frames += 1
        return self._frame

    def _lost(self, flag):
        """Account for samples lost since the last read; restart the FIFO."""
        self._imu.fifo_reset()
        self._tick()
        lost = self._elapsed_since_last_sample() // self.period_us
        self._last_sample_hi = self._t_hi
        self._last_sample_lo = self._t_lo
        self.index += lost
        self.samples_lost += lost
        self.pending_flags |= flag
        if flag == protocol.FLAG_FIFO_OVERFLOW:
            self.overflows += 1
        return None

    def _recover(self, now_ms):
        """After an I2C error or a stall: realign the FIFO, re-initialise, or back off.

        A failed burst read may leave the FIFO misaligned, so it is always
        reset; a sensor that lost its settings (brown-out) is configured again.
        """
        try:
            if self._imu.is_configured():
                self._imu.fifo_reset()
            else:
                self._imu.configure(self.rate_hz)
        except Exception:  # OSError, or MPU6050Error when WHO_AM_I fails
            self.i2c_errors += 1
            self.fault = True
            self._fault_ms = now_ms
            return None
        self.fault = False
        return self._lost(protocol.FLAG_I2C_RECOVERED)

    def drop(self, count):
        """Count ``count`` samples of a frame that could not be sent."""
        self.samples_lost += count
