"""The firmware's main loop: sensor -> frames -> BLE, control point, status.

Hardware comes in through one ``hw`` object (see ``board.Board``): ``i2c``,
``ble``, ``uuid``, ``ticks_us``, ``ticks_ms``, ``ticks_diff``, ``sleep_ms``,
``battery_mv()``, ``set_haptic(on)``, ``set_led(on)``, ``button_presses``
(an int the BOOT-button IRQ increments), ``button_down()`` (the button's level),
``feed_watchdog()``. The same loop runs on the ESP32 and, with fakes, under the
MicroPython Unix port.

The motor (and the LED, which mirrors it) has three users: an alert pattern
(``patterns.PatternPlayer``: the host's ``OP_PLAY_PATTERN``, or the board's own
"link lost" and "long press taken"), the on-board cadence cue and identify. A
pattern owns the motor while it plays; the cue and identify use it between
plays. The BOOT button (``button.Button``): a tap is "pain now"; a 2-s hold
acknowledges the alert pattern playing (or ended less than 30 s ago); a 3-s hold
opens the pairing window; a 10-s hold forgets every bond (and opens the window).

Pairing window (docs/ble.md): open at power-up while the board has no bond,
after a 3-s hold, or on ``OP_OPEN_PAIRING`` from the bonded host; it closes after
``pairing_window_s`` (config) or once a new bond is made. While it is open the LED
blinks (a short flash every half second) and the advertisement says so.
"""

import gc

import backfill
import bonds
import config
import protocol
from ble_server import BleServer
from button import BUTTON_HOLD, BUTTON_TAP, Button
from micropython import const
from mpu6050 import MPU6050, MPU6050Error
from patterns import SOURCE_CONFIRM, SOURCE_LINK_LOST, PatternPlayer
from sampler import Sampler
from stride_cue import StrideCue

_LOOP_MS = const(10)  # main-loop sleep: the 1024-byte FIFO holds 85 ms at 1 kHz
_STATUS_MS = const(1000)  # status record refresh and notification
_BATTERY_MS = const(10000)  # battery ADC reading
_CONSOLE_MS = const(5000)  # status line on the serial console
_CUE_PULSE_MS = const(400)  # one haptic/buzzer cue pulse
_SENSOR_RETRY_MS = const(2000)  # retry opening a missing sensor
_LOW_BATTERY_PCT = const(15)  # FLAG_LOW_BATTERY / STATE_LOW_BATTERY at or below
_IDENTIFY_BLINK_MS = const(250)  # identify: LED and haptic toggle this often
_HEAP_RESERVE = const(12288)  # free heap kept after the backfill ring is allocated
_ACK_HOLD_MS = const(2000)  # a hold this long acknowledges an alert pattern
_TAP_MAX_MS = const(1000)  # a press shorter than this is "pain now"
_ACK_WINDOW_MS = const(30000)  # an alert pattern that ended by itself can be acknowledged this long
_LINK_LOST_MS = const(
    30000
)  # no streaming host this long (after one streamed): "link lost" pattern
_PATTERN_GAP_MS = const(1000)  # "link lost" waits this long after another pattern (not one buzz)
_PAIR_HOLD_MS = const(3000)  # a hold this long opens the pairing window
_CLEAR_HOLD_MS = const(10000)  # a hold this long forgets every bond
_PAIR_BLINK_PERIOD_MS = const(500)  # pairing window: the LED flashes once per period ...
_PAIR_BLINK_ON_MS = const(100)  # ... this long

# LiPo open-circuit voltage (mV) -> charge (%), piecewise linear
_BATTERY_CURVE = (
    (3300, 0),
    (3600, 10),
    (3700, 30),
    (3800, 55),
    (3900, 70),
    (4000, 82),
    (4100, 92),
    (4200, 100),
)


def battery_pct(mv):
    """State of charge (0..100) from cell voltage in mV; 255 when unknown."""
    if mv <= 0:
        return 255
    if mv <= _BATTERY_CURVE[0][0]:
        return 0
    for i in range(1, len(_BATTERY_CURVE)):
        v1, p1 = _BATTERY_CURVE[i]
        if mv <= v1:
            v0, p0 = _BATTERY_CURVE[i - 1]
            return p0 + (p1 - p0) * (mv - v0) // (v1 - v0)
    return 100


class App:
    """Everything the board does, one :meth:`step` at a time."""

    def __init__(
        self,
        hw,
        cfg=None,
        cfg_ok=True,
        cfg_reason="",
        cfg_path=config.CONFIG_PATH,
        ring_bytes=None,
        bonds_path=None,
    ):
        self.hw = hw
        self.cfg_path = cfg_path
        if bonds_path is None:  # next to the config file
            cut = cfg_path.rfind("/")
            bonds_path = (cfg_path[: cut + 1] if cut >= 0 else "") + bonds.BONDS_PATH
        self.bonds = bonds.BondStore(bonds_path)
        if cfg is None:
            cfg, cfg_ok, cfg_reason = config.load(cfg_path)
        self.cfg = cfg
        self.cfg_ok = cfg_ok
        self.cfg_reason = cfg_reason
        self.leg = protocol.LEG_NAMES.index(cfg["leg"])
        self.rate_hz = cfg["rate_hz"]
        self.stride = StrideCue(self.rate_hz)
        self.stride.target_spm = cfg["cadence_target_spm"]
        self.stride.cue_enabled = cfg["cue_enabled"]
        b = cfg["gyro_bias"]
        self.stride.set_bias(b[0], b[1], b[2])
        self.calibrated = cfg["calibrated"]
        self.server = BleServer(hw.ble, hw.uuid, self.leg, self.bonds)
        self.imu = None
        self.sampler = None
        self.last_result = 0
        self.mtu_too_small = False
        self.battery_mv = 0
        self.battery_pct = 255
        self._status = bytearray(protocol.STATUS_SIZE)
        self._rsc = bytearray(4)
        now = hw.ticks_ms()
        self._t_status = now
        self._t_battery = now - _BATTERY_MS
        self._t_console = now
        self._t_sensor = now
        self._t_uptime = now
        self.uptime_s = 0
        self._uptime_ms = 0
        self._cue_t = now
        self._cue_on = False
        self._identify_left = 0
        self._identify_on = False
        self._t_identify = now
        self._motor = False
        self.player = PatternPlayer(hw.ticks_diff, _ACK_WINDOW_MS)
        self.button = Button(
            hw.ticks_diff, (_ACK_HOLD_MS, _PAIR_HOLD_MS, _CLEAR_HOLD_MS), _TAP_MAX_MS
        )
        self.pairing_window_ms = cfg["pairing_window_s"] * 1000
        self._t_window = now
        self._led = False
        self.bonds_cleared = 0
        self._flags2_pending = 0  # FLAG2_* bits for the next frame a host receives
        self._host_armed = False  # a host streamed and did not say goodbye (OP_STOP_STREAM)
        self._t_host = now
        self._t_pattern = now  # the last pass a pattern was active
        self.link_lost_cues = 0
        self._strides = 0
        self._cadence_sent = 0
        self._was_calibrating = False
        self._start_pending = False
        self._open_sensor()
        if ring_bytes is None:
            ring_bytes = cfg.get("backfill_bytes", backfill.RING_BYTES)
        self.backfill = self._make_backfill(ring_bytes)
        if self.bonds.peers() == 0:
            self.open_pairing(now)  # a new sensor (or one whose bonds were cleared)
        else:
            self.server.advertise()

    def _make_backfill(self, want):
        """The largest ring up to ``want`` bytes that leaves ``_HEAP_RESERVE`` free (else None).

        The ring is allocated last, once at start-up: what the heap cannot give
        shortens the backfill span (see docs/firmware.md), never the firmware.
        """
        size = want
        while size >= backfill.RING_BYTES_MIN:  # 0 (off) never enters
            gc.collect()
            try:
                ring = backfill.Backfill(size)
            except MemoryError:
                ring = None
            if ring is not None:
                gc.collect()
                if gc.mem_free() >= _HEAP_RESERVE:
                    return ring
                ring = None
            size -= 4096
        gc.collect()
        return None

    # ------------------------------------------------------------ sensor
    def _open_sensor(self):
        hw = self.hw
        try:
            if self.imu is None:
                self.imu = MPU6050(hw.i2c, self.cfg["mpu_address"], hw.sleep_ms)
            if self.sampler is None:
                self.sampler = Sampler(self.imu, hw.ticks_us, hw.ticks_diff, self.stride)
            self.sampler.start(self.rate_hz)
            return True
        except (OSError, MPU6050Error):
            return False

    @property
    def sensor_ok(self):
        return self.sampler is not None and self.sampler.running and not self.sampler.fault

    # ------------------------------------------------------------ main loop
    def run(self):
        """Loop forever (the board's ``main``)."""
        hw = self.hw
        while True:
            self.step()
            hw.sleep_ms(_LOOP_MS)

    def step(self):
        """One pass: BLE events, control writes, drain the FIFO, housekeeping."""
        hw = self.hw
        now = hw.ticks_ms()
        server = self.server
        server.service()
        if server.pairing_open and (
            server.paired or hw.ticks_diff(now, self._t_window) >= self.pairing_window_ms
        ):
            self.close_pairing()
        if self.bonds.dirty:
            self.bonds.flush()
        w = server.next_write()
        while w is not None:
            self.handle_control(w[0], w[1])
            w = server.next_write()
        self._poll_button(now)
        sampler = self.sampler
        if sampler is None or not sampler.running:
            if hw.ticks_diff(now, self._t_sensor) >= _SENSOR_RETRY_MS:
                self._t_sensor = now
                self._open_sensor()
        else:
            self._drain(sampler, now)
        self._haptics(now)
        self._housekeeping(now)
        hw.feed_watchdog()

    def _drain(self, sampler, now):
        server = self.server
        mtu = server.stream_mtu()
        streaming = len(server.streaming) > 0
        too_small = streaming and protocol.samples_per_frame(mtu) == 0
        self.mtu_too_small = too_small
        sampler.set_mtu(mtu if streaming and not too_small else protocol.PREFERRED_MTU)
        ring = self.backfill
        live_ok = True
        frame = sampler.poll(now)
        while frame is not None:
            if frame[1] & protocol.FLAG_CUE:
                self._cue(now)
            if streaming and not too_small:
                if self._start_pending:
                    frame[1] |= protocol.FLAG_STREAM_START
                # a long press, a "link lost" played: in the next frame a host gets
                frame[protocol.FRAME_FLAGS2_OFFSET] |= self._flags2_pending
                if ring is not None:
                    # kept in the ring: the host gets it live or by resending it (in one
                    # frame only: a second copy would acknowledge a second alert)
                    self._flags2_pending = 0
            if ring is not None:
                ring.store(frame)  # sent or not: the host may ask for it later
            if streaming:
                if too_small:
                    sampler.drop(frame[14])
                elif server.send_frame(frame):
                    self._start_pending = False
                    self._flags2_pending = 0
                else:
                    sampler.drop(frame[14])
                    live_ok = False
            frame = sampler.poll(now)
        # resent frames only after this pass's live frames went out, never when one failed
        if live_ok and ring is not None and ring.pending():
            ring.serve(server)
        stride = self.stride
        if stride.strides != self._strides or (stride.cadence_spm == 0 and self._cadence_sent != 0):
            self._strides = stride.strides
            self._cadence_sent = stride.cadence_spm
            if server.conns:
                protocol.pack_rsc_measurement(self._rsc, 0, stride.cadence_spm, stride.running)
                server.send_rsc(self._rsc)
        if self._was_calibrating and not stride.calibrating:
            self._calibration_done()
        self._was_calibrating = stride.calibrating

    def _cue(self, now):
        self._cue_t = now
        self._cue_on = True
        self._drive()

    # ------------------------------------------------------------ button, motor, LED
    # ------------------------------------------------------------ pairing window
    def open_pairing(self, now):
        """Open (or restart) the pairing window."""
        self._t_window = now
        if not self.server.pairing_open:
            print("pairing window open for %d s" % (self.pairing_window_ms // 1000))
        self.server.set_pairing(True)

    def close_pairing(self):
        """Close the pairing window (time out, or a host bonded)."""
        print("pairing window closed (%s)" % ("bonded" if self.server.paired else "timeout"))
        self.server.set_pairing(False)
        self._drive()

    def clear_bonds(self):
        """Forget every bond and drop the links that used one."""
        self.bonds.clear()
        self.bonds.flush()
        self.bonds_cleared += 1
        for conn in list(self.server.trusted):
            self.server._drop.append(conn)
        print("bonds cleared")

    def _poll_button(self, now):
        """Tap: "pain now"; 2-s hold: acknowledge; 3 s: pairing window; 10 s: clear bonds."""
        hw = self.hw
        ev = self.button.update(hw.button_presses, hw.button_down(), now)
        if ev == 0:
            return
        if ev & BUTTON_TAP and self.sampler is not None:
            self.sampler.mark(protocol.FLAG_PAIN_MARK)
        if ev & BUTTON_HOLD and self.button.crossed_ms >= _PAIR_HOLD_MS:
            if self.button.crossed_ms >= _CLEAR_HOLD_MS:
                self.clear_bonds()
            self.open_pairing(now)
            return
        if ev & BUTTON_HOLD and self.button.crossed_ms >= _ACK_HOLD_MS:
            player = self.player
            if player.awaiting_ack(now):
                player.acknowledge(now)
                player.play_builtin(protocol.PATTERN_CONFIRM_MS, SOURCE_CONFIRM, now)
                player.update(now)  # its leading pause: the motor goes off now
                self._flags2_pending |= protocol.FLAG2_ACKNOWLEDGED
                self._drive()
                print("pattern ended by=button t_ms=%d" % now)

    def _haptics(self, now):
        """The "link lost" pattern, the pattern's next step, the cue and identify: the motor.

        No allocation (the "link lost" start prints a console line: once per outage).
        """
        hw = self.hw
        player = self.player
        if player.active:
            self._t_pattern = now
        if self.server.streaming:
            self._t_host = now
            self._host_armed = True
        elif (
            self._host_armed
            and hw.ticks_diff(now, self._t_host) >= _LINK_LOST_MS
            and hw.ticks_diff(now, self._t_pattern) >= _PATTERN_GAP_MS
        ):
            # the runner must know the protection is off (once per outage; an alert
            # pattern still repeating says more, so it goes first, and a pause keeps
            # the two apart)
            self._host_armed = False
            player.play_builtin(protocol.PATTERN_LINK_LOST_MS, SOURCE_LINK_LOST, now)
            self._flags2_pending |= protocol.FLAG2_LINK_LOST_CUE
            self.link_lost_cues += 1
            print("pattern link-lost t_ms=%d" % now)
        player.update(now)
        if self._cue_on and hw.ticks_diff(now, self._cue_t) >= _CUE_PULSE_MS:
            self._cue_on = False
        if self._identify_left > 0 and hw.ticks_diff(now, self._t_identify) >= _IDENTIFY_BLINK_MS:
            self._t_identify = now
            self._identify_left -= 1
            self._identify_on = self._identify_left % 2 == 1
        self._drive()

    def _drive(self):
        """Set the motor and the LED (which mirrors it, or flashes for the pairing window)."""
        player = self.player
        on = player.on if player.playing else (self._cue_on or self._identify_on)
        if on != self._motor:
            self._motor = on
            self.hw.set_haptic(on)
        led = on
        if not on and self.server.pairing_open:
            t = self.hw.ticks_diff(self.hw.ticks_ms(), self._t_window)
            led = t % _PAIR_BLINK_PERIOD_MS < _PAIR_BLINK_ON_MS
        if led != self._led:
            self._led = led
            self.hw.set_led(led)

    def _housekeeping(self, now):
        hw = self.hw
        d = hw.ticks_diff(now, self._t_uptime)
        if d >= 1000:
            self._t_uptime = now
            self._uptime_ms += d
            self.uptime_s += self._uptime_ms // 1000
            self._uptime_ms %= 1000
        if hw.ticks_diff(now, self._t_battery) >= _BATTERY_MS:
            self._t_battery = now
            self._read_battery()
        if hw.ticks_diff(now, self._t_status) >= _STATUS_MS:
            self._t_status = now
            # every second: the value, and a notification to the streaming centrals
            self.server.set_status(self.status(), notify=True, streaming_only=True)
        if hw.ticks_diff(now, self._t_console) >= _CONSOLE_MS:
            self._t_console = now
            print(self.status_line())

    def _read_battery(self):
        try:
            mv = self.hw.battery_mv()
        except Exception:
            mv = 0
        pct = battery_pct(mv)
        changed = pct != self.battery_pct
        self.battery_mv = mv
        self.battery_pct = pct
        if self.sampler is not None:
            low = pct <= _LOW_BATTERY_PCT
            self.sampler.sticky_flags = protocol.FLAG_LOW_BATTERY if low else 0
        if pct <= 100:  # unknown (no ADC reading): leave the Battery Level alone
            self.server.set_battery(pct, notify=changed)

    # ------------------------------------------------------------ status
    def state_bits(self):
        s = 0
        if self.server.streaming:
            s |= protocol.STATE_STREAMING
        if self.calibrated:
            s |= protocol.STATE_CALIBRATED
        if not self.cfg_ok:
            s |= protocol.STATE_CONFIG_DEFAULTS
        if self.mtu_too_small:
            s |= protocol.STATE_MTU_TOO_SMALL
        if self.battery_pct <= _LOW_BATTERY_PCT:
            s |= protocol.STATE_LOW_BATTERY
        if not self.sensor_ok:
            s |= protocol.STATE_SENSOR_FAULT
        if self.stride.calibrating:
            s |= protocol.STATE_CALIBRATING
        if self.stride.cue_enabled:
            s |= protocol.STATE_CUE_ENABLED
        return s

    def status(self):
        """The status record (a preallocated buffer, refreshed)."""
        sm = self.sampler
        fw = protocol.FIRMWARE_VERSION.split(".")
        protocol.pack_status(
            self._status,
            (
                protocol.STATUS_VERSION,
                self.state_bits(),
                self.rate_hz,
                self.leg,
                self.battery_pct,
                self.battery_mv,
                int(fw[0]),
                int(fw[1]),
                int(fw[2]),
                self.server.stream_mtu() or self.server.max_mtu(),
                sm.index & 0x3FFFFFFF if sm else 0,
                sm.samples_lost if sm else 0,
                min(sm.overflows, 0xFFFF) if sm else 0,
                min(sm.i2c_errors, 0xFFFF) if sm else 0,
                min(self.server.notify_errors, 0xFFFF),
                sm.frames if sm else 0,
                self.uptime_s,
                min(self.stride.cadence_spm, 255),
                self.last_result,
                self.security_bits(),
                min(self.server.access_refused, 0xFFFF),
            ),
        )
        return self._status

    def security_bits(self):
        s = 0
        if self.server.pairing_open:
            s |= protocol.SECURITY_PAIRING_OPEN
        if self.bonds.peers() > 0:
            s |= protocol.SECURITY_HAS_BONDS
        return s

    def status_line(self):
        """One human-readable line for the serial console."""
        sm = self.sampler
        return (
            "strideguard %s leg=%s rate=%d state=0x%02x mtu=%d samples=%d lost=%d ovf=%d i2c=%d frames=%d resent=%d ring=%d cadence=%d cfg=%s"
            % (
                protocol.FIRMWARE_VERSION,
                protocol.LEG_NAMES[self.leg],
                self.rate_hz,
                self.state_bits(),
                self.server.stream_mtu() or self.server.max_mtu(),
                sm.index if sm else 0,
                sm.samples_lost if sm else 0,
                sm.overflows if sm else 0,
                sm.i2c_errors if sm else 0,
                sm.frames if sm else 0,
                self.backfill.frames_resent if self.backfill else 0,
                self.backfill.capacity if self.backfill else 0,
                self.stride.cadence_spm,
                "ok" if self.cfg_ok else "defaults (%s)" % self.cfg_reason,
            )
        )

    # ------------------------------------------------------------ control point
    def handle_control(self, conn, data):
        """Validate and execute one control-point write; always answer it."""
        result, op, value = protocol.parse_control(data)
        if result == protocol.RESULT_SUCCESS and op == protocol.OP_RESEND:
            return self._resend(conn, data)
        if result == protocol.RESULT_SUCCESS:
            try:
                result = self._execute(conn, op, value, data)
            except Exception:
                result = protocol.RESULT_OPERATION_FAILED
        self.last_result = result
        self.server.respond(conn, op, result)
        self.server.set_status(self.status(), notify=True)
        return result

    def _resend(self, conn, data):
        """``OP_RESEND``: queue the range and answer with what will come (9 bytes).

        Neither ``last_result`` nor the status change: a link that loses frames
        asks often, and the status record reports the board, not the link.
        """
        ring = self.backfill
        if ring is None:  # no heap for a ring: nothing is ever available
            resp = bytearray(protocol.RESEND_RESPONSE_SIZE)
            protocol.encode_resend_response(resp, protocol.RESULT_NOT_AVAILABLE, 0, 0, 0)
        else:
            resp = ring.request(conn, data)
        self.server.respond_raw(conn, resp)
        return resp[2]

    def _execute(self, conn, op, value, data):
        P = protocol
        if op == P.OP_PLAY_PATTERN:
            self.player.play_write(data, self.hw.ticks_ms())
            self._drive()  # the first pulse starts now, not at the next pass
        elif op == P.OP_ACKNOWLEDGE:
            now = self.hw.ticks_ms()
            if self.player.acknowledge(now):
                print("pattern ended by=host t_ms=%d" % now)
            self._drive()
        elif op == P.OP_START_STREAM:
            if conn not in self.server.conns:
                return P.RESULT_OPERATION_FAILED
            self.server.start_stream(conn)
            self._start_pending = True  # flagged in the first frame delivered
        elif op == P.OP_STOP_STREAM:
            self.server.stop_stream(conn)
            if not self.server.streaming:
                self._host_armed = False  # the host said goodbye: no "link lost"
        elif op == P.OP_SET_RATE:
            if self.stride.calibrating:
                return P.RESULT_BUSY
            if self.sampler is None or value == self.rate_hz:
                if self.sampler is None:
                    return P.RESULT_OPERATION_FAILED
                return P.RESULT_SUCCESS
            old = self.rate_hz
            try:
                self.sampler.start(value)
            except (OSError, MPU6050Error):
                try:
                    self.sampler.start(old)
                except (OSError, MPU6050Error):
                    pass
                return P.RESULT_OPERATION_FAILED
            self.rate_hz = value
            self._save("rate_hz", value)
        elif op == P.OP_SET_LEG:
            if value != self.leg:
                self.leg = value
                self.server.set_leg(value)
                self._save("leg", P.LEG_NAMES[value])
        elif op == P.OP_CALIBRATE:
            if self.stride.calibrating:
                return P.RESULT_BUSY
            if not self.sensor_ok:
                return P.RESULT_OPERATION_FAILED
            self.stride.start_calibration(value)
        elif op == P.OP_IDENTIFY:
            self._identify_left = value * 1000 // _IDENTIFY_BLINK_MS
        elif op == P.OP_RESET_COUNTERS:
            if self.sampler is not None:
                self.sampler.reset_counters()
            self.server.notify_errors = 0
        elif op == P.OP_SET_CADENCE_TARGET:
            self.stride.target_spm = value
            self._save("cadence_target_spm", value)
        elif op == P.OP_SET_CUE:
            self.stride.cue_enabled = value == 1
            self._save("cue_enabled", value == 1)
        elif op == P.OP_MARK:
            if self.sampler is not None:
                self.sampler.mark(P.FLAG_PAIN_MARK)
        elif op == P.OP_CLEAR_BONDS:
            self.clear_bonds()  # this host's link goes too, after the answer
        elif op == P.OP_OPEN_PAIRING:
            self.open_pairing(self.hw.ticks_ms())
        else:
            return P.RESULT_OP_NOT_SUPPORTED
        return P.RESULT_SUCCESS

    def _calibration_done(self):
        s = self.stride
        if s.cal_ok:
            bias, gravity = s.calibration()
            self.cfg["gyro_bias"] = bias
            self.cfg["gravity"] = gravity
            self.cfg["calibrated"] = True
            self.calibrated = True
            self._save(None, None)
            self.last_result = protocol.RESULT_SUCCESS
        else:
            self.last_result = protocol.RESULT_OPERATION_FAILED
        self.server.set_status(self.status(), notify=True)

    def _save(self, key, value):
        if key is not None:
            self.cfg[key] = value
        try:
            config.save(self.cfg, self.cfg_path)
        except (OSError, ValueError):
            pass  # keeps running on the in-memory settings
