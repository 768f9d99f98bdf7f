"""The model of MicroPython's ``bluetooth.BLE`` (peripheral role), for tests and the virtual board.

One class serves both: :class:`BLE` keeps the state a real stack keeps
(configuration, the registered GATT table and its values, write buffers,
connections and their MTU) and raises the IRQs a central causes
(:meth:`~BLE.connect`, :meth:`~BLE.exchange_mtu`, :meth:`~BLE.write`,
:meth:`~BLE.disconnect`), the way MicroPython's ``bluetooth`` does. What goes
out to the air passes through its ``tx_*`` methods, the transport:

* by default they **record** (the firmware tests): handles are assigned like
  NimBLE's, advertising and notifications are kept (``record=False``: only
  counted, allocation-free, for the heap tests; ``record="last"``: the last
  value per handle), ``fail_notify`` makes the next notifications raise ENOMEM
  as NimBLE does when its buffers are full;
* the virtual board's ``bluetooth`` stand-in (``vboard/hw/bluetooth.py``)
  overrides them to forward every call to the host's bumble peripheral.

Pairing and bonding (MicroPython's API: ``config(bond=, mitm=, le_secure=,
io=)``, ``gap_pair``, ``_IRQ_ENCRYPTION_UPDATE`` 28, ``_IRQ_GET_SECRET`` 29,
``_IRQ_SET_SECRET`` 30; ``_IRQ_PASSKEY_ACTION`` 31 is never raised: the board
has no I/O, so pairing is "just works"). As in NimBLE, the stack keeps no
secrets itself: it asks the application through the two secret IRQs. A
central can :meth:`~BLE.pair` (keys stored through ``_IRQ_SET_SECRET`` when both
sides bond, then ``_IRQ_ENCRYPTION_UPDATE``) or :meth:`~BLE.restore` a bond
(the key read back through ``_IRQ_GET_SECRET``; no key, no encryption). The
``*_ENCRYPTED``/``*_AUTHENTICATED`` characteristic flags are enforced like
NimBLE: :meth:`~BLE.write`/:meth:`~BLE.read` from a link without them get the
ATT error (0x0F / 0x05) and the application sees nothing. ``auto_secure``
(default True) makes every :meth:`~BLE.connect` the runner's host: it restores
its bond at once, or pairs when the store has none (the tests that are not about
security).
"""

from micropython import const
from vbwire import DEFAULT_BUFFER, NOTIFY_DATA, NOTIFY_INDICATE, NOTIFY_VALUE

IRQ_CENTRAL_CONNECT = const(1)
IRQ_CENTRAL_DISCONNECT = const(2)
IRQ_GATTS_WRITE = const(3)
IRQ_MTU_EXCHANGED = const(21)
IRQ_ENCRYPTION_UPDATE = const(28)
IRQ_GET_SECRET = const(29)
IRQ_SET_SECRET = const(30)
IRQ_PASSKEY_ACTION = const(31)

FLAG_BROADCAST = const(0x0001)
FLAG_READ = const(0x0002)
FLAG_WRITE_NO_RESPONSE = const(0x0004)
FLAG_WRITE = const(0x0008)
FLAG_NOTIFY = const(0x0010)
FLAG_INDICATE = const(0x0020)
FLAG_READ_ENCRYPTED = const(0x0200)
FLAG_READ_AUTHENTICATED = const(0x0400)
FLAG_WRITE_ENCRYPTED = const(0x1000)
FLAG_WRITE_AUTHENTICATED = const(0x2000)

ATT_OK = const(0)
ATT_INSUFFICIENT_AUTHENTICATION = const(0x05)
ATT_INSUFFICIENT_ENCRYPTION = const(0x0F)
SEC_TYPE_OUR = const(1)  # NimBLE's store record types (BLE_STORE_OBJ_TYPE_*)
SEC_TYPE_PEER = const(2)

DEFAULT_MTU = const(23)
ENOMEM = const(12)
EINVAL = const(22)
ENOTCONN = const(107)


class UUID:
    """``bluetooth.UUID``: a 16-bit int or a 128-bit string (kept lower case)."""

    def __init__(self, value):
        if isinstance(value, str):
            value = value.lower()
        self.value = value

    def text(self):
        """``"0x180a"`` for a 16-bit UUID, else the 128-bit string."""
        if isinstance(self.value, int):
            return "0x%04x" % self.value
        return self.value

    def __eq__(self, other):
        return isinstance(other, UUID) and other.value == self.value

    def __hash__(self):
        return hash(self.value)

    def __repr__(self):
        return "UUID(%r)" % (self.value,)


class BLE:
    """``bluetooth.BLE()`` with a recording transport (override ``tx_*`` to forward)."""

    def __init__(self):
        self.is_active = False
        self.cfg = {
            "gap_name": "MPY NIMBLE",
            "mtu": DEFAULT_MTU,
            "bond": True,
            "mitm": False,
            "le_secure": False,
            "io": 3,
        }
        self.handler = None
        self.services = []  # [(service UUID, [(char UUID, flags, value handle)])]
        self.values = {}  # value handle -> bytes
        self.buffers = {}  # value handle -> write buffer size
        self.conns = {}  # conn handle -> ATT MTU
        self.addrs = {}  # conn handle -> peer address bytes
        self.security = {}  # conn handle -> [encrypted, authenticated, bonded]
        self.handle_flags = {}  # value handle -> characteristic flags
        self.auto_secure = True
        self.pair_requests = []  # conn handles the peripheral asked to pair (gap_pair)
        # recording transport
        self.record = True  # False: count only (no allocation); "last": last value per handle
        self.adverts = []  # (interval_us, adv_data, resp_data, connectable)
        self.notifications = []  # (conn, handle, bytes)
        self.last = {}
        self.count_by_handle = {}
        self.notify_count = 0
        self.notify_bytes = 0
        self.fail_notify = 0
        self.mtu_requests = []
        self.disconnect_requests = []  # conn handles the application disconnected
        self._next_handle = 1

    # ------------------------------------------------------------ the BLE API
    def active(self, on=None):
        if on is not None:
            self.is_active = bool(on)
        return self.is_active

    def config(self, *args, **kwargs):
        if args:
            return self.cfg[args[0]]
        for k in kwargs:
            self.cfg[k] = kwargs[k]
        self.tx_config(kwargs)
        return None

    def irq(self, handler):
        self.handler = handler

    def gatts_register_services(self, services):
        desc = []
        for svc in services:
            desc.append([svc[0].text(), [[ch[0].text(), ch[1]] for ch in svc[1]]])
        handles = self.tx_register(desc)
        out = []
        for svc, hs in zip(services, handles):
            rec = []
            for ch, h in zip(svc[1], hs):
                rec.append((ch[0], ch[1], h))
                self.values[h] = b""
                self.handle_flags[h] = ch[1]
            self.services.append((svc[0], rec))
            out.append(tuple(hs))
        return tuple(out)

    def gatts_set_buffer(self, handle, n, append=False):
        self.buffers[handle] = n
        self.tx_buffer(handle, n)

    def gatts_write(self, handle, data, send_update=False):
        if handle not in self.values:
            raise OSError(EINVAL)
        data = bytes(data)
        self.values[handle] = data
        self.tx_value(handle, data, send_update)

    def gatts_read(self, handle):
        if handle not in self.values:
            raise OSError(EINVAL)
        return self.values[handle]

    def gatts_notify(self, conn, handle, data=None):
        if conn not in self.conns:
            raise OSError(ENOTCONN)
        if self.fail_notify > 0:
            self.fail_notify -= 1
            raise OSError(ENOMEM)
        self.tx_notify(conn, handle, data, NOTIFY_VALUE if data is None else NOTIFY_DATA)

    def gatts_indicate(self, conn, handle, data=None):
        if conn not in self.conns:
            raise OSError(ENOTCONN)
        self.tx_notify(conn, handle, data, NOTIFY_INDICATE)

    def gap_advertise(self, interval_us, adv_data=None, resp_data=None, connectable=True):
        self.tx_advertise(interval_us, adv_data, resp_data, connectable)

    def gap_disconnect(self, conn):
        if conn not in self.conns:
            return False
        self.tx_disconnect(conn)
        return True

    def gattc_exchange_mtu(self, conn):
        if conn not in self.conns:
            raise OSError(ENOTCONN)
        self.tx_exchange_mtu(conn)

    def gap_pair(self, conn):
        if conn not in self.conns:
            raise OSError(ENOTCONN)
        self.pair_requests.append(conn)

    def gap_passkey(self, conn, action, passkey):
        raise OSError(EINVAL)  # no passkey actions: the io capability is "no input, no output"

    def gap_scan(self, *args, **kwargs):
        raise OSError(EINVAL)  # peripheral role only

    def gap_connect(self, *args, **kwargs):
        raise OSError(EINVAL)

    # ------------------------------------------------------------ a central (IRQs)
    def _irq(self, event, data):
        if self.handler is not None:
            return self.handler(event, data)
        return None

    def connect(self, conn, addr_type=0, addr=b"\x01\x02\x03\x04\x05\x06", secure=None):
        """A central connects (MTU 23 until exchanged).

        ``secure`` (default :attr:`auto_secure`): the runner's host, which encrypts at
        once with its bond (:meth:`restore`) or, the first time, pairs (:meth:`pair`).
        """
        self.conns[conn] = DEFAULT_MTU
        self.addrs[conn] = bytes(addr)
        self.security[conn] = [False, False, False]
        self._irq(IRQ_CENTRAL_CONNECT, (conn, addr_type, memoryview(bytes(addr))))
        if (self.auto_secure if secure is None else secure) and not self.restore(conn):
            self.pair(conn)

    def disconnect(self, conn, addr_type=0, addr=b"\x00" * 6):
        """The link to ``conn`` is gone (either side ended it)."""
        self.conns.pop(conn, None)
        self.security.pop(conn, None)
        self.addrs.pop(conn, None)
        self._irq(IRQ_CENTRAL_DISCONNECT, (conn, addr_type, memoryview(bytes(addr))))

    def encrypted(self, conn, authenticated=False, bonded=False, key_size=16):
        """The link to ``conn`` is now encrypted (``_IRQ_ENCRYPTION_UPDATE``)."""
        if conn not in self.conns:
            return
        self.security[conn] = [True, bool(authenticated), bool(bonded)]
        self._irq(IRQ_ENCRYPTION_UPDATE, (conn, True, bool(authenticated), bool(bonded), key_size))

    def pair(self, conn, central_bond=True, key=b""):
        """``conn`` pairs ("just works", LE Secure Connections); True when a bond resulted.

        Both sides must bond (the peripheral's ``config(bond=...)``) for the keys to
        be stored: our and the peer's record through ``_IRQ_SET_SECRET``, keyed by
        the peer address. ``key`` is the long-term key (random when empty).
        Returns whether both records were stored (the application may refuse).
        """
        if conn not in self.conns:
            raise OSError(ENOTCONN)
        bonded = bool(self.cfg.get("bond")) and central_bond
        stored = False
        if bonded:
            import os

            ltk = bytes(key) or os.urandom(16)
            addr = self.addrs.get(conn, b"")
            ok1 = self._irq(IRQ_SET_SECRET, (SEC_TYPE_OUR, memoryview(addr), memoryview(ltk)))
            ok2 = self._irq(IRQ_SET_SECRET, (SEC_TYPE_PEER, memoryview(addr), memoryview(ltk)))
            stored = bool(ok1) and bool(ok2)
        mitm = bool(self.cfg.get("mitm")) and self.cfg.get("io", 3) != 3
        self.encrypted(conn, authenticated=mitm, bonded=bonded)
        return stored

    def restore(self, conn):
        """The central encrypts with the key of an earlier bond; False when the store has none."""
        if conn not in self.conns:
            raise OSError(ENOTCONN)
        addr = self.addrs.get(conn, b"")
        ltk = self._irq(IRQ_GET_SECRET, (SEC_TYPE_PEER, 0, memoryview(addr)))
        if ltk is None:
            return False  # the central's LTK request is refused: the link stays plain
        self.encrypted(conn, bonded=True)
        return True

    def _refusal(self, conn, handle, enc_flag, auth_flag):
        flags = self.handle_flags.get(handle, 0)
        sec = self.security.get(conn, (False, False, False))
        if flags & auth_flag and not sec[1]:
            return ATT_INSUFFICIENT_AUTHENTICATION
        if flags & enc_flag and not sec[0]:
            return ATT_INSUFFICIENT_ENCRYPTION
        return ATT_OK

    def read(self, conn, handle):
        """``conn`` reads ``handle``: ``(ATT error or 0, value or None)``."""
        err = self._refusal(conn, handle, FLAG_READ_ENCRYPTED, FLAG_READ_AUTHENTICATED)
        if err:
            return err, None
        return ATT_OK, self.values.get(handle, b"")

    def exchange_mtu(self, conn, mtu):
        """The ATT MTU of ``conn`` was exchanged."""
        if conn in self.conns:
            self.conns[conn] = mtu
        self._irq(IRQ_MTU_EXCHANGED, (conn, mtu))

    def write(self, conn, handle, data):
        """``conn`` writes ``data`` (cut to the write buffer, as the stack does).

        Returns the ATT error the stack answers (0: written, the IRQ ran).
        """
        err = self._refusal(conn, handle, FLAG_WRITE_ENCRYPTED, FLAG_WRITE_AUTHENTICATED)
        if err:
            return err
        n = self.buffers.get(handle, DEFAULT_BUFFER)
        self.values[handle] = bytes(data[:n])
        self._irq(IRQ_GATTS_WRITE, (conn, handle))
        return ATT_OK

    # ------------------------------------------------------------ transport: recording
    def tx_register(self, desc):
        """Assign value handles (service, characteristic declarations and CCCDs take one each)."""
        handles = []
        for _svc, chars in desc:
            self._next_handle += 1  # service declaration
            hs = []
            for _uuid, flags in chars:
                self._next_handle += 1  # characteristic declaration
                hs.append(self._next_handle)
                self._next_handle += 1
                if flags & (FLAG_NOTIFY | FLAG_INDICATE):
                    self._next_handle += 1  # CCCD
            handles.append(hs)
        return handles

    def tx_config(self, kwargs):
        pass

    def tx_buffer(self, handle, n):
        pass

    def tx_value(self, handle, data, send_update):
        pass

    def tx_notify(self, conn, handle, data, kind):
        if data is None:
            data = self.values.get(handle, b"")
        self.notify_count += 1
        self.notify_bytes += len(data)
        if self.record == "last":
            self.last[handle] = bytes(data)
            self.count_by_handle[handle] = self.count_by_handle.get(handle, 0) + 1
        elif self.record:
            self.notifications.append((conn, handle, bytes(data)))

    def tx_advertise(self, interval_us, adv_data, resp_data, connectable):
        self.adverts.append((interval_us, adv_data, resp_data, connectable))

    def tx_disconnect(self, conn):
        self.disconnect_requests.append(conn)

    def tx_exchange_mtu(self, conn):
        self.mtu_requests.append(conn)

    # ------------------------------------------------------------ what was recorded
    def handle_of(self, uuid_value):
        """Value handle of the characteristic with this UUID value."""
        if isinstance(uuid_value, str):
            uuid_value = uuid_value.lower()
        for _, chars in self.services:
            for u, _flags, h in chars:
                if u.value == uuid_value:
                    return h
        raise KeyError(uuid_value)

    def flags_of(self, uuid_value):
        """Flags the characteristic with this UUID value was registered with."""
        if isinstance(uuid_value, str):
            uuid_value = uuid_value.lower()
        for _, chars in self.services:
            for u, flags, _h in chars:
                if u.value == uuid_value:
                    return flags
        raise KeyError(uuid_value)

    def sent(self, handle, conn=None):
        """Recorded notifications on ``handle`` (to ``conn``), oldest first."""
        return [d for c, h, d in self.notifications if h == handle and (conn is None or c == conn)]
