"""MicroPython: config validation, corruption fallback, atomic save, status bit."""

import json
import os
import sys

import config
import protocol
from app import App
from fake_hw import FakeHW, gait_samples

d = sys.argv[1]
path = d + "/strideguard.json"


def write(text):
    with open(path, "w") as f:
        f.write(text)


def status_state(app):
    return protocol.unpack_status(app.status())["state"]


# missing file
cfg, ok, reason = config.load(path)
assert not ok and reason == "missing" and cfg == config.defaults()

# corrupt files of every kind fall back to defaults and say why
cases = [
    ('{"leg": "L", "rate_hz": 50', "not JSON"),  # truncated write
    ("\x00\xff garbage", "not JSON"),
    ("[1, 2, 3]", "not a JSON object"),
    ('{"leg": "X"}', "leg"),
    ('{"rate_hz": 300}', "rate_hz"),
    ('{"rate_hz": "500"}', "rate_hz"),
    ('{"cadence_target_spm": 90}', "cadence_target_spm"),
    ('{"cadence_target_spm": true}', "cadence_target_spm"),
    ('{"cue_enabled": 1}', "cue_enabled"),
    ('{"gyro_bias": [1, 2]}', "gyro_bias"),
    ('{"pins": {"haptic": 34}}', "input only"),
    ('{"pins": {"led": 21}}', "used twice"),
    ('{"pins": {"battery_adc": 4}}', "ADC1"),
    ('{"pins": {"i2c_sda": 24}}', "does not exist"),
    ('{"pins": {"buzzer": 5}}', "unknown pin"),
    ('{"colour": "red"}', "unknown key"),
    ('{"watchdog_ms": 10}', "watchdog_ms"),
    ('{"battery_divider_ratio": "2"}', "battery_divider_ratio"),
    ('{"battery_divider_ratio": 0.5}', "battery_divider_ratio"),
]
for text, why in cases:
    write(text)
    cfg, ok, reason = config.load(path)
    assert not ok, text
    assert why in reason, (text, reason)
    assert cfg == config.defaults(), text

# a corrupt file: the app runs on defaults and the status says so
write('{"leg": "R", "rate_hz": 50')
hw = FakeHW(gait_samples())
app = App(hw, cfg_path=path)
assert status_state(app) & protocol.STATE_CONFIG_DEFAULTS
assert app.leg == protocol.LEG_LEFT and app.rate_hz == protocol.DEFAULT_RATE_HZ
assert "defaults (corrupt" in app.status_line()

# a valid partial file is merged over the defaults
write('{"leg": "R", "rate_hz": 1000, "pins": {"haptic": 26}}')
cfg, ok, reason = config.load(path)
assert ok and reason == "", reason
assert cfg["leg"] == "R" and cfg["rate_hz"] == 1000
assert cfg["pins"]["haptic"] == 26 and cfg["pins"]["i2c_sda"] == 21
hw = FakeHW(gait_samples())
app = App(hw, cfg_path=path)
assert not status_state(app) & protocol.STATE_CONFIG_DEFAULTS
assert hw.ble.cfg["gap_name"] == "StrideGuard-R"
assert hw.i2c.regs[0x19] == 0  # SMPLRT_DIV for 1 kHz

# settings written over the control point persist (atomic save, no temp left)
hw.ble.connect(1)
hw.ble.write(1, app.server.h_control, bytes((protocol.OP_SET_CADENCE_TARGET, 175)))
app.step()
cfg, ok, _ = config.load(path)
assert ok and cfg["cadence_target_spm"] == 175
assert "strideguard.json.tmp" not in os.listdir(d)
try:
    config.save({"leg": "Q"}, path)
    raise AssertionError("save must validate")
except ValueError:
    pass
assert config.load(path)[0]["cadence_target_spm"] == 175

# defaults themselves are valid and JSON round-trips
assert config.validate(config.defaults()) is None
assert json.loads(json.dumps(config.defaults())) == config.defaults()
print("config ok")
