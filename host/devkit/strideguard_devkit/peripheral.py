"""A virtual strideguard sensor: a bumble peripheral serving the real GATT profile.

It advertises ``StrideGuard-L``/``-R`` with the strideguard service UUID (and the
battery level as Battery service data), serves the table of
:mod:`strideguard.protocol` (IMU data/control/status, Device Information,
Battery, Running Speed and Cadence), validates every control write with
``protocol.parse_control`` and answers ``[0x80, opcode, result]`` on the
control point, and streams frames of the given int16 samples sized to the
negotiated MTU. It answers the control point the way the firmware
(``firmware/app.py``) does where the host can tell: ``OP_START_STREAM`` succeeds at
any MTU; at an MTU that carries no sample (23) the stream sends nothing, counts
the samples as dropped and the status says ``STATE_MTU_TOO_SMALL`` until the MTU
grows (``tests/firmware/test_firmware_vs_model.py`` compares the two).

Timing: bumble has no radio clock, so the sensor paces itself with asyncio.
Its sample clock runs from power-on at ``rate_hz × speed`` samples per wall
second whether or not anybody listens (like a board sampling into its FIFO):
samples produced while the stream is off or the link is down are never sent,
so the host sees their loss as a jump in ``first_index`` — exactly what a
real outage looks like. Sample ``k`` of the running counter carries
``samples[k % len(samples)]`` (or the stream ends, with ``loop=False``).

Backfill: like the firmware, the sensor keeps the last ``ring_s`` seconds of
samples and answers ``OP_RESEND`` with the part it still has (9-byte response),
then resends those samples as ``FLAG2_BACKFILL`` frames sized to the MTU, after
the live frames. With ``backfill=False`` it is an older board: firmware 0.1.0,
version-1 frames, ``OP_RESEND`` unknown.

Security, like firmware 0.4.0 (``secure=True``; off by default, an open
sensor as before 0.4.0, because bumble's virtual controller stalls when two
encrypted links drop at once and their hosts reconnect: the first attempts
time out after 10 s): the control
point needs an encrypted write and the status an encrypted read (bumble's
permissions answer ATT "Insufficient Encryption"), and only a bonded link gets
stream, status and control notifications and has its control writes executed.
A new sensor's pairing window is open (bonding allowed) until the first host
bonds; outside it a pairing ends unbonded (its keys are not kept), the link is
dropped and ``access_refused`` counts it, as a control write from an unbonded
link. :meth:`open_pairing` and :meth:`clear_bonds` are the button's 3-s and
10-s presses. One connection at a time (the firmware's slots are not modelled).

bumble's GATT server does not enforce read/write permissions, so every non-writable
characteristic has a write callback raising ATT "Write Not Permitted", and a
control write of the wrong size for any command (empty, or longer than 7
bytes) is rejected with ATT "Invalid Attribute Value Length". Every other
control write — even a bad one — is answered on the control point.

Examples
--------
>>> async def demo(raw):  # doctest: +SKIP
...     air = VirtualAir()
...     sensor = VirtualSensor(air, leg="L", samples=raw, speed=10.0)
...     await sensor.start()
...     ...
...     await sensor.drop_link()  # peripheral-side disconnect, comes back advertising
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import Coroutine
from typing import Any

import numpy as np
import numpy.typing as npt
from bumble import att
from bumble.core import UUID, AdvertisingData
from bumble.device import (
    AdvertisingEventProperties,
    AdvertisingParameters,
    AdvertisingSet,
    Connection,
    Device,
)
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.keys import MemoryKeyStore, PairingKeys
from bumble.pairing import PairingConfig, PairingDelegate

from strideguard import protocol as proto
from strideguard_devkit.bumble_backend import AddressKeyStore, VirtualAir, address_str, settle

_R = Characteristic.Properties.READ
_W = Characteristic.Properties.WRITE
_N = Characteristic.Properties.NOTIFY
_PERM = Characteristic.READABLE | Characteristic.WRITEABLE
_MAX_CONTROL_LEN = proto.CONTROL_WRITE_MAX  # the firmware's control buffer


async def _quiet_disconnect(connection: Connection) -> None:
    with contextlib.suppress(Exception):
        await connection.disconnect(HCI_REMOTE_USER_TERMINATED)


class _WindowKeyStore(AddressKeyStore):
    """The sensor's bonds: new keys are kept only while its pairing window is open."""

    def __init__(self, sensor: VirtualSensor) -> None:
        super().__init__(MemoryKeyStore())
        self.sensor = sensor

    async def update(self, name: str, keys: PairingKeys) -> None:
        """Keep the keys if the window is open (else drop them, as the firmware refuses)."""
        if self.sensor.pairing_open:
            await super().update(name, keys)


#: board seconds between looks at the MTU while it is too small to carry a sample
MTU_WAIT_S = 0.05
HCI_REMOTE_USER_TERMINATED = 0x13
HCI_CONNECTION_TIMEOUT = 0x08


def _u16(n: int) -> UUID:
    return UUID.from_16_bits(n)


def _read_only(_connection: Connection, _value: bytes) -> None:
    raise att.ATT_Error(att.ErrorCode.WRITE_NOT_PERMITTED)


def _write_only(_connection: Connection) -> bytes:
    raise att.ATT_Error(att.ErrorCode.READ_NOT_PERMITTED)


class VirtualSensor:
    """A shin sensor on a :class:`~strideguard_devkit.bumble_backend.VirtualAir`.

    Parameters
    ----------
    air
        The virtual link to live on.
    samples
        ``(n, 6)`` int16 counts (ax, ay, az, gx, gy, gz) the board "measures".
    leg
        ``"L"`` or ``"R"``: the advertised name is ``StrideGuard-<leg>``.
    rate_hz
        Initial sample rate (one of ``protocol.SUPPORTED_RATES_HZ``).
    speed
        Board time runs ``speed`` times faster than wall time (accelerated tests).
    max_mtu
        Largest ATT MTU the sensor accepts (23 emulates a stack without MTU exchange).
    loop
        Repeat ``samples`` forever; otherwise the stream ends after the last one.
    battery_pct
        Battery level reported in advertising, Battery service and status.
    advertise_battery
        Put the battery level in the advertisement (as Battery service data).
    cadence_spm
        Cadence the on-board detector "measures" (RSC measurement and status; 0 = none).
    status_interval_s
        Board seconds between status notifications while connected.
    advertising_interval_ms
        Advertising interval (wall time).
    run_starts_with_stream
        The samples start at the first ``OP_START_STREAM`` (as if the runner
        switched the board on right before standing still and running), not at
        power-on: the host sees the whole simulated run from its first sample.
    backfill
        Keep the last ``ring_s`` seconds and answer ``OP_RESEND`` (firmware 0.2);
        ``False``: an older board (firmware 0.1.0, version-1 frames).
    ring_s
        Seconds of samples the sensor keeps for backfill.
    secure
        Firmware 0.4.0's security (pairing window, bonded-only custom service);
        ``False`` (default): an open sensor (firmware before 0.4.0).
    """

    def __init__(
        self,
        air: VirtualAir,
        samples: npt.ArrayLike,
        *,
        leg: str = "L",
        rate_hz: int = proto.DEFAULT_RATE_HZ,
        speed: float = 1.0,
        max_mtu: int = proto.PREFERRED_MTU,
        loop: bool = True,
        battery_pct: int = 87,
        advertise_battery: bool = True,
        cadence_spm: int = 0,
        status_interval_s: float = 1.0,
        advertising_interval_ms: float = 20.0,
        run_starts_with_stream: bool = False,
        backfill: bool = True,
        ring_s: float = 6.0,
        secure: bool = False,
    ) -> None:
        raw = np.asarray(samples)
        if raw.ndim != 2 or raw.shape[1] != 6 or raw.shape[0] == 0:
            raise ValueError("samples must be a non-empty (n, 6) array of int16 counts")
        if leg not in proto.LEG_NAMES:
            raise ValueError("leg must be 'L' or 'R'")
        if rate_hz not in proto.SUPPORTED_RATES_HZ or speed <= 0:
            raise ValueError("unsupported rate or speed")
        self.air = air
        self.samples_be = np.clip(raw, -32768, 32767).astype(">i2")
        self._saturated = np.any((raw <= -32768) | (raw >= 32767), axis=1)
        self.leg = proto.LEG_NAMES.index(leg)
        self.rate_hz = rate_hz
        self.speed = speed
        self.max_mtu = max_mtu
        self.loop = loop
        self.battery_pct = battery_pct
        self.advertise_battery = advertise_battery
        self.cadence_spm = cadence_spm
        self.cue = False
        self.cadence_target_spm = 0
        self.calibrated = False
        self._calibrating_until = -1  # sample index at which a running calibration ends
        self.status_interval_s = status_interval_s
        self.advertising_interval_ms = advertising_interval_ms
        # counters (also in the status record)
        self.frames_sent = 0
        self.samples_dropped = 0
        self.notify_errors = 0
        self.connections = 0
        self.last_result = 0
        self.identify_s = 0  # last identify duration asked for
        self.controls: list[tuple[int, int, int]] = []  # (opcode, value, result) per write
        self.streaming = False  # the host asked for the stream
        self._seq = 0
        self._next_send = 0
        self._stream_start_flag = False
        self._pain_flag = False
        self._connection: Connection | None = None
        self._device: Device | None = None
        self._adv: AdvertisingSet | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        self._status_tasks: set[asyncio.Future[None]] = set()
        self._pacer: asyncio.Task[None] | None = None
        self._away = False
        self._lost_from: int | None = None
        self._clock_t0 = 0.0  # wall time of sample index _clock_i0
        self._clock_i0 = 0
        self._clock_us0 = 0
        self._boot = 0.0
        self.run_starts_with_stream = run_starts_with_stream
        self._run_started = False
        self.backfill = backfill
        self.ring_s = ring_s
        self.firmware_version = proto.FIRMWARE_VERSION if backfill else "0.1.0"
        self.frame_version = proto.FRAME_VERSION if backfill else proto.FRAME_VERSION_1
        self.frames_resent = 0
        self._resend: list[tuple[int, int]] = []  # ranges [a, b) to resend, oldest first
        self.secure = secure
        self.pairing_open = secure  # a new sensor: open until the first bond
        self.access_refused = 0
        self._trusted: Connection | None = None
        self._pairing: dict[int, bool] = {}  # id(connection) -> window open when it started
        self._keystore: _WindowKeyStore | None = None

    # ----------------------------------------------------------------- identity
    @property
    def name(self) -> str:
        """Advertised name, ``StrideGuard-L`` or ``StrideGuard-R``."""
        return proto.DEVICE_NAME_PREFIX + proto.LEG_NAMES[self.leg]

    @property
    def address(self) -> str:
        """Bluetooth address as bleak reports it."""
        if self._device is None:
            raise RuntimeError("sensor not started")
        return address_str(self._device.random_address)

    @property
    def connected(self) -> bool:
        """True while a host is connected."""
        return self._connection is not None

    def press_button(self) -> None:
        """The runner presses the BOOT button: "pain now" in the next frame."""
        self._pain_flag = True

    @property
    def sent_all(self) -> bool:
        """Every sample has gone out (never for a looping sensor)."""
        return not self.loop and self._next_send >= self.samples_be.shape[0]

    @property
    def mtu(self) -> int:
        """Negotiated ATT MTU (0 when not connected)."""
        return self._connection.att_mtu if self._connection is not None else 0

    # ----------------------------------------------------------------- clock
    def samples_produced(self) -> int:
        """Running sample counter: samples the board has measured since power-on."""
        n = self._clock_i0 + int((time.monotonic() - self._clock_t0) * self.speed * self.rate_hz)
        return n if self.loop else min(n, self.samples_be.shape[0])

    def _time_of(self, index: int) -> float:
        """Wall time (monotonic) at which sample ``index`` exists."""
        return self._clock_t0 + (index - self._clock_i0) / (self.speed * self.rate_hz)

    def _t_us(self, index: int) -> int:
        return round(self._clock_us0 + (index - self._clock_i0) * 1e6 / self.rate_hz)

    # ----------------------------------------------------------------- GATT table
    def _services(self) -> list[Service]:
        def chr_(
            uuid: str | UUID, props: Characteristic.Properties, **kw: object
        ) -> Characteristic:
            read = kw.get("read", _write_only)
            write = kw.get("write", _read_only)
            perm = kw.get("perm", _PERM)
            return Characteristic(uuid, props, perm, CharacteristicValue(read=read, write=write))  # type: ignore[arg-type]

        def const(value: bytes) -> object:
            return lambda _c: value

        enc_w = Characteristic.WRITE_REQUIRES_ENCRYPTION if self.secure else 0
        enc_r = Characteristic.READ_REQUIRES_ENCRYPTION if self.secure else 0
        self.data_char = chr_(proto.DATA_CHAR_UUID, _N)
        self.control_char = chr_(
            proto.CONTROL_CHAR_UUID, _W | _N, write=self._on_control, perm=_PERM | enc_w
        )
        self.status_char = chr_(
            proto.STATUS_CHAR_UUID, _R | _N, read=lambda _c: self.status_bytes(), perm=_PERM | enc_r
        )
        self.battery_char = chr_(
            _u16(proto.BATTERY_LEVEL_UUID16), _R | _N, read=lambda _c: bytes([self.battery_pct])
        )
        self.rsc_char = chr_(_u16(proto.RSC_MEASUREMENT_UUID16), _N)
        info = [
            chr_(
                _u16(proto.MANUFACTURER_NAME_UUID16),
                _R,
                read=const(proto.MANUFACTURER_NAME.encode()),
            ),
            chr_(_u16(proto.MODEL_NUMBER_UUID16), _R, read=const(proto.MODEL_NUMBER.encode())),
            chr_(
                _u16(proto.FIRMWARE_REVISION_UUID16),
                _R,
                read=const(self.firmware_version.encode()),
            ),
        ]
        rsc = [
            self.rsc_char,
            chr_(_u16(proto.RSC_FEATURE_UUID16), _R, read=const(struct.pack("<H", proto.RSC_FEATURE_WALK_RUN_STATUS))),
            chr_(_u16(proto.SENSOR_LOCATION_UUID16), _R, read=const(bytes([proto.SENSOR_LOCATION_OTHER]))),
        ]  # fmt: skip
        return [
            Service(proto.SERVICE_UUID, [self.data_char, self.control_char, self.status_char]),
            Service(_u16(proto.DEVICE_INFO_SERVICE_UUID16), info),
            Service(_u16(proto.BATTERY_SERVICE_UUID16), [self.battery_char]),
            Service(_u16(proto.RSC_SERVICE_UUID16), rsc),
        ]

    def status_bytes(self) -> bytes:
        """The current status record (``protocol.STATUS_FORMAT``)."""
        streaming = self._pacer is not None
        state = proto.STATE_STREAMING if streaming else 0
        if streaming and proto.samples_per_frame(self.mtu) == 0:
            state |= proto.STATE_MTU_TOO_SMALL  # as the firmware: only while asked to stream
        if self.calibrating:
            state |= proto.STATE_CALIBRATING
        elif self.calibrated:
            state |= proto.STATE_CALIBRATED
        if self.cue:
            state |= proto.STATE_CUE_ENABLED
        major, minor, patch = (int(x) for x in self.firmware_version.split("."))
        buf = bytearray(proto.STATUS_SIZE)
        proto.pack_status(
            buf,
            (
                proto.STATUS_VERSION, state, self.rate_hz, self.leg, self.battery_pct, 3900,
                major, minor, patch, self.mtu, self.samples_produced() & 0xFFFFFFFF,
                self.samples_dropped & 0xFFFFFFFF, 0, 0, self.notify_errors & 0xFFFF,
                self.frames_sent & 0xFFFFFFFF, int((time.monotonic() - self._boot) * self.speed),
                min(self.cadence_spm, 255), self.last_result, self.security_bits(),
                min(self.access_refused, 0xFFFF),
            ),
        )  # fmt: skip
        return bytes(buf)

    def security_bits(self) -> int:
        """``SECURITY_*`` bits of the status record."""
        bits = proto.SECURITY_PAIRING_OPEN if self.pairing_open else 0
        if self.secure and not self.pairing_open:
            bits |= proto.SECURITY_HAS_BONDS
        return bits

    def advertising_data(self) -> bytes:
        """Flags, our 128-bit service UUID, the name and Battery service data.

        41 bytes: more than a legacy advertisement holds, so the virtual sensor
        uses one extended advertisement (bumble's virtual controller does not
        send scan responses); the real board splits it into advertisement and
        scan response.
        """
        fields: list[tuple[int, bytes]] = [
            (AdvertisingData.FLAGS, bytes([0x06])),
            (
                AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                UUID(proto.SERVICE_UUID).to_bytes(),
            ),
            (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
        ]
        if self.advertise_battery:
            fields.append(
                (
                    AdvertisingData.SERVICE_DATA_16_BIT_UUID,
                    struct.pack("<HB", proto.BATTERY_SERVICE_UUID16, self.battery_pct),
                )
            )
        if self.secure:
            flags = proto.ADV_PAIRING_OPEN if self.pairing_open else 0
            if self.security_bits() & proto.SECURITY_HAS_BONDS:
                flags |= proto.ADV_HAS_BONDS
            fields.append(
                (
                    AdvertisingData.MANUFACTURER_SPECIFIC_DATA,
                    struct.pack("<HB", proto.ADV_COMPANY_ID, flags),
                )
            )
        return bytes(AdvertisingData(fields))

    def open_pairing(self) -> None:
        """The 3-s press: bonding allowed until the next bond."""
        self.pairing_open = self.secure

    async def clear_bonds(self) -> None:
        """The 10-s press: forget every bond (the window opens)."""
        if self._keystore is not None:
            await self._keystore.inner.delete_all()
        if self._trusted is not None:
            with contextlib.suppress(Exception):
                await self._trusted.disconnect(HCI_REMOTE_USER_TERMINATED)
        self.open_pairing()

    def _pairing_config(self, _connection: Connection) -> PairingConfig:
        return PairingConfig(
            sc=True,
            mitm=False,
            bonding=self.pairing_open,
            delegate=PairingDelegate(),
            identity_address_type=PairingConfig.AddressType.RANDOM,
        )

    def _trust(self, connection: Connection) -> None:
        self._trusted = connection

    def _on_pairing_start(self, connection: Connection) -> None:
        self._pairing[id(connection)] = self.pairing_open

    def _on_paired(self, connection: Connection) -> None:
        if self._pairing.pop(id(connection), False):
            self._trust(connection)
            self.pairing_open = False  # one host bonded: the window closes
        else:  # paired outside the window: no bond, no custom service
            self.access_refused += 1
            self._spawn(_quiet_disconnect(connection))

    def _on_encrypted(self, connection: Connection) -> None:
        if id(connection) not in self._pairing and connection.is_encrypted:
            self._trust(connection)  # the key came from the sensor's store: a bond

    def _trusted_link(self, connection: Connection) -> bool:
        return not self.secure or self._trusted is connection

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Power on, start the sample clock and advertise."""
        device = self.air.new_device(self.name)
        device.gatt_server.max_mtu = self.max_mtu
        device.add_services(self._services())
        device.on(Device.EVENT_CONNECTION, self._on_connection)
        await device.power_on()
        if self.secure:
            self._keystore = _WindowKeyStore(self)
            device.keystore = self._keystore
            device.pairing_config_factory = self._pairing_config
        self._device = device
        self._boot = self._clock_t0 = time.monotonic()
        self._adv = await device.create_advertising_set(
            advertising_parameters=AdvertisingParameters(
                advertising_event_properties=AdvertisingEventProperties(
                    is_connectable=True, is_scannable=False, is_legacy=False
                ),
                primary_advertising_interval_min=self.advertising_interval_ms,
                primary_advertising_interval_max=self.advertising_interval_ms,
            ),
            advertising_data=self.advertising_data(),
            auto_start=True,
        )

    async def stop(self) -> None:
        """Stop streaming, drop any link, stop advertising, power off."""
        self._away = True
        await self._stop_pacer()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.disconnect(HCI_REMOTE_USER_TERMINATED)
        if self._adv is not None and self._adv.enabled:
            with contextlib.suppress(Exception):
                await self._adv.stop()
        for task in list(self._status_tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._device is not None:
            with contextlib.suppress(Exception):
                await self._device.power_off()

    async def drop_link(self, *, away_s: float = 0.0, reason: int = HCI_CONNECTION_TIMEOUT) -> None:
        """Drop the link from the sensor side (as when the runner goes out of range).

        Parameters
        ----------
        away_s
            Wall seconds to stay silent (not advertising) before advertising again.
        reason
            HCI reason code sent to the host (default: connection timeout).
        """
        connection = self._connection
        if connection is None:
            return
        self._away = away_s > 0
        gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        connection.once(Connection.EVENT_DISCONNECTION, lambda *_: settle(gone))
        await connection.disconnect(reason)
        await gone
        if away_s > 0:
            await asyncio.sleep(away_s)
            self._away = False
            await self._advertise()

    async def _advertise(self) -> None:
        if self._adv is not None and not self._adv.enabled and not self._away:
            await self._adv.set_advertising_data(self.advertising_data())
            await self._adv.start()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        self.connections += 1
        if self._adv is not None:
            self._adv.enabled = False  # the controller stops advertising on connection
        connection.on(
            Connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(connection)
        )
        connection.on(
            Connection.EVENT_CONNECTION_ATT_MTU_UPDATE, lambda: self._spawn(self._notify_status())
        )
        connection.on(Connection.EVENT_PAIRING_START, lambda: self._on_pairing_start(connection))
        connection.on(Connection.EVENT_PAIRING, lambda _keys: self._on_paired(connection))
        connection.on(
            Connection.EVENT_PAIRING_FAILURE, lambda _r: self._pairing.pop(id(connection), None)
        )
        connection.on(
            Connection.EVENT_CONNECTION_ENCRYPTION_CHANGE, lambda: self._on_encrypted(connection)
        )
        task = asyncio.ensure_future(self._status_loop(connection))
        self._status_tasks.add(task)
        task.add_done_callback(self._status_tasks.discard)

    def _on_disconnection(self, connection: Connection) -> None:
        if self._connection is connection:
            self._connection = None
        if self._trusted is connection:
            self._trusted = None
        self._pairing.pop(id(connection), None)
        if self.streaming and self._lost_from is None:
            self._lost_from = self._next_send
        self._spawn(self._stop_pacer())
        self._spawn(self._advertise())

    # ----------------------------------------------------------------- control point
    async def _on_control(self, connection: Connection, data: bytes) -> None:
        if id(connection) in self._pairing:  # the firmware learns of the encryption first
            for _ in range(200):
                await asyncio.sleep(0.005)
                if id(connection) not in self._pairing:
                    break
        if not self._trusted_link(connection):
            self.access_refused += 1  # encrypted but not bonded: refused, counted
            return
        if not 1 <= len(data) <= _MAX_CONTROL_LEN:
            raise att.ATT_Error(att.ErrorCode.INVALID_ATTRIBUTE_LENGTH)
        result, op, value = proto.parse_control(bytes(data))
        if op == proto.OP_RESEND and not self.backfill:
            result = proto.RESULT_OP_NOT_SUPPORTED  # an older board does not know it
        if op == proto.OP_RESEND and result == proto.RESULT_SUCCESS:
            resend = self._resend_request(bytes(data))
            self.controls.append((op, value, resend[2]))
            self._spawn(self._notify(connection, self.control_char, resend))
            return
        if result == proto.RESULT_SUCCESS:
            try:
                result = await self._apply(op, value)
            except Exception:  # never leave a write unanswered (bumble would time out)
                result = proto.RESULT_OPERATION_FAILED
        self.last_result = result
        self.controls.append((op, value, result))
        response = bytearray(3)
        proto.encode_control_response(response, op, result)
        self._spawn(self._notify(connection, self.control_char, bytes(response)))
        self._spawn(self._notify_status())

    async def _apply(self, op: int, value: int) -> int:
        if op == proto.OP_START_STREAM:
            # accepted at any MTU, like the firmware (too small: nothing is sent, see _pace)
            self.streaming = True
            if self.run_starts_with_stream and not self._run_started:
                self._run_started = True
                self._clock_t0, self._clock_i0 = time.monotonic(), 0
            await self._start_pacer()
        elif op == proto.OP_STOP_STREAM:
            self.streaming = False
            await self._stop_pacer()
        elif op == proto.OP_SET_RATE:
            if self.calibrating:
                return proto.RESULT_BUSY  # as the firmware: the calibration counts samples
            now_index = self.samples_produced()
            self._clock_us0, self._clock_i0 = self._t_us(now_index), now_index
            self._clock_t0, self.rate_hz = time.monotonic(), value
        elif op == proto.OP_SET_LEG:
            self.leg = value
        elif op == proto.OP_IDENTIFY:
            self.identify_s = value
        elif op == proto.OP_MARK:
            self._pain_flag = True
        elif op == proto.OP_RESET_COUNTERS:
            self.samples_dropped = self.notify_errors = 0
        elif op == proto.OP_CALIBRATE:
            if self.calibrating:
                return proto.RESULT_BUSY
            self._calibrating_until = self.samples_produced() + value * self.rate_hz
            self.calibrated = True  # the virtual runner always stands still
        elif op == proto.OP_SET_CUE:
            self.cue = bool(value)
        elif op == proto.OP_SET_CADENCE_TARGET:
            self.cadence_target_spm = value
        return proto.RESULT_SUCCESS

    def _resend_request(self, data: bytes) -> bytes:
        """Queue an ``OP_RESEND`` range; the 9-byte answer (what the firmware's ring says)."""
        first = proto.resend_first_index(data)
        count = (data[5] << 8) | data[6]
        now = self.samples_produced() if self._pacer is None else self._next_send
        oldest = max(0, now - int(self.ring_s * self.rate_hz))
        a, b = max(first, oldest), min(first + count, now)
        result = (
            proto.RESULT_SUCCESS if (a, b) == (first, first + count) else proto.RESULT_NOT_AVAILABLE
        )
        if b <= a:
            a = b = 0
        else:
            self._resend.append((a, b))
        response = bytearray(proto.RESEND_RESPONSE_SIZE)
        proto.encode_resend_response(response, result, a >> 16, a & 0xFFFF, b - a)
        return bytes(response)

    @property
    def calibrating(self) -> bool:
        """True while a standing calibration (``OP_CALIBRATE``) runs."""
        return self.samples_produced() < self._calibrating_until

    async def _notify(self, connection: Connection, char: Characteristic, value: bytes) -> None:
        if self._device is None or self._connection is not connection:
            return
        if char in (self.data_char, self.control_char, self.status_char) and not (
            self._trusted_link(connection)
        ):
            return  # the custom service talks to the bonded host only
        try:
            await self._device.notify_subscriber(connection, char, value)
        except Exception:  # the link dropped under us
            self.notify_errors += 1

    async def _notify_status(self) -> None:
        if self._connection is not None:
            await self._notify(self._connection, self.status_char, self.status_bytes())

    async def _status_loop(self, connection: Connection) -> None:
        while self._connection is connection:
            await asyncio.sleep(self.status_interval_s / self.speed)
            await self._notify(connection, self.status_char, self.status_bytes())
            await self._notify(connection, self.battery_char, bytes([self.battery_pct]))
            rsc = bytearray(4)
            proto.pack_rsc_measurement(rsc, 0, self.cadence_spm, self.cadence_spm > 0)
            await self._notify(connection, self.rsc_char, bytes(rsc))

    # ----------------------------------------------------------------- streaming
    async def _start_pacer(self) -> None:
        if self._pacer is None:
            now = self.samples_produced()
            if self._lost_from is not None:  # samples measured during the outage
                self.samples_dropped += max(now - self._lost_from, 0)
                self._lost_from = None
            self._next_send = now
            self._stream_start_flag = True
            self._pacer = asyncio.create_task(self._pace())

    async def _stop_pacer(self) -> None:
        self._resend = []  # requests are per connection, as on the board
        pacer, self._pacer = self._pacer, None
        if pacer is not None and pacer is not asyncio.current_task():
            pacer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pacer

    def frame(self, first: int, count: int, *, backfill: bool = False) -> bytes:
        """Build the frame carrying samples ``first .. first + count - 1``."""
        n = self.samples_be.shape[0]
        rows = np.arange(first, first + count) % n
        flags = proto.FLAG_SATURATED if self._saturated[rows].any() else 0
        if backfill:
            buf = bytearray(proto.frame_size(count))
            proto.pack_frame_header(
                buf, flags, self._seq, first, self._t_us(first), self.rate_hz, count,
                proto.FLAG2_BACKFILL,
            )  # fmt: skip
            buf[proto.FRAME_HEADER_SIZE :] = self.samples_be[rows].tobytes()
            return bytes(buf)
        if self._stream_start_flag:
            flags |= proto.FLAG_STREAM_START
            self._stream_start_flag = False
        if self._pain_flag:
            flags |= proto.FLAG_PAIN_MARK
            self._pain_flag = False
        if first < self._calibrating_until:
            flags |= proto.FLAG_CALIBRATING
        buf = bytearray(proto.frame_size(count))
        proto.pack_frame_header(
            buf, flags, self._seq, first, self._t_us(first), self.rate_hz, count
        )
        buf[0] = self.frame_version
        buf[proto.FRAME_HEADER_SIZE :] = self.samples_be[rows].tobytes()
        self._seq = (self._seq + 1) & 0xFFFF
        return bytes(buf)

    async def _pace(self) -> None:
        """Send every whole frame whose samples exist, then sleep until the next one."""
        connection = self._connection
        end = None if self.loop else self.samples_be.shape[0]
        while connection is not None and self._connection is connection:
            per = proto.samples_per_frame(connection.att_mtu)
            if per == 0:  # no sample fits: the firmware counts them as dropped
                produced = self.samples_produced()
                self.samples_dropped += max(produced - self._next_send, 0)
                self._next_send = max(produced, self._next_send)
                await asyncio.sleep(MTU_WAIT_S / self.speed)
                continue
            produced = self.samples_produced()
            while produced - self._next_send >= per or (
                produced == end and self._next_send < produced
            ):
                count = min(per, produced - self._next_send)
                await self._notify(connection, self.data_char, self.frame(self._next_send, count))
                self.frames_sent += 1
                self._next_send += count
                # after each live frame, up to two resent ones (the firmware's budget)
                for _ in range(2):
                    if not self._resend:
                        break
                    a, b = self._resend[0]
                    m = min(per, b - a)
                    await self._notify(connection, self.data_char, self.frame(a, m, backfill=True))
                    self.frames_resent += 1
                    self._resend[0] = (a + m, b)
                    if a + m >= b:
                        self._resend.pop(0)
            if end is not None and self._next_send >= end:
                break  # the recording is over
            target = self._next_send + per if end is None else min(self._next_send + per, end)
            await asyncio.sleep(max(self._time_of(target) - time.monotonic(), 0.0))
