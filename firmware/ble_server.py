"""GATT server on MicroPython's built-in ``bluetooth`` module.

Services (see docs/firmware.md for the table):

* strideguard stream service (128-bit): data (notify), control point
  (write + notify), status (read + notify);
* Device Information (0x180A), Battery (0x180F), Running Speed and Cadence
  (0x1814: RSC Measurement notify, RSC Feature read, Sensor Location read).

The ``ble`` object (``bluetooth.BLE()``) and the ``UUID`` class are injected.
The IRQ handler only records events: it copies control writes into a bounded
preallocated queue and never keeps the memoryviews the stack hands it. The
main loop calls :meth:`BleServer.service` to act on them.

Streaming is per connection: a central receives stream frames after it
writes START to the control point (a watch that only reads cadence is never
flooded). Frames are sized for the smallest MTU among streaming centrals;
with the 23-byte default no sample fits, so none is sent and the status says
MTU too small.

Security (docs/ble.md, "Threat model"): the control point and the status carry
``_FLAG_*_ENCRYPTED``, so the stack itself refuses unencrypted writes and reads
(ATT "Insufficient Encryption"). A connection is *trusted* once the stack
reports it encrypted with a bonded key (``_IRQ_ENCRYPTION_UPDATE``); only
trusted connections get stream, status and control-point notifications
(``gatts_notify`` to a handle is not checked by the stack) and have their
control writes executed. Pairing creates a bond only while the pairing window
is open (``config(bond=True)`` and ``_IRQ_SET_SECRET`` accepted); outside it a
pairing ends unbonded and that connection is dropped and counted, as is a
control write from an untrusted connection. The standard services stay open.
One slot is kept for the bonded host: at most ``_MAX_CONNECTIONS - 1``
untrusted connections stay (the oldest goes), and a newer trusted connection
replaces an older one (one host on the custom service).
"""

import binascii

import bonds
import protocol
from micropython import const

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_MTU_EXCHANGED = const(21)
_IRQ_ENCRYPTION_UPDATE = const(28)
_IRQ_GET_SECRET = const(29)
_IRQ_SET_SECRET = const(30)

_FLAG_READ = const(0x0002)
_FLAG_WRITE_NO_RESPONSE = const(0x0004)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_FLAG_READ_ENCRYPTED = const(0x0200)
_FLAG_WRITE_ENCRYPTED = const(0x1000)
_IO_NO_INPUT_OUTPUT = const(3)  # no display, no keyboard: "just works" pairing

_ADV_TYPE_FLAGS = const(0x01)
_ADV_TYPE_UUID16_COMPLETE = const(0x03)
_ADV_TYPE_UUID128_COMPLETE = const(0x07)
_ADV_TYPE_NAME_COMPLETE = const(0x09)
_ADV_TYPE_APPEARANCE = const(0x19)
_ADV_TYPE_MANUFACTURER = const(0xFF)
_APPEARANCE_RSC = const(0x0440)  # "Generic Running Walking Sensor"
_ADV_INTERVAL_US = const(250000)  # found within a second or two, a small share of the radio

_MAX_CONNECTIONS = const(3)  # phone/laptop + a watch + one spare; advertise while below
_WRITE_QUEUE = const(8)  # control writes held between two main-loop passes
_WRITE_MAX = protocol.CONTROL_WRITE_MAX  # longest control write kept (and the GATT buffer)


def uuid128_le(text):
    """Little-endian bytes of a 128-bit UUID string (advertising order)."""
    b = binascii.unhexlify(text.replace("-", ""))
    return bytes(reversed(b))


def adv_field(kind, payload):
    return bytes((len(payload) + 1, kind)) + payload


def advertising_payload(adv_flags=0):
    """Flags, the stream service UUID, the RSC service and the ``ADV_*`` bits (30 bytes)."""
    c = protocol.ADV_COMPANY_ID
    return (
        adv_field(_ADV_TYPE_FLAGS, b"\x06")
        + adv_field(_ADV_TYPE_UUID128_COMPLETE, uuid128_le(protocol.SERVICE_UUID))
        + adv_field(_ADV_TYPE_UUID16_COMPLETE, bytes((0x14, 0x18)))
        + adv_field(_ADV_TYPE_MANUFACTURER, bytes((c & 0xFF, c >> 8, adv_flags)))
    )


def scan_response_payload(name):
    """Complete local name and appearance (the scan response)."""
    return adv_field(_ADV_TYPE_NAME_COMPLETE, name.encode()) + adv_field(
        _ADV_TYPE_APPEARANCE, bytes((_APPEARANCE_RSC & 0xFF, _APPEARANCE_RSC >> 8))
    )


def device_name(leg):
    """``StrideGuard-L`` or ``StrideGuard-R``."""
    return protocol.DEVICE_NAME_PREFIX + protocol.LEG_NAMES[leg]


class BleServer:
    """The strideguard GATT profile on an injected ``bluetooth.BLE``.

    Parameters
    ----------
    ble
        ``bluetooth.BLE()`` (or a fake).
    uuid
        ``bluetooth.UUID``.
    leg
        ``protocol.LEG_LEFT`` or ``LEG_RIGHT`` (goes into the name).
    bonds
        The :class:`bonds.BondStore` behind ``_IRQ_GET_SECRET``/``_IRQ_SET_SECRET``.
    """

    def __init__(self, ble, uuid, leg, bonds):
        self._ble = ble
        self.leg = leg
        self.bonds = bonds
        self.conns = {}  # conn_handle -> negotiated MTU
        self.order = []  # conn handles, oldest connection first
        self.trusted = []  # encrypted with a bonded key, oldest first (at most one kept)
        self._drop = []  # conn handles to disconnect at the next service()
        self.pairing_open = False
        self.paired = False  # a connection bonded while the window was open (the app closes it)
        self._keys_written = False
        self.access_refused = 0  # unbonded pairings and untrusted control writes
        self.streaming = []  # conn handles that asked for the stream
        self._exchange = []  # conn handles waiting for an MTU request
        self._adv_needed = True
        self.advertising = False
        self.notify_errors = 0
        self.connects = 0
        self._wq_data = [bytearray(_WRITE_MAX) for _ in range(_WRITE_QUEUE)]
        self._wq_len = [0] * _WRITE_QUEUE
        self._wq_conn = [0] * _WRITE_QUEUE
        self._wq_head = 0
        self._wq_count = 0
        self.writes_dropped = 0
        self._resp = bytearray(3)
        self._byte = bytearray(1)

        ble.active(True)
        ble.config(gap_name=device_name(leg))
        ble.config(mtu=protocol.PREFERRED_MTU)
        # LE Secure Connections only (no legacy pairing: its just-works key falls to a
        # passive sniffer); no I/O on the board, so no MITM protection (docs/ble.md)
        ble.config(bond=False, mitm=False, le_secure=True, io=_IO_NO_INPUT_OUTPUT)
        ble.irq(self._irq)
        stream = (
            uuid(protocol.SERVICE_UUID),
            (
                (uuid(protocol.DATA_CHAR_UUID), _FLAG_NOTIFY),
                (
                    uuid(protocol.CONTROL_CHAR_UUID),
                    _FLAG_WRITE | _FLAG_WRITE_NO_RESPONSE | _FLAG_NOTIFY | _FLAG_WRITE_ENCRYPTED,
                ),
                (
                    uuid(protocol.STATUS_CHAR_UUID),
                    _FLAG_READ | _FLAG_NOTIFY | _FLAG_READ_ENCRYPTED,
                ),
            ),
        )
        dis = (
            uuid(protocol.DEVICE_INFO_SERVICE_UUID16),
            (
                (uuid(protocol.MANUFACTURER_NAME_UUID16), _FLAG_READ),
                (uuid(protocol.MODEL_NUMBER_UUID16), _FLAG_READ),
                (uuid(protocol.FIRMWARE_REVISION_UUID16), _FLAG_READ),
            ),
        )
        bas = (
            uuid(protocol.BATTERY_SERVICE_UUID16),
            ((uuid(protocol.BATTERY_LEVEL_UUID16), _FLAG_READ | _FLAG_NOTIFY),),
        )
        rsc = (
            uuid(protocol.RSC_SERVICE_UUID16),
            (
                (uuid(protocol.RSC_MEASUREMENT_UUID16), _FLAG_NOTIFY),
                (uuid(protocol.RSC_FEATURE_UUID16), _FLAG_READ),
                (uuid(protocol.SENSOR_LOCATION_UUID16), _FLAG_READ),
            ),
        )
        handles = ble.gatts_register_services((stream, dis, bas, rsc))
        self.h_data, self.h_control, self.h_status = handles[0]
        h_manuf, h_model, h_fw = handles[1]
        self.h_battery = handles[2][0]
        self.h_rsc, h_feature, h_location = handles[3]
        ble.gatts_set_buffer(self.h_control, _WRITE_MAX)
        ble.gatts_write(h_manuf, protocol.MANUFACTURER_NAME.encode())
        ble.gatts_write(h_model, protocol.MODEL_NUMBER.encode())
        ble.gatts_write(h_fw, protocol.FIRMWARE_VERSION.encode())
        f = protocol.RSC_FEATURE_WALK_RUN_STATUS
        ble.gatts_write(h_feature, bytes((f & 0xFF, f >> 8)))
        ble.gatts_write(h_location, bytes((protocol.SENSOR_LOCATION_OTHER,)))
        ble.gatts_write(self.h_battery, b"\x00")  # until the first ADC reading

    # ------------------------------------------------------------ IRQ (minimal)
    def _irq(self, event, data):
        if event == _IRQ_CENTRAL_CONNECT:
            conn = data[0]  # addr (data[2]) is a view into a stack buffer: not kept
            self.conns[conn] = protocol.DEFAULT_MTU
            self.order.append(conn)
            self._exchange.append(conn)
            self.connects += 1
            self.advertising = False
            self._adv_needed = True
        elif event == _IRQ_CENTRAL_DISCONNECT:
            conn = data[0]
            if conn in self.conns:
                del self.conns[conn]
            if conn in self.streaming:
                self.streaming.remove(conn)
            if conn in self._exchange:
                self._exchange.remove(conn)
            if conn in self.order:
                self.order.remove(conn)
            if conn in self.trusted:
                self.trusted.remove(conn)
            self.advertising = False
            self._adv_needed = True
        elif event == _IRQ_GATTS_WRITE:
            conn, handle = data[0], data[1]
            if handle == self.h_control:
                if conn in self.trusted:
                    self._queue_write(conn, self._ble.gatts_read(handle))
                else:  # an encrypted but unbonded link (the stack refuses unencrypted ones)
                    self.access_refused += 1
        elif event == _IRQ_MTU_EXCHANGED:
            conn, mtu = data[0], data[1]
            if conn in self.conns:
                self.conns[conn] = mtu
        elif event == _IRQ_ENCRYPTION_UPDATE:
            conn, encrypted, bonded = data[0], data[1], data[3]
            if conn in self.conns and encrypted:
                if bonded:
                    self._trust(conn)
                else:  # paired outside the window: no bond, no custom service
                    self.access_refused += 1
                    self._drop.append(conn)
        elif event == _IRQ_GET_SECRET:
            return self.bonds.get(data[0], data[1], data[2])
        elif event == _IRQ_SET_SECRET:
            ok = self.bonds.set(data[0], data[1], data[2], self.pairing_open)
            if ok and data[2] is not None and data[0] <= bonds.SEC_TYPE_PEER:
                self._keys_written = True  # a pairing in the window is storing its keys
            return ok
        return None

    def _trust(self, conn):
        if conn in self.trusted:
            return
        if self.pairing_open and self._keys_written:
            self.paired = True  # a new bond (not a bonded host coming back): close the window
        self._keys_written = False
        for old in self.trusted:  # one host: its newer link replaces a stale one
            self._drop.append(old)
        self.trusted = [conn]

    def _queue_write(self, conn, value):
        if self._wq_count == _WRITE_QUEUE:
            self.writes_dropped += 1
            return
        i = (self._wq_head + self._wq_count) % _WRITE_QUEUE
        n = len(value)
        if n > _WRITE_MAX:
            n = _WRITE_MAX + 1  # marks "too long": answered with a length error
        else:
            self._wq_data[i][:n] = value
        self._wq_len[i] = n
        self._wq_conn[i] = conn
        self._wq_count += 1

    # ------------------------------------------------------------ main loop side
    def service(self):
        """Drop refused links, keep a slot free, request MTUs, keep advertising."""
        while self._drop:
            conn = self._drop.pop()
            if conn in self.conns:
                self.disconnect(conn)
        untrusted = len(self.conns) - len(self.trusted)
        if untrusted >= _MAX_CONNECTIONS:  # the bonded host must still find a slot
            for conn in self.order:
                if conn not in self.trusted:
                    self.disconnect(conn)
                    break
        while self._exchange:
            conn = self._exchange.pop()
            try:
                self._ble.gattc_exchange_mtu(conn)
            except OSError:
                pass  # the central may have started the exchange itself
        if self._adv_needed and len(self.conns) < _MAX_CONNECTIONS:
            self.advertise()

    def disconnect(self, conn):
        """End a link from the board's side (stream and trust go with the IRQ)."""
        if conn in self.streaming:
            self.streaming.remove(conn)
        if conn in self.trusted:
            self.trusted.remove(conn)
        try:
            self._ble.gap_disconnect(conn)
        except OSError:
            pass

    def set_pairing(self, open_):
        """Open or close the pairing window: the stack bonds, and the advertisement says so."""
        self.pairing_open = open_
        self.paired = False
        self._ble.config(bond=open_)
        if len(self.conns) < _MAX_CONNECTIONS:
            self.advertise()

    def adv_flags(self):
        f = 0
        if self.pairing_open:
            f |= protocol.ADV_PAIRING_OPEN
        if self.bonds.peers() > 0:
            f |= protocol.ADV_HAS_BONDS
        return f

    def advertise(self):
        """Start (or restart) connectable advertising."""
        self._ble.gap_advertise(
            _ADV_INTERVAL_US,
            adv_data=advertising_payload(self.adv_flags()),
            resp_data=scan_response_payload(device_name(self.leg)),
            connectable=True,
        )
        self.advertising = True
        self._adv_needed = False

    def set_leg(self, leg):
        """Rename the device for ``leg`` (advertising restarts with the new name)."""
        self.leg = leg
        self._ble.config(gap_name=device_name(leg))
        if len(self.conns) < _MAX_CONNECTIONS:
            self.advertise()

    def next_write(self):
        """Pop the oldest control write: ``(conn, memoryview)`` or None."""
        if self._wq_count == 0:
            return None
        i = self._wq_head
        self._wq_head = (i + 1) % _WRITE_QUEUE
        self._wq_count -= 1
        n = self._wq_len[i]
        if n > _WRITE_MAX:
            return self._wq_conn[i], b"\x00" * (_WRITE_MAX + 1)
        return self._wq_conn[i], memoryview(self._wq_data[i])[:n]

    def respond(self, conn, opcode, result):
        """Notify the control-point response ``[0x80, opcode, result]``."""
        protocol.encode_control_response(self._resp, opcode, result)
        self._notify(conn, self.h_control, self._resp)

    def respond_raw(self, conn, data):
        """Notify a longer control-point response (``OP_RESEND``: 9 bytes)."""
        self._notify(conn, self.h_control, data)

    def start_stream(self, conn):
        if conn in self.trusted and conn not in self.streaming:
            self.streaming.append(conn)

    def stop_stream(self, conn):
        if conn in self.streaming:
            self.streaming.remove(conn)

    def stream_mtu(self):
        """Smallest MTU among streaming centrals (0 when nobody streams)."""
        mtu = 0
        for conn in self.streaming:
            m = self.conns.get(conn, 0)
            if mtu == 0 or m < mtu:
                mtu = m
        return mtu

    def max_mtu(self):
        """Largest MTU among connected centrals (0 when none)."""
        mtu = 0
        for conn in self.conns:
            if self.conns[conn] > mtu:
                mtu = self.conns[conn]
        return mtu

    def _notify(self, conn, handle, data):
        try:
            # the stub (1.29.0.post1) lacks conn_handle; the MicroPython docs list
            # gatts_notify(conn_handle, value_handle, data)
            self._ble.gatts_notify(conn, handle, data)
            return True
        except OSError:
            self.notify_errors += 1
            return False

    def send_frame(self, frame):
        """Notify a stream frame to every streaming central; True if all got it."""
        ok = True
        for conn in self.streaming:
            if not self._notify(conn, self.h_data, frame):
                ok = False
        return ok

    def notify_data(self, conn, frame):
        """Notify a stream frame to one central (a resent frame goes to who asked)."""
        return self._notify(conn, self.h_data, frame)

    def send_rsc(self, data):
        """Notify an RSC Measurement to every connected central."""
        for conn in self.conns:
            self._notify(conn, self.h_rsc, data)

    def set_status(self, data, notify=False, streaming_only=False):
        """Update the status value; notify it to every central (or the streaming ones)."""
        self._ble.gatts_write(self.h_status, data)
        if notify:
            for conn in self.streaming if streaming_only else self.trusted:
                self._notify(conn, self.h_status, data)

    def set_battery(self, pct, notify=False):
        """Battery Level (0..100); notified when it changed."""
        self._byte[0] = pct
        self._ble.gatts_write(self.h_battery, self._byte)
        if notify:
            for conn in self.conns:
                self._notify(conn, self.h_battery, self._byte)
