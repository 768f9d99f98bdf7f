"""``strideguard pair`` — bond this computer with a sensor during its pairing window.

A sensor (firmware 0.4.0 and later) serves its stream, status and control point
only over an encrypted link with a bonded host, and accepts a new bond only
while its pairing window is open: at its first power-up, and for 60 s after its
button is held for 3 s (the LED flashes). This command tells the runner what to
do, waits for a sensor that advertises an open window, pairs (bleak's
``BleakClient.pair()``; on macOS the system asks at the first read) and checks
that the bonded link works. See docs/ble.md for the threat model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from strideguard.cliargs import real, whole

if TYPE_CHECKING:
    from strideguard.ble.backend import BleBackend
    from strideguard.ble.receiver import SensorInfo

#: what the runner is asked to do (the button hold the firmware takes as "open the window")
GUIDE = (
    "Hold the sensor's button for 3 s, until its LED flashes quickly: its pairing window "
    "is then open for 60 s. (A new sensor opens it by itself at its first power-up.)"
)
SCAN_STEP_S = 1.0  # one scan while waiting for an open window
CONTROL_ANSWER_S = 5.0  # a bonded board answers a control write at its next pass


@dataclass
class PairResult:
    """The outcome for one sensor."""

    name: str
    address: str
    ok: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "address": self.address, "ok": self.ok, "message": self.message}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``pair`` parser."""
    p = subparsers.add_parser(
        "pair",
        help="bond this computer with a sensor (hold its button 3 s first)",
        description=(
            "Wait for a strideguard sensor whose pairing window is open, pair with it and "
            "check the encrypted link. " + GUIDE
        ),
    )
    p.add_argument("--leg", choices=("L", "R"), help="only the sensor of this leg")
    p.add_argument("--address", help="only the sensor with this Bluetooth address")
    p.add_argument(
        "--timeout",
        type=real(0, 600, lo_open=True),
        default=60.0,
        metavar="S",
        help="how long to wait for an open pairing window (s), default 60",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    # development aid: N virtual boards (the real firmware) in this process instead of the radio
    p.add_argument("--virtual", type=whole(0, 2), default=0, metavar="N", help=argparse.SUPPRESS)
    p.set_defaults(_run=run)


def run(args: argparse.Namespace) -> int:
    """Pair; 0 when every sensor found bonded, 1 when none was found or one refused."""
    if args.format == "text":
        print(GUIDE, flush=True)
    results = asyncio.run(_pair_virtual(args) if args.virtual else _pair(args, None))
    if args.format == "json":
        print(json.dumps({"results": [r.to_dict() for r in results]}))
    elif not results:
        print(
            f"no sensor with an open pairing window found in {args.timeout:g} s: "
            "hold its button for 3 s and run `strideguard pair` again"
        )
    else:
        for r in results:
            print(r.message)
    return 0 if results and all(r.ok for r in results) else 1


async def _pair_virtual(args: argparse.Namespace) -> list[PairResult]:
    from strideguard import plugins

    provider = plugins.virtual_sensors("pair --virtual")
    async with provider.for_pairing(args.virtual) as sensors:
        return await _pair(args, sensors.backend)


def _wanted(s: SensorInfo, args: argparse.Namespace) -> bool:
    if args.leg is not None and s.leg != args.leg:
        return False
    return args.address is None or s.address.upper() == str(args.address).upper()


async def _pair(args: argparse.Namespace, backend: BleBackend | None) -> list[PairResult]:
    from strideguard.ble.backend import PLATFORM
    from strideguard.ble.receiver import scan

    backend = backend or PLATFORM
    deadline = time.monotonic() + args.timeout
    while True:
        step = max(min(SCAN_STEP_S, deadline - time.monotonic()), 0.1)
        sensors = [s for s in await scan(step, backend=backend) if _wanted(s, args)]
        ready = [s for s in sensors if s.pairing_open is not False]
        if ready:
            return [await pair_sensor(s, backend) for s in ready]
        if time.monotonic() >= deadline:
            return []


async def pair_sensor(
    sensor: SensorInfo, backend: BleBackend, timeout_s: float = 20.0
) -> PairResult:
    """Pair with one scanned sensor and read its status over the bonded link.

    Parameters
    ----------
    sensor
        From :func:`strideguard.ble.receiver.scan`.
    backend
        bleak backends.
    timeout_s
        Connection and pairing time limit.

    Returns
    -------
    PairResult
        ``ok`` when the sensor bonded and answered over the encrypted link.
    """
    from bleak import BleakClient
    from bleak.exc import BleakError

    from strideguard import protocol as proto

    name, address = sensor.name, sensor.address
    if sensor.pairing_open is None:
        return PairResult(
            name,
            address,
            True,
            f"{name} ({address}) runs firmware without pairing (before 0.4.0): nothing to pair; "
            "`strideguard flash` installs the current firmware",
        )
    target: Any = sensor.device if sensor.device is not None else address
    answers: asyncio.Queue[bytes] = asyncio.Queue()
    try:
        async with asyncio.timeout(timeout_s):
            async with BleakClient(target, timeout=timeout_s, backend=backend.client) as client:
                try:
                    await client.pair()
                except NotImplementedError:
                    pass  # macOS: the system pairs at the first encrypted access
                await client.start_notify(
                    proto.CONTROL_CHAR_UUID, lambda _c, d: answers.put_nowait(bytes(d))
                )
                # the board executes (and answers) control writes of bonded links only:
                # its LED and motor blink for a second, so the runner sees which one paired
                await client.write_gatt_char(
                    proto.CONTROL_CHAR_UUID,
                    proto.encode_control(proto.OP_IDENTIFY, 1),
                    response=True,
                )
                while True:
                    answer = await asyncio.wait_for(answers.get(), CONTROL_ANSWER_S)
                    if answer[:2] == bytes((proto.RESPONSE_CODE, proto.OP_IDENTIFY)):
                        break
                status = proto.unpack_status(
                    bytes(await client.read_gatt_char(proto.STATUS_CHAR_UUID))
                )
    except (BleakError, OSError, TimeoutError) as exc:
        return PairResult(
            name,
            address,
            False,
            f"{name} ({address}) did not bond ({_short(exc)}): its pairing window may have "
            "closed; hold its button for 3 s and run `strideguard pair` again",
        )
    security = status.get("security") or 0
    if not security & proto.SECURITY_HAS_BONDS:
        return PairResult(name, address, False, f"{name} ({address}) reports no bond after pairing")
    return PairResult(
        name,
        address,
        True,
        f"paired with {name} ({address}): its stream and controls now answer only bonded hosts "
        "over an encrypted link",
    )


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
