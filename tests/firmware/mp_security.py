"""MicroPython: pairing window, bonds on flash, trusted links, the rogue central, slots.

usage: micropython mp_security.py DIR   (DIR: an empty folder, the board's flash)

The ``bluetooth`` model plays the stack: ``pair`` stores keys through
``_IRQ_SET_SECRET`` when both sides bond, ``restore`` reads them back through
``_IRQ_GET_SECRET``, the ``*_ENCRYPTED`` flags refuse plain links at the ATT level.
"""

import json
import sys

import protocol
from app import App
from fake_hw import FakeHW, gait_samples

P = protocol
flash = sys.argv[1]
cfg_path = flash + "/strideguard.json"
bonds_path = flash + "/bonds.json"
with open(cfg_path, "w") as f:
    f.write(json.dumps({"leg": "R", "rate_hz": 500, "cadence_target_spm": 170}))


def run(app, hw, ms):
    for _ in range(ms // 10):
        hw.clock.sleep_ms(10)
        app.step()


def status(app):
    return P.unpack_status(app.status())


def file_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def adv_flags(ble):
    adv = ble.adverts[-1][1]
    i = adv.index(b"\x04\xff\xff\xff")
    return adv[i + 4]


hw = FakeHW(gait_samples())
ble = hw.ble
ble.auto_secure = False
app = App(hw, cfg_path=cfg_path)
h_control, h_status, h_data = app.server.h_control, app.server.h_status, app.server.h_data

# ---- a new board: no bonds, the pairing window opens at power-up; LED flashes; advertised
assert app.bonds.peers() == 0
assert app.server.pairing_open and ble.cfg["bond"] and ble.cfg["le_secure"]
assert ble.cfg["io"] == 3 and not ble.cfg["mitm"]
assert adv_flags(ble) & P.ADV_PAIRING_OPEN and not adv_flags(ble) & P.ADV_HAS_BONDS
run(app, hw, 1000)
flashes = [on for _t, on in hw.led]
assert flashes.count(True) == 2 and flashes.count(False) >= 1, hw.led  # one per 500 ms
assert status(app)["security"] == P.SECURITY_PAIRING_OPEN

# ---- the host connects: plain, the custom service refuses it at the ATT level
ble.connect(1, addr=b"\x11\x11\x11\x11\x11\x11")
ble.exchange_mtu(1, 247)
run(app, hw, 20)
assert ble.write(1, h_control, bytes((P.OP_START_STREAM,))) == 0x0F
assert ble.read(1, h_status) == (0x0F, None)
assert ble.read(1, app.server.h_battery)[0] == 0  # standard services stay open
assert app.server.streaming == [] and 1 not in app.server.trusted
# ... pairs in the window: bonded, keys on flash, the window closes
assert ble.pair(1)
assert 1 in app.server.trusted
run(app, hw, 20)
assert not app.server.pairing_open and not ble.cfg["bond"]
assert app.bonds.peers() == 1 and "111111111111" in file_text(bonds_path)
assert adv_flags(ble) == P.ADV_HAS_BONDS
assert status(app)["security"] == P.SECURITY_HAS_BONDS
assert ble.write(1, h_control, bytes((P.OP_START_STREAM,))) == 0
run(app, hw, 500)
host_frames = ble.sent(h_data, 1)
assert len(host_frames) > 5
led_after = [on for _t, on in hw.led][-1]
assert led_after is False  # the window closed: the LED is off again
cfg_before = file_text(cfg_path)
st0 = status(app)
assert st0["access_refused"] == 0

# ---- the rogue central (the scenario): mark, rate 100, leg left, cadence 220
ROGUE = (
    bytes((P.OP_MARK,)),
    bytes((P.OP_SET_RATE, 0, 100)),
    bytes((P.OP_SET_LEG, P.LEG_LEFT)),
    bytes((P.OP_SET_CADENCE_TARGET, 220)),
)
ble.connect(2, addr=b"\x66\x66\x66\x66\x66\x66")
run(app, hw, 20)
for w in ROGUE:  # plain link: the stack answers Insufficient Encryption, nothing reaches the app
    assert ble.write(2, h_control, w) == 0x0F
assert ble.read(2, h_status)[0] == 0x0F
assert not ble.restore(2)  # no key on the board for it
# it pairs (as a phone does after Insufficient Encryption): outside the window no bond results
assert not ble.pair(2)
assert 2 not in app.server.trusted
for w in ROGUE:  # encrypted but unbonded: the writes reach the app, which refuses and counts
    assert ble.write(2, h_control, w) == 0
assert app.server.next_write() is None  # none queued
n_host = len(ble.sent(h_data, 1))
run(app, hw, 500)
assert 2 in ble.disconnect_requests  # the unbonded link is dropped
ble.disconnect(2)
st = status(app)
assert st["access_refused"] == 1 + len(ROGUE), st
assert st["rate_hz"] == 500 and st["leg"] == P.LEG_RIGHT and app.stride.target_spm == 170
assert file_text(cfg_path) == cfg_before, "the rogue changed the flash"
assert app.bonds.peers() == 1
new = ble.sent(h_data, 1)[n_host:]
assert len(new) > 5
assert not any(f[1] & P.FLAG_PAIN_MARK for f in new), "an injected pain mark reached the host"
assert ble.sent(h_control, 2) == [] and ble.sent(h_status, 2) == [] and ble.sent(h_data, 2) == []

# ---- a slot stays free: three plain centrals, the oldest goes; the host keeps its link
for c in (3, 4, 5):
    ble.connect(c, addr=bytes((c,)) * 6)
    run(app, hw, 20)
assert 3 in ble.disconnect_requests and 4 not in ble.disconnect_requests
ble.disconnect(3)
run(app, hw, 20)
assert 1 in app.server.trusted and 1 in app.server.streaming
for c in (4, 5):
    ble.disconnect(c)

# ---- the host reconnects: the stack restores the bond from the store; encrypted again
ble.disconnect(1)
run(app, hw, 20)
ble.connect(6, addr=b"\x11\x11\x11\x11\x11\x11")
ble.exchange_mtu(6, 247)
assert ble.restore(6) and 6 in app.server.trusted
assert ble.write(6, h_control, bytes((P.OP_START_STREAM,))) == 0
run(app, hw, 300)
assert len(ble.sent(h_data, 6)) > 3
# one host on the custom service: a newer bonded link replaces the older one
ble.connect(7, addr=b"\x11\x11\x11\x11\x11\x11")
assert ble.restore(7)
run(app, hw, 20)
assert app.server.trusted == [7] and 6 in ble.disconnect_requests
ble.disconnect(6)

# ---- a power cycle keeps the bond: the window stays closed at power-up
hw2 = FakeHW(gait_samples())
hw2.ble.auto_secure = False
app2 = App(hw2, cfg_path=cfg_path)
assert app2.bonds.peers() == 1 and not app2.server.pairing_open
hw2.ble.connect(1, addr=b"\x11\x11\x11\x11\x11\x11")
assert hw2.ble.restore(1) and 1 in app2.server.trusted

# ---- the window times out; a 3-s hold opens it; OP_OPEN_PAIRING from the host too
app.server.set_pairing(False)
hw.set_button(True)
run(app, hw, 3100)
assert app.server.pairing_open and ble.cfg["bond"]
hw.set_button(False)
run(app, hw, 57000)
assert app.server.pairing_open
run(app, hw, 3000)
assert not app.server.pairing_open, "the window must close after pairing_window_s"
ble.write(7, h_control, bytes((P.OP_OPEN_PAIRING,)))
run(app, hw, 20)
assert app.server.pairing_open
assert ble.sent(h_control, 7)[-1] == bytes((0x80, P.OP_OPEN_PAIRING, P.RESULT_SUCCESS))
# the bonded host coming back (a stored bond, no new keys) does not close the window
ble.connect(11, addr=b"\x11\x11\x11\x11\x11\x11")
assert ble.restore(11)
run(app, hw, 20)
assert app.server.pairing_open and app.server.trusted == [11]
# a second host pairs in it (the window closes); then OP_CLEAR_BONDS forgets both
ble.connect(8, addr=b"\x22\x22\x22\x22\x22\x22")
assert ble.pair(8)
run(app, hw, 20)
assert app.bonds.peers() == 2 and not app.server.pairing_open
ble.write(8, h_control, bytes((P.OP_CLEAR_BONDS,)))
run(app, hw, 20)
assert ble.sent(h_control, 8)[-1] == bytes((0x80, P.OP_CLEAR_BONDS, P.RESULT_SUCCESS))
assert app.bonds.peers() == 0 and file_text(bonds_path) == "[]"
assert 8 in ble.disconnect_requests
ble.disconnect(8)
ble.connect(9, addr=b"\x22\x22\x22\x22\x22\x22")
assert not ble.restore(9), "a cleared bond must not encrypt"
ble.disconnect(9)

# ---- a 10-s hold clears the bonds (and opens the window)
ble.connect(10, addr=b"\x33\x33\x33\x33\x33\x33")
app.open_pairing(hw.clock.t_us // 1000)
assert ble.pair(10)
run(app, hw, 20)
assert app.bonds.peers() == 1
hw.set_button(True)
run(app, hw, 10100)
hw.set_button(False)
run(app, hw, 50)
assert app.bonds.peers() == 0 and app.server.pairing_open and app.bonds_cleared == 2
assert 10 in ble.disconnect_requests

# ---- a corrupt bond file: no bonds (the window opens), the board runs
with open(bonds_path, "w") as f:
    f.write("[[2, 'zz")
hw3 = FakeHW(gait_samples())
app3 = App(hw3, cfg_path=cfg_path)
assert app3.bonds.peers() == 0 and app3.server.pairing_open and app3.bonds.reason
print("security ok")
