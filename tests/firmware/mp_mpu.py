"""MicroPython: MPU6050 driver against the register model."""

import mpu6050
from fake_clock import FakeClock
from fake_mpu6050 import FakeMPU6050I2C
from mpu6050 import MPU6050, MPU6050Error

clock = FakeClock()
still = bytes((0, 10, 0, 20, 8, 0, 0, 5, 255, 250, 0, 3))  # one constant sample


def bus(**kw):
    b = FakeMPU6050I2C(still, lambda: clock.t_us, **kw)
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

# self-test: all six axes pass on a healthy part, a dead axis fails alone
imu.configure(500)
assert imu.self_test() == (True,) * 6
assert b.regs[0x19] == 1 and b.regs[0x1B] == 0x18  # back to streaming settings
b.broken_axis = 4
r = imu.self_test()
assert r == (True, True, True, True, False, True), r
assert mpu6050.factory_trim_gyro(0) == 0.0
print("mpu ok")
