"""MicroPython: the on-board stride detector over a recorded gyro stream.

usage: micropython mp_realdata.py SAMPLES.bin RATE  (12 big-endian bytes per sample)
Prints ``stride <sample index> <cadence>`` per detected stride.
"""

import sys

from stride_cue import SCAN_STRIDE, StrideCue

with open(sys.argv[1], "rb") as f:
    data = f.read()
rate = int(sys.argv[2])
s = StrideCue(rate)
n = len(data) // 12
block = 19  # one MTU-247 frame at a time, like the sampler
i = 0
while i < n:
    k = min(block, n - i)
    # scan sample by sample inside the block so each stride gets its exact index
    for j in range(k):
        if s.scan(data, 12 * (i + j), 1) & SCAN_STRIDE:
            print("stride", i + j, s.cadence_spm)
    i += k

# the same recording played through the fake MPU6050 FIFO and the whole app:
# a watch connected to the Running Speed and Cadence service
import config  # noqa: E402
from app import App  # noqa: E402
from fake_hw import FakeHW  # noqa: E402

cfg = config.defaults()
cfg["rate_hz"] = rate
hw = FakeHW(data)
app = App(hw, cfg, True, "", cfg_path="/nonexistent-dir/cfg.json")
hw.ble.connect(7)
for _ in range(n * 100 // rate - 10):  # once through the recording, 10 ms per pass
    hw.clock.sleep_ms(10)
    app.step()
for m in hw.ble.sent(app.server.h_rsc, 7):
    print("rsc", m.hex())
