"""A simulated MPU6050 (registers + 1024-byte FIFO) playing a samples file.

The file holds ``n`` samples of 12 big-endian bytes (ax ay az gx gy gz), the
FIFO order, recorded at ``samples_rate_hz``. The sensor samples at the rate
its registers say (SMPLRT_DIV, DLPF_CFG) on the board clock; each sample it
takes reads the file at the current source position, which advances by
``samples_rate_hz / rate`` per sample, so at the same rate sample ``k`` after
wake-up is file sample ``k`` (looped, or held at the last one); a paused
sensor holds sample 0 until :meth:`MPU6050Sim.play`. Samples due
while the FIFO is off or the chip sleeps are lost, as on the real part; a
full FIFO overwrites its oldest bytes and sets INT_STATUS.FIFO_OFLOW_INT.
Register semantics follow the firmware tests' fake (``tests/firmware/fakes``).
"""

ADDR = 0x68
FIFO_SIZE = 1024
CHUNK = 512  # samples read from the file at a time

ST_REGS = bytes((0b01010011, 0b01101010, 0b10000101, 0b00100111))


def _accel_trim(code):
    if code == 0:
        return 0.0
    return 4096 * 0.34 * (0.92 / 0.34) ** ((code - 1) / 30)


def _gyro_trim(code):
    if code == 0:
        return 0.0
    return 25 * 131 * 1.046 ** (code - 1)


class SampleFile:
    """Random access to the 12-byte samples of a file, a chunk at a time."""

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


class MPU6050Sim:
    """``machine.I2C`` stand-in with one MPU6050 on it."""

    def __init__(self, source, samples_rate_hz, now_us, address=ADDR):
        self.source = source
        self.samples_rate_hz = samples_rate_hz
        self.now_us = now_us
        self.address = address
        self.regs = bytearray(128)
        self.regs[0x75] = 0x68
        self.regs[0x6B] = 0x40
        for i in range(4):
            self.regs[0x0D + i] = ST_REGS[i]
        self.fifo = bytearray(FIFO_SIZE)
        self.fifo_start = 0
        self.fifo_len = 0
        self.t_next = None
        self.period_us = 1000
        self.pos = 0.0  # source position (file samples)
        self.step = 1.0
        self.last_k = 0
        self.played = 0  # samples pushed into the FIFO
        self.lost = 0  # samples due while not sampling into the FIFO
        self.overflow_bytes = 0
        self.first_played = -1  # source index of the first sample into the FIFO
        self.on_first = None  # called once with it and its board time (us)
        self.paused = False  # hold sample 0 (a runner standing still) until play()

    # ------------------------------------------------------------ model
    def _rate_hz(self):
        dlpf = self.regs[0x1A] & 7
        base = 1000 if 1 <= dlpf <= 6 else 8000
        return base / (self.regs[0x19] + 1)

    def _sampling(self):
        return not (self.regs[0x6B] & 0x40)

    def _fifo_on(self):
        return (self.regs[0x6A] & 0x40) and (self.regs[0x23] & 0x78) == 0x78

    def _update(self):
        if self.t_next is None:
            return
        now = self.now_us()
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
        """Start playing from sample 0; return the FIFO sample count it starts at."""
        self._update()
        self.paused = False
        self.pos = 0.0
        return self.played

    def _push(self, k):
        src = self.source
        o = src.offset(k)
        fifo = self.fifo
        end = (self.fifo_start + self.fifo_len) % FIFO_SIZE
        free = FIFO_SIZE - self.fifo_len
        if free < 12:
            drop = 12 - free
            self.fifo_start = (self.fifo_start + drop) % FIFO_SIZE
            self.fifo_len -= drop
            self.overflow_bytes += drop
            self.regs[0x3A] |= 0x10
        if end + 12 <= FIFO_SIZE:
            fifo[end : end + 12] = src.buf[o : o + 12]
        else:
            for b in range(12):
                fifo[(end + b) % FIFO_SIZE] = src.buf[o + b]
        self.fifo_len += 12

    def _restart_schedule(self):
        rate = self._rate_hz()
        self.period_us = int(1000000 / rate)
        self.step = self.samples_rate_hz / rate
        self.t_next = self.now_us() + self.period_us

    # ------------------------------------------------------------ I2C API
    def scan(self):
        return [self.address]

    def _check(self, addr):
        if addr != self.address:
            raise OSError(19)  # ENODEV

    def writeto_mem(self, addr, reg, buf):
        self._check(addr)
        self._update()
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

    def readfrom_mem(self, addr, reg, n):
        buf = bytearray(n)
        self.readfrom_mem_into(addr, reg, buf)
        return buf

    def readfrom_mem_into(self, addr, reg, buf):
        self._check(addr)
        self._update()
        n = len(buf)
        if reg == 0x74:
            take = n if n <= self.fifo_len else self.fifo_len
            s = self.fifo_start
            first = FIFO_SIZE - s
            if first > take:
                first = take
            mv = memoryview(buf)
            mv[:first] = self.fifo[s : s + first]
            if take > first:
                mv[first:take] = self.fifo[: take - first]
            for i in range(take, n):
                buf[i] = 0xFF  # reading an empty FIFO
            self.fifo_start = (s + take) % FIFO_SIZE
            self.fifo_len -= take
            return
        if reg == 0x72:
            c = self.fifo_len
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
        src = self.source
        o = src.offset(self.last_k)
        vals = []
        for a in range(6):
            v = (src.buf[o + 2 * a] << 8) | src.buf[o + 2 * a + 1]
            if v & 0x8000:
                v -= 65536
            vals.append(v)
        gst = self.regs[0x1B] & 0xE0
        ast = self.regs[0x1C] & 0xE0
        t = self.regs
        for i in range(3):
            if ast:
                code = ((t[0x0D + i] >> 3) & 0x1C) | ((t[0x10] >> (4 - 2 * i)) & 0x03)
                vals[i] += int(_accel_trim(code))
            if gst:
                ft = int(_gyro_trim(t[0x0D + i] & 0x1F))
                vals[3 + i] += -ft if i == 1 else ft
        out = bytearray(14)
        for a in range(6):
            v = vals[a] & 0xFFFF
            o = 2 * a if a < 3 else 2 * a + 2  # temperature sits between accel and gyro
            out[o] = v >> 8
            out[o + 1] = v & 0xFF
        return out
