"""``time`` for the virtual board: the board clock of :mod:`vbhw` (accelerated).

``ticks_*`` wrap at 2**30 like the ESP32's; ``sleep*`` advance the board clock
(and poll the host link). Anything else comes from the built-in module.
"""

import utime as _rt
import vbhw

TICKS_MAX = vbhw.TICKS_MAX
TICKS_HALF = vbhw.TICKS_HALF


def ticks_us():
    return vbhw.hub().board_us & TICKS_MAX


def ticks_ms():
    return (vbhw.hub().board_us // 1000) & TICKS_MAX


def ticks_cpu():
    return ticks_us()


def ticks_diff(a, b):
    return ((a - b + TICKS_HALF) & TICKS_MAX) - TICKS_HALF


def ticks_add(t, delta):
    return (t + delta) & TICKS_MAX


def sleep_us(us):
    vbhw.hub().advance_us(int(us))


def sleep_ms(ms):
    vbhw.hub().advance_us(int(ms) * 1000)


def sleep(s):
    vbhw.hub().advance_us(int(s * 1000000))


_EPOCH0 = _rt.time()


def time():
    return _EPOCH0 + vbhw.hub().board_us // 1000000


def time_ns():
    return (_EPOCH0 * 1000000 + vbhw.hub().board_us) * 1000


def localtime(secs=None):
    return _rt.localtime(time() if secs is None else secs)


def gmtime(secs=None):
    return _rt.gmtime(time() if secs is None else secs)


def mktime(t):
    return _rt.mktime(t)
