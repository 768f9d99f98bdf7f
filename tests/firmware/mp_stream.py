"""MicroPython: drain the fake MPU6050 FIFO through the sampler, dump the frames.

usage: micropython mp_stream.py SAMPLES.bin SPEC.json OUT_PREFIX

SPEC is a list of scenarios {"name", "rate", "mtu", "seconds", "drain_ms",
"start_us", "events": [[t_ms, action, arg], ...]} with actions "stall"
(no polling for arg ms: the FIFO overflows), "fail" (the next arg I2C
transactions fail) and "fail_for" (every I2C transaction fails for arg ms).
For each scenario OUT_PREFIX.<name>.bin gets the frames (u16 length + bytes)
and a JSON line with the reference times and counters is printed.
"""

import json
import sys

from fake_clock import FakeClock
from mpu6050 import MPU6050
from mpu6050_model import MPU6050Model
from sampler import Sampler
from stride_cue import StrideCue

samples_path, spec_path, out_prefix = sys.argv[1], sys.argv[2], sys.argv[3]
with open(samples_path, "rb") as f:
    samples = f.read()
with open(spec_path) as f:
    spec = json.load(f)

for sc in spec:
    clock = FakeClock(sc.get("start_us", 0))
    bus = MPU6050Model(samples, lambda: clock.t_us)
    imu = MPU6050(bus, sleep_ms=clock.sleep_ms)
    stride = StrideCue(sc["rate"])
    t_create = clock.t_us
    s = Sampler(imu, clock.ticks_us, clock.ticks_diff, stride, mtu=sc["mtu"])
    # "clock_hi": start the board's u32 microsecond clock at clock_hi << 16
    s._t_hi = sc.get("clock_hi", 0)
    t_create -= sc.get("clock_hi", 0) << 16
    s.start(sc["rate"])
    k0 = bus.pos
    t_k0 = bus.t_next
    events = sc.get("events", [])
    ev = 0
    end_us = clock.t_us + sc["seconds"] * 1000000
    out = open(out_prefix + "." + sc["name"] + ".bin", "wb")
    hdr = bytearray(2)
    step = 0
    fail_until = -1
    t_begin = clock.t_us
    while clock.t_us < end_us:
        t_ms = (clock.t_us - t_begin) // 1000
        while ev < len(events) and events[ev][0] <= t_ms:
            _, action, arg = events[ev]
            if action == "stall":
                clock.advance_us(arg * 1000)
            elif action == "fail":
                bus.fail_next = arg
            elif action == "brownout":  # the sensor resets itself (power glitch)
                bus._write_reg(0x6B, 0x80)
            elif action == "fail_for":
                bus.fail_forever = True
                fail_until = clock.t_us + arg * 1000
            ev += 1
        if fail_until >= 0 and clock.t_us >= fail_until:
            bus.fail_forever = False
            fail_until = -1
        frame = s.poll(clock.ticks_ms())
        while frame is not None:
            n = len(frame)
            hdr[0] = n >> 8
            hdr[1] = n & 0xFF
            out.write(hdr)
            out.write(frame)
            frame = s.poll(clock.ticks_ms())
        # irregular drain intervals around drain_ms
        clock.advance_us(sc["drain_ms"] * 1000 + (step * 3779) % 7000 - 3500)
        step += 1
    out.close()
    print(
        json.dumps(
            {
                "name": sc["name"],
                "k0": k0,
                "t_k0_us": t_k0 - t_create,
                "period_us": bus.period_us,
                "overflows": s.overflows,
                "i2c_errors": s.i2c_errors,
                "samples_lost": s.samples_lost,
                "frames": s.frames,
                "fake_overflow_bytes": bus.overflow_bytes,
                "fault": s.fault,
            }
        )
    )
