"""MicroPython side of bench_heap: the firmware's heap after start-up, streaming.

usage: micropython -X heapsize=N mp_heap_budget.py  (prints one JSON line)

Imports the hardware models first (test scaffolding, not on a board) and
measures them apart, then the firmware (its code), then starts the App with a
central streaming at MTU 247 for 12 s (the ring fills), and reports what each
part holds and what is left.
"""

import gc
import json

gc.collect()
m0 = gc.mem_alloc()
import protocol  # noqa: E402
from fake_hw import FakeHW  # noqa: E402

hw = FakeHW(bytearray(12 * 64))
hw.ble.record = False
gc.collect()
m1 = gc.mem_alloc()
import config  # noqa: E402
from app import App  # noqa: E402

gc.collect()
m2 = gc.mem_alloc()
app = App(hw, config.defaults(), True, "", cfg_path="/nonexistent-dir/cfg.json")
ring = app.backfill
hw.ble.connect(1)
app.step()
hw.ble.exchange_mtu(1, 247)
hw.ble.write(1, app.server.h_control, bytes((protocol.OP_START_STREAM,)))
for _ in range(1200):
    hw.clock.sleep_ms(10)
    app.step()
gc.collect()
m3 = gc.mem_alloc()
print(
    json.dumps(
        {
            "heap": m3 + gc.mem_free(),
            "models": m1 - m0,
            "code": m2 - m1,
            "objects": m3 - m2 - (ring.capacity if ring else 0),
            "ring": ring.capacity if ring else 0,
            "ring_span_samples": ring.span_samples() if ring else 0,
            "free": gc.mem_free(),
        }
    )
)
