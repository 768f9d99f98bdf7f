"""MicroPython: the firmware keeps its frames and resends them on OP_RESEND (backfill).

usage: micropython mp_backfill.py SAMPLES.bin OUT_PREFIX

Runs the real App on the models (MPU6050 playing SAMPLES.bin, the recording
bluetooth model) through the scenarios below and writes, per scenario,
OUT_PREFIX.<name>.bin: every data notification as (u8 conn, u16 length, bytes)
in the order sent; prints one JSON line per scenario with the control
responses (hex) and counters. The host test checks the bytes.

Scenarios: "live" (resend frames the central already had: same samples, same
times), "outage" (the central was away; the board kept building frames; the new
connection asks for the whole outage), "mtu" (frames stored with 19 samples
resent to a central at MTU 100: split, each piece with its own index and time),
"small_ring" (a 8 KiB ring: an old range is partly gone; a future one too),
"busy" (more requests than the queue holds; malformed requests), "budget" (a
large request served at most two resent frames per live frame), and "locked"
(the resend path under ``micropython.heap_lock()``: no allocation per frame).
"""

import gc
import json
import struct
import sys

import micropython
import protocol
from app import App
from fake_hw import FakeHW

samples_path, out_prefix = sys.argv[1], sys.argv[2]
with open(samples_path, "rb") as f:
    SAMPLES = f.read()


def new_app(ring_bytes=None):
    hw = FakeHW(SAMPLES)
    cfg = __import__("config").defaults()
    if ring_bytes is None:
        app = App(hw, cfg, True, "", cfg_path="/nonexistent-dir/cfg.json")
    else:
        app = App(hw, cfg, True, "", cfg_path="/nonexistent-dir/cfg.json", ring_bytes=ring_bytes)
    return hw, app


def connect(hw, app, conn, mtu=247, start=True):
    hw.ble.connect(conn)
    app.step()
    hw.ble.exchange_mtu(conn, mtu)
    if start:
        control(hw, app, conn, bytes((protocol.OP_START_STREAM,)))


def control(hw, app, conn, data):
    hw.ble.write(conn, app.server.h_control, data)
    app.step()
    return hw.ble.sent(app.server.h_control, conn)[-1]


def run_ms(hw, app, ms):
    for _ in range(ms // 10):
        hw.clock.sleep_ms(10)
        app.step()


def dump(hw, app, name, extra):
    h = app.server.h_data
    with open(out_prefix + "." + name + ".bin", "wb") as f:
        for conn, handle, data in hw.ble.notifications:
            if handle == h:
                f.write(struct.pack(">BH", conn, len(data)))
                f.write(data)
    extra["name"] = name
    extra["resent"] = app.backfill.frames_resent if app.backfill else -1
    extra["ring"] = app.backfill.capacity if app.backfill else 0
    print(json.dumps(extra))


def data_frames(hw, app, conn):
    return hw.ble.sent(app.server.h_data, conn)


def first_index(frame):
    return protocol.unpack_frame_header(frame)[3]


# ---- live: resend frames the central already received
hw, app = new_app()
connect(hw, app, 1)
run_ms(hw, app, 2000)
frames = data_frames(hw, app, 1)
a = first_index(frames[10]) + 5
resp = control(hw, app, 1, protocol.encode_resend(a, 3 * 19))
run_ms(hw, app, 200)
# the stream's first frame carried FLAG_STREAM_START: its resend must not
resp0 = control(hw, app, 1, protocol.encode_resend(first_index(frames[0]), 19))
run_ms(hw, app, 100)
dump(hw, app, "live", {"resp": resp.hex(), "asked": [a, 3 * 19], "resp0": resp0.hex()})

# ---- outage: the central is away for 2 s, a new connection asks for everything missed
hw, app = new_app()
connect(hw, app, 1)
run_ms(hw, app, 1000)
last = data_frames(hw, app, 1)[-1]
gap_from = first_index(last) + protocol.unpack_frame_header(last)[6]
hw.ble.disconnect(1)
run_ms(hw, app, 2000)  # frames are built and kept, none sent
connect(hw, app, 2)
run_ms(hw, app, 50)
after = data_frames(hw, app, 2)[0]
gap_to = first_index(after)
resp = control(hw, app, 2, protocol.encode_resend(gap_from, gap_to - gap_from))
run_ms(hw, app, 2500)
dump(hw, app, "outage", {"resp": resp.hex(), "asked": [gap_from, gap_to - gap_from]})

# ---- mtu: frames stored with 19 samples, resent to a central at MTU 100 (6 per frame)
hw, app = new_app()
connect(hw, app, 1)
run_ms(hw, app, 1000)
a = first_index(data_frames(hw, app, 1)[5]) + 3
connect(hw, app, 3, mtu=100, start=False)
resp = control(hw, app, 3, protocol.encode_resend(a, 40))
run_ms(hw, app, 300)
dump(hw, app, "mtu", {"resp": resp.hex(), "asked": [a, 40]})

# ---- small ring: 8 KiB holds ~0.6 s at 500 Hz; a range from 2 s ago is partly gone
hw, app = new_app(ring_bytes=8192)
connect(hw, app, 1)
run_ms(hw, app, 3000)
frames = data_frames(hw, app, 1)
newest = first_index(frames[-1]) + protocol.unpack_frame_header(frames[-1])[6]
old = newest - 1000
resp_old = control(hw, app, 1, protocol.encode_resend(old, 800))
resp_gone = control(hw, app, 1, protocol.encode_resend(newest - 3000, 100))
resp_future = control(hw, app, 1, protocol.encode_resend(newest - 10, 500))
run_ms(hw, app, 600)
dump(
    hw,
    app,
    "small_ring",
    {
        "old": resp_old.hex(),
        "gone": resp_gone.hex(),
        "future": resp_future.hex(),
        "newest": newest,
        "span": app.backfill.span_samples(),
    },
)

# ---- busy: five requests at once (the queue holds four); malformed ones
hw, app = new_app()
connect(hw, app, 1)
run_ms(hw, app, 1000)
a = first_index(data_frames(hw, app, 1)[0])
busy = []
for k in range(5):
    hw.ble.write(1, app.server.h_control, protocol.encode_resend(a + 19 * k, 19))
app.step()
busy = [r.hex() for r in hw.ble.sent(app.server.h_control, 1)[-5:]]
zero = control(hw, app, 1, protocol.encode_resend(a, 0))
short = control(hw, app, 1, protocol.encode_resend(a, 5)[:6])
last_result = app.last_result
run_ms(hw, app, 500)
dump(hw, app, "busy", {"busy": busy, "zero": zero.hex(), "short": short.hex(), "last": last_result})

# ---- budget: a 4-s request is served at most two resent frames per live frame
hw, app = new_app()
connect(hw, app, 1)
run_ms(hw, app, 5000)
a = first_index(data_frames(hw, app, 1)[0])
control(hw, app, 1, protocol.encode_resend(a, 2000))
per_pass = []
live0 = app.sampler.frames
resent0 = app.backfill.frames_resent
for _ in range(150):
    r = app.backfill.frames_resent
    hw.clock.sleep_ms(10)
    app.step()
    per_pass.append(app.backfill.frames_resent - r)
dump(
    hw,
    app,
    "budget",
    {
        "max_per_pass": max(per_pass),
        "live": app.sampler.frames - live0,
        "resent": app.backfill.frames_resent - resent0,
    },
)

# ---- locked: serving resends allocates nothing (the app's per-frame path under heap_lock)
hw, app = new_app()
connect(hw, app, 1)
run_ms(hw, app, 3000)
hw.ble.record = False
a = first_index(data_frames(hw, app, 1)[0])
control(hw, app, 1, protocol.encode_resend(a, 1200))  # the request itself may allocate
resent0 = app.backfill.frames_resent
sent0 = hw.ble.notify_count
before = now = 0  # globals exist before the first measurement (a new name grows the dict)
for _ in range(200):
    hw.clock.sleep_ms(10)
    hw.i2c._update()
    now = hw.ticks_ms()
    gc.collect()
    before = gc.mem_alloc()
    micropython.heap_lock()
    try:
        app.server.service()
        app._drain(app.sampler, now)
    finally:
        micropython.heap_unlock()
    assert gc.mem_alloc() == before  # 64-bit build: exactly zero bytes
hw.ble.record = True
dump(
    hw,
    app,
    "locked",
    {
        "resent": app.backfill.frames_resent - resent0,
        "notified": hw.ble.notify_count - sent0,
        "pending": app.backfill.pending(),
    },
)
