"""The real ESP32 board: the only firmware module importing machine/bluetooth.

It builds the ``hw`` object :class:`app.App` expects from the configured pins:
I2C at ``i2c_freq_hz``, the radio, the watchdog, the battery ADC (through a
divider), the haptic/buzzer and LED outputs and the BOOT button (its IRQ
counts presses, ``button_down`` reads its level: ``app`` tells taps from holds).
"""

import time

import bluetooth
import machine


class Board:
    """ESP32 DevKit + MPU6050 + optional haptic motor, from a config dict."""

    def __init__(self, cfg):
        pins = cfg["pins"]
        self.i2c = machine.I2C(
            0,
            scl=machine.Pin(pins["i2c_scl"]),
            sda=machine.Pin(pins["i2c_sda"]),
            freq=cfg["i2c_freq_hz"],
        )
        self.ble = bluetooth.BLE()
        self.uuid = bluetooth.UUID
        self.ticks_us = time.ticks_us
        self.ticks_ms = time.ticks_ms
        self.ticks_diff = time.ticks_diff
        self.sleep_ms = time.sleep_ms
        self._divider = cfg["battery_divider_ratio"]
        self._adc = machine.ADC(machine.Pin(pins["battery_adc"]), atten=machine.ADC.ATTN_11DB)
        self._haptic = machine.Pin(pins["haptic"], machine.Pin.OUT, value=0)
        self._led = machine.Pin(pins["led"], machine.Pin.OUT, value=0)
        self.mpu_int = machine.Pin(pins["mpu_int"], machine.Pin.IN)  # wired, FIFO is polled
        self.button_presses = 0
        self._last_press_ms = time.ticks_ms()
        self._button = machine.Pin(pins["boot_button"], machine.Pin.IN, machine.Pin.PULL_UP)
        self._button.irq(handler=self._on_button, trigger=machine.Pin.IRQ_FALLING)
        self._wdt = machine.WDT(timeout=cfg["watchdog_ms"])

    def _on_button(self, pin):
        # IRQ: integers only, no allocation; 300 ms debounce
        now = time.ticks_ms()
        if time.ticks_diff(now, self._last_press_ms) > 300:
            self.button_presses += 1
        self._last_press_ms = now

    def button_down(self):
        """True while the BOOT button is held (it pulls the pin low)."""
        return self._button.value() == 0

    def battery_mv(self):
        """Battery voltage in mV (ADC reading times the divider ratio)."""
        return int(self._adc.read_uv() * self._divider / 1000)

    def set_haptic(self, on):
        self._haptic.value(1 if on else 0)

    def set_led(self, on):
        self._led.value(1 if on else 0)

    def feed_watchdog(self):
        self._wdt.feed()

    def relax_watchdog(self):
        """Stretch the watchdog (REPL after Ctrl-C): the ESP32 cannot stop it."""
        self._wdt = machine.WDT(timeout=3600000)
