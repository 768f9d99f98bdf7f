"""MicroPython: GATT profile, advertising, MTU handling, reconnects, notify failures."""

import protocol
from app import App
from ble_server import advertising_payload, scan_response_payload, uuid128_le
from fake_hw import FakeHW, gait_samples


def run(app, hw, ms):
    for _ in range(ms // 10):
        hw.clock.sleep_ms(10)
        app.step()


def data_frames(hw, app, conn=None):
    return hw.ble.sent(app.server.h_data, conn)


def status(app):
    return protocol.unpack_status(app.status())


hw = FakeHW(gait_samples())
app = App(hw, cfg_path="/nonexistent-dir/cfg.json")
ble = hw.ble

# ---- services: custom stream + DIS + Battery + RSC
svc = [s[0].value for s in ble.services]
assert svc == [protocol.SERVICE_UUID, 0x180A, 0x180F, 0x1814], svc
assert ble.flags_of(protocol.DATA_CHAR_UUID) == 0x10
assert (
    ble.flags_of(protocol.CONTROL_CHAR_UUID) & 0x08
    and ble.flags_of(protocol.CONTROL_CHAR_UUID) & 0x10
)
assert ble.flags_of(protocol.CONTROL_CHAR_UUID) & 0x1000  # write needs an encrypted link
assert ble.flags_of(protocol.STATUS_CHAR_UUID) == 0x0212  # read needs an encrypted link
assert ble.flags_of(protocol.RSC_MEASUREMENT_UUID16) == 0x10
assert ble.values[ble.handle_of(protocol.MANUFACTURER_NAME_UUID16)] == b"strideguard"
assert (
    ble.values[ble.handle_of(protocol.FIRMWARE_REVISION_UUID16)]
    == protocol.FIRMWARE_VERSION.encode()
)
assert ble.cfg["mtu"] == protocol.PREFERRED_MTU

# ---- advertising: name with the leg, service UUID, <= 31 bytes each
assert ble.cfg["gap_name"] == "StrideGuard-L"
_, adv, resp, connectable = ble.adverts[-1]
assert connectable and len(adv) <= 31 and len(resp) <= 31
assert uuid128_le(protocol.SERVICE_UUID) in adv
assert bytes(reversed(uuid128_le(protocol.SERVICE_UUID))).hex() == protocol.SERVICE_UUID.replace(
    "-", ""
)
assert b"\x03\x03\x14\x18" in adv  # 16-bit RSC service UUID, little-endian
assert b"StrideGuard-L" in resp
assert adv == advertising_payload(app.server.adv_flags()) and resp == scan_response_payload(
    "StrideGuard-L"
)

# ---- connect with the default 23-byte MTU and ask for the stream
ble.connect(1)
run(app, hw, 20)
assert 1 in ble.mtu_requests, "the board must request a larger MTU"
ble.write(1, app.server.h_control, bytes((protocol.OP_START_STREAM,)))
run(app, hw, 1500)
st = status(app)
assert st["state"] & protocol.STATE_MTU_TOO_SMALL, st
assert st["state"] & protocol.STATE_STREAMING
assert st["mtu"] == 23
assert data_frames(hw, app) == [], "no frame may be sent at MTU 23"
assert st["samples_dropped"] > 500, st  # the unsent samples are counted
assert ble.sent(app.server.h_control, 1)[-1] == bytes(
    (0x80, protocol.OP_START_STREAM, protocol.RESULT_SUCCESS)
)

# ---- MTU exchanged: frames flow, sized to MTU - 3
ble.exchange_mtu(1, 185)
run(app, hw, 1000)
frames = data_frames(hw, app)
assert len(frames) > 20
assert all(len(f) == protocol.frame_size(13) <= 182 for f in frames), [len(f) for f in frames]
assert not status(app)["state"] & protocol.STATE_MTU_TOO_SMALL
assert protocol.unpack_frame_header(frames[0])[1] & protocol.FLAG_STREAM_START

# ---- a second central (a watch, not bonded): no stream; RSC for both
adverts_before = len(ble.adverts)
ble.connect(2, secure=False)
run(app, hw, 20)
assert len(ble.adverts) > adverts_before, "keep advertising while below the connection limit"
ble.exchange_mtu(2, 247)
ble.exchange_mtu(1, 247)
run(app, hw, 2000)
assert data_frames(hw, app, 2) == []
assert ble.sent(app.server.h_rsc, 2), "the watch gets RSC measurements"
# status: notified every second to the streaming central, not to the watch
assert len(ble.sent(app.server.h_status, 1)) >= 2
assert ble.sent(app.server.h_status, 2) == []
assert len(data_frames(hw, app, 1)[-1]) == protocol.frame_size(19)
# the watch cannot ask for the stream: the stack refuses the unencrypted write
assert ble.write(2, app.server.h_control, bytes((protocol.OP_START_STREAM,))) == 0x0F
assert ble.read(2, app.server.h_status) == (0x0F, None)
assert ble.read(2, app.server.h_battery)[0] == 0  # the standard services stay open
run(app, hw, 500)
assert data_frames(hw, app, 2) == [] and ble.sent(app.server.h_control, 2) == []
assert len(data_frames(hw, app, 1)[-1]) == protocol.frame_size(19)

# ---- a failing notify: counted, its samples counted as dropped, stream goes on
before = status(app)
ble.fail_notify = 3
run(app, hw, 1000)
after = status(app)
assert after["notify_errors"] - before["notify_errors"] == 3
assert after["samples_dropped"] - before["samples_dropped"] >= 19
heads = [protocol.unpack_frame_header(f) for f in data_frames(hw, app, 1)]
assert heads[-1][3] > before["samples_total"]

# ---- disconnect: advertising resumes; reconnect streams again
ble.disconnect(2)
ble.disconnect(1)
adverts_before = len(ble.adverts)
run(app, hw, 50)
assert len(ble.adverts) == adverts_before + 1
assert not status(app)["state"] & protocol.STATE_STREAMING
ble.connect(3)
ble.exchange_mtu(3, 247)
ble.write(3, app.server.h_control, bytes((protocol.OP_START_STREAM,)))
run(app, hw, 500)
assert len(data_frames(hw, app, 3)) > 5

# ---- set leg R: new name, advertising with it, saved
ble.write(3, app.server.h_control, bytes((protocol.OP_SET_LEG, protocol.LEG_RIGHT)))
run(app, hw, 20)
assert ble.cfg["gap_name"] == "StrideGuard-R"
assert b"StrideGuard-R" in ble.adverts[-1][2]
assert status(app)["leg"] == protocol.LEG_RIGHT

# ---- battery service follows the ADC
hw.mv = 3700
run(app, hw, 10100)
assert ble.values[app.server.h_battery] == bytes((30,))
assert status(app)["battery_mv"] == 3700
assert not data_frames(hw, app, 3)[-1][1] & protocol.FLAG_LOW_BATTERY
hw.mv = 3500
run(app, hw, 10100)
assert status(app)["state"] & protocol.STATE_LOW_BATTERY
assert data_frames(hw, app, 3)[-1][1] & protocol.FLAG_LOW_BATTERY
# ---- no sensor at boot: the radio still works, status says sensor fault, it recovers
hw = FakeHW(gait_samples())
hw.i2c.fail_forever = True
app = App(hw, cfg_path="/nonexistent-dir/cfg.json")
assert hw.ble.adverts, "advertise even without a sensor"
run(app, hw, 3000)
assert status(app)["state"] & protocol.STATE_SENSOR_FAULT
assert "strideguard" in app.status_line()
hw.i2c.fail_forever = False
run(app, hw, 2500)
assert not status(app)["state"] & protocol.STATE_SENSOR_FAULT
assert app.sampler.frames > 0
print("ble ok")
