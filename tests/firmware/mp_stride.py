"""MicroPython: on-board stride detector, cadence, cue, pain marker, calibration."""

import sys

import config
import protocol
from app import App
from fake_hw import FakeHW, gait_samples
from stride_cue import StrideCue


def run(app, hw, ms):
    for _ in range(ms // 10):
        hw.clock.sleep_ms(10)
        app.step()


def make(rate, stride_s, **cfg_over):
    cfg = config.defaults()
    cfg["rate_hz"] = rate
    for k in cfg_over:
        cfg[k] = cfg_over[k]
    hw = FakeHW(gait_samples(seconds=4 * stride_s, stride_s=stride_s, rate=rate))
    app = App(hw, cfg, True, "", cfg_path="/nonexistent-dir/cfg.json")
    hw.ble.connect(1)
    hw.ble.exchange_mtu(1, 247)
    hw.ble.write(1, app.server.h_control, bytes((protocol.OP_START_STREAM,)))
    return hw, app


# ---- cadence (steps/min = 2 x strides/min) at several paces and rates
for rate in (100, 200, 500, 1000):
    for stride_s in (0.63, 0.7, 0.8):
        hw, app = make(rate, stride_s)
        run(app, hw, 6000)
        want = 120 / stride_s
        got = app.stride.cadence_spm
        assert abs(got - want) <= 2, (rate, stride_s, got, want)
        assert app.stride.running
        rsc = hw.ble.sent(app.server.h_rsc, 1)[-1]
        assert rsc[0] == protocol.RSC_FLAG_RUNNING and rsc[3] == got

# ---- bounded work, integer state: scanning never changes the samples
s = StrideCue(500)
buf = bytearray(gait_samples(rate=500))
copy = bytes(buf)
s.scan(buf, 0, len(buf) // 12)
assert bytes(buf) == copy

# ---- cue: target 190 steps/min, runner at 150 -> cue after 4 slow strides
hw, app = make(500, 0.8, cadence_target_spm=190, cue_enabled=True)
run(app, hw, 8000)
assert app.stride.cues >= 1
on = [t for t, v in hw.haptic if v]
off = [t for t, v in hw.haptic if not v]
assert on and off and 350 <= off[0] - on[0] <= 450, hw.haptic  # one 400 ms pulse
flagged = [f for f in hw.ble.sent(app.server.h_data, 1) if f[1] & protocol.FLAG_CUE]
assert len(flagged) == app.stride.cues
first_cue_s = on[0] / 1000
assert first_cue_s >= 4 * 0.8, first_cue_s  # needs 4 strides of evidence
assert app.stride.cues <= 1 + 8 // 16  # cool-down of 20 strides
# no cue when the cadence is close to the target, or the cue is off
for over in ({"cadence_target_spm": 155, "cue_enabled": True}, {"cadence_target_spm": 190}):
    hw, app = make(500, 0.8, **over)
    run(app, hw, 8000)
    assert app.stride.cues == 0 and not hw.haptic, over

# ---- BOOT button / control MARK: "pain now" flag in the next frame, once
hw, app = make(500, 0.7)
run(app, hw, 500)
hw.press_button()
run(app, hw, 200)
hw.ble.write(1, app.server.h_control, bytes((protocol.OP_MARK,)))
run(app, hw, 200)
marks = [f for f in hw.ble.sent(app.server.h_data, 1) if f[1] & protocol.FLAG_PAIN_MARK]
assert len(marks) == 2, len(marks)

# ---- calibration while standing still: gyro bias and gravity stored
still = bytearray(12)
vals = (100, -50, 2040, 30, -12, 7)  # acc LSB (~1 g on z), gyro bias LSB
for a in range(6):
    v = vals[a] & 0xFFFF
    still[2 * a] = v >> 8
    still[2 * a + 1] = v & 0xFF
cfg_path = sys.argv[1] + "/strideguard.json"
hw = FakeHW(bytes(still))
app = App(hw, cfg_path=cfg_path)
hw.ble.connect(1)
hw.ble.write(1, app.server.h_control, bytes((protocol.OP_CALIBRATE, 2)))
run(app, hw, 100)
st = protocol.unpack_status(app.status())
assert st["state"] & protocol.STATE_CALIBRATING
hw.ble.write(1, app.server.h_control, bytes((protocol.OP_CALIBRATE, 2)))
run(app, hw, 20)
assert hw.ble.sent(app.server.h_control, 1)[-1][2] == protocol.RESULT_BUSY
run(app, hw, 2500)
st = protocol.unpack_status(app.status())
assert st["state"] & protocol.STATE_CALIBRATED and not st["state"] & protocol.STATE_CALIBRATING
cfg, ok, _ = config.load(cfg_path)
assert ok and cfg["calibrated"] and cfg["gyro_bias"] == [30, -12, 7], cfg
assert cfg["gravity"] == [100, -50, 2040]
assert (app.stride.bias_x, app.stride.bias_y, app.stride.bias_z) == (30, -12, 7)
# calibrating while running fails and keeps the old calibration
hw2, app2 = make(500, 0.7)
app2.cfg_path = cfg_path
hw2.ble.write(1, app2.server.h_control, bytes((protocol.OP_CALIBRATE, 2)))
run(app2, hw2, 2500)
assert app2.last_result == protocol.RESULT_OPERATION_FAILED
assert config.load(cfg_path)[0]["gyro_bias"] == [30, -12, 7]

# ---- identify blinks and buzzes; the watchdog is fed every pass
hw, app = make(500, 0.7)
hw.ble.write(1, app.server.h_control, bytes((protocol.OP_IDENTIFY, 2)))
run(app, hw, 2500)
assert len([1 for _, v in hw.led if v]) == 4
assert hw.watchdog_feeds >= 250
print("stride ok")
