"""MPU6050 driver: FIFO burst sampling at ±16 g / ±2000 °/s.

The bus is injected (``machine.I2C`` on the board, a register model in the
tests), so this module runs anywhere MicroPython does. Usage::

    from machine import I2C, Pin
    import mpu6050
    imu = mpu6050.MPU6050(I2C(0, sda=Pin(21), scl=Pin(22), freq=400000))
    imu.configure(500)
    buf = bytearray(12 * 19)
    if imu.fifo_count() >= len(buf):
        imu.read_fifo_into(buf)  # ax ay az gx gy gz, int16 big-endian each

Sample rate = 1 kHz / (1 + SMPLRT_DIV) with the digital low-pass filter on;
the filter bandwidth is chosen per rate to stay below the Nyquist frequency.
"""

import time

from micropython import const

ADDRESS = const(0x68)
_WHO_AM_I_VALUE = const(0x68)
FIFO_SIZE = const(1024)
SAMPLE_BYTES = const(12)

_REG_SELF_TEST_X = const(0x0D)
_REG_SELF_TEST_A = const(0x10)
_REG_SMPLRT_DIV = const(0x19)
_REG_CONFIG = const(0x1A)
_REG_GYRO_CONFIG = const(0x1B)
_REG_ACCEL_CONFIG = const(0x1C)
_REG_FIFO_EN = const(0x23)
_REG_INT_PIN_CFG = const(0x37)
_REG_INT_ENABLE = const(0x38)
_REG_INT_STATUS = const(0x3A)
_REG_ACCEL_XOUT_H = const(0x3B)
_REG_GYRO_XOUT_H = const(0x43)
_REG_USER_CTRL = const(0x6A)
_REG_PWR_MGMT_1 = const(0x6B)
_REG_FIFO_COUNT_H = const(0x72)
_REG_FIFO_R_W = const(0x74)
_REG_WHO_AM_I = const(0x75)

_PWR_RESET = const(0x80)
_PWR_CLK_PLL_XGYRO = const(0x01)
_USER_FIFO_EN = const(0x40)
_USER_FIFO_RESET = const(0x04)
_FIFO_EN_ACCEL_GYRO = const(0x78)  # XG, YG, ZG, ACCEL: FIFO order ax ay az gx gy gz
_INT_FIFO_OFLOW = const(0x10)
_GYRO_FS_2000 = const(0x18)
_ACCEL_FS_16G = const(0x18)
_SELF_TEST_BITS = const(0xE0)
_GYRO_FS_250 = const(0x00)
_ACCEL_FS_8G = const(0x10)
# a self-test axis passes when its response is within this fraction of the factory trim
# (register map §4.1 refers to the product specification, which gives ±14 %)
_ST_TOLERANCE = 0.14

# rate_hz -> (SMPLRT_DIV, DLPF_CFG); DLPF_CFG 1/2/3 = 184/94/44 Hz accel bandwidth
_RATE_TABLE = {
    1000: (0, 1),
    500: (1, 1),
    250: (3, 2),
    200: (4, 2),
    100: (9, 3),
}


class MPU6050Error(Exception):
    """The sensor is missing, answers wrongly, or an option is invalid."""


class MPU6050:
    """An MPU6050 on an injected I2C bus, sampling into its FIFO.

    Parameters
    ----------
    bus
        Object with ``readfrom_mem_into(addr, reg, buf)`` and
        ``writeto_mem(addr, reg, buf)`` (``machine.I2C`` or a fake).
    address
        7-bit I2C address (0x68, or 0x69 with AD0 high).
    sleep_ms
        Delay function (``time.sleep_ms``), injectable for tests.
    """

    def __init__(self, bus, address=ADDRESS, sleep_ms=None):
        self._bus = bus
        self._addr = address
        self._sleep_ms = sleep_ms if sleep_ms is not None else time.sleep_ms
        self._b1 = bytearray(1)
        self._b2 = bytearray(2)
        self._b6 = bytearray(6)
        self.rate_hz = 0
        self.check_id()

    # ------------------------------------------------------------ registers
    def _write(self, reg, value):
        self._b1[0] = value
        self._bus.writeto_mem(self._addr, reg, self._b1)

    def _read(self, reg):
        self._bus.readfrom_mem_into(self._addr, reg, self._b1)
        return self._b1[0]

    def check_id(self):
        """Raise :class:`MPU6050Error` unless WHO_AM_I reads 0x68."""
        try:
            value = self._read(_REG_WHO_AM_I)
        except OSError as exc:
            raise MPU6050Error("no MPU6050 answers at I2C address 0x%02x (%s)" % (self._addr, exc))
        if value != _WHO_AM_I_VALUE:
            raise MPU6050Error(
                "device at I2C address 0x%02x has WHO_AM_I 0x%02x, expected 0x%02x (not an MPU6050)"
                % (self._addr, value, _WHO_AM_I_VALUE)
            )

    # ------------------------------------------------------------ set-up
    def reset(self):
        """Reset all registers and wake the chip on the gyro PLL clock."""
        self._write(_REG_PWR_MGMT_1, _PWR_RESET)
        self._sleep_ms(100)
        self._write(_REG_PWR_MGMT_1, _PWR_CLK_PLL_XGYRO)
        self._sleep_ms(10)

    def configure(self, rate_hz):
        """Reset and start FIFO sampling of accel + gyro at ``rate_hz``.

        Ranges are fixed at ±16 g and ±2000 °/s (tibial shock and swing speed
        exceed smaller ranges).
        """
        if rate_hz not in _RATE_TABLE:
            raise MPU6050Error("unsupported rate %d Hz" % rate_hz)
        div, dlpf = _RATE_TABLE[rate_hz]
        self.check_id()
        self.reset()
        self._write(_REG_SMPLRT_DIV, div)
        self._write(_REG_CONFIG, dlpf)
        self._write(_REG_GYRO_CONFIG, _GYRO_FS_2000)
        self._write(_REG_ACCEL_CONFIG, _ACCEL_FS_16G)
        self._write(_REG_INT_PIN_CFG, 0x00)
        self._write(_REG_INT_ENABLE, _INT_FIFO_OFLOW)
        self._write(_REG_FIFO_EN, _FIFO_EN_ACCEL_GYRO)
        self.rate_hz = rate_hz
        self.fifo_reset()

    def is_configured(self):
        """True if the chip still holds our settings (False after a brown-out reset)."""
        if self.rate_hz not in _RATE_TABLE:
            return False
        div = _RATE_TABLE[self.rate_hz][0]
        return (
            self._read(_REG_PWR_MGMT_1) == _PWR_CLK_PLL_XGYRO
            and self._read(_REG_SMPLRT_DIV) == div
            and self._read(_REG_FIFO_EN) == _FIFO_EN_ACCEL_GYRO
            and bool(self._read(_REG_USER_CTRL) & _USER_FIFO_EN)
        )

    def fifo_reset(self):
        """Empty the FIFO, clear the overflow flag and keep sampling."""
        self._write(_REG_USER_CTRL, _USER_FIFO_RESET)
        self._write(_REG_USER_CTRL, _USER_FIFO_EN)
        self._read(_REG_INT_STATUS)  # reading clears FIFO_OFLOW_INT

    # ------------------------------------------------------------ hot path
    def fifo_count(self):
        """Bytes waiting in the FIFO (0..1024)."""
        b = self._b2
        self._bus.readfrom_mem_into(self._addr, _REG_FIFO_COUNT_H, b)
        return ((b[0] & 0x1F) << 8) | b[1]

    def overflowed(self):
        """True if the FIFO overflowed since the last call (clears the flag)."""
        return bool(self._read(_REG_INT_STATUS) & _INT_FIFO_OFLOW)

    def read_fifo_into(self, buf):
        """Burst-read ``len(buf)`` FIFO bytes into ``buf`` (a multiple of 12)."""
        self._bus.readfrom_mem_into(self._addr, _REG_FIFO_R_W, buf)

    # ------------------------------------------------------------ self-test
    def _read_axes(self, reg, n):
        """Average of ``n`` reads of the three int16 axes at ``reg``."""
        sx = sy = sz = 0
        b = self._b6
        for _ in range(n):
            self._bus.readfrom_mem_into(self._addr, reg, b)
            sx += _s16(b[0], b[1])
            sy += _s16(b[2], b[3])
            sz += _s16(b[4], b[5])
            self._sleep_ms(2)
        return sx / n, sy / n, sz / n

    def self_test(self, n=10):
        """Run the built-in self-test; return a tuple of six booleans.

        Order: accel x, y, z, gyro x, y, z. An axis passes when its
        self-test response is within ±14 % of the factory trim value
        (MPU-6000/6050 register map RM-MPU-6000A-00 rev 4.2, §4.1). Sampling is
        reconfigured afterwards.
        """
        rate = self.rate_hz or 500
        self.reset()
        self._write(_REG_CONFIG, 1)
        self._write(_REG_GYRO_CONFIG, _GYRO_FS_250)
        self._write(_REG_ACCEL_CONFIG, _ACCEL_FS_8G)
        self._sleep_ms(20)
        off_a = self._read_axes(_REG_ACCEL_XOUT_H, n)
        off_g = self._read_axes(_REG_GYRO_XOUT_H, n)
        self._write(_REG_GYRO_CONFIG, _GYRO_FS_250 | _SELF_TEST_BITS)
        self._write(_REG_ACCEL_CONFIG, _ACCEL_FS_8G | _SELF_TEST_BITS)
        self._sleep_ms(20)
        on_a = self._read_axes(_REG_ACCEL_XOUT_H, n)
        on_g = self._read_axes(_REG_GYRO_XOUT_H, n)
        t = bytearray(4)
        self._bus.readfrom_mem_into(self._addr, _REG_SELF_TEST_X, t)
        result = []
        for i in range(3):
            a_code = ((t[i] >> 3) & 0x1C) | ((t[3] >> (4 - 2 * i)) & 0x03)
            result.append(_within(on_a[i] - off_a[i], factory_trim_accel(a_code)))
        for i in range(3):
            g_code = t[i] & 0x1F
            ft = factory_trim_gyro(g_code)
            if i == 1:
                ft = -ft
            result.append(_within(on_g[i] - off_g[i], ft))
        self.configure(rate)
        return tuple(result)


def factory_trim_accel(code):
    """Accelerometer factory trim (LSB at ±8 g) for a 5-bit self-test code (XA/YA/ZA_TEST).

    Register map §4.1: FT = 4096 * 0.34 * (0.92 / 0.34) ** ((code - 1) / (2**5 - 2)); 0 for code 0.
    """
    if code == 0:
        return 0.0
    return 4096 * 0.34 * (0.92 / 0.34) ** ((code - 1) / 30)


def factory_trim_gyro(code):
    """Gyroscope factory trim (LSB at ±250 °/s) for a 5-bit self-test code (XG/YG/ZG_TEST).

    Register map §4.1: FT = 25 * 131 * 1.046 ** (code - 1); 0 for code 0. The Y axis's
    trim is the negative of this (:meth:`MPU6050.self_test` applies the sign).
    """
    if code == 0:
        return 0.0
    return 25 * 131 * 1.046 ** (code - 1)


def _within(response, trim):
    if trim == 0:
        return False
    return abs((response - trim) / trim) <= _ST_TOLERANCE


def _s16(hi, lo):
    v = (hi << 8) | lo
    return v - 65536 if v & 0x8000 else v
