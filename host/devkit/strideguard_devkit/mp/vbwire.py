"""The virtual board's bridge wire format, shared by the board and the host.

The firmware's stand-in ``machine``/``bluetooth``/``time`` modules (MicroPython,
``vboard/hw``) and the host's :class:`~strideguard_devkit.vboard.bridge.RadioBridge`
(CPython) talk over one local TCP socket. This file is the one definition of
that conversation, written in the subset both runtimes accept (like
``firmware/protocol.py``): MicroPython imports it as ``vbwire`` from
``MICROPYPATH``, CPython as ``strideguard_devkit.mp.vbwire``. Public names do
not start with ``_`` (MicroPython drops underscore ``const`` names).

Message: ``kind`` (u8) + payload length (u16, big-endian) + payload. Payload
layouts (``FORMAT_*`` are ``struct`` formats of the fixed part; ``+ data`` /
``+ addr`` follow it)::

    board -> host
    MSG_TOKEN         token text (first message of a session: proves it is our board)
    MSG_REGISTER      JSON [[service uuid, [[char uuid, flags], ...]], ...]  -> MSG_HANDLES
    MSG_CONFIG        JSON of the ``BLE.config(...)`` keywords (gap_name, mtu)
    MSG_VALUE         FORMAT_VALUE handle, send_update + data
    MSG_NOTIFY        FORMAT_NOTIFY conn, handle, NOTIFY_* kind + data
    MSG_ADVERTISE     JSON {"interval_us", "adv" (hex), "resp" (hex), "connectable"} or null
    MSG_DISCONNECT    FORMAT_CONN conn
    MSG_EXCHANGE_MTU  FORMAT_CONN conn
    MSG_BUFFER        FORMAT_BUFFER handle, size (``gatts_set_buffer``)
    MSG_PIN           FORMAT_PIN gpio, level, board us (an output pin changed)
    MSG_FIRST         FORMAT_SAMPLE_AT source index, board us of the sensor's first FIFO sample
    MSG_CLOCK         FORMAT_CLOCK board us (sent every CLOCK_EVERY_US of wall time)
    MSG_PLAYING       FORMAT_SAMPLE_AT FIFO sample count, board us when playback started
    MSG_SECRET_REPLY  JSON {"r": what the firmware's _IRQ_GET_SECRET (hex or null) or
                      _IRQ_SET_SECRET (true/false) returned}, in the order asked
    host -> board
    MSG_HANDLES       JSON [[value handle, ...], ...] per service (reply to MSG_REGISTER)
    MSG_CONNECTED     FORMAT_PEER conn, address type + 6-byte address
    MSG_DISCONNECTED  FORMAT_PEER conn, address type + 6-byte address
    MSG_WRITTEN       FORMAT_WRITTEN conn, handle + data (a central wrote)
    MSG_MTU           FORMAT_MTU conn, mtu (ATT MTU exchanged)
    MSG_BUTTON        FORMAT_BUTTON gpio (a tap on it: the pin IRQ runs, the level stays up)
    MSG_BUTTON_HOLD   FORMAT_BUTTON_HOLD gpio, ms (held that long in board time: the level
                      reads low, the IRQ runs, then it goes up again)
    MSG_PLAY          empty (a paused sensor starts playing its samples)
    MSG_ENCRYPTED     FORMAT_ENCRYPTED conn, encrypted, authenticated, bonded, key size
                      (``_IRQ_ENCRYPTION_UPDATE``)
    MSG_GET_SECRET    JSON {"t": sec_type, "i": index, "k": key hex or null} -> MSG_SECRET_REPLY
    MSG_SET_SECRET    JSON {"t": sec_type, "k": key hex, "v": value hex or null (delete)}
                      -> MSG_SECRET_REPLY
"""

try:
    from micropython import const  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # CPython

    def const(x: int) -> int:  # type: ignore[no-redef, misc, unused-ignore]
        return x


import struct

HEADER_FORMAT = ">BH"
HEADER_SIZE = const(3)
MAX_PAYLOAD = const(0xFFFF)

# ---------------------------------------------------------------- board -> host
MSG_TOKEN = const(0x54)  # "T"
MSG_REGISTER = const(0x52)  # "R"
MSG_CONFIG = const(0x43)  # "C"
MSG_VALUE = const(0x56)  # "V"
MSG_NOTIFY = const(0x4E)  # "N"
MSG_ADVERTISE = const(0x41)  # "A"
MSG_DISCONNECT = const(0x44)  # "D"
MSG_EXCHANGE_MTU = const(0x4D)  # "M"
MSG_BUFFER = const(0x42)  # "B"
MSG_PIN = const(0x50)  # "P"
MSG_FIRST = const(0x46)  # "F"
MSG_CLOCK = const(0x4B)  # "K"
MSG_PLAYING = const(0x47)  # "G"
MSG_SECRET_REPLY = const(0x53)  # "S"
# ---------------------------------------------------------------- host -> board
MSG_HANDLES = const(0x48)  # "H"
MSG_CONNECTED = const(0x63)  # "c"
MSG_DISCONNECTED = const(0x64)  # "d"
MSG_WRITTEN = const(0x77)  # "w"
MSG_MTU = const(0x6D)  # "m"
MSG_BUTTON = const(0x62)  # "b"
MSG_PLAY = const(0x67)  # "g"
MSG_BUTTON_HOLD = const(0x68)  # "h"
MSG_ENCRYPTED = const(0x65)  # "e"
MSG_GET_SECRET = const(0x73)  # "s"
MSG_SET_SECRET = const(0x75)  # "u"

# ---------------------------------------------------------------- payloads
FORMAT_VALUE = ">HB"
FORMAT_NOTIFY = ">HHB"
FORMAT_CONN = ">H"
FORMAT_BUFFER = ">HH"
FORMAT_PIN = ">BBQ"
FORMAT_SAMPLE_AT = ">IQ"
FORMAT_CLOCK = ">Q"
FORMAT_PEER = ">HB"
FORMAT_WRITTEN = ">HH"
FORMAT_MTU = ">HH"
FORMAT_BUTTON = ">B"
FORMAT_BUTTON_HOLD = ">BI"
FORMAT_ENCRYPTED = ">HBBBB"
PEER_ADDRESS_SIZE = const(6)

NOTIFY_DATA = const(0)  # gatts_notify(conn, handle, data)
NOTIFY_VALUE = const(1)  # gatts_notify(conn, handle): the stored value
NOTIFY_INDICATE = const(2)  # gatts_indicate (sent as a notification)

# ---------------------------------------------------------------- session
SETTINGS_ENV = "STRIDEGUARD_VBOARD"  # names the board's JSON settings file
RESET_EXIT_CODE = const(75)  # machine.reset(): the interpreter exits with it, the host reboots it
SOCKET_BUFFER = const(16384)  # both ends: a busy host slows the board instead of lagging behind
CLOCK_EVERY_US = const(50000)  # wall time between MSG_CLOCK messages
DEFAULT_BUFFER = const(20)  # a characteristic's write buffer without gatts_set_buffer (MicroPython)


def encode(kind: int, payload: bytes = b"") -> bytes:
    """One message: header + payload."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("payload too long")
    return struct.pack(HEADER_FORMAT, kind, len(payload)) + bytes(payload)


def decode_header(head: bytes) -> tuple:
    """``(kind, payload length)`` of a message header (``HEADER_SIZE`` bytes)."""
    kind, n = struct.unpack(HEADER_FORMAT, head)
    return kind, n


def split(data: bytes) -> tuple:
    """Cut a byte stream into messages.

    Returns ``(messages, rest)``: the complete ``(kind, payload)`` messages at
    the start of ``data`` and the bytes of an incomplete one after them.
    """
    out = []
    i = 0
    end = len(data)
    while end - i >= HEADER_SIZE:
        n = (data[i + 1] << 8) | data[i + 2]
        if end - i < HEADER_SIZE + n:
            break
        out.append((data[i], bytes(data[i + HEADER_SIZE : i + HEADER_SIZE + n])))
        i += HEADER_SIZE + n
    return out, bytes(data[i:])
