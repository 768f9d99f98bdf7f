"""MicroPython: steady-state frame production allocates nothing on the heap.

Two checks under ``micropython.heap_lock()`` (any allocation raises
MemoryError): the sampler alone (FIFO drain + stride scan + header), and the
app's whole per-frame path (drain, notify to a streaming central, RSC on each
stride). Prints ``frames=N strides=M`` on success.
"""

import gc
import sys

import config
import micropython
import protocol
from app import App
from fake_clock import FakeClock
from fake_hw import FakeHW, gait_samples
from mpu6050 import MPU6050
from mpu6050_model import MPU6050Model
from sampler import Sampler
from stride_cue import StrideCue

rate = int(sys.argv[1]) if len(sys.argv) > 1 else 500
samples = gait_samples(rate=rate)

# ---- 1. sampler alone
clock = FakeClock((1 << 30) - 200000)
bus = MPU6050Model(samples, lambda: clock.t_us)
imu = MPU6050(bus, sleep_ms=clock.sleep_ms)
s = Sampler(imu, clock.ticks_us, clock.ticks_diff, StrideCue(rate))
s.start(rate)
for _ in range(100):  # warm up
    clock.advance_us(20000)
    while s.poll(clock.ticks_ms()) is not None:
        pass
# the fake sensor's own bookkeeping allocates: pre-fill the FIFO outside the lock


def drain_locked(s, now_ms):
    """Drain every full frame with the heap locked; return the frame count."""
    n = 0
    before = gc.mem_alloc()
    micropython.heap_lock()
    try:
        f = s.poll(now_ms)
        while f is not None:
            n += 1
            f = s.poll(now_ms)
    finally:
        micropython.heap_unlock()
    assert gc.mem_alloc() == before  # 64-bit build: exactly zero bytes
    return n


frames = 0
for _ in range(200):
    clock.advance_us(20000)
    bus._update()
    frames += drain_locked(s, clock.ticks_ms())
assert frames >= 4 * rate // 19 - 2, frames

# ---- 2. the app's per-frame path with a streaming central
hw = FakeHW(samples)
hw.ble.record = False
cfg = config.defaults()
cfg["rate_hz"] = rate
app = App(hw, cfg, True, "", cfg_path="/nonexistent-dir/cfg.json")
hw.ble.connect(1)
app.step()
hw.ble.exchange_mtu(1, 247)
hw.ble.write(1, app.server.h_control, bytes((protocol.OP_START_STREAM,)))
for _ in range(200):
    hw.clock.sleep_ms(10)
    app.step()
strides0 = app.stride.strides
sent0 = hw.ble.notify_count


def app_frame_path_locked(app, now_ms):
    micropython.heap_lock()
    try:
        app.server.service()
        app._drain(app.sampler, now_ms)
    finally:
        micropython.heap_unlock()


for _ in range(600):  # 6 s
    hw.clock.sleep_ms(10)
    hw.i2c._update()
    app_frame_path_locked(app, hw.ticks_ms())
assert app.stride.strides - strides0 >= 6, app.stride.strides
assert hw.ble.notify_count - sent0 >= 6 * rate // 19 - 2
assert app.sampler.samples_lost == 0

# ---- 3. the pairing window open: the LED's flashing and the window's clock allocate nothing
flashes = bytearray(1)


def count_led(on):  # the fake's own list would allocate
    if on:
        flashes[0] += 1


hw.set_led = count_led
app.open_pairing(hw.ticks_ms())
app.step()  # its advertisement (allocates once, when the window opens)
flashes[0] = 0
for _ in range(100):  # 1 s: two flashes
    hw.clock.sleep_ms(10)
    hw.i2c._update()
    micropython.heap_lock()
    try:
        app.server.service()
        app._drain(app.sampler, hw.ticks_ms())
        app._haptics(hw.ticks_ms())
    finally:
        micropython.heap_unlock()
assert flashes[0] == 2, flashes[0]
print("frames=%d strides=%d" % (frames, app.stride.strides - strides0))
