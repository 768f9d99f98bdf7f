"""MicroPython: random control-point writes never crash the board.

usage: micropython mp_control.py SEED N CFG_PATH

Prints one line per write: ``<hex data> <result> <changed>`` where
``changed`` says whether any board state (settings, streaming, calibration,
pending flags, the config file) changed. The host checks every line against
its own reading of the protocol.
"""

import json
import random
import sys

from app import App
from fake_hw import FakeHW, gait_samples

seed, n, cfg_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
random.seed(seed)
hw = FakeHW(gait_samples())
app = App(hw, cfg_path=cfg_path)
ble = hw.ble
ble.record = "last"
ble.connect(1)
ble.exchange_mtu(1, 247)
app.step()


def file_text():
    try:
        with open(cfg_path) as f:
            return f.read()
    except OSError:
        return ""


def snapshot():
    s = app.sampler
    return (
        json.dumps(app.cfg),
        app.leg,
        app.rate_hz,
        list(app.server.streaming),
        app.stride.target_spm,
        app.stride.cue_enabled,
        app.stride.calibrating,
        app._identify_left,
        s.pending_flags,
        s.rate_hz,
        s.frames,
        s.i2c_errors,
        app.server.leg,
        app._start_pending,
        app.player.patterns,
        app.player.acknowledged,
        app.player.active,
        app.player.n,
        app.player.repeats,
        app.player.period_ms,
        file_text(),
    )


VALID_OPS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
for i in range(n):
    kind = random.getrandbits(2)
    if kind == 0:  # anything
        data = bytes(random.getrandbits(8) for _ in range(random.getrandbits(3)))
    else:  # a known opcode with 0..3 random parameter bytes (often nearly right)
        op = VALID_OPS[random.getrandbits(4) % len(VALID_OPS)]
        m = random.getrandbits(2)
        params = [random.getrandbits(8) for _ in range(m)]
        if op == 11 and random.getrandbits(1):  # OP_RESEND: 6 parameter bytes, often well formed
            params = [random.getrandbits(8) for _ in range(6)]
        if op == 12 and random.getrandbits(1):  # OP_PLAY_PATTERN: often nearly valid
            k = 1 + random.getrandbits(4) % 9  # 1..9 pulses (9 is one too many)
            params = [(0, 1, 3, 255)[random.getrandbits(2)], 0, 0]
            for _ in range(k):
                params += [3 + random.getrandbits(5), random.getrandbits(5)]
            play = 10 * sum(params[3:])
            period = play + (-10, 0, 500, 70000)[random.getrandbits(2)]
            params[1], params[2] = (period >> 8) & 0xFF, period & 0xFF
            if random.getrandbits(3) == 0:  # the odd byte: a pair cut short
                params = params[:-1]
        if op == 3 and m == 2 and random.getrandbits(1):
            r = (100, 200, 250, 500, 1000, 300, 0, 65535)[random.getrandbits(3)]
            params = [r >> 8, r & 0xFF]
        data = bytes([op] + params)
    before = snapshot()
    responses = ble.count_by_handle.get(app.server.h_control, 0)
    ble.write(1, app.server.h_control, data)
    w = app.server.next_write()
    result = app.handle_control(w[0], w[1])
    assert app.server.next_write() is None
    assert ble.count_by_handle[app.server.h_control] == responses + 1, "one answer per write"
    got = ble.last[app.server.h_control]
    assert got[0] == 0x80 and got[2] == result
    changed = snapshot() != before
    print("%s %d %d" % (data.hex() or "-", result, 1 if changed else 0))
    if i % 50 == 0 or data[:1] == b"\x0e":  # let time pass: frames flow, calibrations finish
        for _ in range(30):
            hw.clock.sleep_ms(10)
            app.step()
    if 1 not in app.server.trusted:  # OP_CLEAR_BONDS dropped the host: it bonds again
        assert data[:1] == b"\x0e" and result == 1, data
        ble.disconnect(1)
        app.open_pairing(hw.ticks_ms())  # the runner's 3-s press
        ble.connect(1)
        ble.exchange_mtu(1, 247)
        app.step()
assert app.sensor_ok
