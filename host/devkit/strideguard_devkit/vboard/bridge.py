"""Host side of the virtual board's radio: a bumble peripheral driven by the firmware.

The firmware's ``bluetooth`` stand-in (``hw/bluetooth.py``) sends every GATT
server call over a local socket (messages: :mod:`strideguard_devkit.mp.vbwire`); :class:`RadioBridge` replays them on a bumble
``Device`` on a :class:`~strideguard_devkit.bumble_backend.VirtualAir`:

===============================  ==============================================
firmware call                    bumble side
===============================  ==============================================
``gatts_register_services``      ``Service``/``Characteristic`` objects; the
                                 handles bumble assigns are returned
``config(gap_name=, mtu=)``      device name, GATT server max MTU
``gatts_write`` / ``gatts_read`` the value a central reads (mirrored here)
``gatts_notify(conn, h, data)``  ``notify_subscriber(connection, char, data)``
``gap_advertise``                one extended advertising set (advertising
                                 data + scan response: bumble's virtual
                                 controller sends no scan responses)
``gap_disconnect(conn)``         ``connection.disconnect()``
``gattc_exchange_mtu(conn)``     an ATT MTU request, unless the central did it
``config(bond=, mitm=,           the peripheral's SMP ``PairingConfig`` (bonding,
le_secure=, io=)``               MITM, secure connections, I/O capability)
``_FLAG_*_ENCRYPTED`` flags      bumble's ``READ/WRITE_REQUIRES_ENCRYPTION``
                                 permissions (ATT "Insufficient Encryption")
===============================  ==============================================

and back, as the firmware's IRQs: connection, disconnection, ATT MTU updates
and writes from a central (the value stored for ``gatts_read``), and the
security ones: bumble's key store is :class:`FirmwareKeyStore`, which asks the
firmware for every key (``_IRQ_GET_SECRET``/``_IRQ_SET_SECRET``), so the bonds live
in the board's flash like on the real board; when a pairing ends (or a bonded
central encrypts with a stored key) the firmware gets ``_IRQ_ENCRYPTION_UPDATE``
with ``bonded`` true only if the peripheral bonded and the firmware stored the
keys. A write that arrives while its link is still pairing waits for the end of
the pairing (NimBLE reports the encryption before the next ATT request).
Resolvable private addresses are not resolved (no resolving list).

Loss: with :attr:`RadioBridge.loss` set (a
:class:`~strideguard_devkit.linkloss.NotificationLoss`), stream-data
notifications the firmware sent successfully vanish on the air, as body
shadowing or a full host queue would lose them; the firmware never knows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

from bumble import att
from bumble.controller import Controller
from bumble.core import UUID
from bumble.device import (
    AdvertisingEventProperties,
    AdvertisingParameters,
    AdvertisingSet,
    Connection,
    Device,
)
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.hci import Address
from bumble.host import Host
from bumble.keys import KeyStore, PairingKeys
from bumble.pairing import PairingConfig, PairingDelegate
from bumble.transport.common import AsyncPipeSink

from strideguard import protocol as proto
from strideguard_devkit.bumble_backend import VirtualAir, key_name
from strideguard_devkit.linkloss import NotificationLoss
from strideguard_devkit.mp import vbwire as W

FLAG_READ = 0x0002
FLAG_WRITE_NO_RESPONSE = 0x0004
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010
FLAG_INDICATE = 0x0020
FLAG_READ_ENCRYPTED = 0x0200
FLAG_READ_AUTHENTICATED = 0x0400
FLAG_WRITE_ENCRYPTED = 0x1000
FLAG_WRITE_AUTHENTICATED = 0x2000
SEC_TYPE_PEER = 2  # the record type the keys are stored under (NimBLE's peer security record)
SECRET_TIMEOUT_S = 5.0  # the firmware answers a key request at its next pass (10 ms board time)
PAIRING_WAIT_S = 10.0  # a write waits this long for its link's pairing to end
HCI_REMOTE_USER_TERMINATED = 0x13
HCI_CONNECTION_TIMEOUT = 0x08
EXCHANGE_MTU_DELAY_S = 0.3  # let the central exchange first (it usually does)
CLOCK_HISTORY_MAX = 200000  # board-clock readings kept (halved when full): ~2.8 h at 50 ms


async def read_message(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one wire message; ``asyncio.IncompleteReadError`` at the end of the stream."""
    kind, n = W.decode_header(await reader.readexactly(W.HEADER_SIZE))
    return kind, await reader.readexactly(n) if n else b""


def bumble_uuid(text: str) -> UUID:
    """``"0x180a"`` (16-bit) or a 128-bit string -> bumble UUID."""
    if text.startswith("0x"):
        return UUID.from_16_bits(int(text, 16))
    return UUID(text)


class FirmwareKeyStore(KeyStore):
    """bumble's key store, kept by the firmware (``_IRQ_GET_SECRET``/``_IRQ_SET_SECRET``).

    One secret per peer: type :data:`SEC_TYPE_PEER`, the key is the peer's address
    text, the value bumble's ``PairingKeys`` as JSON (with the name, for ``get_all``).
    """

    def __init__(self, bridge: RadioBridge) -> None:
        self.bridge = bridge

    async def update(self, name: str, keys: PairingKeys) -> None:
        """Store (the firmware may refuse: the pairing window is closed)."""
        name = key_name(name)
        value = json.dumps({"name": name, "keys": keys.to_dict()}).encode()
        ok = await self.bridge.secret_set(SEC_TYPE_PEER, name.encode(), value)
        if ok:
            self.bridge.stored_names.add(name)

    async def get(self, name: str) -> PairingKeys | None:
        """The keys of ``name``, if the firmware keeps them."""
        value = await self.bridge.secret_get(SEC_TYPE_PEER, 0, key_name(name).encode())
        return None if value is None else PairingKeys.from_dict(json.loads(value)["keys"])

    async def delete(self, name: str) -> None:
        """Forget ``name``."""
        await self.bridge.secret_set(SEC_TYPE_PEER, key_name(name).encode(), None)

    async def get_all(self) -> list[tuple[str, PairingKeys]]:
        """Every stored peer (``_IRQ_GET_SECRET`` by index)."""
        out: list[tuple[str, PairingKeys]] = []
        for i in range(64):
            value = await self.bridge.secret_get(SEC_TYPE_PEER, i, None)
            if value is None:
                break
            d = json.loads(value)
            out.append((str(d["name"]), PairingKeys.from_dict(d["keys"])))
        return out

    async def get_resolving_keys(self) -> list[tuple[bytes, Address]]:
        """None: the virtual board does not resolve private addresses."""
        return []


def _forbid_write(_connection: Connection, _value: bytes) -> None:
    raise att.ATT_Error(att.ErrorCode.WRITE_NOT_PERMITTED)


def _forbid_read(_connection: Connection) -> bytes:
    raise att.ATT_Error(att.ErrorCode.READ_NOT_PERMITTED)


class RadioBridge:
    """One firmware boot's radio: its socket stream and its bumble peripheral.

    Parameters
    ----------
    air
        The virtual link the peripheral lives on.
    address
        The board's Bluetooth address (kept across resets, like a real chip's).
    speed
        Board time / wall time (advertising intervals are scaled by it).
    writer
        The socket stream to the firmware.
    """

    def __init__(
        self, air: VirtualAir, address: str, speed: float, writer: asyncio.StreamWriter
    ) -> None:
        self.air = air
        self.address = address
        self.speed = speed
        self.writer = writer
        self.name = ""
        self.max_mtu = att.ATT_DEFAULT_MTU
        self.device: Device | None = None
        self.controller: Controller | None = None
        self.chars: dict[int, Characteristic] = {}  # value handle -> characteristic
        self.uuids: dict[int, str] = {}  # value handle -> UUID text (as the firmware wrote it)
        self.flags: dict[int, int] = {}
        self.values: dict[int, bytes] = {}
        self.buffers: dict[int, int] = {}
        self.conns: dict[int, Connection] = {}
        self.adv: AdvertisingSet | None = None
        self.adv_desc: dict[str, Any] | None = None
        self.advertising = asyncio.Event()
        self.notified: Counter[str] = Counter()  # by characteristic UUID text
        self.notify_dropped = 0
        #: loses stream-data notifications on the air (None: a perfect link)
        self.loss: NotificationLoss | None = None
        self.notify_lost = 0  # data notifications the loss model took
        self.pins: list[tuple[float, int, int]] = []  # (monotonic, pin, level)
        #: the same changes in board time: (board us, pin, level)
        self.pin_log: list[tuple[int, int, int]] = []
        #: index in the samples of the first sample the sensor put into its FIFO
        self.first_sample = -1
        #: board time (us) at which that sample was measured
        self.first_sample_board_us = -1
        #: board clock readings ``(board_us, time.monotonic() at arrival)``, every ~50 ms wall
        self.clock: list[tuple[int, float]] = []
        #: stream sample index at which playback started (paused boards), else -1
        self.play_index = -1
        self.playing = asyncio.Event()
        #: send MSG_PLAY when a central first asks for the stream (paused boards)
        self.play_on_stream = False
        self.on_pin: Callable[[int, int], None] | None = None
        #: the firmware's ``config(bond=, mitm=, le_secure=, io=)``
        self.security_cfg: dict[str, Any] = {
            "bond": False,
            "mitm": False,
            "le_secure": False,
            "io": 3,
        }
        #: peer names whose keys the firmware stored during a pairing in progress
        self.stored_names: set[str] = set()
        #: conn handle -> set when its pairing ended (while pairing)
        self._pairing: dict[int, asyncio.Event] = {}
        #: conn handle -> whether the peripheral bonded in its pairing
        self._bond_at_start: dict[int, bool] = {}
        self._secret_replies: list[asyncio.Future[Any]] = []
        #: _IRQ_ENCRYPTION_UPDATE sent: (conn, bonded)
        self.encryption_updates: list[tuple[int, bool]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    # ------------------------------------------------------------ plumbing
    def send(self, kind: int, payload: bytes = b"") -> None:
        """Queue a message to the firmware (dropped once the session ended)."""
        if not self.closed and not self.writer.is_closing():
            self.writer.write(W.encode(kind, payload))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def serve(self, reader: asyncio.StreamReader) -> None:
        """Handle the firmware's messages until its process ends."""
        try:
            while True:
                kind, payload = await read_message(reader)
                await self.handle(kind, payload)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass

    async def _secret(self, kind: int, payload: dict[str, Any]) -> Any:
        if self.closed:
            return None
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._secret_replies.append(future)
        self.send(kind, json.dumps(payload).encode())
        try:
            return await asyncio.wait_for(future, SECRET_TIMEOUT_S)
        except TimeoutError:
            return None

    async def secret_get(self, sec_type: int, index: int, key: bytes | None) -> bytes | None:
        """``_IRQ_GET_SECRET`` in the firmware: the value it returned (None: none)."""
        r = await self._secret(
            W.MSG_GET_SECRET, {"t": sec_type, "i": index, "k": key.hex() if key else None}
        )
        return bytes.fromhex(r) if isinstance(r, str) else None

    async def secret_set(self, sec_type: int, key: bytes, value: bytes | None) -> bool:
        """``_IRQ_SET_SECRET`` in the firmware (``value`` None: delete); what it returned."""
        r = await self._secret(
            W.MSG_SET_SECRET,
            {"t": sec_type, "k": key.hex(), "v": value.hex() if value is not None else None},
        )
        return r is True

    def _pairing_config(self, _connection: Connection) -> PairingConfig:
        cfg = self.security_cfg
        return PairingConfig(
            sc=bool(cfg["le_secure"]),
            mitm=bool(cfg["mitm"]),
            bonding=bool(cfg["bond"]),
            delegate=PairingDelegate(io_capability=PairingDelegate.IoCapability(int(cfg["io"]))),
        )

    async def close(self) -> None:
        """The board went away (reset, power off): drop links, leave the air."""
        self.closed = True
        for future in self._secret_replies:
            if not future.done():
                future.set_result(None)
        for task in list(self._tasks):
            task.cancel()
        device = self.device
        if device is not None:
            for connection in list(self.conns.values()):
                with contextlib.suppress(Exception):
                    await connection.disconnect(HCI_CONNECTION_TIMEOUT)
            if self.adv is not None and self.adv.enabled:
                with contextlib.suppress(Exception):
                    await self.adv.stop()
            with contextlib.suppress(Exception):
                await device.power_off()
        if self.controller is not None:
            with contextlib.suppress(KeyError):
                self.air.link.remove_controller(self.controller)
        with contextlib.suppress(Exception):
            self.writer.close()

    # ------------------------------------------------------------ firmware -> bumble
    async def handle(self, kind: int, p: bytes) -> None:
        """Act on one message from the firmware."""
        if kind == W.MSG_NOTIFY:
            conn, handle, how = struct.unpack_from(W.FORMAT_NOTIFY, p)
            head = struct.calcsize(W.FORMAT_NOTIFY)
            value = p[head:] if how != W.NOTIFY_VALUE else self.values.get(handle, b"")
            await self._notify(conn, handle, value)
        elif kind == W.MSG_VALUE:
            handle, update = struct.unpack_from(W.FORMAT_VALUE, p)
            value = p[struct.calcsize(W.FORMAT_VALUE) :]
            self.values[handle] = value
            if update and handle in self.chars and self.device is not None:
                for connection in list(self.conns.values()):
                    with contextlib.suppress(Exception):
                        await self.device.notify_subscriber(connection, self.chars[handle], value)
        elif kind == W.MSG_REGISTER:
            await self._register(json.loads(p))
        elif kind == W.MSG_CONFIG:
            cfg = json.loads(p)
            if "gap_name" in cfg:
                self.name = str(cfg["gap_name"])
                if self.device is not None:
                    self.device.name = self.name
            if "mtu" in cfg:
                self.max_mtu = int(cfg["mtu"])
                if self.device is not None:
                    self.device.gatt_server.max_mtu = self.max_mtu
            for key in ("bond", "mitm", "le_secure", "io"):
                if key in cfg:
                    self.security_cfg[key] = cfg[key]
        elif kind == W.MSG_ADVERTISE:
            await self._advertise(json.loads(p))
        elif kind == W.MSG_DISCONNECT:
            (conn,) = struct.unpack(W.FORMAT_CONN, p)
            link = self.conns.get(conn)
            if link is not None:
                self._spawn(self._disconnect(link, HCI_REMOTE_USER_TERMINATED))
        elif kind == W.MSG_EXCHANGE_MTU:
            (conn,) = struct.unpack(W.FORMAT_CONN, p)
            self._spawn(self._exchange_mtu(conn))
        elif kind == W.MSG_BUFFER:
            handle, n = struct.unpack(W.FORMAT_BUFFER, p)
            self.buffers[handle] = n
        elif kind == W.MSG_CLOCK:
            self.clock.append((struct.unpack(W.FORMAT_CLOCK, p)[0], time.monotonic()))
            if len(self.clock) > CLOCK_HISTORY_MAX:
                del self.clock[: CLOCK_HISTORY_MAX // 2]
        elif kind == W.MSG_SECRET_REPLY:
            if self._secret_replies:
                future = self._secret_replies.pop(0)
                if not future.done():
                    future.set_result(json.loads(p)["r"])
        elif kind == W.MSG_PLAYING:
            self.play_index = struct.unpack(W.FORMAT_SAMPLE_AT, p)[0]
            self.playing.set()
        elif kind == W.MSG_FIRST:
            self.first_sample, self.first_sample_board_us = struct.unpack(W.FORMAT_SAMPLE_AT, p)
        elif kind == W.MSG_PIN:
            gpio, level, board_us = struct.unpack(W.FORMAT_PIN, p)
            self.pins.append((time.monotonic(), gpio, level))
            self.pin_log.append((board_us, gpio, level))
            if self.on_pin is not None:
                self.on_pin(gpio, level)

    async def _notify(self, conn: int, handle: int, value: bytes) -> None:
        connection = self.conns.get(conn)
        char = self.chars.get(handle)
        if connection is None or char is None or self.device is None:
            self.notify_dropped += 1
            return
        if (
            self.loss is not None
            and self.uuids.get(handle) == proto.DATA_CHAR_UUID
            and self.loss.drop()
        ):
            self.notify_lost += 1  # sent by the board, lost on the air
            self.notified[self.uuids[handle]] += 1
            return
        try:
            # a real stack sends even to a central that did not subscribe, which drops it:
            # the same for the central as sending to subscribers only
            await self.device.notify_subscriber(connection, char, value)
        except Exception:  # the link dropped under us
            self.notify_dropped += 1
            return
        self.notified[self.uuids[handle]] += 1
        # bumble's virtual link has no flow control: yield so the central takes each
        # packet before the next one (the socket then paces the board)
        await asyncio.sleep(0)

    async def _disconnect(self, connection: Connection, reason: int) -> None:
        with contextlib.suppress(Exception):
            await connection.disconnect(reason)

    async def _exchange_mtu(self, conn: int) -> None:
        await asyncio.sleep(EXCHANGE_MTU_DELAY_S)
        connection = self.conns.get(conn)
        if connection is None or connection.att_mtu != att.ATT_DEFAULT_MTU:
            return  # the central already exchanged (the IRQ went with its update)
        with contextlib.suppress(Exception):
            await connection.gatt_client.request_mtu(self.max_mtu)

    def _make_device(self) -> Device:
        controller = Controller(
            self.name or "vboard", link=self.air.link, public_address=self.address
        )
        self.controller = controller
        device = Device(
            name=self.name or "vboard",
            address=Address(self.address),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        device.gatt_server.max_mtu = self.max_mtu
        device.pairing_config_factory = self._pairing_config
        device.on(Device.EVENT_CONNECTION, self._on_connection)
        return device

    async def _register(self, desc: list[list[Any]]) -> None:
        device = self.device or self._make_device()
        services = []
        for svc_uuid, chars in desc:
            objs = []
            for char_uuid, flags in chars:
                objs.append(self._characteristic(char_uuid, int(flags)))
            services.append(Service(bumble_uuid(svc_uuid), objs))
        device.add_services(services)
        handles = []
        for svc, (_u, chars) in zip(services, desc, strict=True):
            hs = []
            for char, (char_uuid, flags) in zip(svc.characteristics, chars, strict=True):
                assert isinstance(char, Characteristic)
                self.chars[char.handle] = char
                self.uuids[char.handle] = char_uuid
                self.flags[char.handle] = int(flags)
                self.values[char.handle] = b""
                hs.append(char.handle)
            handles.append(hs)
        if self.device is None:
            await device.power_on()
            device.keystore = FirmwareKeyStore(self)  # after power-on: it asks the firmware
            self.device = device
        self.send(W.MSG_HANDLES, json.dumps(handles).encode())

    def _characteristic(self, uuid_text: str, flags: int) -> Characteristic:
        readable = bool(flags & FLAG_READ)
        writable = bool(flags & (FLAG_WRITE | FLAG_WRITE_NO_RESPONSE))
        holder: list[Characteristic] = []

        def read(_connection: Connection) -> bytes:
            return self.values.get(holder[0].handle, b"")

        async def write(connection: Connection, value: bytes) -> None:
            pairing = self._pairing.get(connection.handle)
            if pairing is not None:  # the firmware learns of the encryption first
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(pairing.wait(), PAIRING_WAIT_S)
            handle = holder[0].handle
            value = bytes(value)[: self.buffers.get(handle, W.DEFAULT_BUFFER)]
            self.values[handle] = value
            self.send(
                W.MSG_WRITTEN, struct.pack(W.FORMAT_WRITTEN, connection.handle, handle) + value
            )
            if (
                self.play_on_stream
                and value[:1] == bytes((proto.OP_START_STREAM,))
                and self.uuids.get(handle) == proto.CONTROL_CHAR_UUID
            ):
                self.play_on_stream = False  # the scripted run starts with the first stream
                self.send(W.MSG_PLAY)

        perms = (Characteristic.READABLE if readable else 0) | (
            Characteristic.WRITEABLE if writable else 0
        )
        if flags & FLAG_READ_ENCRYPTED:
            perms |= Characteristic.READ_REQUIRES_ENCRYPTION
        if flags & FLAG_WRITE_ENCRYPTED:
            perms |= Characteristic.WRITE_REQUIRES_ENCRYPTION
        if flags & FLAG_READ_AUTHENTICATED:
            perms |= Characteristic.READ_REQUIRES_AUTHENTICATION
        if flags & FLAG_WRITE_AUTHENTICATED:
            perms |= Characteristic.WRITE_REQUIRES_AUTHENTICATION
        value = CharacteristicValue(
            read=read if readable else _forbid_read, write=write if writable else _forbid_write
        )
        char: Characteristic[bytes] = Characteristic(
            bumble_uuid(uuid_text),
            Characteristic.Properties(flags & 0xFF),
            Characteristic.Permissions(perms),
            value,
        )
        holder.append(char)
        return char

    async def _advertise(self, desc: dict[str, Any] | None) -> None:
        device = self.device
        if device is None:
            return
        self.adv_desc = desc
        if desc is None:
            if self.adv is not None and self.adv.enabled:
                await self.adv.stop()
            self.advertising.clear()
            return
        data = bytes.fromhex(desc["adv"]) + bytes.fromhex(desc["resp"])
        interval_ms = min(max(desc["interval_us"] / 1000 / self.speed, 20.0), 10240.0)
        if self.adv is not None:
            with contextlib.suppress(Exception):
                if self.adv.enabled:
                    await self.adv.stop()
            with contextlib.suppress(Exception):
                await self.adv.remove()
            self.adv = None
        self.adv = await device.create_advertising_set(
            advertising_parameters=AdvertisingParameters(
                advertising_event_properties=AdvertisingEventProperties(
                    is_connectable=bool(desc["connectable"]), is_scannable=False, is_legacy=False
                ),
                primary_advertising_interval_min=interval_ms,
                primary_advertising_interval_max=interval_ms,
            ),
            advertising_data=data,
            auto_start=True,
        )
        self.advertising.set()

    # ------------------------------------------------------------ bumble -> firmware
    def _on_connection(self, connection: Connection) -> None:
        conn = connection.handle
        self.conns[conn] = connection
        if self.adv is not None:
            self.adv.enabled = False  # the controller stops advertising on a connection
        self.advertising.clear()
        peer = connection.peer_address
        addr = bytes(reversed(bytes(peer)))
        self.send(W.MSG_CONNECTED, struct.pack(W.FORMAT_PEER, conn, peer.address_type) + addr)
        connection.on(
            Connection.EVENT_DISCONNECTION,
            lambda reason: self._on_disconnection(conn, connection),
        )
        connection.on(
            Connection.EVENT_CONNECTION_ATT_MTU_UPDATE,
            lambda: self.send(W.MSG_MTU, struct.pack(W.FORMAT_MTU, conn, connection.att_mtu)),
        )
        connection.on(Connection.EVENT_PAIRING_START, lambda: self._pairing_start(conn))
        connection.on(Connection.EVENT_PAIRING, lambda _keys: self._pairing_end(conn, connection))
        connection.on(Connection.EVENT_PAIRING_FAILURE, lambda _r: self._pairing_end(conn, None))
        connection.on(
            Connection.EVENT_CONNECTION_ENCRYPTION_CHANGE,
            lambda: self._encryption_change(conn, connection),
        )

    def _pairing_start(self, conn: int) -> None:
        self._pairing[conn] = asyncio.Event()
        self._bond_at_start[conn] = bool(self.security_cfg["bond"])
        self.stored_names.clear()

    def _pairing_end(self, conn: int, connection: Connection | None) -> None:
        event = self._pairing.pop(conn, None)
        bond = self._bond_at_start.pop(conn, False)
        if connection is not None and connection.is_encrypted:
            bonded = bond and key_name(str(connection.peer_address)) in self.stored_names
            self._send_encrypted(conn, bonded)
        self.stored_names.clear()
        if event is not None:
            event.set()

    def _encryption_change(self, conn: int, connection: Connection) -> None:
        if conn in self._pairing or not connection.is_encrypted:
            return  # reported when the pairing ends
        # encrypted with a key from the firmware's store: a bond it keeps
        self._send_encrypted(conn, True)

    def _send_encrypted(self, conn: int, bonded: bool) -> None:
        self.encryption_updates.append((conn, bonded))
        self.send(W.MSG_ENCRYPTED, struct.pack(W.FORMAT_ENCRYPTED, conn, 1, 0, int(bonded), 16))

    def _on_disconnection(self, conn: int, connection: Connection) -> None:
        if self.conns.get(conn) is connection:
            del self.conns[conn]
        event = self._pairing.pop(conn, None)
        if event is not None:
            event.set()
        peer = connection.peer_address
        addr = bytes(reversed(bytes(peer)))
        self.send(W.MSG_DISCONNECTED, struct.pack(W.FORMAT_PEER, conn, peer.address_type) + addr)

    async def drop_links(self, reason: int = HCI_CONNECTION_TIMEOUT) -> int:
        """Drop every link from the board's side (out of range); return how many."""
        connections = list(self.conns.values())
        for connection in connections:
            gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            connection.once(
                Connection.EVENT_DISCONNECTION,
                lambda *_, f=gone: None if f.done() else f.set_result(None),
            )
            with contextlib.suppress(Exception):
                await connection.disconnect(reason)
                await asyncio.wait_for(gone, 2.0)
        return len(connections)

    def press_button(self, pin: int = 0) -> None:
        """Tap the BOOT button (GPIO ``pin``): the firmware's pin IRQ runs."""
        self.send(W.MSG_BUTTON, struct.pack(W.FORMAT_BUTTON, pin))

    def hold_button(self, pin: int, ms: int) -> None:
        """Hold the button on GPIO ``pin`` for ``ms`` of board time."""
        self.send(W.MSG_BUTTON_HOLD, struct.pack(W.FORMAT_BUTTON_HOLD, pin, ms))
