"""``bluetooth`` for the virtual board: the BLE model, forwarded to the host.

The radio is :class:`ble_model.BLE` (the model the firmware tests use) with its
transport replaced: every GATT server call of the firmware (registration,
values, notifications, advertising, disconnects, MTU requests) goes over the
socket of :mod:`vbhw` to a bumble peripheral on the host
(``strideguard_devkit.vboard.bridge``), which serves it to real centrals; their
connects, disconnects, MTU exchanges and writes come back as the firmware's
IRQs, delivered while the board sleeps (as MicroPython schedules them between
the main loop's statements). Handles are assigned by the host's GATT server.
Pairing runs in bumble's SMP on the host; its key store asks the firmware
(``_IRQ_GET_SECRET``/``_IRQ_SET_SECRET``, answered with what the IRQ returned),
and a link that encrypted comes back as ``_IRQ_ENCRYPTION_UPDATE``.
Messages: :mod:`vbwire`.
"""

import binascii
import json
import struct

import ble_model
import vbhw
import vbwire as W
from ble_model import (  # noqa: F401  (the bluetooth module's names)
    FLAG_BROADCAST,
    FLAG_INDICATE,
    FLAG_NOTIFY,
    FLAG_READ,
    FLAG_READ_AUTHENTICATED,
    FLAG_READ_ENCRYPTED,
    FLAG_WRITE,
    FLAG_WRITE_AUTHENTICATED,
    FLAG_WRITE_ENCRYPTED,
    FLAG_WRITE_NO_RESPONSE,
    UUID,
)

_ble = None


def BLE():
    """The one radio (``bluetooth.BLE()`` returns the same object every time)."""
    global _ble
    if _ble is None:
        _ble = _BridgedBLE()
    return _ble


class _BridgedBLE(ble_model.BLE):
    def __init__(self):
        super().__init__()
        self.record = False
        self.auto_secure = False  # bumble's SMP on the host decides
        self._hub = vbhw.hub()
        h = self._hub.handlers
        h[W.MSG_CONNECTED] = self._rx_connected
        h[W.MSG_DISCONNECTED] = self._rx_disconnected
        h[W.MSG_WRITTEN] = self._rx_written
        h[W.MSG_MTU] = self._rx_mtu
        h[W.MSG_ENCRYPTED] = self._rx_encrypted
        h[W.MSG_GET_SECRET] = self._rx_get_secret
        h[W.MSG_SET_SECRET] = self._rx_set_secret

    # ------------------------------------------------------------ host -> IRQs
    def _rx_connected(self, p):
        conn, addr_type = struct.unpack_from(W.FORMAT_PEER, p)
        self.connect(conn, addr_type, p[3 : 3 + W.PEER_ADDRESS_SIZE])

    def _rx_disconnected(self, p):
        conn, addr_type = struct.unpack_from(W.FORMAT_PEER, p)
        self.disconnect(conn, addr_type, p[3 : 3 + W.PEER_ADDRESS_SIZE])

    def _rx_written(self, p):
        conn, handle = struct.unpack_from(W.FORMAT_WRITTEN, p)
        self.write(conn, handle, p[4:])

    def _rx_mtu(self, p):
        conn, mtu = struct.unpack(W.FORMAT_MTU, p)
        self.exchange_mtu(conn, mtu)

    def _rx_encrypted(self, p):
        conn, _enc, auth, bonded, key_size = struct.unpack(W.FORMAT_ENCRYPTED, p)
        self.encrypted(conn, authenticated=auth, bonded=bonded, key_size=key_size)

    def _rx_get_secret(self, p):
        q = json.loads(p)
        key = binascii.unhexlify(q["k"]) if q["k"] is not None else None
        v = self._irq(ble_model.IRQ_GET_SECRET, (q["t"], q["i"], key))
        r = binascii.hexlify(bytes(v)).decode() if v is not None else None
        self._hub.send(W.MSG_SECRET_REPLY, json.dumps({"r": r}).encode())

    def _rx_set_secret(self, p):
        q = json.loads(p)
        value = binascii.unhexlify(q["v"]) if q["v"] is not None else None
        ok = self._irq(ble_model.IRQ_SET_SECRET, (q["t"], binascii.unhexlify(q["k"]), value))
        self._hub.send(W.MSG_SECRET_REPLY, json.dumps({"r": bool(ok)}).encode())

    # ------------------------------------------------------------ transport: to the host
    def tx_register(self, desc):
        reply = self._hub.request(W.MSG_REGISTER, json.dumps(desc).encode(), W.MSG_HANDLES)
        return json.loads(reply)

    def tx_config(self, kwargs):
        self._hub.send(W.MSG_CONFIG, json.dumps(kwargs).encode())

    def tx_buffer(self, handle, n):
        self._hub.send(W.MSG_BUFFER, struct.pack(W.FORMAT_BUFFER, handle, n))

    def tx_value(self, handle, data, send_update):
        head = struct.pack(W.FORMAT_VALUE, handle, 1 if send_update else 0)
        self._hub.send(W.MSG_VALUE, head + data)

    def tx_notify(self, conn, handle, data, kind):
        if kind == W.NOTIFY_INDICATE and data is None:
            data = self.values.get(handle, b"")
        head = struct.pack(W.FORMAT_NOTIFY, conn, handle, kind)
        self._hub.send(W.MSG_NOTIFY, head + (bytes(data) if data is not None else b""))

    def tx_advertise(self, interval_us, adv_data, resp_data, connectable):
        if interval_us is None:
            desc = None
        else:
            desc = {
                "interval_us": interval_us,
                "adv": binascii.hexlify(bytes(adv_data or b"")).decode(),
                "resp": binascii.hexlify(bytes(resp_data or b"")).decode(),
                "connectable": bool(connectable),
            }
        self._hub.send(W.MSG_ADVERTISE, json.dumps(desc).encode())

    def tx_disconnect(self, conn):
        self._hub.send(W.MSG_DISCONNECT, struct.pack(W.FORMAT_CONN, conn))

    def tx_exchange_mtu(self, conn):
        self._hub.send(W.MSG_EXCHANGE_MTU, struct.pack(W.FORMAT_CONN, conn))
