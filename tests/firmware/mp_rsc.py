"""MicroPython: RSC Measurement bytes (packer, and end to end from a gait)."""

import binascii

import protocol
from app import App
from fake_hw import FakeHW, gait_samples
from mpu6050_model import SampleBytes

buf = bytearray(4)
for name, speed, cadence, running in (
    ("run", 896, 172, True),
    ("walk", 320, 110, False),
    ("clamp", 0, 300, True),
):
    n = protocol.pack_rsc_measurement(buf, speed, cadence, running)
    print(name, binascii.hexlify(buf[:n]).decode())

# end to end: 0.7 s strides played at 500 Hz = 85.7 strides/min = 171 steps/min
hw = FakeHW(gait_samples(seconds=2.8, stride_s=0.7, rate=500))
app = App(hw, cfg_path="/nonexistent-dir/cfg.json")
hw.ble.connect(5)
for _ in range(600):
    hw.clock.sleep_ms(10)
    app.step()
sent = hw.ble.sent(app.server.h_rsc, 5)
print("live", binascii.hexlify(sent[-1]).decode(), len(sent))
print(
    "feature",
    binascii.hexlify(hw.ble.values[hw.ble.handle_of(protocol.RSC_FEATURE_UUID16)]).decode(),
)
print(
    "location",
    binascii.hexlify(hw.ble.values[hw.ble.handle_of(protocol.SENSOR_LOCATION_UUID16)]).decode(),
)
# the runner stops: cadence 0 is sent once, "walking"
hw.i2c.source = SampleBytes(bytearray(12))
for _ in range(300):
    hw.clock.sleep_ms(10)
    app.step()
print("stopped", binascii.hexlify(hw.ble.sent(app.server.h_rsc, 5)[-1]).decode())
