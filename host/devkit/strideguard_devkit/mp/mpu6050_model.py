"""The MPU6050 register and FIFO model behind a ``machine.I2C``-like bus (MicroPython).

The one model of the sensor: the firmware tests (``tests/firmware``, on a fake
clock) and the virtual board (``vboard/hw/machine.py``, on the board clock) both
use it. It follows InvenSense's "MPU-6000/MPU-6050 Register Map and
Descriptions" (RM-MPU-6000A-00 rev 4.2) as far as the firmware uses the part:

* it samples at 1 kHz / (1 + SMPLRT_DIV) with the digital low-pass filter on
  (8 kHz with it off), only while awake (PWR_MGMT_1.SLEEP clear), into the FIFO
  only while USER_CTRL.FIFO_EN is set and FIFO_EN selects accel + gyro;
  samples due otherwise are lost, as on the part;
* the 1024-byte FIFO overflows like the real one: the oldest bytes are
  overwritten (the sample alignment is lost) and INT_STATUS.FIFO_OFLOW_INT is
  set; reading INT_STATUS clears it; reading an empty FIFO gives 0xFF;
* PWR_MGMT_1.DEVICE_RESET and USER_CTRL.FIFO_RESET;
* self-test: with the XYZ_ST bits of GYRO_CONFIG / ACCEL_CONFIG set, the output
  registers move by the part's self-test response (:attr:`MPU6050Model.st_response`)
  and SELF_TEST_X..A hold its factory trim codes (:data:`ST_REGS`).

What it measures comes from a sample source, 12 big-endian bytes per sample
(ax ay az gx gy gz, the FIFO order): bytes in memory (:class:`SampleBytes`) or a
file read a chunk at a time (:class:`SampleFile`), looped or held at the last
sample. Sensor sample ``k`` is due at ``t0 + k * period`` of the clock
``now_us()``; it reads the source at position :attr:`~MPU6050Model.pos`, which
advances by ``samples_rate_hz / rate`` per sample (by 1 when ``samples_rate_hz``
is None), so at equal rates sensor sample ``k`` after wake-up is source sample
``k``. A :attr:`~MPU6050Model.paused` sensor holds source sample 0 (a runner
standing still) until :meth:`~MPU6050Model.play`.

Fault injection for the tests: ``fail_next`` (the next n transactions raise
ETIMEDOUT), ``fail_forever``, ``broken_axis`` (no self-test response on that
axis: 0..2 accel, 3..5 gyro), a wrong ``who_am_i``; a brown-out is
``_write_reg(0x6B, 0x80)``. Counters: ``transactions`` and ``bytes_moved`` (I2C
budget), ``played``, ``lost``, ``overflow_bytes``.
"""

from micropython import const

ADDR = const(0x68)
FIFO_SIZE = const(1024)
CHUNK = const(512)  # samples a SampleFile reads at a time
ETIMEDOUT = const(116)
ENODEV = const(19)

_REG_SELF_TEST_X = const(0x0D)
_REG_SELF_TEST_A = const(0x10)
_REG_SMPLRT_DIV = const(0x19)
_REG_CONFIG = const(0x1A)
_REG_GYRO_CONFIG = const(0x1B)
_REG_ACCEL_CONFIG = const(0x1C)
_REG_FIFO_EN = const(0x23)
_REG_INT_STATUS = const(0x3A)
_REG_ACCEL_XOUT_H = const(0x3B)
_REG_GYRO_ZOUT_L = const(0x48)
_REG_USER_CTRL = const(0x6A)
_REG_PWR_MGMT_1 = const(0x6B)
_REG_FIFO_COUNT_H = const(0x72)
_REG_FIFO_R_W = const(0x74)
_REG_WHO_AM_I = const(0x75)
_PWR_RESET = const(0x80)
_PWR_SLEEP = const(0x40)
_USER_FIFO_EN = const(0x40)
_USER_FIFO_RESET = const(0x04)
_FIFO_EN_ACCEL_GYRO = const(0x78)
_INT_FIFO_OFLOW = const(0x10)
_ST_BITS = const(0xE0)

# The part's factory trim codes (SELF_TEST_X, _Y, _Z, _A; register map §4.1), distinct per
# axis so a wrong bit decode fails: XA_TEST = 0b010_10 = 10, YA_TEST = 0b011_01 = 13,
# ZA_TEST = 0b100_11 = 19 (bits 7..5 of X/Y/Z, then 5..4 / 3..2 / 1..0 of A);
# XG_TEST = 0b10011 = 19, YG_TEST = 0b01010 = 10, ZG_TEST = 0b00101 = 5 (bits 4..0).
ST_REGS = bytes((0b01010011, 0b01101010, 0b10000101, 0b00100111))

# Its self-test response (LSB at ±8 g / ±250 °/s): a healthy part whose response equals
# the factory trim FT of its codes, worked out by hand from the register map's §4.1
# formulas (not by the firmware's driver, which the tests check against them):
#   accel FT = 4096 * 0.34 * (0.92 / 0.34) ** ((A_TEST - 1) / 30), 0.92 / 0.34 = 2.7058824
#     XA 10: 1392.64 * 2.7058824 ** 0.3 = 1392.64 * 1.3480086 = 1877.29 -> 1877
#     YA 13: 1392.64 * 2.7058824 ** 0.4 = 1392.64 * 1.4890990 = 2073.78 -> 2074
#     ZA 19: 1392.64 * 2.7058824 ** 0.6 = 1392.64 * 1.8171273 = 2530.60 -> 2531
#   gyro FT = 25 * 131 * 1.046 ** (G_TEST - 1), negative for Y
#     XG 19: 3275 * 1.046 ** 18 = 3275 * 2.2468306 = 7358.37 -> 7358
#     YG 10: -3275 * 1.046 ** 9 = -3275 * 1.4989431 = -4909.04 -> -4909
#     ZG 5: 3275 * 1.046 ** 4 = 3275 * 1.1970898 = 3920.47 -> 3920
ST_RESPONSE = (1877, 2074, 2531, 7358, -4909, 3920)


class SampleBytes:
    """Samples in memory (``bytes``/``bytearray``, 12 bytes each), looped or held."""

    def __init__(self, data, loop=True):
        self.buf = data
        self.n = len(data) // 12
        if self.n == 0:
            raise ValueError("no samples")
        self.loop = loop

    def offset(self, k):
        """Byte offset of sample ``k`` in :attr:`buf`."""
        return 12 * (k % self.n if self.loop else min(k, self.n - 1))


class SampleFile:
    """Samples in a file, read a chunk at a time (a long run need not fit in RAM)."""

    def __init__(self, path, loop=True):
        self.f = open(path, "rb")
        self.f.seek(0, 2)
        self.n = self.f.tell() // 12
        if self.n == 0:
            raise ValueError("empty samples file")
        self.loop = loop
        self.buf = bytearray(12 * CHUNK)
        self.start = -CHUNK - 1
        self.count = 0

    def offset(self, k):
        """Byte offset of sample ``k`` in :attr:`buf` (after loading its chunk)."""
        k = k % self.n if self.loop else min(k, self.n - 1)
        if not (self.start <= k < self.start + self.count):
            self.f.seek(12 * k)
            got = self.f.readinto(self.buf)
            self.start = k
            self.count = got // 12
        return 12 * (k - self.start)


class MPU6050Model:
    """A ``machine.I2C`` stand-in with one MPU6050 on it.

    Parameters
    ----------
    source
        ``bytes``/``bytearray`` (12 bytes per sample, looped), or a
        :class:`SampleBytes` / :class:`SampleFile`.
    now_us
        The clock: a callable returning unwrapped microseconds.
    samples_rate_hz
        Rate of the source (None: one source sample per sensor sample).
    address, who_am_i
        I2C address and WHO_AM_I value of the part.
    """

    def __init__(self, source, now_us, samples_rate_hz=None, address=ADDR, who_am_i=0x68):
        if isinstance(source, (bytes, bytearray)):
            source = SampleBytes(source)
        self.source = source
        self.samples_rate_hz = samples_rate_hz
        self.now_us = now_us
        self.address = address
        self.regs = bytearray(128)
        self.regs[_REG_WHO_AM_I] = who_am_i
        self.regs[_REG_PWR_MGMT_1] = _PWR_SLEEP
        self.regs[_REG_SELF_TEST_X : _REG_SELF_TEST_A + 1] = ST_REGS
        self.st_response = list(ST_RESPONSE)
        self.fifo = bytearray(FIFO_SIZE)
        self._fifo_mv = memoryview(self.fifo)
        self.fifo_start = 0
        self.fifo_len = 0
        self.t_next = None  # clock time of the next sample (None: never woken)
        self.period_us = 1000
        self.pos = 0  # source position of the next sample (an int at step 1)
        self.step = 1
        self.last_k = 0  # source index of the last sample taken
        self.paused = False  # hold source sample 0 until play()
        self.fast = False  # FIFO reads by slices: faster, but they allocate (benchmarks, vboard)
        self.played = 0  # samples pushed into the FIFO
        self.lost = 0  # samples due while not sampling into the FIFO
        self.overflow_bytes = 0
        self.first_played = -1  # source index of the first sample into the FIFO
        self.on_first = None  # called once with it and its clock time (us)
        self.fail_next = 0
        self.fail_forever = False
        self.broken_axis = -1
        self.transactions = 0
        self.bytes_moved = 0

    # ------------------------------------------------------------ model
    def _sampling(self):
        return not (self.regs[_REG_PWR_MGMT_1] & _PWR_SLEEP)

    def _fifo_on(self):
        return (self.regs[_REG_USER_CTRL] & _USER_FIFO_EN) and (
            self.regs[_REG_FIFO_EN] & _FIFO_EN_ACCEL_GYRO
        ) == _FIFO_EN_ACCEL_GYRO

    def _update(self):
        """Take every sample due by now."""
        if self.t_next is None:
            return
        now = self.now_us()
        if self.t_next > now:
            return
        on = self._sampling() and self._fifo_on()
        while self.t_next <= now:
            k = 0 if self.paused else int(self.pos)
            self.last_k = k
            if on:
                if self.first_played < 0:
                    self.first_played = k
                    if self.on_first is not None:
                        self.on_first(k, self.t_next)
                self._push(k)
                self.played += 1
            else:
                self.lost += 1
            if not self.paused:
                self.pos += self.step
            self.t_next += self.period_us

    def play(self):
        """Start playing from source sample 0; return the FIFO sample count it starts at."""
        self._update()
        self.paused = False
        self.pos = 0
        return self.played

    def _push(self, k):
        src = self.source
        o = src.offset(k)
        free = FIFO_SIZE - self.fifo_len
        if free < 12:  # full: the oldest bytes are overwritten
            drop = 12 - free
            self.fifo_start = (self.fifo_start + drop) % FIFO_SIZE
            self.fifo_len -= drop
            self.overflow_bytes += drop
            self.regs[_REG_INT_STATUS] |= _INT_FIFO_OFLOW
        end = (self.fifo_start + self.fifo_len) % FIFO_SIZE
        if end + 12 <= FIFO_SIZE:
            self._fifo_mv[end : end + 12] = memoryview(src.buf)[o : o + 12]
        else:
            for b in range(12):
                self.fifo[(end + b) % FIFO_SIZE] = src.buf[o + b]
        self.fifo_len += 12

    def _restart_schedule(self):
        dlpf = self.regs[_REG_CONFIG] & 7
        base = 1000 if 1 <= dlpf <= 6 else 8000
        div = self.regs[_REG_SMPLRT_DIV] + 1
        self.period_us = 1000000 * div // base
        if self.samples_rate_hz is None or self.samples_rate_hz * div == base:
            self.step = 1  # integer positions: no float per sample
        else:
            self.step = self.samples_rate_hz * div / base
        self.t_next = self.now_us() + self.period_us

    # ------------------------------------------------------------ I2C API
    def scan(self):
        return [self.address]

    def _check(self, addr):
        self.transactions += 1
        if addr != self.address:
            raise OSError(ENODEV)
        if self.fail_forever:
            raise OSError(ETIMEDOUT)
        if self.fail_next > 0:
            self.fail_next -= 1
            raise OSError(ETIMEDOUT)

    def writeto_mem(self, addr, reg, buf):
        self._check(addr)
        self._update()
        self.bytes_moved += 2 + len(buf)
        for i in range(len(buf)):
            self._write_reg(reg + i, buf[i])

    def _write_reg(self, reg, v):
        if reg == _REG_PWR_MGMT_1 and v & _PWR_RESET:  # device reset
            for i in range(_REG_SELF_TEST_X, _REG_WHO_AM_I):
                self.regs[i] = 0
            self.regs[_REG_SELF_TEST_X : _REG_SELF_TEST_A + 1] = ST_REGS
            self.regs[_REG_PWR_MGMT_1] = _PWR_SLEEP
            self.fifo_len = 0
            return
        if reg == _REG_USER_CTRL:
            if v & _USER_FIFO_RESET:
                self.fifo_len = 0
                self.fifo_start = 0
            self.regs[_REG_USER_CTRL] = v & ~_USER_FIFO_RESET
            return
        old = self.regs[reg]
        self.regs[reg] = v
        if (reg == _REG_SMPLRT_DIV or reg == _REG_CONFIG) and old != v:
            self._restart_schedule()
        if reg == _REG_PWR_MGMT_1 and self.t_next is None:
            self._restart_schedule()

    def readfrom_mem(self, addr, reg, n):
        buf = bytearray(n)
        self.readfrom_mem_into(addr, reg, buf)
        return buf

    def readfrom_mem_into(self, addr, reg, buf):
        # no allocation on the FIFO paths unless ``fast``: the heap tests lock the heap
        self._check(addr)
        self._update()
        n = len(buf)
        self.bytes_moved += 3 + n
        if reg == _REG_FIFO_R_W:
            if self.fast:
                self._read_fifo_slices(buf, n)
                return
            for i in range(n):  # byte by byte: allocates nothing
                if self.fifo_len:
                    buf[i] = self.fifo[self.fifo_start]
                    self.fifo_start = (self.fifo_start + 1) % FIFO_SIZE
                    self.fifo_len -= 1
                else:
                    buf[i] = 0xFF
            return
        if reg == _REG_FIFO_COUNT_H:
            c = self.fifo_len
            buf[0] = (c >> 8) & 0xFF
            if n > 1:
                buf[1] = c & 0xFF
            return
        if _REG_ACCEL_XOUT_H <= reg <= _REG_GYRO_ZOUT_L:
            data = self._data_regs()
            for i in range(n):
                buf[i] = data[reg - _REG_ACCEL_XOUT_H + i]
            return
        for i in range(n):
            buf[i] = self.regs[reg + i]
        if reg <= _REG_INT_STATUS < reg + n:
            self.regs[_REG_INT_STATUS] = 0  # reading INT_STATUS clears it

    def _read_fifo_slices(self, buf, n):
        take = n if n <= self.fifo_len else self.fifo_len
        s = self.fifo_start
        first = FIFO_SIZE - s
        if first > take:
            first = take
        mv = memoryview(buf)
        mv[:first] = self._fifo_mv[s : s + first]
        if take > first:
            mv[first:take] = self._fifo_mv[: take - first]
        for i in range(take, n):
            buf[i] = 0xFF  # reading an empty FIFO
        self.fifo_start = (s + take) % FIFO_SIZE
        self.fifo_len -= take

    def _data_regs(self):
        """ACCEL_XOUT_H .. GYRO_ZOUT_L: the last sample, plus the self-test response."""
        src = self.source
        o = src.offset(self.last_k)
        vals = []
        for a in range(6):
            v = (src.buf[o + 2 * a] << 8) | src.buf[o + 2 * a + 1]
            vals.append(v - 65536 if v & 0x8000 else v)
        accel_st = self.regs[_REG_ACCEL_CONFIG] & _ST_BITS
        gyro_st = self.regs[_REG_GYRO_CONFIG] & _ST_BITS
        for a in range(6):
            if (accel_st if a < 3 else gyro_st) and a != self.broken_axis:
                vals[a] += self.st_response[a]
        out = bytearray(14)
        for a in range(6):
            v = vals[a] & 0xFFFF
            o = 2 * a if a < 3 else 2 * a + 2  # temperature sits between accel and gyro
            out[o] = v >> 8
            out[o + 1] = v & 0xFF
        return out
