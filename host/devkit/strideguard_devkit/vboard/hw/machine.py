"""``machine`` for the virtual board (overrides the Unix port's built-in one).

What ``board.py`` uses: ``I2C`` (the MPU6050 model of :mod:`mpu6050_model`,
fed from the samples file), ``Pin`` (outputs reported to the host with the
board time of each change; the BOOT button pressed by the host: a tap fires its
IRQ, a hold also reads low for that long in board time), ``ADC`` (the battery),
``WDT`` (enforced in board time), and ``reset()``: the interpreter exits with
``RESET_EXIT_CODE`` and the host boots it again, which runs ``main.py`` like a
real board.
"""

import struct
import sys

import vbhw
import vbwire as W

_i2c = None
_pin_irqs = {}


def reset():
    sys.exit(W.RESET_EXIT_CODE)


def soft_reset():
    sys.exit(W.RESET_EXIT_CODE)


def freq(*args):
    return 240000000


def unique_id():
    return b"\x5e\x00\x00\x00\x00\x01"


def idle():
    vbhw.hub().advance_us(1000)


def _play(payload):
    hub = vbhw.hub()
    n = _i2c.play()
    hub.send(W.MSG_PLAYING, struct.pack(W.FORMAT_SAMPLE_AT, n, hub.board_us))
    hub.flush()


def _press(payload):
    pin = payload[0] if payload else 0
    h = _pin_irqs.get(pin)
    if h is not None:
        h(Pin(pin))


def _hold(payload):
    """The button on ``gpio`` held for ``ms`` of board time (the level low, the IRQ fires)."""
    pin, ms = struct.unpack(W.FORMAT_BUTTON_HOLD, payload)
    hub = vbhw.hub()
    Pin._levels[pin] = 0
    h = _pin_irqs.get(pin)
    if h is not None:
        h(Pin(pin))

    def release():
        Pin._levels[pin] = 1

    hub.at(hub.board_us + ms * 1000, release)


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 2
    IRQ_RISING = 1
    _levels = {}

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            return Pin._levels.get(self.id, 1)
        v = 1 if v else 0
        if Pin._levels.get(self.id) != v:
            Pin._levels[self.id] = v
            hub = vbhw.hub()
            hub.send(W.MSG_PIN, struct.pack(W.FORMAT_PIN, self.id & 0xFF, v, hub.board_us))
        return None

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def __call__(self, v=None):
        return self.value(v)

    def irq(self, handler=None, trigger=IRQ_FALLING):
        hub = vbhw.hub()
        _pin_irqs[self.id] = handler
        hub.handlers[W.MSG_BUTTON] = _press
        hub.handlers[W.MSG_BUTTON_HOLD] = _hold


def I2C(id=0, scl=None, sda=None, freq=400000):
    """The bus with the simulated MPU6050 (one per board)."""
    global _i2c
    if _i2c is None:
        from mpu6050_model import MPU6050Model, SampleFile

        hub = vbhw.hub()
        cfg = hub.cfg
        source = SampleFile(cfg["samples"], cfg.get("loop", True))
        _i2c = MPU6050Model(source, lambda: hub.board_us, cfg["samples_rate_hz"])
        _i2c.fast = True
        _i2c.on_first = lambda k, t_us: hub.send(
            W.MSG_FIRST, struct.pack(W.FORMAT_SAMPLE_AT, k, t_us)
        )
        _i2c.paused = bool(cfg.get("paused", False))
        hub.handlers[W.MSG_PLAY] = _play
    return _i2c


SoftI2C = I2C


class ADC:
    ATTN_0DB = 0
    ATTN_11DB = 3

    def __init__(self, pin, atten=None):
        self.pin = pin

    def read_uv(self):
        cfg = vbhw.hub().cfg
        return int(cfg.get("battery_mv", 3950) * 1000 / cfg.get("battery_divider_ratio", 2.0))

    def read_u16(self):
        return self.read_uv() * 65535 // 3300000


class WDT:
    def __init__(self, id=0, timeout=5000):
        hub = vbhw.hub()
        hub.wdt_timeout_ms = timeout
        hub.wdt_fed_us = hub.board_us

    def feed(self):
        hub = vbhw.hub()
        hub.wdt_fed_us = hub.board_us
