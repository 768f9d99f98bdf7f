"""``machine`` for the virtual board (overrides the Unix port's built-in one).

What ``board.py`` uses: ``I2C`` (the simulated MPU6050 of :mod:`mpu6050_sim`,
fed from the samples file), ``Pin`` (outputs reported to the host; the BOOT
button's IRQ fired by the host), ``ADC`` (the battery), ``WDT`` (enforced in
board time), and ``reset()``: the interpreter exits with ``RESET_EXIT_CODE``
and the host boots it again, which runs ``main.py`` like a real board.
"""

import struct
import sys

import vbhw

RESET_EXIT_CODE = 75
MSG_PIN = 0x50  # "P": pin, value
MSG_BUTTON = 0x62  # "b": press the BOOT button (from the host)
MSG_PLAY = 0x67  # "g": start playing the samples (from the host)
MSG_PLAYING = 0x47  # "G": u32 FIFO sample count at the start, u64 board us
MSG_FIRST = 0x46  # "F": u32 index in the samples, u64 board us of the first FIFO sample

_i2c = None
_pin_irqs = {}


def reset():
    sys.exit(RESET_EXIT_CODE)


def soft_reset():
    sys.exit(RESET_EXIT_CODE)


def freq(*args):
    return 240000000


def unique_id():
    return b"\x5e\x00\x00\x00\x00\x01"


def idle():
    vbhw.hub().advance_us(1000)


def _play(payload):
    hub = vbhw.hub()
    n = _i2c.play()
    hub.send(MSG_PLAYING, struct.pack(">IQ", n, hub.board_us))
    hub.flush()


def _press(payload):
    pin = payload[0] if payload else 0
    h = _pin_irqs.get(pin)
    if h is not None:
        h(Pin(pin))


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
            vbhw.hub().send(MSG_PIN, bytes((self.id & 0xFF, v)))
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
        hub.handlers[MSG_BUTTON] = _press


def I2C(id=0, scl=None, sda=None, freq=400000):
    """The bus with the simulated MPU6050 (one per board)."""
    global _i2c
    if _i2c is None:
        from mpu6050_sim import MPU6050Sim, SampleFile

        hub = vbhw.hub()
        cfg = hub.cfg
        source = SampleFile(cfg["samples"], cfg.get("loop", True))
        _i2c = MPU6050Sim(source, cfg["samples_rate_hz"], lambda: hub.board_us)
        _i2c.on_first = lambda k, t_us: hub.send(MSG_FIRST, struct.pack(">IQ", k, t_us))
        _i2c.paused = bool(cfg.get("paused", False))
        hub.handlers[MSG_PLAY] = _play
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
