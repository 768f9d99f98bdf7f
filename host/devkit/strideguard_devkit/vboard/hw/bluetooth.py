"""``bluetooth`` for the virtual board: the BLE API, forwarded to the host.

Every GATT server call of the firmware (registration, values, notifications,
advertising, disconnects, MTU requests) goes over the socket of :mod:`vbhw`
to a bumble peripheral on the host (``strideguard_devkit.vboard.bridge``), which
serves it to real centrals; their connects, disconnects, MTU exchanges and
writes come back as the firmware's IRQs, delivered while the board sleeps
(as MicroPython schedules them between the main loop's statements).
Handles are assigned by the host's GATT server and returned by
:meth:`BLE.gatts_register_services`. Only the peripheral role is provided.
"""

import binascii
import json
import struct

import vbhw

FLAG_BROADCAST = 0x0001
FLAG_READ = 0x0002
FLAG_WRITE_NO_RESPONSE = 0x0004
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010
FLAG_INDICATE = 0x0020

# board -> host
MSG_REGISTER = 0x52  # R: services JSON -> H reply
MSG_CONFIG = 0x43  # C: JSON
MSG_VALUE = 0x56  # V: handle, send_update, data
MSG_NOTIFY = 0x4E  # N: conn, handle, kind (0 notify with data, 1 current value, 2 indicate), data
MSG_ADVERTISE = 0x41  # A: JSON (null: stop)
MSG_DISCONNECT = 0x44  # D: conn
MSG_EXCHANGE_MTU = 0x4D  # M: conn
MSG_BUFFER = 0x42  # B: handle, size
# host -> board
MSG_HANDLES = 0x48  # H: JSON
MSG_CONNECTED = 0x63  # c: conn, addr_type, addr
MSG_DISCONNECTED = 0x64  # d: conn, addr_type, addr
MSG_WRITTEN = 0x77  # w: conn, handle, data
MSG_MTU = 0x6D  # m: conn, mtu

IRQ_CENTRAL_CONNECT = 1
IRQ_CENTRAL_DISCONNECT = 2
IRQ_GATTS_WRITE = 3
IRQ_MTU_EXCHANGED = 21

ENOTCONN = 107
EINVAL = 22
DEFAULT_BUFFER = 20


class UUID:
    def __init__(self, value):
        if isinstance(value, str):
            value = value.lower()
        self.value = value

    def text(self):
        if isinstance(self.value, int):
            return "0x%04x" % self.value
        return self.value

    def __eq__(self, other):
        return isinstance(other, UUID) and other.value == self.value

    def __hash__(self):
        return hash(self.value)

    def __repr__(self):
        return "UUID(%r)" % (self.value,)


_ble = None


def BLE():
    """The one radio (``bluetooth.BLE()`` returns the same object every time)."""
    global _ble
    if _ble is None:
        _ble = _BLE()
    return _ble


class _BLE:
    def __init__(self):
        self._hub = vbhw.hub()
        self._active = False
        self._cfg = {"gap_name": "MPY BTSTACK", "mtu": 23, "mac": (0, b"\x00" * 6)}
        self._handler = None
        self._values = {}
        self._buffers = {}
        self._conns = {}  # conn -> mtu
        h = self._hub.handlers
        h[MSG_CONNECTED] = self._on_connected
        h[MSG_DISCONNECTED] = self._on_disconnected
        h[MSG_WRITTEN] = self._on_written
        h[MSG_MTU] = self._on_mtu

    # ------------------------------------------------------------ IRQs from the host
    def _irq(self, event, data):
        if self._handler is not None:
            self._handler(event, data)

    def _on_connected(self, p):
        conn = (p[0] << 8) | p[1]
        self._conns[conn] = 23
        self._irq(IRQ_CENTRAL_CONNECT, (conn, p[2], memoryview(bytes(p[3:9]))))

    def _on_disconnected(self, p):
        conn = (p[0] << 8) | p[1]
        self._conns.pop(conn, None)
        self._irq(IRQ_CENTRAL_DISCONNECT, (conn, p[2], memoryview(bytes(p[3:9]))))

    def _on_written(self, p):
        conn = (p[0] << 8) | p[1]
        handle = (p[2] << 8) | p[3]
        n = self._buffers.get(handle, DEFAULT_BUFFER)
        self._values[handle] = bytes(p[4 : 4 + n])
        self._irq(IRQ_GATTS_WRITE, (conn, handle))

    def _on_mtu(self, p):
        conn, mtu = struct.unpack(">HH", p)
        if conn in self._conns:
            self._conns[conn] = mtu
        self._irq(IRQ_MTU_EXCHANGED, (conn, mtu))

    # ------------------------------------------------------------ the BLE API
    def active(self, on=None):
        if on is not None:
            self._active = bool(on)
        return self._active

    def config(self, *args, **kwargs):
        if args:
            return self._cfg[args[0]]
        for k in kwargs:
            self._cfg[k] = kwargs[k]
        self._hub.send(MSG_CONFIG, json.dumps(kwargs).encode())
        return None

    def irq(self, handler):
        self._handler = handler

    def gatts_register_services(self, services):
        desc = []
        for svc in services:
            chars = []
            for ch in svc[1]:
                chars.append([ch[0].text(), ch[1]])
            desc.append([svc[0].text(), chars])
        reply = self._hub.request(MSG_REGISTER, json.dumps(desc).encode(), MSG_HANDLES)
        handles = json.loads(reply)
        out = []
        for hs in handles:
            for h in hs:
                self._values[h] = b""
            out.append(tuple(hs))
        return tuple(out)

    def gatts_set_buffer(self, handle, n, append=False):
        self._buffers[handle] = n
        self._hub.send(MSG_BUFFER, struct.pack(">HH", handle, n))

    def gatts_write(self, handle, data, send_update=False):
        if handle not in self._values:
            raise OSError(EINVAL)
        data = bytes(data)
        self._values[handle] = data
        self._hub.send(MSG_VALUE, struct.pack(">HB", handle, 1 if send_update else 0) + data)

    def gatts_read(self, handle):
        if handle not in self._values:
            raise OSError(EINVAL)
        return self._values[handle]

    def _notify(self, conn, handle, data, kind):
        if conn not in self._conns:
            raise OSError(ENOTCONN)
        payload = struct.pack(">HHB", conn, handle, kind)
        self._hub.send(MSG_NOTIFY, payload + (bytes(data) if data is not None else b""))

    def gatts_notify(self, conn, handle, data=None):
        self._notify(conn, handle, data, 1 if data is None else 0)

    def gatts_indicate(self, conn, handle, data=None):
        self._notify(conn, handle, data if data is not None else self._values.get(handle), 2)

    def gap_advertise(self, interval_us, adv_data=None, resp_data=None, connectable=True):
        if interval_us is None:
            desc = None
        else:
            desc = {
                "interval_us": interval_us,
                "adv": binascii.hexlify(bytes(adv_data or b"")).decode(),
                "resp": binascii.hexlify(bytes(resp_data or b"")).decode(),
                "connectable": bool(connectable),
            }
        self._hub.send(MSG_ADVERTISE, json.dumps(desc).encode())

    def gap_disconnect(self, conn):
        if conn not in self._conns:
            return False
        self._hub.send(MSG_DISCONNECT, struct.pack(">H", conn))
        return True

    def gattc_exchange_mtu(self, conn):
        if conn not in self._conns:
            raise OSError(ENOTCONN)
        self._hub.send(MSG_EXCHANGE_MTU, struct.pack(">H", conn))

    def gap_scan(self, *args, **kwargs):
        raise OSError(EINVAL)  # the virtual board is a peripheral only

    def gap_connect(self, *args, **kwargs):
        raise OSError(EINVAL)
