"""Virtual-board hardware: the firmware under the MicroPython Unix port.

``main.py`` imports this when ``board`` cannot import ``bluetooth``. A
simulated MPU6050 plays a synthetic running gait (about 85 strides/min) in
real time; the radio is the fake BLE (no central connects).
"""

import math
import time

import fake_bluetooth
from fake_mpu6050 import FakeMPU6050I2C

RATE = 500


def gait_samples(seconds=2.8, stride_s=0.7, rate=RATE):
    n = int(seconds * rate)
    out = bytearray(12 * n)
    for i in range(n):
        ph = (i / rate) % stride_s / stride_s
        g = 0.0
        if ph < 0.4:
            g = 450 * math.sin(math.pi * ph / 0.4)
        elif 0.45 < ph < 0.53:
            g = -300 * math.sin(math.pi * (ph - 0.45) / 0.08)
        vals = (0, 0, 2048, 0, int(g * 16.4), 0)
        for a in range(6):
            v = vals[a] & 0xFFFF
            out[12 * i + 2 * a] = v >> 8
            out[12 * i + 2 * a + 1] = v & 0xFF
    return out


class Board:
    def __init__(self, cfg):
        self.i2c = FakeMPU6050I2C(gait_samples(), time.ticks_us)
        self.ble = fake_bluetooth.FakeBLE()
        self.ble.record = False
        self.uuid = fake_bluetooth.UUID
        self.ticks_us = time.ticks_us
        self.ticks_ms = time.ticks_ms
        self.ticks_diff = time.ticks_diff
        self.sleep_ms = time.sleep_ms
        self.button_presses = 0

    def battery_mv(self):
        return 3950

    def set_haptic(self, on):
        pass

    def set_led(self, on):
        pass

    def feed_watchdog(self):
        pass
