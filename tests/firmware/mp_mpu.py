"""MicroPython: MPU6050 driver against the register model."""

import mpu6050
from fake_clock import FakeClock
from mpu6050 import MPU6050, MPU6050Error
from mpu6050_model import MPU6050Model

clock = FakeClock()
still = bytes((0, 10, 0, 20, 8, 0, 0, 5, 255, 250, 0, 3))  # one constant sample


def bus(**kw):
    b = MPU6050Model(still, lambda: clock.t_us, **kw)
    return b


# WHO_AM_I: a clear error naming the address and the value read
try:
    MPU6050(bus(who_am_i=0x70), sleep_ms=clock.sleep_ms)
    raise AssertionError("wrong WHO_AM_I must raise")
except MPU6050Error as exc:
    msg = str(exc)
    assert "0x68" in msg and "0x70" in msg, msg
try:
    MPU6050(bus(), address=0x69, sleep_ms=clock.sleep_ms)
    raise AssertionError("missing device must raise")
except MPU6050Error as exc:
    assert "0x69" in str(exc), str(exc)

# configuration per rate: ranges, filter, divider, FIFO
b = bus()
imu = MPU6050(b, sleep_ms=clock.sleep_ms)
for rate, div, dlpf in ((1000, 0, 1), (500, 1, 1), (250, 3, 2), (200, 4, 2), (100, 9, 3)):
    imu.configure(rate)
    assert b.regs[0x19] == div and b.regs[0x1A] == dlpf, rate
    assert b.regs[0x1B] == 0x18 and b.regs[0x1C] == 0x18  # ±2000 °/s, ±16 g
    assert b.regs[0x23] == 0x78 and b.regs[0x6A] & 0x40  # accel+gyro into the FIFO
    assert b.regs[0x6B] == 0x01  # awake, PLL clock
    assert b.period_us == 1000000 // rate
    clock.advance_us(50 * b.period_us + 1)
    assert imu.fifo_count() == 600
try:
    imu.configure(400)
    raise AssertionError("unsupported rate must raise")
except MPU6050Error:
    pass

# overflow: the FIFO fills to 1024 bytes, the flag is set, a reset recovers
imu.configure(1000)
clock.advance_us(200000)
assert imu.fifo_count() == 1024
assert imu.overflowed()
assert not imu.overflowed()  # reading INT_STATUS clears it
imu.fifo_reset()
assert imu.fifo_count() == 0
clock.advance_us(5000)
buf = bytearray(48)
imu.read_fifo_into(buf)
assert bytes(buf) == still * 4

# factory trim (register map RM-MPU-6000A-00 rev 4.2, §4.1) against values worked out by
# hand from its formulas, not by the driver:
#   gyro  FT = 25 * 131 * 1.046 ** (XG_TEST - 1)          (0 for a code of 0)
#   accel FT = 4096 * 0.34 * (0.92 / 0.34) ** ((XA_TEST - 1) / 30), 0.92 / 0.34 = 2.7058824
GYRO_FT = (
    (0, 0.0),
    (1, 3275.0),  # 25 * 131 = 3275
    (5, 3920.47),  # 3275 * 1.046 ** 4 = 3275 * 1.1970898
    (10, 4909.04),  # 3275 * 1.046 ** 9 = 3275 * 1.4989431
    (19, 7358.37),  # 3275 * 1.046 ** 18 = 3275 * 2.2468306
    (31, 12622.98),  # 3275 * 1.046 ** 30 = 3275 * 3.8543446
)
ACCEL_FT = (
    (0, 0.0),
    (1, 1392.64),  # 4096 * 0.34 = 1392.64
    (10, 1877.29),  # 1392.64 * 2.7058824 ** 0.3 = 1392.64 * 1.3480086
    (13, 2073.78),  # 1392.64 * 2.7058824 ** 0.4 = 1392.64 * 1.4890990
    (19, 2530.60),  # 1392.64 * 2.7058824 ** 0.6 = 1392.64 * 1.8171273
    (31, 3768.32),  # 1392.64 * 2.7058824 = 4096 * 0.92
)
for code, want in GYRO_FT:
    got = mpu6050.factory_trim_gyro(code)
    assert abs(got - want) < 0.01, ("gyro", code, got, want)
for code, want in ACCEL_FT:
    got = mpu6050.factory_trim_accel(code)
    assert abs(got - want) < 0.01, ("accel", code, got, want)

# self-test: all six axes pass on a healthy part (the model's response is the trim of its
# codes, worked out by hand: see mpu6050_model.ST_RESPONSE), a dead axis fails alone
imu.configure(500)
assert imu.self_test() == (True,) * 6
assert b.regs[0x19] == 1 and b.regs[0x1B] == 0x18  # back to streaming settings
b.broken_axis = 4
r = imu.self_test()
assert r == (True, True, True, True, False, True), r
b.broken_axis = -1
# an axis passes within ±14 % of its trim: +10 % passes, +20 % fails; gyro Y's trim is negative
healthy = list(b.st_response)
for axis in range(6):
    for scale, ok in ((1.10, True), (0.90, True), (1.20, False), (0.80, False), (-1.0, False)):
        b.st_response = list(healthy)
        b.st_response[axis] = int(healthy[axis] * scale)
        r = imu.self_test()
        want = tuple(ok if a == axis else True for a in range(6))
        assert r == want, (axis, scale, r)
print("mpu ok")
