"""MicroPython: a central that never exchanges the MTU (23) writes START; what it sees.

Then it calibrates and, during the calibration, asks for another rate. Prints
``answers <hex>,<hex>,...`` (one per write), ``state <STREAMING|MTU_TOO_SMALL bits>``
after START, ``mtu <n>``, ``frames <n>``, ``dropped <n>`` (compared with the
pure-Python model board).
"""

import protocol
from app import App
from fake_hw import FakeHW, gait_samples


def run(app, hw, ms):
    for _ in range(ms // 10):
        hw.clock.sleep_ms(10)
        app.step()


hw = FakeHW(gait_samples())
app = App(hw, cfg_path="/nonexistent-dir/cfg.json")
hw.ble.connect(1)  # the board asks for an MTU exchange; this central never answers
run(app, hw, 100)
hw.ble.write(1, app.server.h_control, bytes((protocol.OP_START_STREAM,)))
run(app, hw, 500)
st = protocol.unpack_status(app.status())
hw.ble.write(1, app.server.h_control, bytes((protocol.OP_CALIBRATE, 2)))
run(app, hw, 100)
hw.ble.write(1, app.server.h_control, bytes((protocol.OP_SET_RATE, 0, 250)))
run(app, hw, 100)
print("answers", ",".join(a.hex() for a in hw.ble.sent(app.server.h_control, 1)))
print("state", st["state"] & (protocol.STATE_STREAMING | protocol.STATE_MTU_TOO_SMALL))
print("mtu", st["mtu"])
print("frames", len(hw.ble.sent(app.server.h_data, 1)))
print("dropped", st["samples_dropped"])
