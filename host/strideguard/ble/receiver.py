"""The host's BLE receiver: find sensors, keep one link per sensor alive, record everything.

Built on bleak; every entry point takes ``backend=`` (a
:class:`~strideguard.ble.backend.BleBackend`) so tests and the ``--virtual``
mode run the same code over bumble (:mod:`strideguard_devkit.bumble_backend`).

Data path of a :class:`SensorLink`::

    bleak notification callback ──(bytes, time.monotonic())──▶ bounded queue
        ──▶ consumer task: StreamAssembler (decode_frames, gaps)
            ─▶ on_samples(SampleBlock) / on_event(stream, event)   ← analysis plugs in here
            ─▶ recording.append_*  (after the analysis: a full disk stops the recording
               with a ``recording_stopped`` event, never the analysis)

The callback only copies bytes and the arrival time; when the queue is full the
frame is dropped and counted (``LinkStats.queue_dropped``, and a
``queue_overflow`` event), never silently. Connection events (connect,
disconnect, MTU, failed attempts, gaps) travel through the same queue, so the
recording holds them in arrival order with the frames.

Reconnect: after a drop or a failed attempt the link waits according to the
error kind (:class:`LinkErrorKind`, :class:`ReconnectPolicy`), rescans for the
sensor and connects again; the board's running sample index shows the samples
lost during the outage as a hole.

Backfill: with a board that keeps its recent frames (firmware
``protocol.BACKFILL_FIRMWARE`` or later), the link asks for every hole
(``OP_RESEND``, planned by :class:`~strideguard.backfill.BackfillPlanner`) and
the assembler holds the samples after a hole until the resent frames fill it or
it is settled as lost; only then does a gap reach ``SampleBlock.gaps`` and the
recording's ``gap`` events. Resent frames are recorded like any frame, and every
decision (``backfill_on``, ``backfill_request``, ``backfill_answer``,
``backfill_gave_up``) is recorded as an event in the order the consumer acted on
it, so a replay releases the same samples.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakCharacteristicNotFoundError,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
)

from strideguard import protocol as proto
from strideguard.assembler import BACKFILL_EVENTS, SampleBlock, StreamAssembler
from strideguard.backfill import BackfillPlanner
from strideguard.ble.backend import PLATFORM, BleBackend
from strideguard.errors import StrideguardError
from strideguard.recording import RecordingError, RecordingWriter

_log = logging.getLogger(__name__)
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
_ADDRESS_RE = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f-]{36}$")


# --------------------------------------------------------------------- errors
class BluetoothUnavailableError(StrideguardError):
    """No usable Bluetooth adapter (no radio, no BlueZ/D-Bus, powered off, denied)."""


class LinkErrorKind(StrEnum):
    """Why a connection attempt failed or a link ended; selects the backoff."""

    NOT_FOUND = "not_found"  # sensor not advertising / out of range
    TIMEOUT = "timeout"  # connect or a GATT request timed out
    DROPPED = "dropped"  # an established link was lost
    TRANSIENT = "transient"  # other stack error (busy, aborted, disconnected during setup)
    FATAL = "fatal"  # retrying cannot help: no adapter, not a strideguard sensor


class SensorLinkError(StrideguardError):
    """A link gave up; ``kind`` says why."""

    def __init__(self, message: str, kind: LinkErrorKind) -> None:
        super().__init__(message)
        self.kind = kind


#: ATT errors of a sensor that needs an encrypted, bonded link (firmware 0.4.0 and later)
SECURITY_ATT_ERRORS = frozenset({0x05, 0x08, 0x0C, 0x0F})


#: what to tell the runner when a sensor refuses this computer (the link adds its name)
NOT_BONDED_MESSAGE = (
    "the sensor refused the connection: this computer is not bonded to it. "
    "Run `strideguard pair` (it asks you to hold the sensor's button for 3 s)"
)


def is_security_refusal(exc: BaseException) -> bool:
    """True for the ATT error of a read/write that needs an encrypted, bonded link."""
    return isinstance(exc, BleakGATTProtocolError) and exc.args[0] in SECURITY_ATT_ERRORS


def classify_error(exc: BaseException) -> LinkErrorKind:
    """Map an exception from bleak/the OS stack to a :class:`LinkErrorKind`.

    Parameters
    ----------
    exc
        What a connect/setup step raised.

    Returns
    -------
    LinkErrorKind
        The kind that picks the reconnect backoff.
    """
    if isinstance(exc, SensorLinkError):
        return exc.kind
    if isinstance(exc, BleakBluetoothNotAvailableError | BluetoothUnavailableError):
        return LinkErrorKind.FATAL
    if isinstance(exc, BleakCharacteristicNotFoundError):
        return LinkErrorKind.FATAL  # not our GATT profile
    if is_security_refusal(exc):
        return LinkErrorKind.FATAL  # not bonded: retrying cannot help, pairing can
    if isinstance(exc, BleakDeviceNotFoundError):
        return LinkErrorKind.NOT_FOUND
    if isinstance(exc, TimeoutError):
        return LinkErrorKind.TIMEOUT
    if isinstance(exc, FileNotFoundError):
        return LinkErrorKind.FATAL  # no D-Bus socket: no Bluetooth service at all
    if isinstance(exc, BleakError | OSError | EOFError):
        return LinkErrorKind.TRANSIENT
    return LinkErrorKind.FATAL  # a bug, not a radio problem: do not loop on it


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff for one error kind: ``first_delay_s · factor^attempt``, capped."""

    first_delay_s: float
    max_delay_s: float
    factor: float = 2.0


def _default_backoff() -> dict[LinkErrorKind, Backoff]:
    return {
        LinkErrorKind.DROPPED: Backoff(0.05, 2.0),  # come straight back: it was just there
        LinkErrorKind.TRANSIENT: Backoff(0.25, 4.0),
        LinkErrorKind.TIMEOUT: Backoff(0.5, 8.0),
        LinkErrorKind.NOT_FOUND: Backoff(1.0, 10.0, 1.5),  # out of range: rescan calmly
    }


@dataclass
class ReconnectPolicy:
    """How a :class:`SensorLink` retries.

    Attributes
    ----------
    backoff
        Backoff per error kind (``FATAL`` never retries).
    jitter
        Random ± fraction applied to each delay (avoids two sensors in lock-step).
    max_attempts
        Consecutive failed attempts before giving up (``None``: retry forever).
    scale
        Multiplies every delay (tests use small values).
    """

    backoff: dict[LinkErrorKind, Backoff] = field(default_factory=_default_backoff)
    jitter: float = 0.1
    max_attempts: int | None = None
    scale: float = 1.0

    def delay_s(self, kind: LinkErrorKind, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (0-based) after ``kind``."""
        b = self.backoff.get(kind, self.backoff[LinkErrorKind.TRANSIENT])
        base = min(b.first_delay_s * b.factor**attempt, b.max_delay_s)
        return self.scale * base * (1.0 + self.jitter * (2.0 * random.random() - 1.0))


# --------------------------------------------------------------------- scanning
@dataclass
class SensorInfo:
    """A strideguard sensor seen while scanning.

    Attributes
    ----------
    name
        Advertised name, e.g. ``StrideGuard-L``.
    address
        Bluetooth address (a UUID on macOS).
    leg
        ``"L"``, ``"R"`` or ``None`` (from the name).
    rssi_dbm
        Signal strength of the last advertisement.
    battery_pct
        Battery level from the advertisement's Battery service data (or read), else ``None``.
    device
        bleak's device handle, for connecting without another scan.
    bonded
        This computer keeps a bond with the sensor (``None``: the OS does not say;
        BlueZ does, in the device's properties).
    pairing_open
        The sensor's pairing window is open (``None``: its firmware does not advertise it).
    has_bonds
        The sensor is bonded to some host (``None``: not advertised).
    """

    name: str
    address: str
    leg: str | None
    rssi_dbm: int
    battery_pct: int | None = None
    device: BLEDevice | None = field(default=None, repr=False, compare=False)
    bonded: bool | None = None
    pairing_open: bool | None = None
    has_bonds: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "address": self.address,
            "leg": self.leg,
            "rssi_dbm": self.rssi_dbm,
            "battery_pct": self.battery_pct,
            "bonded": self.bonded,
            "pairing_open": self.pairing_open,
            "has_bonds": self.has_bonds,
        }


def bonded_to_this_computer(device: BLEDevice) -> bool | None:
    """Whether the OS keeps a bond with ``device`` (BlueZ's ``Bonded``/``Paired``), else None."""
    details = device.details
    props = details.get("props") if isinstance(details, dict) else None
    if not isinstance(props, dict):
        return None
    for key in ("Bonded", "Paired"):
        if isinstance(props.get(key), bool):
            return bool(props[key])
    return None


#: longest sensor name kept (a BLE advertisement carries at most 29 bytes of it)
MAX_NAME_CHARS = 40


def printable_name(name: str) -> str:
    """An advertised name made safe to show: control characters become ``?``, shortened.

    Anyone nearby can advertise our service with any name, including terminal
    escape sequences; this keeps them out of logs, tables and file headers.

    >>> printable_name("StrideGuard-L")
    'StrideGuard-L'
    >>> printable_name("x\x1b[2Jy")
    'x?[2Jy'
    """
    return "".join(c if c.isprintable() else "?" for c in name)[:MAX_NAME_CHARS]


def leg_from_name(name: str | None) -> str | None:
    """``"L"``/``"R"`` from ``StrideGuard-L``/``-R``, else ``None``."""
    if name and name.startswith(proto.DEVICE_NAME_PREFIX):
        leg = name[len(proto.DEVICE_NAME_PREFIX) :]
        return leg if leg in proto.LEG_NAMES else None
    return None


async def scan(
    timeout_s: float = 5.0, *, backend: BleBackend | None = None, read_battery: bool = False
) -> list[SensorInfo]:
    """Find strideguard sensors by their advertised service UUID.

    Parameters
    ----------
    timeout_s
        Scanning time.
    backend
        bleak backends (default: the platform's).
    read_battery
        Connect briefly to sensors that do not advertise their battery level to read it.

    Returns
    -------
    list of SensorInfo
        Sorted by leg, then name, then address.

    Raises
    ------
    BluetoothUnavailableError
        No usable Bluetooth adapter.
    """
    backend = backend or PLATFORM
    try:
        found = await BleakScanner.discover(
            timeout_s, return_adv=True, service_uuids=[proto.SERVICE_UUID], **_scanner_args(backend)
        )
    except FileNotFoundError as exc:
        raise BluetoothUnavailableError(
            "Bluetooth is not available: no Bluetooth service (BlueZ over D-Bus) on this machine"
        ) from exc
    except (BleakError, OSError) as exc:
        raise BluetoothUnavailableError(f"Bluetooth is not available: {_one_line(exc)}") from exc
    sensors = []
    for device, adv in found.values():
        if proto.SERVICE_UUID not in adv.service_uuids:
            continue
        name = printable_name(adv.local_name or device.name or device.address)
        battery = adv.service_data.get(BATTERY_SERVICE_UUID)
        flags = proto.decode_adv_flags(adv.manufacturer_data)
        sensors.append(
            SensorInfo(
                name=name,
                address=device.address,
                leg=leg_from_name(name),
                rssi_dbm=adv.rssi,
                battery_pct=battery[0] if battery else None,
                device=device,
                bonded=bonded_to_this_computer(device),
                pairing_open=None if flags is None else bool(flags & proto.ADV_PAIRING_OPEN),
                has_bonds=None if flags is None else bool(flags & proto.ADV_HAS_BONDS),
            )
        )
    if read_battery:
        for s in sensors:
            if s.battery_pct is None and s.device is not None:
                with contextlib.suppress(BleakError, OSError, TimeoutError):
                    async with BleakClient(
                        s.device, timeout=timeout_s, backend=backend.client
                    ) as c:
                        s.battery_pct = (await c.read_gatt_char(BATTERY_LEVEL_UUID))[0]
    return sorted(sensors, key=lambda s: (s.leg or "~", s.name, s.address))


def _scanner_args(backend: BleBackend) -> dict[str, Any]:
    """``backend=`` for bleak's scanner, or nothing for the platform default."""
    return {} if backend.scanner is None else {"backend": backend.scanner}


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --------------------------------------------------------------------- link
@dataclass
class LinkStats:
    """Counters of one :class:`SensorLink` (all cumulative)."""

    notifications: int = 0
    queue_dropped: int = 0
    connects: int = 0
    disconnects: int = 0
    failed_attempts: int = 0
    consumer_errors: int = 0
    mtu: int = 0
    status: dict[str, int] = field(default_factory=dict)


_FRAME, _STATUS, _EVENT = 0, 1, 2
#: the consumer looks at pending backfill this often when no notification arrives
BACKFILL_TICK_S = 0.1
#: the consumer hands the event loop back after this many queue entries, so a write an
#: alert started (its pattern to the sensor's motor) goes out while a backlog is analysed
CONSUME_CHUNK = 32
SamplesCallback = Callable[[SampleBlock], None]
EventCallback = Callable[[int, dict[str, Any]], None]


class SensorLink:
    """One sensor's link: connect, negotiate MTU, subscribe, stream, reconnect, record.

    Parameters
    ----------
    target
        A :class:`SensorInfo` from :func:`scan`, a bleak ``BLEDevice``, an address, or a name.
    stream
        Sensor number in the recording and in :class:`SampleBlock` (0 left, 1 right, ...).
    recording
        Every frame, status record and event is appended to it (arrival times
        relative to the recording's clock).
    backend
        bleak backends (default: the platform's).
    policy
        Reconnect backoff.
    queue_size
        Bound of the notification queue (frames beyond it are dropped and counted).
    connect_timeout_s, scan_timeout_s, control_timeout_s
        Time limits of one connect, one rescan, one control-point round trip.
    autostart
        Ask for the stream (``OP_START_STREAM``) after every (re)connection,
        unless :meth:`stop_stream` was called.
    backfill
        Ask a board that supports it for the samples the link lost (see the
        module docstring); ``False`` treats every hole as final at once.
    on_samples, on_event
        Consumer hooks, called in the consumer task with each :class:`SampleBlock`
        and with ``(stream, event_dict)``.

    Examples
    --------
    >>> async def run(sensor, rec):  # doctest: +SKIP
    ...     async with SensorLink(sensor, recording=rec, on_samples=print) as link:
    ...         await link.set_rate(500)
    ...         await asyncio.sleep(60)
    """

    def __init__(
        self,
        target: SensorInfo | BLEDevice | str,
        *,
        stream: int = 0,
        recording: RecordingWriter | None = None,
        backend: BleBackend | None = None,
        policy: ReconnectPolicy | None = None,
        queue_size: int = 1024,
        connect_timeout_s: float = 10.0,
        scan_timeout_s: float = 5.0,
        control_timeout_s: float = 2.0,
        autostart: bool = True,
        backfill: bool = True,
        on_samples: SamplesCallback | None = None,
        on_event: EventCallback | None = None,
    ) -> None:
        self._device: BLEDevice | None = None
        #: the last scan said: the sensor keeps bonds, its window is closed, the OS has no bond
        self._refuses_us = False
        if isinstance(target, SensorInfo):
            self.name, self.address, self._device = target.name, target.address, target.device
        elif isinstance(target, BLEDevice):
            self.name = printable_name(target.name or "")
            self.address, self._device = target.address, target
        elif _ADDRESS_RE.match(target):
            self.name, self.address = "", target
        else:
            self.name, self.address = target, ""
        self.stream = stream
        self.recording = recording
        self.backend = backend or PLATFORM
        self.policy = policy or ReconnectPolicy()
        self.queue_size = queue_size
        self.connect_timeout_s = connect_timeout_s
        self.scan_timeout_s = scan_timeout_s
        self.control_timeout_s = control_timeout_s
        self.on_samples = on_samples
        self.on_event = on_event
        self.stats = LinkStats()
        self.assembler = StreamAssembler(stream)
        self.backfill = backfill
        self.planner = BackfillPlanner()
        self._requests: set[asyncio.Task[None]] = set()
        self.want_stream = autostart
        #: why the link gave up (fatal error or max_attempts), else None
        self.failure: SensorLinkError | None = None
        #: last exception raised by a consumer hook, else None
        self.error: BaseException | None = None
        #: why the recording stopped (a full disk), else None; receiving goes on
        self.recording_stopped: str | None = None
        self._t_offset = time.monotonic() - recording.elapsed_s() if recording is not None else 0.0
        self._queue: asyncio.Queue[tuple[int, Any, float] | None] = asyncio.Queue()
        self._control_q: asyncio.Queue[bytes] = asyncio.Queue(maxsize=16)
        self._control_lock = asyncio.Lock()
        self._client: BleakClient | None = None
        self._dropped = asyncio.Event()
        self._connected = asyncio.Event()
        self._settled = asyncio.Event()  # first connection made, or gave up
        self._closing = False
        self._wake = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._reported_drops = 0
        #: records waiting for the end of the analysis step (None: write at once)
        self._out: list[tuple[int, Any, float]] | None = None

    # ----------------------------------------------------------------- properties
    @property
    def connected(self) -> bool:
        """True while the link is up and subscribed."""
        return self._connected.is_set()

    @property
    def mtu(self) -> int:
        """Negotiated ATT MTU of the current (or last) connection."""
        return self.stats.mtu

    @property
    def label(self) -> str:
        """Name or address, for messages."""
        return self.name or self.address

    # ----------------------------------------------------------------- lifecycle
    async def connect(self, timeout_s: float | None = None) -> None:
        """Start the link and wait for the first connection.

        Raises
        ------
        SensorLinkError
            The link gave up (fatal error or ``max_attempts``), or ``timeout_s`` passed.
        """
        if self._supervisor is None:
            self._consumer = asyncio.create_task(self._consume())
            self._supervisor = asyncio.create_task(self._supervise())
        try:
            await asyncio.wait_for(self._settled.wait(), timeout_s)
        except TimeoutError:
            raise SensorLinkError(
                f"{self.label}: no connection within {timeout_s:g} s", LinkErrorKind.TIMEOUT
            ) from None
        if self.failure is not None and not self.connected:
            raise self.failure

    async def wait_connected(self, timeout_s: float) -> None:
        """Wait until the link is (again) up."""
        await asyncio.wait_for(self._connected.wait(), timeout_s)

    async def wait_samples(self, n: int, timeout_s: float) -> None:
        """Wait until ``n`` samples in total have been decoded."""
        deadline = time.monotonic() + timeout_s
        while self.assembler.samples < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.label}: {self.assembler.samples} of {n} samples")
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        """Disconnect, stop reconnecting, flush the queue through the consumer."""
        if self._closing:
            return
        self._closing = True
        self._dropped.set()
        self._wake.set()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        for task in list(self._requests):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        client = self._client
        if client is not None and client.is_connected:
            # stop the stream first: the board saves power and sends nothing into a closing link
            with contextlib.suppress(BleakError, OSError, TimeoutError, SensorLinkError):
                await asyncio.wait_for(self.send_control(proto.OP_STOP_STREAM), 1.0)
            self._client = None
            with contextlib.suppress(BleakError, OSError, TimeoutError):
                await client.disconnect()
            self._event("disconnect", reason="closed")
        self._client = None
        self._connected.clear()
        self._queue.put_nowait(None)
        if self._consumer is not None:
            await self._consumer

    async def __aenter__(self) -> SensorLink:
        await self.connect(self.connect_timeout_s + self.scan_timeout_s)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ----------------------------------------------------------------- callbacks (hot path)
    def _on_data(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self.stats.notifications += 1
        if self._queue.qsize() >= self.queue_size:
            self.stats.queue_dropped += 1
            return
        self._queue.put_nowait((_FRAME, bytes(data), time.monotonic()))

    def _on_status(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self._queue.put_nowait((_STATUS, bytes(data), time.monotonic()))

    def _on_control(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        if self._control_q.full():
            self._control_q.get_nowait()
        self._control_q.put_nowait(bytes(data))

    def _on_disconnected(self, client: BleakClient) -> None:
        if client is self._client:
            self._dropped.set()

    def inject_event(self, event: dict[str, Any]) -> None:
        """Pass a host-side event (an acknowledgement, an alert pattern written) down the link.

        It goes through the same queue as the link's own events, so the consumer
        hands it to ``on_event`` and the recording keeps it in arrival order with
        the frames: a replay applies it at the same place. Call it from the
        event loop's thread.
        """
        self._queue.put_nowait((_EVENT, {**event, "sensor": self.label}, time.monotonic()))

    def _event(self, event_name: str, **fields: Any) -> None:
        event = {"event": event_name, "sensor": self.label, **fields}
        self._queue.put_nowait((_EVENT, event, time.monotonic()))

    # ----------------------------------------------------------------- supervisor
    async def _sleep(self, delay_s: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay_s)

    async def _supervise(self) -> None:
        attempt = 0
        while not self._closing:
            try:
                await self._connect_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._discard_client()
                kind = classify_error(exc)
                self.stats.failed_attempts += 1
                attempt += 1
                give_up = kind is LinkErrorKind.FATAL or (
                    self.policy.max_attempts is not None and attempt >= self.policy.max_attempts
                )
                delay = 0.0 if give_up else self.policy.delay_s(kind, attempt - 1)
                self._event(
                    "connect_failed", kind=str(kind), error=_one_line(exc), retry_in_s=delay
                )
                if give_up:
                    self._event("gave_up", kind=str(kind), attempts=attempt)
                    self.failure = SensorLinkError(
                        f"{self.label}: {_one_line(exc)} ({kind}, {attempt} attempts)", kind
                    )
                    self._settled.set()
                    return
                await self._sleep(delay)
                continue
            attempt = 0
            self.planner.link_up()
            self._connected.set()
            self._settled.set()
            await self._dropped.wait()
            self._connected.clear()
            self.planner.link_down(time.monotonic())
            if self._closing:
                return
            self.stats.disconnects += 1
            self._event("disconnect", reason=str(LinkErrorKind.DROPPED))
            await self._discard_client()
            await self._sleep(self.policy.delay_s(LinkErrorKind.DROPPED, 0))

    async def _discard_client(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            with contextlib.suppress(BleakError, OSError, TimeoutError):
                await client.disconnect()

    async def _resolve(self) -> BLEDevice:
        scanned = self._device
        if scanned is not None:
            self._device = None  # use a scanned handle once, then rescan
            return scanned
        address, name = self.address.upper(), self.name
        seen: dict[str, AdvertisementData] = {}

        def wanted(d: BLEDevice, ad: AdvertisementData) -> bool:
            ok = (bool(address) and d.address.upper() == address) or (
                bool(name) and ad.local_name == name
            )
            if ok:
                seen[d.address] = ad
            return ok

        device = await BleakScanner.find_device_by_filter(
            wanted,
            timeout=self.scan_timeout_s,
            service_uuids=[proto.SERVICE_UUID],
            **_scanner_args(self.backend),
        )
        if device is None:
            raise BleakDeviceNotFoundError(self.label, f"{self.label} not found")
        ad = seen.get(device.address)
        flags = proto.decode_adv_flags(ad.manufacturer_data) if ad is not None else None
        # a sensor that says it is bonded (to someone), its window closed, and an OS that says
        # it keeps no bond with it: connecting would only be refused
        self._refuses_us = (
            flags is not None
            and bool(flags & proto.ADV_HAS_BONDS)
            and not flags & proto.ADV_PAIRING_OPEN
            and bonded_to_this_computer(device) is False
        )
        return device

    async def _connect_once(self) -> None:
        device = await self._resolve()
        if self._refuses_us:
            raise SensorLinkError(NOT_BONDED_MESSAGE, LinkErrorKind.FATAL)
        self._dropped = asyncio.Event()
        client = BleakClient(
            device,
            disconnected_callback=self._on_disconnected,
            timeout=self.connect_timeout_s,
            backend=self.backend.client,
        )
        self._client = client
        await asyncio.wait_for(client.connect(), self.connect_timeout_s)
        self.address = device.address
        self.name = self.name or printable_name(device.name or "")
        await client.start_notify(proto.CONTROL_CHAR_UUID, self._on_control)
        await client.start_notify(proto.STATUS_CHAR_UUID, self._on_status)
        try:  # the first access that needs an encrypted, bonded link
            status_bytes = bytes(await client.read_gatt_char(proto.STATUS_CHAR_UUID))
        except BleakGATTProtocolError as exc:
            if is_security_refusal(exc):
                raise SensorLinkError(NOT_BONDED_MESSAGE, LinkErrorKind.FATAL) from exc
            raise
        self._queue.put_nowait((_STATUS, status_bytes, time.monotonic()))
        mtu = client.mtu_size
        board_mtu = (
            proto.unpack_status(status_bytes)["mtu"]
            if len(status_bytes) in (proto.STATUS_SIZE, proto.STATUS_SIZE_V1)
            else 0
        )
        if mtu <= proto.DEFAULT_MTU < board_mtu:
            mtu = board_mtu  # BlueZ reports 23 until asked; the board knows the real MTU
        await client.start_notify(proto.DATA_CHAR_UUID, self._on_data)
        self.stats.connects += 1
        self.stats.mtu = mtu
        per = proto.samples_per_frame(mtu)
        self._event("connect", address=self.address, name=self.name, n=self.stats.connects)
        self._event("mtu", mtu=mtu, samples_per_frame=per)
        if per == 0:
            self._event("mtu_too_small", mtu=mtu)
        if self.want_stream:
            result = await self.send_control(proto.OP_START_STREAM)
            self._event("stream_start", result=result)

    # ----------------------------------------------------------------- consumer
    async def _consume(self) -> None:
        while True:
            try:
                item = await asyncio.wait_for(self._queue.get(), BACKFILL_TICK_S)
            except TimeoutError:
                self._guarded(self._tick)
                continue
            batch = [item]
            while not self._queue.empty() and len(batch) < 512:
                batch.append(self._queue.get_nowait())
            done = None in batch
            entries = [e for e in batch if e is not None]
            for k in range(0, max(len(entries), 1), CONSUME_CHUNK):
                if k:
                    await asyncio.sleep(0)
                self._guarded(functools.partial(self._process, entries[k : k + CONSUME_CHUNK]))
            if done:
                if self.recording is not None and self.recording_stopped is None:
                    try:
                        self.recording.flush()
                    except RecordingError:
                        self._recording_failed(self.recording)
                return

    def _guarded(self, work: Callable[[], None]) -> None:
        try:
            work()
        except Exception as exc:  # a sink or the analysis failed: count it, keep receiving
            self.stats.consumer_errors += 1
            self.error = exc
            if self.stats.consumer_errors == 1:
                _log.exception("%s: consumer error (further ones only counted)", self.label)

    def _process(self, batch: list[tuple[int, Any, float]]) -> None:
        """Analysis first, then the disk: a failing disk never costs a sample or an alert."""
        payloads: list[bytes] = []
        arrivals: list[float] = []
        out: list[tuple[int, Any, float]] = []
        self._out = out
        done = 0  # batch entries handled (and queued for the recording)
        try:
            for entry in batch:
                kind, payload, t = entry
                if kind == _EVENT and payload.get("event") in BACKFILL_EVENTS:
                    # it acts after the frames that came before it, as in a replay
                    if payloads:
                        self._decode(payloads, arrivals)
                        payloads, arrivals = [], []
                    done += 1
                    self._backfill_event(payload, t)
                    continue
                out.append(entry)
                done += 1
                if kind == _FRAME:
                    self.planner.link_up()  # frames arrive: the link is up, whatever the supervisor knows
                    payloads.append(payload)
                    arrivals.append(t - self._t_offset)
                elif kind == _STATUS and len(payload) in (proto.STATUS_SIZE, proto.STATUS_SIZE_V1):
                    self.stats.status = proto.unpack_status(payload)
                elif kind == _EVENT:
                    self._dispatch(payload)
                    if payload.get("event") == "stream_start" and self._backfill_ready():
                        if payloads:
                            self._decode(payloads, arrivals)
                            payloads, arrivals = [], []
                        self._backfill_event({"event": "backfill_on", "sensor": self.label}, t)
            if payloads:
                self._decode(payloads, arrivals)
            if self.stats.queue_dropped != self._reported_drops:
                n = self.stats.queue_dropped - self._reported_drops
                self._reported_drops = self.stats.queue_dropped
                event = {"event": "queue_overflow", "sensor": self.label, "dropped": n}
                self._dispatch(event)
                out.append((_EVENT, event, time.monotonic()))
            self._plan_backfill()
        finally:
            # recorded even when the analysis failed: what arrived is never lost
            out.extend(batch[done:])
            self._write_out()

    def _tick(self) -> None:
        """No notification for a while: settle or request the pending backfill."""
        self._out = []
        try:
            self._plan_backfill()
        finally:
            self._write_out()

    def _log(self, kind: int, payload: Any, t: float) -> None:
        """Queue a record for after the analysis (written at once outside a batch)."""
        if self._out is not None:
            self._out.append((kind, payload, t))
        else:
            self._record(kind, payload, t)

    def _write_out(self) -> None:
        """Write the records queued while analysing, in the order the consumer acted."""
        out, self._out = self._out or [], None
        for entry in out:
            self._record(*entry)

    def _dispatch(self, event: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(self.stream, event)

    def _record(self, kind: int, payload: Any, t: float) -> None:
        rec = self.recording
        if rec is None or self.recording_stopped is not None:
            return
        arrival = t - self._t_offset
        try:
            if kind == _FRAME:
                rec.append_frame(payload, arrival_s=arrival, stream=self.stream)
            elif kind == _STATUS:
                rec.append_status(payload, arrival_s=arrival, stream=self.stream)
            else:
                rec.append_event(payload, arrival_s=arrival, stream=self.stream)
        except RecordingError:
            self._recording_failed(rec)
            return
        if rec.stopped is not None:  # another link's write failed first
            self._recording_failed(rec)

    def _recording_failed(self, rec: RecordingWriter) -> None:
        """The recording stopped: say so once; receiving and analysis go on."""
        self.recording_stopped = rec.stopped or "write failed"
        _log.info("%s: recording %s stopped: %s", self.label, rec.path, self.recording_stopped)
        self._dispatch(
            {
                "event": "recording_stopped",
                "sensor": self.label,
                "reason": self.recording_stopped,
                "path": str(rec.path),
                "after_s": rec.stopped_after_s,
            }
        )

    def _decode(self, payloads: list[bytes], arrivals: list[float]) -> None:
        self._deliver(self.assembler.feed(payloads, arrivals))

    def _deliver(self, block: SampleBlock | None) -> None:
        """Report the block's gaps (recorded after the analysis), hand the samples on."""
        if block is None:
            return
        for first, n in block.gaps:
            event = {
                "event": "gap",
                "sensor": self.label,
                "first_missing_index": first,
                "n_missing": n,
            }
            self._dispatch(event)
            self._log(_EVENT, event, time.monotonic())
        if self.on_samples is not None:
            self.on_samples(block)

    # ----------------------------------------------------------------- backfill
    def _backfill_ready(self) -> bool:
        """A status from a board that resends, and backfill not yet on."""
        st = self.stats.status
        if not self.backfill or self.assembler.hold or not st:
            return False
        fw = (st.get("fw_major", 0), st.get("fw_minor", 0), st.get("fw_patch", 0))
        return fw >= proto.BACKFILL_FIRMWARE

    def _backfill_event(self, event: dict[str, Any], t: float) -> None:
        """Record a backfill event and act on it, in stream order (a replay does the same)."""
        event = {"sensor": self.label, **event}
        self._log(_EVENT, event, t)
        self._dispatch(event)
        if event.get("event") == "backfill_answer":
            self.planner.answered(
                int(event["first_index"]), int(event["n"]), int(event["result"]), time.monotonic()
            )
        self._deliver(self.assembler.apply_event(event))

    def _plan_backfill(self) -> None:
        if not self.assembler.hold:
            return
        holes = self.assembler.pending_holes()
        now = time.monotonic()
        rate = float(self.stats.status.get("rate_hz") or proto.DEFAULT_RATE_HZ)
        plan = self.planner.plan(holes, now, rate, self.connected)
        for first, n in plan.give_up:
            self._backfill_event({"event": "backfill_gave_up", "first_index": first, "n": n}, now)
        for first, n in plan.request:
            task = asyncio.ensure_future(self._resend(first, n))
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)

    async def _resend(self, first: int, n: int) -> None:
        """Ask for ``[first, first + n)`` (running indices); the answer goes into the queue."""
        board = self.assembler.board_index(first)
        self._event("backfill_request", first_index=first, n=n, board_index=board)
        self.planner.sent(first, n, time.monotonic())
        try:
            resp = await self.write_control_raw(proto.encode_resend(board, n))
        except (SensorLinkError, BleakError, OSError, TimeoutError):
            self.planner.failed(first, n)
            return
        decoded = proto.decode_resend_response(resp)
        if decoded is None:  # a short answer: an error code (e.g. an older board: not supported)
            result, avail_board, avail_n = (resp[2] if len(resp) >= 3 else 0), board, 0
        else:
            result, avail_board, avail_n = decoded
        avail_first = first + int(avail_board - board) % (1 << 32) if avail_n else first
        self._event(
            "backfill_answer",
            first_index=first,
            n=n,
            result=int(result),
            available_first=int(avail_first),
            available_n=int(avail_n),
        )

    # ----------------------------------------------------------------- control point
    def _require_client(self) -> BleakClient:
        client = self._client
        if client is None or not client.is_connected:
            raise SensorLinkError(f"{self.label} is not connected", LinkErrorKind.DROPPED)
        return client

    async def write_control(self, data: bytes) -> int:
        """Write raw bytes to the control point; return the result code answered.

        Raises
        ------
        bleak.exc.BleakGATTProtocolError
            The sensor rejected the write at the ATT level (malformed write).
        TimeoutError
            No response notification within ``control_timeout_s``.
        """
        return int((await self.write_control_raw(data))[2])

    async def write_control_raw(self, data: bytes) -> bytes:
        """Write raw bytes to the control point; return the whole response notification.

        ``[0x80, opcode, result, ...]``: ``OP_RESEND`` answers with 9 bytes
        (:func:`strideguard.protocol.decode_resend_response`).
        """
        client = self._require_client()
        opcode = data[0] if data else 0
        async with self._control_lock:
            while not self._control_q.empty():
                self._control_q.get_nowait()
            await client.write_gatt_char(proto.CONTROL_CHAR_UUID, data, response=True)
            deadline = time.monotonic() + self.control_timeout_s
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{self.label}: no control-point response")
                resp = await asyncio.wait_for(self._control_q.get(), remaining)
                if len(resp) >= 3 and resp[0] == proto.RESPONSE_CODE and resp[1] == opcode:
                    return resp

    async def send_control(self, opcode: int, value: int | None = None) -> int:
        """Send one command (``protocol.OP_*``); return ``protocol.RESULT_*``."""
        return await self.write_control(proto.encode_control(opcode, value))

    async def start_stream(self) -> int:
        """Ask for the stream (and again after every reconnect)."""
        self.want_stream = True
        return await self.send_control(proto.OP_START_STREAM)

    async def stop_stream(self) -> int:
        """Stop the stream (stays stopped across reconnects)."""
        self.want_stream = False
        return await self.send_control(proto.OP_STOP_STREAM)

    async def set_rate(self, rate_hz: int) -> int:
        """Set the sample rate; invalid rates are answered ``RESULT_INVALID_PARAMETER``."""
        return await self.send_control(proto.OP_SET_RATE, rate_hz)

    async def play_pattern(self, write: bytes) -> int:
        """Play an alert pattern on the sensor's motor.

        ``write`` is an ``OP_PLAY_PATTERN`` write
        (:func:`strideguard.protocol.encode_pattern`); a bad one is answered
        ``RESULT_BAD_LENGTH`` or ``RESULT_INVALID_PARAMETER``.
        """
        return await self.write_control(write)

    async def acknowledge(self) -> int:
        """Stop the sensor's alert pattern and its repeats (``OP_ACKNOWLEDGE``)."""
        return await self.send_control(proto.OP_ACKNOWLEDGE)

    async def identify(self, duration_s: int = 3) -> int:
        """Make the sensor buzz/blink for ``duration_s`` seconds."""
        return await self.send_control(proto.OP_IDENTIFY, duration_s)

    async def read_status(self) -> dict[str, int]:
        """Read the status record now."""
        data = bytes(await self._require_client().read_gatt_char(proto.STATUS_CHAR_UUID))
        self._queue.put_nowait((_STATUS, data, time.monotonic()))
        return proto.unpack_status(data)


class Receiver:
    """Several :class:`SensorLink` (e.g. left and right shin) sharing one recording.

    Parameters
    ----------
    targets
        One entry per sensor; sensor ``i`` is ``stream=i`` in the recording.
    recording, backend, link_kwargs
        Passed to every :class:`SensorLink`.
    """

    def __init__(
        self,
        targets: Sequence[SensorInfo | BLEDevice | str],
        *,
        recording: RecordingWriter | None = None,
        backend: BleBackend | None = None,
        **link_kwargs: Any,
    ) -> None:
        self.links = [
            SensorLink(t, stream=i, recording=recording, backend=backend, **link_kwargs)
            for i, t in enumerate(targets)
        ]

    async def connect(self, timeout_s: float | None = None) -> None:
        """Connect all sensors concurrently."""
        await asyncio.gather(*(link.connect(timeout_s) for link in self.links))

    async def close(self) -> None:
        """Close every link."""
        await asyncio.gather(*(link.close() for link in self.links))

    async def __aenter__(self) -> Receiver:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
