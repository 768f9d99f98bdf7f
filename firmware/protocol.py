"""strideguard wire protocol, shared by the firmware and the host.

This one file is the single source of truth for the BLE GATT profile, the
stream frame layout, control-point opcodes and result codes, and the status
record. It is written in the Python subset that both MicroPython and CPython
accept: the firmware imports it as ``protocol``; the host package imports the
very same file as ``strideguard.protocol`` (a symbolic link). Public constants
must not start with ``_``: MicroPython strips underscore ``const`` names.

All multi-byte fields are **big-endian**, like the MPU6050 FIFO, so the
sensor's bytes go straight into a frame without conversion.

Stream frame (one BLE notification, at most MTU - 3 bytes)::

    offset size field
    0      1    version            FRAME_VERSION (2; the host also reads version 1)
    1      1    flags              FLAG_* bits
    2      2    seq                frame sequence number, wraps at 65536
    4      4    first_index        running index of the first sample (wraps at 2**32)
    8      4    t_us               board microsecond clock of the first sample (wraps)
    12     2    rate_hz            nominal sample rate
    14     1    count              samples in this frame (1..MAX_SAMPLES_PER_FRAME)
    15     1    flags2             FLAG2_* bits (version 1: reserved, 0)
    16     12*n samples            ax ay az gx gy gz, int16 each (MPU6050 FIFO order)

A frame with ``FLAG2_BACKFILL`` is a resend (``OP_RESEND``) of samples the board
built earlier, with their original index and board timestamp.

Alert patterns (``OP_PLAY_PATTERN``): the host sends a short list of on/off
durations for the haptic motor, how often to play it and how far apart; the
board plays it from its main loop (``firmware/patterns.py``) until done,
acknowledged (a long press: ``FLAG2_ACKNOWLEDGED`` in the stream; or the host's
``OP_ACKNOWLEDGE``) or replaced. Layout (big-endian)::

    offset size field
    0      1    opcode             OP_PLAY_PATTERN
    1      1    repeats            plays in all, 1..255; 0 = until acknowledged
    2      2    period_ms          start of one play to the start of the next
    4      2*n  (on, off) pairs    10-ms units; n = 1..PATTERN_MAX_PULSES

Accelerometer LSB: ACC_LSB_PER_G (±16 g range); gyroscope LSB:
GYR_LSB_PER_DPS_X10 / 10 (±2000 °/s range).
"""

try:
    from micropython import const  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # CPython

    def const(x: int) -> int:  # type: ignore[no-redef, misc, unused-ignore]
        return x


import struct

# ---------------------------------------------------------------- versions
PROTOCOL_VERSION = const(
    4
)  # 4: status record version 2, OP_CLEAR_BONDS, OP_OPEN_PAIRING, ADV_* bits
FRAME_VERSION = const(2)  # what the board sends: byte 15 carries FLAG2_* bits
FRAME_VERSION_1 = const(1)  # older boards: byte 15 reserved (0); the host still reads it
STATUS_VERSION = const(2)  # 2 appends security and access_refused; the host still reads 1

# ---------------------------------------------------------------- GATT UUIDs
# Custom 128-bit service: base 7d2eXXXX-5a4b-4c6f-9e21-53545244474e
SERVICE_UUID = "7d2e0001-5a4b-4c6f-9e21-53545244474e"
DATA_CHAR_UUID = "7d2e0002-5a4b-4c6f-9e21-53545244474e"  # notify: stream frames
CONTROL_CHAR_UUID = "7d2e0003-5a4b-4c6f-9e21-53545244474e"  # write + notify: commands, responses
STATUS_CHAR_UUID = "7d2e0004-5a4b-4c6f-9e21-53545244474e"  # read + notify: status record

# Standard SIG services and characteristics (16-bit)
DEVICE_INFO_SERVICE_UUID16 = const(0x180A)
MANUFACTURER_NAME_UUID16 = const(0x2A29)
MODEL_NUMBER_UUID16 = const(0x2A24)
FIRMWARE_REVISION_UUID16 = const(0x2A26)
BATTERY_SERVICE_UUID16 = const(0x180F)
BATTERY_LEVEL_UUID16 = const(0x2A19)
RSC_SERVICE_UUID16 = const(0x1814)
RSC_MEASUREMENT_UUID16 = const(0x2A53)
RSC_FEATURE_UUID16 = const(0x2A54)
SENSOR_LOCATION_UUID16 = const(0x2A5D)

DEVICE_NAME_PREFIX = "StrideGuard-"
MANUFACTURER_NAME = "strideguard"
MODEL_NUMBER = "SG-ESP32-MPU6050"
FIRMWARE_VERSION = "0.4.0"
# a board whose status reports at least this firmware answers OP_RESEND (backfill)
BACKFILL_FIRMWARE = (0, 2, 0)
# ... and plays alert patterns (OP_PLAY_PATTERN, OP_ACKNOWLEDGE, the long press)
PATTERN_FIRMWARE = (0, 3, 0)
# ... and keeps bonds: its custom service needs an encrypted, bonded link (see docs/ble.md)
SECURITY_FIRMWARE = (0, 4, 0)

# ---------------------------------------------------------------- advertising
# Manufacturer-specific data in the advertisement: company 0xFFFF (the SIG's value
# for tests and devices without a company identifier) + one byte of ADV_* bits.
ADV_COMPANY_ID = const(0xFFFF)
ADV_PAIRING_OPEN = const(0x01)  # the pairing window is open: a new host may pair now
ADV_HAS_BONDS = const(0x02)  # the sensor is bonded to some host


def decode_adv_flags(manufacturer_data: dict) -> "int | None":
    """The ADV_* bits of a scanned sensor's manufacturer data (None: older firmware)."""
    v = manufacturer_data.get(ADV_COMPANY_ID)
    if v is None or len(v) < 1:
        return None
    return v[0]


# ---------------------------------------------------------------- frame layout
FRAME_HEADER_FORMAT = ">BBHIIHBB"
FRAME_HEADER_PACK_FORMAT = ">BBHHHHHHBB"  # same bytes, u32 fields as u16 halves
FRAME_HEADER_SIZE = const(16)
SAMPLE_SIZE = const(12)  # 6 x int16, big-endian
ATT_OVERHEAD = const(3)  # notification payload = MTU - 3
DEFAULT_MTU = const(23)
PREFERRED_MTU = const(247)
MAX_SAMPLES_PER_FRAME = const(40)  # caps the frame buffer (MTU 512)

FLAG_FIFO_OVERFLOW = const(0x01)  # samples were lost in the sensor FIFO before this frame
FLAG_SATURATED = const(0x02)  # a sample in this frame is at the int16 rail (clipped)
FLAG_PAIN_MARK = const(0x04)  # the runner pressed the button ("pain now")
FLAG_I2C_RECOVERED = const(0x08)  # an I2C fault was recovered before this frame
FLAG_STREAM_START = const(0x10)  # first frame after (re)starting the stream
FLAG_CALIBRATING = const(0x20)  # the board is running a standing calibration
FLAG_LOW_BATTERY = const(0x40)
FLAG_CUE = const(0x80)  # the on-board cue (haptic/buzzer) fired in this frame

# byte 15 of a version-2 frame; bits 0x08..0x80 are spare (later protocol versions
# may assign them: a reader ignores the bits it does not know)
FRAME_FLAGS2_OFFSET = const(15)
FLAG2_BACKFILL = const(0x01)  # resent on request (OP_RESEND): original index and t_us
FLAG2_ACKNOWLEDGED = const(0x02)  # the runner held the button: the alert pattern is acknowledged
FLAG2_LINK_LOST_CUE = const(0x04)  # with no host, the board played the "link lost" pattern
FLAG2_KNOWN = const(0x07)  # the FLAG2_* bits this version defines

ACC_RANGE_G = const(16)
GYR_RANGE_DPS = const(2000)
ACC_LSB_PER_G = const(2048)
GYR_LSB_PER_DPS_X10 = const(164)  # 16.4 LSB per °/s
STANDARD_GRAVITY_MM_S2 = const(9807)  # m/s² x 1000

SUPPORTED_RATES_HZ = (100, 200, 250, 500, 1000)
DEFAULT_RATE_HZ = const(500)


def samples_per_frame(mtu: int) -> int:
    """Number of samples one notification carries at ``mtu`` (0 if none fits)."""
    n = (mtu - ATT_OVERHEAD - FRAME_HEADER_SIZE) // SAMPLE_SIZE
    if n < 0:
        return 0
    if n > MAX_SAMPLES_PER_FRAME:
        return MAX_SAMPLES_PER_FRAME
    return n


def frame_size(count: int) -> int:
    """Bytes of a frame carrying ``count`` samples."""
    return FRAME_HEADER_SIZE + SAMPLE_SIZE * count


def pack_frame_header(
    buf: bytearray,
    flags: int,
    seq: int,
    first_index: int,
    t_us: int,
    rate_hz: int,
    count: int,
    flags2: int = 0,
) -> None:
    """Write a (version 2) frame header into ``buf`` (no allocation)."""
    pack_frame_header_halves(
        buf, flags, seq, first_index, (t_us >> 16) & 0xFFFF, t_us & 0xFFFF, rate_hz, count, flags2
    )


def pack_frame_header_halves(
    buf: bytearray,
    flags: int,
    seq: int,
    first_index: int,
    t_us_hi: int,
    t_us_lo: int,
    rate_hz: int,
    count: int,
    flags2: int = 0,
) -> None:
    """:func:`pack_frame_header` with ``t_us`` given as its high and low 16-bit halves.

    The board keeps its u32 microsecond clock as two halves: on the ESP32 (31-bit
    small ints) a u32 value, and ``x & 0xFFFFFFFF``, would allocate a big int on
    every frame. The u32 fields are written as u16 halves for the same reason.
    """
    struct.pack_into(
        FRAME_HEADER_PACK_FORMAT,
        buf,
        0,
        FRAME_VERSION,
        flags & 0xFF,
        seq & 0xFFFF,
        (first_index >> 16) & 0xFFFF,
        first_index & 0xFFFF,
        t_us_hi & 0xFFFF,
        t_us_lo & 0xFFFF,
        rate_hz,
        count,
        flags2 & 0xFF,
    )


def unpack_frame_header(data: bytes) -> tuple:
    """Return (version, flags, seq, first_index, t_us, rate_hz, count); byte 15 is ``flags2``."""
    v = struct.unpack_from(FRAME_HEADER_FORMAT, data, 0)
    return v[0], v[1], v[2], v[3], v[4], v[5], v[6]


# ---------------------------------------------------------------- control point
# Write: [opcode, params...]. The board answers every write with a notification
# on the same characteristic: [RESPONSE_CODE, opcode, result].
OP_START_STREAM = const(0x01)  # no parameter
OP_STOP_STREAM = const(0x02)  # no parameter
OP_SET_RATE = const(0x03)  # u16 rate in Hz, one of SUPPORTED_RATES_HZ
OP_SET_LEG = const(0x04)  # u8 LEG_LEFT | LEG_RIGHT
OP_CALIBRATE = const(0x05)  # u8 seconds of standing still, 1..10
OP_IDENTIFY = const(0x06)  # u8 seconds of buzz/blink, 1..30
OP_RESET_COUNTERS = const(0x07)  # no parameter
OP_SET_CADENCE_TARGET = const(0x08)  # u8 steps/min, 0 = cue off, else 120..220
OP_SET_CUE = const(0x09)  # u8 0 = off, 1 = on
OP_MARK = const(0x0A)  # no parameter: host-side "pain now" (same flag as the button)
OP_RESEND = const(0x0B)  # u32 first running index, u16 count: resend those samples (backfill)
OP_PLAY_PATTERN = const(0x0C)  # u8 repeats, u16 period ms, 1..8 x (u8 on, u8 off) in 10 ms
OP_ACKNOWLEDGE = const(0x0D)  # no parameter: the host acknowledged: stop the pattern's repeats
OP_CLEAR_BONDS = const(0x0E)  # no parameter: forget every bond (the host's too: it is disconnected)
OP_OPEN_PAIRING = const(0x0F)  # no parameter: open the pairing window (as a 3-s button press)
RESPONSE_CODE = const(0x80)

RESULT_SUCCESS = const(0x01)
RESULT_OP_NOT_SUPPORTED = const(0x02)
RESULT_INVALID_PARAMETER = const(0x03)
RESULT_OPERATION_FAILED = const(0x04)
RESULT_BAD_LENGTH = const(0x05)
RESULT_BUSY = const(0x06)
RESULT_NOT_AVAILABLE = const(0x07)  # OP_RESEND: (part of) the range is no longer in the ring

LEG_LEFT = const(0)
LEG_RIGHT = const(1)
LEG_NAMES = ("L", "R")

CALIBRATE_MIN_S = const(1)
CALIBRATE_MAX_S = const(10)
IDENTIFY_MIN_S = const(1)
IDENTIFY_MAX_S = const(30)
CADENCE_TARGET_MIN_SPM = const(120)
CADENCE_TARGET_MAX_SPM = const(220)
RESEND_RESPONSE_SIZE = const(9)  # [0x80, OP_RESEND, result, u32 first, u16 count]

# longest control write the board takes in whole (its GATT buffer): the longest valid
# one (OP_PLAY_PATTERN, 8 pulses) has 20 bytes; a longer one arrives whole and is refused
CONTROL_WRITE_MAX = const(24)

# OP_PLAY_PATTERN limits (see the module docstring for the layout)
PATTERN_HEADER_SIZE = const(4)  # opcode, repeats, u16 period_ms
PATTERN_MAX_PULSES = const(8)  # (on, off) pairs: the write is at most 20 bytes
PATTERN_UNIT_MS = const(10)  # on/off durations are sent in these units
PATTERN_ON_MIN_MS = const(50)  # a shorter pulse does not spin a coin motor up to be felt
PATTERN_PERIOD_MAX_MS = const(60000)
PATTERN_SPAN_MAX_MS = const(600000)  # a finite pattern lasts at most 10 min
PATTERN_UNTIL_ACK = const(0)  # repeats: play until acknowledged (the board stops after the span)
# built-in patterns (on, off, on, off, ... ms): what the board plays by itself
PATTERN_LINK_LOST_MS = (800, 200, 100, 150, 100, 150, 100, 0)  # long, then three short
# one blip, after a pause that sets it apart from a pulse the long press cut short
# (a pulse of 0 ms: the pause comes first): the long press was taken
PATTERN_CONFIRM_MS = (0, 250, 100, 0)

# opcode -> parameter length in bytes
CONTROL_PARAM_LENGTHS = {
    OP_START_STREAM: 0,
    OP_STOP_STREAM: 0,
    OP_SET_RATE: 2,
    OP_SET_LEG: 1,
    OP_CALIBRATE: 1,
    OP_IDENTIFY: 1,
    OP_RESET_COUNTERS: 0,
    OP_SET_CADENCE_TARGET: 1,
    OP_SET_CUE: 1,
    OP_MARK: 0,
    OP_RESEND: 6,
    OP_PLAY_PATTERN: -1,  # variable: PATTERN_HEADER_SIZE - 1 + 2..2 * PATTERN_MAX_PULSES
    OP_ACKNOWLEDGE: 0,
    OP_CLEAR_BONDS: 0,
    OP_OPEN_PAIRING: 0,
}


def encode_control(opcode: int, value: "int | None" = None) -> bytes:
    """Build a control-point write (host side).

    ``OP_RESEND``: see :func:`encode_resend`; ``OP_PLAY_PATTERN``: :func:`encode_pattern`.
    """
    n = CONTROL_PARAM_LENGTHS.get(opcode, 0)
    if n < 0:
        raise ValueError("use encode_pattern for OP_PLAY_PATTERN")
    if n == 0:
        return bytes((opcode,))
    if value is None:
        raise ValueError("opcode needs a parameter")
    if n == 1:
        return bytes((opcode, value & 0xFF))
    if n == 2:
        return bytes((opcode, (value >> 8) & 0xFF, value & 0xFF))
    raise ValueError("use encode_resend for OP_RESEND")


def encode_resend(first_index: int, count: int) -> bytes:
    """``OP_RESEND`` write: resend ``count`` samples from running index ``first_index`` (host side)."""
    f = first_index & 0xFFFFFFFF
    return bytes(
        (
            OP_RESEND,
            (f >> 24) & 0xFF,
            (f >> 16) & 0xFF,
            (f >> 8) & 0xFF,
            f & 0xFF,
            (count >> 8) & 0xFF,
            count & 0xFF,
        )
    )


def resend_first_index(data: bytes) -> int:
    """The u32 first index of a valid ``OP_RESEND`` write (checked by :func:`parse_control`).

    On the ESP32 an index at or above 2**30 (24 days at 500 Hz) is a big integer:
    this runs once per request, never per frame.
    """
    return (data[1] << 24) | (data[2] << 16) | (data[3] << 8) | data[4]


def encode_pattern(pulses_ms: "list | tuple", repeats: int = 1, period_ms: int = 0) -> bytes:
    """``OP_PLAY_PATTERN`` write (host side).

    ``pulses_ms`` is a sequence of ``(on_ms, off_ms)`` pairs, rounded to
    ``PATTERN_UNIT_MS``; ``repeats`` the plays in all (``PATTERN_UNTIL_ACK``:
    until acknowledged), ``period_ms`` from the start of one play to the start
    of the next. Raises ``ValueError`` for a pattern the board would refuse.
    """
    if not 0 <= repeats <= 255 or not 0 <= period_ms <= 0xFFFF:
        raise ValueError("repeats must be 0..255 and period_ms 0..65535")
    out = bytearray((OP_PLAY_PATTERN, repeats, period_ms >> 8, period_ms & 0xFF))
    for on_ms, off_ms in pulses_ms:
        on = (on_ms + PATTERN_UNIT_MS // 2) // PATTERN_UNIT_MS
        off = (off_ms + PATTERN_UNIT_MS // 2) // PATTERN_UNIT_MS
        if not 0 <= on <= 255 or not 0 <= off <= 255:
            raise ValueError("a pulse or pause is longer than 2550 ms")
        out.append(on)
        out.append(off)
    data = bytes(out)
    result = pattern_result(data)
    if result != RESULT_SUCCESS:
        raise ValueError("the board would refuse this pattern (result " + str(result) + ")")
    return data


def pattern_result(data: bytes) -> int:
    """Check an ``OP_PLAY_PATTERN`` write; ``RESULT_SUCCESS`` or the error to answer.

    Wrong length (not 1..``PATTERN_MAX_PULSES`` pairs) is ``RESULT_BAD_LENGTH``;
    a pulse shorter than ``PATTERN_ON_MIN_MS``, a period above
    ``PATTERN_PERIOD_MAX_MS`` or shorter than one play (when it repeats), or
    more than ``PATTERN_SPAN_MAX_MS`` of plays is ``RESULT_INVALID_PARAMETER``.
    No allocation (the board runs it once per write).
    """
    n = len(data)
    body = n - PATTERN_HEADER_SIZE  # bytes of (on, off) pairs
    if body < 2 or body > 2 * PATTERN_MAX_PULSES or body & 1:
        return RESULT_BAD_LENGTH
    repeats = data[1]
    period = (data[2] << 8) | data[3]
    units = 0
    for i in range(PATTERN_HEADER_SIZE, n, 2):
        if data[i] * PATTERN_UNIT_MS < PATTERN_ON_MIN_MS:
            return RESULT_INVALID_PARAMETER
        units += data[i] + data[i + 1]
    if period > PATTERN_PERIOD_MAX_MS:
        return RESULT_INVALID_PARAMETER
    if repeats != 1 and period < units * PATTERN_UNIT_MS:
        return RESULT_INVALID_PARAMETER  # plays would overlap
    if repeats > 1 and (repeats - 1) * period + units * PATTERN_UNIT_MS > PATTERN_SPAN_MAX_MS:
        return RESULT_INVALID_PARAMETER
    return RESULT_SUCCESS


def decode_pattern(data: bytes) -> tuple:
    """``(repeats, period_ms, [(on_ms, off_ms), ...])`` of a valid ``OP_PLAY_PATTERN`` write."""
    pulses = []
    for i in range(PATTERN_HEADER_SIZE, len(data) - 1, 2):
        pulses.append((data[i] * PATTERN_UNIT_MS, data[i + 1] * PATTERN_UNIT_MS))
    return data[1], (data[2] << 8) | data[3], pulses


def parse_control(data: bytes) -> tuple:
    """Validate a control-point write.

    Returns ``(result, opcode, value)``: ``result`` is RESULT_SUCCESS when the
    command is well formed and its parameter in range, otherwise the error code
    to send back; ``value`` is the decoded parameter (or -1; ``OP_PLAY_PATTERN``:
    the number of pulses). Never raises.
    """
    if len(data) < 1:
        return RESULT_BAD_LENGTH, 0, -1
    op = data[0]
    if op not in CONTROL_PARAM_LENGTHS:
        return RESULT_OP_NOT_SUPPORTED, op, -1
    if op == OP_PLAY_PATTERN:
        result = pattern_result(data)
        if result == RESULT_BAD_LENGTH:
            return result, op, -1
        return result, op, (len(data) - PATTERN_HEADER_SIZE) // 2
    n = CONTROL_PARAM_LENGTHS[op]
    if len(data) != 1 + n:
        return RESULT_BAD_LENGTH, op, -1
    if n == 0:
        return RESULT_SUCCESS, op, -1
    if n == 1:
        value = data[1]
    elif n == 2:
        value = (data[1] << 8) | data[2]
    else:  # OP_RESEND: the value is the count (the first index: resend_first_index)
        value = (data[5] << 8) | data[6]
    ok = True
    if op == OP_SET_RATE:
        ok = value in SUPPORTED_RATES_HZ
    elif op == OP_SET_LEG:
        ok = value == LEG_LEFT or value == LEG_RIGHT
    elif op == OP_CALIBRATE:
        ok = CALIBRATE_MIN_S <= value <= CALIBRATE_MAX_S
    elif op == OP_IDENTIFY:
        ok = IDENTIFY_MIN_S <= value <= IDENTIFY_MAX_S
    elif op == OP_SET_CADENCE_TARGET:
        ok = value == 0 or CADENCE_TARGET_MIN_SPM <= value <= CADENCE_TARGET_MAX_SPM
    elif op == OP_SET_CUE:
        ok = value == 0 or value == 1
    elif op == OP_RESEND:
        ok = value >= 1
    if not ok:
        return RESULT_INVALID_PARAMETER, op, value
    return RESULT_SUCCESS, op, value


def encode_control_response(buf: bytearray, opcode: int, result: int) -> None:
    """Write a 3-byte control response into ``buf`` (no allocation)."""
    buf[0] = RESPONSE_CODE
    buf[1] = opcode & 0xFF
    buf[2] = result & 0xFF


def encode_resend_response(
    buf: bytearray, result: int, first_hi: int, first_lo: int, count: int
) -> None:
    """Write the 9-byte ``OP_RESEND`` response into ``buf`` (no allocation).

    ``first_hi``/``first_lo`` are the 16-bit halves of the first index the board
    will resend and ``count`` how many samples from there (0: none). With
    ``RESULT_SUCCESS`` that is the whole request; with ``RESULT_NOT_AVAILABLE``
    the rest of the request is gone for good.
    """
    buf[0] = RESPONSE_CODE
    buf[1] = OP_RESEND
    buf[2] = result & 0xFF
    buf[3] = (first_hi >> 8) & 0xFF
    buf[4] = first_hi & 0xFF
    buf[5] = (first_lo >> 8) & 0xFF
    buf[6] = first_lo & 0xFF
    buf[7] = (count >> 8) & 0xFF
    buf[8] = count & 0xFF


def decode_resend_response(data: bytes) -> "tuple | None":
    """``(result, first_index, count)`` of an ``OP_RESEND`` response, else None (host side)."""
    if len(data) < RESEND_RESPONSE_SIZE or data[0] != RESPONSE_CODE or data[1] != OP_RESEND:
        return None
    first = (data[3] << 24) | (data[4] << 16) | (data[5] << 8) | data[6]
    return data[2], first, (data[7] << 8) | data[8]


# ---------------------------------------------------------------- status record
# Read/notify on STATUS_CHAR_UUID.
STATUS_FORMAT = ">BBHBBHBBBHIIHHHIIBBBH"
STATUS_SIZE = const(40)
STATUS_FORMAT_V1 = ">BBHBBHBBBHIIHHHIIBB"  # firmware before 0.4.0
STATUS_SIZE_V1 = const(37)
STATUS_FIELDS = (
    "version",  # B STATUS_VERSION
    "state",  # B STATE_* bits
    "rate_hz",  # H
    "leg",  # B LEG_LEFT | LEG_RIGHT
    "battery_pct",  # B 0..100, 255 = unknown
    "battery_mv",  # H 0 = unknown
    "fw_major",  # B
    "fw_minor",  # B
    "fw_patch",  # B
    "mtu",  # H negotiated ATT MTU (0 = not connected)
    "samples_total",  # I running sample counter
    "samples_dropped",  # I samples lost to FIFO overflow or unsent frames
    "fifo_overflows",  # H
    "i2c_errors",  # H
    "notify_errors",  # H
    "frames_sent",  # I
    "uptime_s",  # I
    "cadence_spm",  # B on-board cadence estimate, steps/min (0 = none)
    "last_result",  # B result of the last control write
    "security",  # B SECURITY_* bits (version 2; None in a version-1 record)
    "access_refused",  # H refused pairings and control writes from unbonded links (v2)
)

STATE_STREAMING = const(0x01)
STATE_CALIBRATED = const(0x02)
STATE_CONFIG_DEFAULTS = const(0x04)  # config file missing or corrupt: defaults in use
STATE_MTU_TOO_SMALL = const(0x08)  # MTU cannot carry one sample: stream paused
STATE_LOW_BATTERY = const(0x10)
STATE_SENSOR_FAULT = const(0x20)  # IMU not answering
STATE_CALIBRATING = const(0x40)
STATE_CUE_ENABLED = const(0x80)

SECURITY_PAIRING_OPEN = const(0x01)  # the pairing window is open
SECURITY_HAS_BONDS = const(0x02)  # the board keeps at least one bond


def pack_status(buf: bytearray, values: tuple) -> None:
    """Write a status record into ``buf`` from a tuple in STATUS_FIELDS order."""
    struct.pack_into(STATUS_FORMAT, buf, 0, *values)


def unpack_status(data: bytes) -> dict:
    """Return a dict of STATUS_FIELDS from a status record (version 1: the last two None)."""
    if len(data) < STATUS_SIZE:
        # concatenation: MicroPython lacks PEP 448 unpacking in tuple displays
        v = struct.unpack_from(STATUS_FORMAT_V1, data, 0) + (None, None)  # noqa: RUF005
    else:
        v = struct.unpack_from(STATUS_FORMAT, data, 0)
    d = {}
    for i in range(len(STATUS_FIELDS)):
        d[STATUS_FIELDS[i]] = v[i]
    return d


# ---------------------------------------------------------------- RSC (0x2A53)
RSC_FLAG_STRIDE_LENGTH = const(0x01)
RSC_FLAG_TOTAL_DISTANCE = const(0x02)
RSC_FLAG_RUNNING = const(0x04)
RSC_FEATURE_WALK_RUN_STATUS = const(0x0004)  # RSC Feature bit 2
SENSOR_LOCATION_OTHER = const(0x00)  # Sensor Location: no "shin" value exists


def pack_rsc_measurement(
    buf: bytearray, speed_mps_256: int, cadence_spm: int, running: bool
) -> int:
    """Write a 4-byte RSC Measurement (no stride length, no distance).

    ``speed_mps_256`` is the instantaneous speed in 1/256 m/s (0 when unknown),
    ``cadence_spm`` the instantaneous cadence. The Bluetooth RSC profile
    defines the cadence field as "1/minute" of steps (uint8). Returns the length.
    """
    flags = RSC_FLAG_RUNNING if running else 0
    struct.pack_into("<BHB", buf, 0, flags, speed_mps_256 & 0xFFFF, min(cadence_spm, 255))
    return 4
