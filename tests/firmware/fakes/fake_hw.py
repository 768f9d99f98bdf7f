"""The ``hw`` object app.App expects, built from the hardware models, and a test gait.

The MPU6050 and the radio are the dev kit's models (``strideguard_devkit/mp``, on
``MICROPYPATH``), the ones the virtual board runs on; the clock is :mod:`fake_clock`.
"""

import math

import ble_model
from fake_clock import FakeClock
from mpu6050_model import MPU6050Model

GYR_LSB_PER_DPS = 16.4  # ±2000 °/s
ACC_LSB_PER_G = 2048  # ±16 g


def gait_samples(seconds=2.8, stride_s=0.7, rate=500):
    """FIFO bytes of a periodic shank gyro: a 450 °/s swing, a -300 °/s dip after contact.

    One leg at ``60 / stride_s`` strides/min (85.7 at 0.7 s: 171 steps/min), 1 g on z.
    """
    n = int(seconds * rate)
    out = bytearray(12 * n)
    for i in range(n):
        ph = (i / rate) % stride_s / stride_s
        g = 0.0
        if ph < 0.4:
            g = 450 * math.sin(math.pi * ph / 0.4)
        elif 0.45 < ph < 0.53:
            g = -300 * math.sin(math.pi * (ph - 0.45) / 0.08)
        vals = (0, 0, ACC_LSB_PER_G, 0, int(g * GYR_LSB_PER_DPS), 0)
        for a in range(6):
            v = vals[a] & 0xFFFF
            out[12 * i + 2 * a] = v >> 8
            out[12 * i + 2 * a + 1] = v & 0xFF
    return out


class FakeHW:
    def __init__(self, samples, start_us=0, battery_mv=3900):
        self.clock = FakeClock(start_us)
        clock = self.clock
        self.i2c = MPU6050Model(samples, lambda: clock.t_us)
        self.ble = ble_model.BLE()
        self.uuid = ble_model.UUID
        self.ticks_us = clock.ticks_us
        self.ticks_ms = clock.ticks_ms
        self.ticks_diff = clock.ticks_diff
        self.sleep_ms = clock.sleep_ms
        self.mv = battery_mv
        self.haptic = []  # (t_ms, on) transitions
        self.led = []
        self.button_presses = 0
        self.button_level_down = False
        self.watchdog_feeds = 0

    def battery_mv(self):
        return self.mv

    def set_haptic(self, on):
        self.haptic.append((self.clock.t_us // 1000, on))

    def set_led(self, on):
        self.led.append((self.clock.t_us // 1000, on))

    def feed_watchdog(self):
        self.watchdog_feeds += 1

    def press_button(self):
        """A tap shorter than a main-loop pass: the IRQ counts it, the level never reads low."""
        self.button_presses += 1

    def set_button(self, down):
        """The button's level (held or not); going down counts a press, like the IRQ."""
        if down and not self.button_level_down:
            self.button_presses += 1
        self.button_level_down = down

    def button_down(self):
        return self.button_level_down
