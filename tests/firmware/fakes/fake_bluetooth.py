"""A fake ``bluetooth`` module: records advertising, services, notifications.

The test plays the central: :meth:`FakeBLE.connect`, :meth:`FakeBLE.exchange_mtu`,
:meth:`FakeBLE.write` and :meth:`FakeBLE.disconnect` fire the IRQs the real
stack would. ``fail_notify`` makes the next notifications raise ``OSError``
(ENOMEM, as NimBLE does when its buffers are full). With ``record=False``
notifications are only counted (no allocation, for the heap tests).
"""

ENOMEM = 12


class UUID:
    def __init__(self, value):
        if isinstance(value, str):
            value = value.lower()
        self.value = value

    def __eq__(self, other):
        return isinstance(other, UUID) and other.value == self.value

    def __hash__(self):
        return hash(self.value)

    def __repr__(self):
        return f"UUID({self.value!r})"


class FakeBLE:
    def __init__(self):
        self.is_active = False
        self.cfg = {}
        self.handler = None
        self.services = []  # [(service UUID, [(char UUID, flags, handle)])]
        self.values = {}
        self.buffers = {}
        self.adverts = []  # (interval_us, adv_data, resp_data, connectable)
        self.notifications = []  # (conn, handle, bytes)
        self.notify_count = 0
        self.notify_bytes = 0
        self.record = True  # False: count only (no allocation); "last": keep the last per handle
        self.last = {}
        self.count_by_handle = {}
        self.fail_notify = 0
        self.mtu_requests = []
        self._next_handle = 1

    # ------------------------------------------------------------ BLE API
    def active(self, on=None):
        if on is not None:
            self.is_active = bool(on)
        return self.is_active

    def config(self, *args, **kwargs):
        if args:
            return self.cfg[args[0]]
        for k in kwargs:
            self.cfg[k] = kwargs[k]
        return None

    def irq(self, handler):
        self.handler = handler

    def gatts_register_services(self, services):
        out = []
        for svc_uuid, chars in services:
            self._next_handle += 1  # service declaration
            hs = []
            rec = []
            for ch in chars:
                self._next_handle += 1  # characteristic declaration
                h = self._next_handle
                self._next_handle += 1
                if ch[1] & 0x0030:
                    self._next_handle += 1  # CCCD
                hs.append(h)
                rec.append((ch[0], ch[1], h))
                self.values[h] = b""
            self.services.append((svc_uuid, rec))
            out.append(tuple(hs))
        return tuple(out)

    def gatts_set_buffer(self, handle, n, append=False):
        self.buffers[handle] = n

    def gatts_write(self, handle, data, send_update=False):
        self.values[handle] = bytes(data)

    def gatts_read(self, handle):
        return self.values[handle]

    def gatts_notify(self, conn, handle, data=None):
        if self.fail_notify > 0:
            self.fail_notify -= 1
            raise OSError(ENOMEM)
        self.notify_count += 1
        self.notify_bytes += len(data)
        if self.record == "last":
            self.last[handle] = bytes(data)
            self.count_by_handle[handle] = self.count_by_handle.get(handle, 0) + 1
        elif self.record:
            self.notifications.append((conn, handle, bytes(data)))

    def gap_advertise(self, interval_us, adv_data=None, resp_data=None, connectable=True):
        self.adverts.append((interval_us, adv_data, resp_data, connectable))

    def gattc_exchange_mtu(self, conn):
        self.mtu_requests.append(conn)

    # ------------------------------------------------------------ the central
    def connect(self, conn, addr=b"\x01\x02\x03\x04\x05\x06"):
        self.handler(1, (conn, 0, memoryview(addr)))

    def disconnect(self, conn):
        self.handler(2, (conn, 0, memoryview(b"\x00" * 6)))

    def exchange_mtu(self, conn, mtu):
        self.handler(21, (conn, mtu))

    def write(self, conn, handle, data):
        buf = self.buffers.get(handle, 20)
        self.values[handle] = bytes(data[:buf]) if len(data) > buf else bytes(data)
        self.handler(3, (conn, handle))

    def handle_of(self, uuid_value):
        if isinstance(uuid_value, str):
            uuid_value = uuid_value.lower()
        for _, chars in self.services:
            for u, _flags, h in chars:
                if u.value == uuid_value:
                    return h
        raise KeyError(uuid_value)

    def flags_of(self, uuid_value):
        for _, chars in self.services:
            for u, flags, _h in chars:
                if u.value == uuid_value:
                    return flags
        raise KeyError(uuid_value)

    def sent(self, handle, conn=None):
        return [d for c, h, d in self.notifications if h == handle and (conn is None or c == conn)]
