"""A fake board clock with the ESP32's tick wrap-around (2**30)."""

TICKS_PERIOD = 1 << 30
TICKS_MAX = TICKS_PERIOD - 1
TICKS_HALF = TICKS_PERIOD // 2


class FakeClock:
    """Microsecond clock advanced by the test (``advance_us``, ``sleep_ms``)."""

    def __init__(self, start_us=0):
        self.t_us = start_us  # unwrapped time

    def ticks_us(self):
        return self.t_us & TICKS_MAX

    def ticks_ms(self):
        return (self.t_us // 1000) & TICKS_MAX

    def ticks_diff(self, a, b):
        return ((a - b + TICKS_HALF) & TICKS_MAX) - TICKS_HALF

    def advance_us(self, us):
        self.t_us += us

    def sleep_ms(self, ms):
        self.t_us += ms * 1000
