"""A bleak backend over Google's bumble host stack on an in-process virtual link.

No radio and no operating-system Bluetooth: a :class:`VirtualAir` holds a
``bumble.link.LocalLink`` with one virtual controller per device. The host side
is one bumble ``Device`` (the "adapter"), the sensors are other bumble devices
on the same link (:mod:`strideguard_devkit.peripheral`). Real ATT traffic crosses
the link: MTU exchange, service discovery, reads, writes with ATT error
responses, notifications and disconnections, so the receiver's bleak code runs
unchanged against them::

    air = VirtualAir()
    sensor = VirtualSensor(air, leg="L", samples=raw)
    await sensor.start()
    async with BleakClient(address, backend=air.backend.client) as client: ...

The backend implements bleak's ``BaseBleakScanner``/``BaseBleakClient``
interfaces (bleak 1.x–3.x). It relies on these bleak internals, all covered by
``tests/host/test_ble_backend.py``: the constructors of ``BleakGATTService``,
``BleakGATTCharacteristic``, ``BleakGATTDescriptor``, ``BleakGATTServiceCollection.add_*``,
``BaseBleakScanner.create_or_update_device``/``call_detection_callbacks``/``is_allowed_uuid``.

bumble internals: the host adapter's controller subclass completes LE Create
Connection Cancel (a no-op in bumble 0.0.236, which left connects hanging), and
the peripheral clears ``AdvertisingSet.enabled`` when a connection ends advertising.

Pairing: the host adapter pairs like an operating system's stack (LE Secure
Connections, bonding, no I/O: "just works"). ``pair()`` pairs explicitly; a
read or write the sensor refuses with ATT "Insufficient Encryption" or
"Insufficient Authentication" makes it encrypt with the stored key or pair,
then try once more, as BlueZ, Android and iOS do; when the sensor did not bond
(its pairing window is closed) the original ATT error is raised. A bonded
sensor's link is encrypted right after connecting. The keys are kept in memory
or, with ``VirtualAir(key_store_path=...)``, in a JSON file (written to a
temporary name and renamed). The scanner reports each device's bond the way
BlueZ does, in ``BLEDevice.details["props"]["Bonded"]``.

Limits: one ``VirtualAir`` per event loop, no indications-only
characteristics, no RSSI changes (the virtual controller reports -50 dBm),
advertising data and scan response are not distinguished, and nothing is timed
like a radio (peers pace themselves).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid as uuidlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar, cast

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core, hci, smp
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.hci import Address
from bumble.host import Host
from bumble.keys import JsonKeyStore, KeyStore, MemoryKeyStore
from bumble.pairing import PairingConfig, PairingDelegate
from bumble.transport.common import AsyncPipeSink

from strideguard.ble.backend import BleBackend

_PROPERTY_NAMES = {
    0x01: "broadcast",
    0x02: "read",
    0x04: "write-without-response",
    0x08: "write",
    0x10: "notify",
    0x20: "indicate",
    0x40: "authenticated-signed-writes",
    0x80: "extended-properties",
}
_UUID_LISTS = (
    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)


#: ATT errors after which an OS stack encrypts or pairs and tries again
SECURITY_ERRORS = (att.ErrorCode.INSUFFICIENT_AUTHENTICATION, att.ErrorCode.INSUFFICIENT_ENCRYPTION)
_T = TypeVar("_T")


class _BondingSession(smp.Session):
    """bumble's SMP session, recording whether the peer agreed to bond."""

    bonded: ClassVar[dict[int, bool]] = {}

    async def on_pairing(self) -> None:
        _BondingSession.bonded[id(self.connection)] = bool(self.bonding)
        await super().on_pairing()


def key_name(name: str) -> str:
    """A key-store name without bumble's address-type suffix (``/P``).

    bumble stores keys under the identity address with its type and looks them
    up by the connection's address, whose type may be written differently.
    """
    return name.split("/")[0]


class AddressKeyStore(KeyStore):
    """A bumble key store whose names are addresses without the type suffix."""

    def __init__(self, inner: KeyStore) -> None:
        self.inner = inner

    async def delete(self, name: str) -> None:
        """Forget ``name``."""
        with contextlib.suppress(KeyError):
            await self.inner.delete(key_name(name))

    async def update(self, name: str, keys: Any) -> None:
        """Store keys."""
        await self.inner.update(key_name(name), keys)

    async def get(self, name: str) -> Any:
        """The keys of ``name`` or None."""
        return await self.inner.get(key_name(name))

    async def get_all(self) -> list[tuple[str, Any]]:
        """Every stored peer."""
        return await self.inner.get_all()


def settle(future: asyncio.Future[None]) -> None:
    """Resolve ``future`` unless it is already done."""
    if not future.done():
        future.set_result(None)


def bleak_uuid(uuid: core.UUID) -> str:
    """bumble UUID -> bleak's lower-case 128-bit string."""
    return str(uuidlib.UUID(bytes=bytes(reversed(uuid.to_bytes(force_128=True)))))


def address_str(address: Address) -> str:
    """Address without bumble's ``/P`` type suffix, as bleak shows it."""
    return address.to_string(with_type_qualifier=False)


class _Controller(Controller):
    """bumble's virtual controller, with LE Create Connection Cancel finishing the attempt.

    bumble 0.0.236's controller acknowledges the cancel but never completes the
    pending connection, so a connect to a silent address would hang forever. A real
    controller answers with LE Connection Complete, status "Unknown Connection
    Identifier" (Core Vol 4, Part E, 7.8.13); so does this one.
    """

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        pending, self.pending_le_connection = self.pending_le_connection, None
        if pending is not None:
            event = hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0,
                role=hci.Role.CENTRAL,
                peer_address_type=pending.peer_address.address_type,
                peer_address=pending.peer_address,
                connection_interval=0,
                peripheral_latency=0,
                supervision_timeout=0,
                central_clock_accuracy=0,
            )
            asyncio.get_running_loop().call_soon(self.send_hci_packet, event)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)


class VirtualAir:
    """One in-process Bluetooth "air": a LocalLink, a host adapter and any sensors.

    Parameters
    ----------
    central_mtu
        ATT MTU the host adapter asks for on every connection (an OS stack's
        setting; the negotiated MTU is the smaller of this and the sensor's).
    key_store_path
        Keep the adapter's bonds in this JSON file (default: in memory).
    """

    def __init__(self, *, central_mtu: int = 247, key_store_path: Path | None = None) -> None:
        from bumble.link import LocalLink

        self.link = LocalLink()
        self.central_mtu = central_mtu
        self.key_store_path = key_store_path
        #: addresses (as bleak shows them) the adapter has keys for
        self.bonded: set[str] = set()
        self._central: Device | None = None
        self._central_lock = asyncio.Lock()
        #: bumble allows one pending LE connection per device: connects are serialised
        self.connect_lock = asyncio.Lock()
        self._scanners = 0
        self._addresses = itertools.count(1)
        self.backend = BleBackend(
            scanner=type("BumbleScanner", (BumbleScanner,), {"air": self}),
            client=type("BumbleClient", (BumbleClient,), {"air": self}),
        )

    def new_device(self, name: str) -> Device:
        """A powered-off bumble device with its own virtual controller on this link."""
        n = next(self._addresses)
        addr = f"D0:5E:00:00:{n >> 8:02X}:{n & 0xFF:02X}"
        controller = Controller(name, link=self.link, public_address=addr)
        return Device(
            name=name, address=Address(addr), host=Host(controller, AsyncPipeSink(controller))
        )

    async def central(self) -> Device:
        """The host adapter (created and powered on at first use)."""
        async with self._central_lock:
            if self._central is None:
                central = Device(name="strideguard-host", address=Address("C0:00:00:00:00:01"))
                controller = _Controller("host", link=self.link, public_address="C0:00:00:00:00:01")
                central.host = Host(controller, AsyncPipeSink(controller))
                await central.power_on()
                store: KeyStore = (
                    JsonKeyStore(filename=str(self.key_store_path))
                    if self.key_store_path is not None
                    else MemoryKeyStore()
                )
                central.keystore = AddressKeyStore(store)
                central.pairing_config_factory = lambda _c: PairingConfig(
                    sc=True, mitm=False, bonding=True, delegate=PairingDelegate()
                )
                central.smp_session_proxy = _BondingSession
                for name, _keys in await store.get_all():
                    self.bonded.add(key_name(name))
                self._central = central
            return self._central

    async def forget(self, address: str) -> None:
        """Delete the adapter's keys for ``address`` (the sensor no longer has the bond)."""
        central = await self.central()
        store = central.keystore
        self.bonded.discard(address)
        if store is not None:
            await store.delete(address)

    @contextlib.asynccontextmanager
    async def scanning(
        self, on_advertisement: Callable[[Advertisement], None]
    ) -> AsyncIterator[None]:
        """Listen to advertisements; scanning is shared by concurrent scanners."""
        central = await self.central()
        central.on(Device.EVENT_ADVERTISEMENT, on_advertisement)
        self._scanners += 1
        try:
            if self._scanners == 1:
                await central.start_scanning(filter_duplicates=False)
            yield
        finally:
            self._scanners -= 1
            central.remove_listener(Device.EVENT_ADVERTISEMENT, on_advertisement)
            if self._scanners == 0 and central.is_scanning:
                await central.stop_scanning()


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend reading advertisements off a :class:`VirtualAir`."""

    air: ClassVar[VirtualAir]

    def __init__(
        self,
        detection_callback: Any,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._scan: contextlib.AbstractAsyncContextManager[None] | None = None

    async def start(self) -> None:
        """Start scanning (clears the seen devices, as bleak requires)."""
        self.seen_devices = {}
        self._scan = self.air.scanning(self._on_advertisement)
        await self._scan.__aenter__()

    async def stop(self) -> None:
        """Stop scanning."""
        if self._scan is not None:
            scan, self._scan = self._scan, None
            await scan.__aexit__(None, None, None)

    def _on_advertisement(self, adv: Advertisement) -> None:
        data = adv.data
        groups = [cast(list[core.UUID], g) for kind in _UUID_LISTS for g in data.get_all(kind)]
        uuids = [bleak_uuid(u) for group in groups for u in group]
        if not self.is_allowed_uuid(uuids):
            return
        name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(
            AdvertisingData.SHORTENED_LOCAL_NAME
        )
        service_data = {
            bleak_uuid(u): bytes(v)
            for kind in (
                AdvertisingData.SERVICE_DATA_16_BIT_UUID,
                AdvertisingData.SERVICE_DATA_128_BIT_UUID,
            )
            for u, v in data.get_all(kind)
        }
        manufacturer = data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA)
        tx_power = data.get(AdvertisingData.TX_POWER_LEVEL)
        ad = AdvertisementData(
            local_name=name if isinstance(name, str) else None,
            manufacturer_data={int(k): bytes(v) for k, v in manufacturer},
            service_data=service_data,
            service_uuids=sorted(set(uuids)),
            tx_power=tx_power if isinstance(tx_power, int) else None,
            rssi=adv.rssi,
            platform_data=(adv,),
        )
        addr = address_str(adv.address)
        # as BlueZ: the device's properties say whether this computer keeps a bond with it
        bonded = addr in self.air.bonded
        details = {"props": {"Address": addr, "Paired": bonded, "Bonded": bonded}}
        device = self.create_or_update_device(addr, addr, ad.local_name, details, ad)
        self.call_detection_callbacks(device, ad)


def _drop_late_connection(task: asyncio.Future[Connection]) -> None:
    """A connection attempt finished after its caller left: disconnect what it made."""
    if task.cancelled() or task.exception() is not None:
        return
    connection = task.result()
    dropping = asyncio.ensure_future(_quiet_disconnect(connection))
    _DROPPING.add(dropping)
    dropping.add_done_callback(_DROPPING.discard)


#: disconnects of late connections under way (kept so they are not garbage-collected)
_DROPPING: set[asyncio.Future[None]] = set()


async def _quiet_disconnect(connection: Connection) -> None:
    with contextlib.suppress(Exception):
        await connection.disconnect()


class BumbleClient(BaseBleakClient):
    """bleak client backend speaking ATT over a :class:`VirtualAir` connection."""

    air: ClassVar[VirtualAir]

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.pop("disconnected_callback", None),
            timeout=kwargs.pop("timeout", 10.0),
        )
        if isinstance(address_or_ble_device, BLEDevice):
            self._name = address_or_ble_device.name or self.address
        else:
            self._name = self.address
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._closing = False
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        self._auto_secured = False

    # -------------------------------------------------------------- connectivity
    @property
    def name(self) -> str:
        """Advertised name (or the address)."""
        return self._name

    @property
    def mtu_size(self) -> int:
        """Negotiated ATT MTU (23 before the exchange)."""
        return self._connection.att_mtu if self._connection is not None else att.ATT_DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        """True while the link is up."""
        return self._connection is not None

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        """Connect, encrypt if bonded (``pair=True``: pair), exchange MTU, discover services."""
        central = await self.air.central()

        started = asyncio.Event()

        async def attempt() -> Connection:
            async with self.air.connect_lock:
                started.set()
                return await central.connect(Address(self.address), timeout=self._timeout)

        task = asyncio.ensure_future(attempt())
        try:
            connection = await asyncio.shield(task)
        except core.TimeoutError as exc:
            raise BleakDeviceNotFoundError(
                self.address, f"{self.address} is not advertising"
            ) from exc
        except asyncio.CancelledError:
            # the caller gave up (a link closed while connecting): cancel the attempt at the
            # controller, as BlueZ does, and drop a connection that completed meanwhile;
            # otherwise the virtual controller stays "connecting" and refuses every later attempt
            if not started.is_set():
                task.cancel()  # still waiting for its turn: nothing at the controller yet
                raise
            task.add_done_callback(_drop_late_connection)
            if central.le_connecting:
                with contextlib.suppress(Exception):
                    await central.send_command(hci.HCI_LE_Create_Connection_Cancel_Command())
            raise
        self._connection, self._closing = connection, False
        self._auto_secured = False
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._peer = Peer(connection)
        if self.address in self.air.bonded:
            async with self.air.connect_lock:  # one encryption start at a time (bumble)
                await self._encrypt()
        if pair:
            await self.pair()
        async with self._errors():
            await self._peer.request_mtu(self.air.central_mtu)
            self.services = await self._discover()

    async def disconnect(self) -> None:
        """Disconnect (the disconnected callback is not called for this)."""
        connection = self._connection
        if connection is None:
            return
        self._closing = True
        gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        connection.once(Connection.EVENT_DISCONNECTION, lambda *_: settle(gone))
        with contextlib.suppress(core.BaseBumbleError):
            await connection.disconnect()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gone, 2.0)
        self._connection = None

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        if not self._closing and self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)

    async def _encrypt(self) -> bool:
        """Encrypt with the stored key; False (and the key forgotten) when the sensor lost it."""
        connection = self._connection
        if connection is None:
            return False
        try:
            await asyncio.wait_for(connection.encrypt(), self._timeout)
        except (core.BaseBumbleError, hci.HCI_Error, TimeoutError):
            if self._connection is not None:
                await self.air.forget(self.address)
            return False
        return connection.is_encrypted

    async def _pair(self) -> bool:
        """Pair and bond; False when the sensor paired without a bond."""
        connection = self._connection
        if connection is None:
            raise BleakError("Not connected")
        try:
            await asyncio.wait_for(connection.pair(), self._timeout)
        except (core.BaseBumbleError, hci.HCI_Error, TimeoutError, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) and self._connection is not None:
                raise
            raise BleakError(f"pairing with {self.address} failed: {exc!r}") from None
        if _BondingSession.bonded.pop(id(connection), False):
            self.air.bonded.add(self.address)
            return True
        await self.air.forget(self.address)
        return False

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Pair and bond ("just works", LE Secure Connections).

        Raises
        ------
        BleakError
            Pairing failed, or the sensor did not bond (its pairing window is closed).
        """
        if not await self._pair():
            raise BleakError(
                f"{self.address} paired without bonding (its pairing window is closed)"
            )

    async def unpair(self) -> None:
        """Forget the bond on this side and disconnect."""
        await self.air.forget(self.address)
        await self.disconnect()

    async def _secured(self, op: Callable[[], Awaitable[_T]]) -> _T:
        """Run a GATT request; on an ATT security error encrypt or pair and run it once more."""
        try:
            return await op()
        except BleakGATTProtocolError as exc:
            connection = self._connection
            if (
                exc.args[0] not in SECURITY_ERRORS
                or connection is None
                or connection.is_encrypted
                or self._auto_secured
            ):
                raise
            self._auto_secured = True
            ok = self.address in self.air.bonded and await self._encrypt()
            if not ok:
                try:
                    ok = await self._pair()
                except BleakError:
                    ok = False
            if not ok or self._connection is None:
                raise exc from None
            return await op()

    # -------------------------------------------------------------- GATT
    @contextlib.asynccontextmanager
    async def _errors(self) -> AsyncIterator[None]:
        """Map bumble errors to bleak's: ATT error -> BleakGATTProtocolError and so on."""
        if self._peer is None:
            raise BleakError("Not connected")
        try:
            yield
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc
        except core.TimeoutError as exc:
            raise TimeoutError(f"GATT request to {self.address} timed out") from exc
        except asyncio.CancelledError:
            # bumble cancels a pending request when the link drops
            task = asyncio.current_task()
            if (task is not None and task.cancelling()) or self._connection is not None:
                raise
            raise BleakError(f"{self.address} disconnected during a GATT request") from None

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def _discover(self) -> BleakGATTServiceCollection:
        peer = self._require_peer()
        collection = BleakGATTServiceCollection()
        for service in await peer.discover_services():
            bs = BleakGATTService(service, service.handle, bleak_uuid(service.uuid))
            collection.add_service(bs)
            for char in await service.discover_characteristics():
                props = [n for bit, n in _PROPERTY_NAMES.items() if char.properties & bit]
                bc = BleakGATTCharacteristic(
                    char, char.handle, bleak_uuid(char.uuid), props,  # type: ignore[arg-type]
                    lambda: self.mtu_size - 3, bs,
                )  # fmt: skip
                collection.add_characteristic(bc)
                for desc in await char.discover_descriptors():
                    collection.add_descriptor(
                        BleakGATTDescriptor(desc, desc.handle, bleak_uuid(desc.type), bc)
                    )
        return collection

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a characteristic value (long reads included)."""

        async def op() -> bytearray:
            async with self._errors():
                return bytearray(await self._require_peer().read_value(characteristic.obj))

        return await self._secured(op)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a descriptor."""
        async with self._errors():
            return bytearray(await self._require_peer().read_value(descriptor.obj))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        """Write with or without response; ATT errors raise ``BleakGATTProtocolError``."""

        async def op() -> None:
            async with self._errors():
                await self._require_peer().write_value(
                    characteristic.obj, bytes(data), with_response=response
                )

        await self._secured(op)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        """Write a descriptor (with response)."""
        async with self._errors():
            await self._require_peer().write_value(descriptor.obj, bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Subscribe (write the CCCD); ``callback`` gets each value as a ``bytearray``."""

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        async with self._errors():
            await characteristic.obj.subscribe(on_value)
        self._subscribers[characteristic.handle] = on_value

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Unsubscribe (clear the CCCD)."""
        on_value = self._subscribers.pop(characteristic.handle, None)
        async with self._errors():
            await characteristic.obj.unsubscribe(on_value)
