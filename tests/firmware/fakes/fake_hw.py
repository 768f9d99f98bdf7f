"""The ``hw`` object app.App expects, built from the edge fakes."""

import fake_bluetooth
from fake_clock import FakeClock
from fake_mpu6050 import FakeMPU6050I2C


class FakeHW:
    def __init__(self, samples, start_us=0, battery_mv=3900):
        self.clock = FakeClock(start_us)
        clock = self.clock
        self.i2c = FakeMPU6050I2C(samples, lambda: clock.t_us)
        self.ble = fake_bluetooth.FakeBLE()
        self.uuid = fake_bluetooth.UUID
        self.ticks_us = clock.ticks_us
        self.ticks_ms = clock.ticks_ms
        self.ticks_diff = clock.ticks_diff
        self.sleep_ms = clock.sleep_ms
        self.mv = battery_mv
        self.haptic = []  # (t_ms, on) transitions
        self.led = []
        self.button_presses = 0
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
        self.button_presses += 1
