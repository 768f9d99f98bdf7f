"""MicroPython: alert patterns, the button's taps and holds, "link lost" (the real App).

usage: micropython mp_patterns.py

Runs the real App on the models (MPU6050 playing a gait, the recording
bluetooth model, the fake clock) and prints one JSON line per scenario with
what the motor pin did (``[t_ms, level]`` transitions, relative to the
scenario's start), what the LED did, the control answers and the FLAG2 bits of
the frames the host received. The host test (test_firmware_patterns.py)
checks the numbers against the protocol as documented; a few invariants are
asserted here too.
"""

import gc
import json

import micropython
import protocol as P
from app import App
from fake_hw import FakeHW, gait_samples

SAMPLES = gait_samples(seconds=2.8, rate=500)


def new_app():
    hw = FakeHW(SAMPLES)
    cfg = __import__("config").defaults()
    app = App(hw, cfg, True, "", cfg_path="/nonexistent-dir/cfg.json")
    return hw, app


def connect(hw, app, conn=1):
    hw.ble.connect(conn)
    app.step()
    hw.ble.exchange_mtu(conn, 247)
    return control(hw, app, bytes((P.OP_START_STREAM,)), conn)


def control(hw, app, data, conn=1):
    hw.ble.write(conn, app.server.h_control, data)
    app.step()
    return hw.ble.sent(app.server.h_control, conn)[-1][2]


def run_ms(hw, app, ms):
    for _ in range(ms // 10):
        hw.clock.sleep_ms(10)
        app.step()


def now_ms(hw):
    return hw.clock.t_us // 1000


def pin_since(log, t0):
    return [[t - t0, 1 if v else 0] for t, v in log if t >= t0]


def flags2_since(hw, app, k0, conn=1):
    """FLAG2 bits of the data frames sent to ``conn`` from the k0-th on (non-zero ones)."""
    frames = hw.ble.sent(app.server.h_data, conn)
    return [[k, f[P.FRAME_FLAGS2_OFFSET]] for k, f in enumerate(frames) if k >= k0 and f[15]]


def emit(name, **out):
    out["name"] = name
    print(json.dumps(out))


STOP = P.encode_pattern([(600, 300)] * 3, P.PATTERN_UNTIL_ACK, 10000)
CAUTION = P.encode_pattern([(150, 150)] * 2, 1, 0)

# ---- 1. the stop pattern: 3 long, again every 10 s until the host acknowledges
hw, app = new_app()
connect(hw, app)
run_ms(hw, app, 500)
t0 = now_ms(hw)
r_play = control(hw, app, STOP)
run_ms(hw, app, 25000)
t_ack = now_ms(hw)
r_ack = control(hw, app, bytes((P.OP_ACKNOWLEDGE,)))
run_ms(hw, app, 30000)
r_ack2 = control(hw, app, bytes((P.OP_ACKNOWLEDGE,)))  # nothing left: still a success
assert hw.led == hw.haptic  # the LED mirrors the motor
emit(
    "stop_host_ack",
    play=r_play,
    ack=r_ack,
    ack_again=r_ack2,
    ack_at=t_ack - t0,
    pin=pin_since(hw.haptic, t0),
    acknowledged=app.player.acknowledged,
)

# ---- 2. refused patterns change nothing (every write answered)
hw, app = new_app()
connect(hw, app)
bad = [
    bytes((P.OP_PLAY_PATTERN,)),  # no header
    bytes((P.OP_PLAY_PATTERN, 1, 0, 0)),  # no pulse
    bytes((P.OP_PLAY_PATTERN, 1, 0, 0, 10)),  # half a pulse
    bytes((P.OP_PLAY_PATTERN, 1, 0, 0)) + bytes((10, 10)) * 9,  # nine pulses
    bytes((P.OP_PLAY_PATTERN, 1, 0, 0)) + bytes((10, 10)) * 10,  # longer than the buffer
    bytes((P.OP_PLAY_PATTERN, 1, 0, 0, 4, 10)),  # a 40 ms pulse
    bytes((P.OP_PLAY_PATTERN, 2, 0, 10, 10, 10)),  # period 10 ms < 200 ms play
    bytes((P.OP_PLAY_PATTERN, 0, 0, 0, 10, 10)),  # until acknowledged, period 0
    bytes((P.OP_PLAY_PATTERN, 1, 0xEA, 0x61, 10, 10)),  # period 60001 ms
    bytes((P.OP_PLAY_PATTERN, 11, 0xEA, 0x60, 10, 10)),  # 11 plays a minute apart: > 10 min
    bytes((P.OP_ACKNOWLEDGE, 0)),  # acknowledge takes no parameter
]
answers = [control(hw, app, w) for w in bad]
run_ms(hw, app, 1000)
assert not hw.haptic and app.player.patterns == 0, hw.haptic
good_edge = [
    bytes((P.OP_PLAY_PATTERN, 1, 0, 0, 5, 0)),  # one 50-ms pulse
    bytes((P.OP_PLAY_PATTERN, 10, 0xEA, 0x60, 10, 10)),  # 9 min 2 s of plays: allowed
    bytes((P.OP_PLAY_PATTERN, 255, 0, 0xC8)) + bytes((10, 10)),  # 255 plays, 200 ms apart
]
edge_answers = [control(hw, app, w) for w in good_edge]
emit("refused", answers=answers, edge=edge_answers, patterns=app.player.patterns)

# ---- 3. long press while the stop pattern waits for its next play: acknowledged
hw, app = new_app()
connect(hw, app)
run_ms(hw, app, 500)
t0 = now_ms(hw)
control(hw, app, STOP)
run_ms(hw, app, 4000)
k0 = len(hw.ble.sent(app.server.h_data, 1))
hw.set_button(True)
t_press = now_ms(hw)
run_ms(hw, app, 2500)
hw.set_button(False)
run_ms(hw, app, 25000)
emit(
    "stop_button_ack",
    press_at=t_press - t0,
    pin=pin_since(hw.haptic, t0),
    flags2=flags2_since(hw, app, k0),
    marks=len([f for f in hw.ble.sent(app.server.h_data, 1)[k0:] if f[1] & P.FLAG_PAIN_MARK]),
    acknowledged=app.player.acknowledged,
    holds=app.button.holds,
)

# ---- 3a. the frame with the flag fails to go out: the flag stays in that frame only (the
# ring keeps it for the host's resend request), not in the next one as well
hw, app = new_app()
connect(hw, app)
run_ms(hw, app, 500)
control(hw, app, STOP)
run_ms(hw, app, 500)
hw.set_button(True)
run_ms(hw, app, 1990)
k0 = len(hw.ble.sent(app.server.h_data, 1))
# every notification fails from just before the acknowledgement until a data frame built
# after it (the one with the flag) has failed
hw.ble.fail_notify = 1000
lost0 = -1
while lost0 < 0 or app.sampler.samples_lost == lost0:
    run_ms(hw, app, 10)
    if lost0 < 0 and app.player.acknowledged:
        lost0 = app.sampler.samples_lost
hw.ble.fail_notify = 0
run_ms(hw, app, 500)
hw.set_button(False)
run_ms(hw, app, 200)
live = hw.ble.sent(app.server.h_data, 1)[k0 - 1 :]
hole = None  # [first, count) of the samples that did not go out
for a, b in zip(live, live[1:]):
    end = int.from_bytes(a[4:8], "big") + a[14]
    if int.from_bytes(b[4:8], "big") != end:
        hole = (end, int.from_bytes(b[4:8], "big") - end)
k1 = len(hw.ble.sent(app.server.h_data, 1))
live_flags2 = flags2_since(hw, app, k0)
resend = control(hw, app, P.encode_resend(hole[0], hole[1]))
run_ms(hw, app, 200)
emit(
    "flag_in_a_failed_frame",
    acknowledged=app.player.acknowledged,
    hole=hole,
    resend=resend,
    live_flags2=live_flags2,
    resent_flags2=[f[1] for f in flags2_since(hw, app, k1)],
)

# ---- 3b. long press while a stop pulse is on: it is cut short, the blip comes apart
hw, app = new_app()
connect(hw, app)
run_ms(hw, app, 500)
t0 = now_ms(hw)
control(hw, app, STOP)
run_ms(hw, app, 100)
hw.set_button(True)
run_ms(hw, app, 2500)
hw.set_button(False)
run_ms(hw, app, 12000)
emit("stop_button_ack_in_pulse", pin=pin_since(hw.haptic, t0), led=pin_since(hw.led, t0))

# ---- 4. taps and holds that acknowledge nothing
hw, app = new_app()
connect(hw, app)
run_ms(hw, app, 500)
t0 = now_ms(hw)
control(hw, app, STOP)
k0 = len(hw.ble.sent(app.server.h_data, 1))
run_ms(hw, app, 3000)
hw.set_button(True)  # 1.5 s: neither a tap nor an acknowledgement
run_ms(hw, app, 1500)
hw.set_button(False)
run_ms(hw, app, 500)
hw.set_button(True)  # 300 ms: a tap, "pain now"
run_ms(hw, app, 300)
hw.set_button(False)
run_ms(hw, app, 500)
hw.press_button()  # shorter than one pass: still a tap
run_ms(hw, app, 8000)  # past the next play at 10 s
during = pin_since(hw.haptic, t0)
control(hw, app, bytes((P.OP_ACKNOWLEDGE,)))
run_ms(hw, app, 1000)
k1 = len(hw.ble.sent(app.server.h_data, 1))
hw.set_button(True)  # 2.5 s with no pattern: ignored (for now)
run_ms(hw, app, 2500)
hw.set_button(False)
run_ms(hw, app, 500)
frames = hw.ble.sent(app.server.h_data, 1)
emit(
    "no_ack",
    pin=during,
    marks=len([f for f in frames[k0:] if f[1] & P.FLAG_PAIN_MARK]),
    flags2=flags2_since(hw, app, k0),
    idle_hold_pin=pin_since(hw.haptic, now_ms(hw) - 3000),
    idle_hold_flags2=flags2_since(hw, app, k1),
    taps=app.button.taps,
    holds=app.button.holds,
)

# ---- 5. a caution (played once) can be acknowledged for 30 s after it ended
hw, app = new_app()
connect(hw, app)
control(hw, app, CAUTION)
run_ms(hw, app, 20000)
k0 = len(hw.ble.sent(app.server.h_data, 1))
hw.set_button(True)
run_ms(hw, app, 2100)
hw.set_button(False)
run_ms(hw, app, 500)
in_window = flags2_since(hw, app, k0)
control(hw, app, CAUTION)
run_ms(hw, app, 31000)
k1 = len(hw.ble.sent(app.server.h_data, 1))
hw.set_button(True)
run_ms(hw, app, 2100)
hw.set_button(False)
run_ms(hw, app, 500)
emit(
    "ack_window", in_window=in_window, after_window=flags2_since(hw, app, k1),
    acknowledged=app.player.acknowledged,
)  # fmt: skip

# ---- 6. link lost: 30 s without the host, once; the next frame says so
hw, app = new_app()
connect(hw, app)
run_ms(hw, app, 2000)
t_drop = now_ms(hw)
hw.ble.disconnect(1)
run_ms(hw, app, 90000)
lost_pin = pin_since(hw.haptic, t_drop)
cues = app.link_lost_cues
connect(hw, app, 2)
run_ms(hw, app, 1000)
after = flags2_since(hw, app, 0, conn=2)
# the host says goodbye (OP_STOP_STREAM) and leaves: no "link lost"
control(hw, app, bytes((P.OP_STOP_STREAM,)), 2)
hw.ble.disconnect(2)
run_ms(hw, app, 40000)
emit(
    "link_lost",
    pin=lost_pin,
    cues=cues,
    flags2_after_reconnect=after,
    cues_after_goodbye=app.link_lost_cues,
)

# ---- 7. link lost while the stop pattern repeats: it plays after the acknowledgement
hw, app = new_app()
connect(hw, app)
run_ms(hw, app, 500)
control(hw, app, STOP)
hw.ble.disconnect(1)
t0 = now_ms(hw)
run_ms(hw, app, 45000)
cues_before = app.link_lost_cues
hw.set_button(True)
run_ms(hw, app, 2100)
hw.set_button(False)
t_ack = now_ms(hw)
run_ms(hw, app, 3000)
emit(
    "link_lost_after_stop",
    cues_before=cues_before,
    cues=app.link_lost_cues,
    ack_at=t_ack - t0,
    pin=pin_since(hw.haptic, t_ack - 200),
)

# ---- 8. identify and the cue use the motor between plays, never inside one
hw, app = new_app()
connect(hw, app)
control(hw, app, bytes((P.OP_IDENTIFY, 3)))
run_ms(hw, app, 600)
t0 = now_ms(hw)
control(hw, app, P.encode_pattern([(300, 300)], 2, 1500))
run_ms(hw, app, 3000)
emit("identify_and_pattern", pin=pin_since(hw.haptic, t0))

# ---- 9. no allocation while a pattern plays and the button is held (the sampling path)
hw, app = new_app()
hw.ble.record = False


class Pins:
    def __init__(self):
        self.changes = 0
        self.level = False

    def set(self, on):
        self.changes += 1
        self.level = on


def write(data):
    hw.ble.write(1, app.server.h_control, data)
    app.step()


pins = Pins()
hw.set_haptic = pins.set
hw.set_led = pins.set
hw.ble.connect(1)
app.step()
hw.ble.exchange_mtu(1, 247)
write(bytes((P.OP_START_STREAM,)))
run_ms(hw, app, 2000)
write(P.encode_pattern([(60, 0)], 57, 353))  # coach: 170 steps/min for 20 s
hw.set_button(True)  # held, but below the 2-s threshold for most of the window
run_ms(hw, app, 200)
gc.collect()
changes0 = pins.changes
for i in range(1500):  # 15 s
    hw.clock.sleep_ms(10)
    hw.i2c._update()
    if i == 130:
        hw.set_button(False)  # 1.5 s: released before it would acknowledge (and print)
    now = hw.ticks_ms()
    micropython.heap_lock()
    try:
        app.server.service()
        app._poll_button(now)
        app._drain(app.sampler, now)
        app._haptics(now)
    finally:
        micropython.heap_unlock()
assert pins.changes - changes0 >= 2 * 40, pins.changes
emit("locked", changes=pins.changes - changes0, lost=app.sampler.samples_lost)
print("patterns ok")
