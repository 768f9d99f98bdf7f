"""An MPU6050 register and FIFO model behind a fake ``machine.I2C``.

It plays a given sample stream (12 big-endian bytes per sample, FIFO order
ax ay az gx gy gz) at the configured rate against a clock, fills a 1024-byte
FIFO that overflows like the real part (the oldest bytes are overwritten, so
the sample alignment is lost, and INT_STATUS.FIFO_OFLOW_INT is set), and can
inject I2C errors. Sample ``k`` of the stream is due at ``t0 + k * period``;
samples due while the FIFO is disabled or the chip is in reset are lost.
"""

ADDR = 0x68
FIFO_SIZE = 1024
ETIMEDOUT = 116

# self-test trim codes per axis (distinct so a wrong bit decode fails)
ST_REGS = bytes((0b01010011, 0b01101010, 0b10000101, 0b00100111))


def _accel_trim(code):
    if code == 0:
        return 0.0
    return 4096 * 0.34 * (0.92 / 0.34) ** ((code - 1) / 30)


def _gyro_trim(code):
    if code == 0:
        return 0.0
    return 25 * 131 * 1.046 ** (code - 1)


class FakeMPU6050I2C:
    """Fake I2C bus with one MPU6050 on it.

    Parameters
    ----------
    samples
        bytes/bytearray, 12 bytes per sample; played in a loop.
    clock
        object with ``t_us`` (unwrapped microseconds) or a ``now_us()`` callable.
    """

    def __init__(self, samples, now_us, address=ADDR, who_am_i=0x68):
        self.samples = samples
        self.n_samples = len(samples) // 12
        self.now_us = now_us
        self.address = address
        self.regs = bytearray(128)
        self.regs[0x75] = who_am_i
        self.regs[0x6B] = 0x40
        for i in range(4):
            self.regs[0x0D + i] = ST_REGS[i]
        self.fifo = bytearray(FIFO_SIZE)
        self._fifo_mv = memoryview(self.fifo)
        self.fast = False
        self.fifo_start = 0
        self.fifo_len = 0
        self.k = 0  # index of the next sample due
        self.t_next = None
        self.period_us = 1000
        self.played = 0  # samples pushed into the FIFO
        self.lost = 0  # samples due while not sampling into the FIFO
        self.overflow_bytes = 0
        self.fail_next = 0
        self.fail_forever = False
        self.transactions = 0
        self.bytes_moved = 0
        self.broken_axis = -1  # self-test: this axis does not respond

    # ------------------------------------------------------------ model
    def _rate_period(self):
        dlpf = self.regs[0x1A] & 7
        base = 1000 if 1 <= dlpf <= 6 else 8000
        return 1000000 * (self.regs[0x19] + 1) // base

    def _sampling(self):
        return not (self.regs[0x6B] & 0x40)

    def _fifo_on(self):
        return (self.regs[0x6A] & 0x40) and (self.regs[0x23] & 0x78) == 0x78

    def _update(self):
        now = self.now_us()
        if self.t_next is None:
            return
        while self.t_next <= now:
            if self._sampling() and self._fifo_on():
                self._push(self.k)
                self.played += 1
            else:
                self.lost += 1
            self.k += 1
            self.t_next += self.period_us

    def _push(self, k):
        j = (k % self.n_samples) * 12
        for b in range(12):
            if self.fifo_len == FIFO_SIZE:
                self.fifo_start = (self.fifo_start + 1) % FIFO_SIZE  # drop the oldest byte
                self.fifo_len -= 1
                self.overflow_bytes += 1
                self.regs[0x3A] |= 0x10
            self.fifo[(self.fifo_start + self.fifo_len) % FIFO_SIZE] = self.samples[j + b]
            self.fifo_len += 1

    def _restart_schedule(self):
        self.period_us = self._rate_period()
        self.t_next = self.now_us() + self.period_us

    # ------------------------------------------------------------ I2C API
    def _check(self, addr):
        self.transactions += 1
        if addr != self.address:
            raise OSError(19)  # ENODEV
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
        if reg == 0x6B and v & 0x80:  # device reset
            for i in range(0x0D, 0x75):
                self.regs[i] = 0
            for i in range(4):
                self.regs[0x0D + i] = ST_REGS[i]
            self.regs[0x6B] = 0x40
            self.fifo_len = 0
            return
        if reg == 0x6A:
            if v & 0x04:
                self.fifo_len = 0
                self.fifo_start = 0
            self.regs[0x6A] = v & ~0x04
            return
        old = self.regs[reg]
        self.regs[reg] = v
        if reg in (0x19, 0x1A) and old != v:
            self._restart_schedule()
        if reg == 0x6B and self.t_next is None:
            self._restart_schedule()

    def readfrom_mem_into(self, addr, reg, buf):
        self._check(addr)
        self._update()
        n = len(buf)
        self.bytes_moved += 3 + n
        if reg == 0x74 and not self.fast:
            for i in range(n):  # byte by byte: allocates nothing (heap-locked tests)
                if self.fifo_len:
                    buf[i] = self.fifo[self.fifo_start]
                    self.fifo_start = (self.fifo_start + 1) % FIFO_SIZE
                    self.fifo_len -= 1
                else:
                    buf[i] = 0xFF
            return
        if reg == 0x74:
            # slice copies (C speed, but allocating views) keep the fake's cost out of benchmarks
            take = n if n <= self.fifo_len else self.fifo_len
            first = FIFO_SIZE - self.fifo_start
            if first > take:
                first = take
            mv = memoryview(buf)
            mv[:first] = self._fifo_mv[self.fifo_start : self.fifo_start + first]
            if take > first:
                mv[first:take] = self._fifo_mv[: take - first]
            for i in range(take, n):
                buf[i] = 0xFF  # reading an empty FIFO
            self.fifo_start = (self.fifo_start + take) % FIFO_SIZE
            self.fifo_len -= take
            return
        if reg == 0x72:
            c = self.fifo_len  # no allocation here: the heap tests lock the heap
            buf[0] = (c >> 8) & 0xFF
            if n > 1:
                buf[1] = c & 0xFF
            return
        if 0x3B <= reg <= 0x48:
            data = self._data_regs()
            for i in range(n):
                buf[i] = data[reg - 0x3B + i]
            return
        for i in range(n):
            buf[i] = self.regs[reg + i]
        if reg <= 0x3A < reg + n:
            self.regs[0x3A] = 0  # reading INT_STATUS clears it

    def _data_regs(self):
        k = max(self.k - 1, 0) % self.n_samples
        vals = []
        for a in range(6):
            hi = self.samples[k * 12 + 2 * a]
            lo = self.samples[k * 12 + 2 * a + 1]
            v = (hi << 8) | lo
            if v & 0x8000:
                v -= 65536
            vals.append(v)
        gst = self.regs[0x1B] & 0xE0
        ast = self.regs[0x1C] & 0xE0
        t = self.regs
        for i in range(3):
            if ast and i != self.broken_axis:
                code = ((t[0x0D + i] >> 3) & 0x1C) | ((t[0x10] >> (4 - 2 * i)) & 0x03)
                vals[i] += int(_accel_trim(code))
            if gst and i + 3 != self.broken_axis:
                ft = int(_gyro_trim(t[0x0D + i] & 0x1F))
                vals[3 + i] += -ft if i == 1 else ft
        out = bytearray(14)
        for a in range(6):
            v = vals[a] & 0xFFFF
            o = 2 * a if a < 3 else 2 * a + 2  # temperature sits between accel and gyro
            out[o] = v >> 8
            out[o + 1] = v & 0xFF
        return out
