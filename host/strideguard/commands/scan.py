"""``strideguard scan`` — list strideguard sensors in range.

Name, leg, address, RSSI, battery, whether this computer is bonded to the
sensor (as far as the OS says: BlueZ does, others "?") and whether the sensor's
pairing window is open (firmware 0.4.0 and later advertise it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING

from strideguard.cliargs import real, whole

if TYPE_CHECKING:
    from strideguard.ble.receiver import SensorInfo


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``scan`` parser."""
    p = subparsers.add_parser(
        "scan",
        help="find strideguard sensors over Bluetooth LE",
        description="Scan for sensors advertising the strideguard service and list them.",
    )
    p.add_argument(
        "--timeout",
        type=real(0, 600, lo_open=True),
        default=5.0,
        metavar="S",
        help="scan time (s), default 5",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    # development aid: N bumble virtual sensors in this process instead of the radio
    p.add_argument("--virtual", type=whole(0, 8), default=0, metavar="N", help=argparse.SUPPRESS)
    p.set_defaults(_run=run)


def run(args: argparse.Namespace) -> int:
    """Scan and print the sensors found; 1 when none, 2 when Bluetooth is unavailable."""
    sensors = asyncio.run(_scan_virtual(args) if args.virtual else _scan(args))
    if args.format == "json":
        print(json.dumps({"timeout_s": args.timeout, "sensors": [s.to_dict() for s in sensors]}))
    elif not sensors:
        print(f"no strideguard sensors found ({args.timeout:g} s scan)")
    else:
        print(render(sensors))
    return 0 if sensors else 1


def render(sensors: list[SensorInfo]) -> str:
    """The text table of ``scan``.

    BONDED: "yes" when this computer keeps a bond with the sensor, "no", or "?" when
    the OS does not say. PAIRING: "open" while its pairing window is open, "closed",
    or "-" for firmware that does not advertise it (before 0.4.0, no pairing).
    """
    lines = [
        f"{'NAME':<16} {'LEG':<3} {'ADDRESS':<20} {'RSSI':>8} {'BATTERY':>8} {'BONDED':<7} PAIRING"
    ]
    for s in sensors:
        battery = "?" if s.battery_pct is None else f"{s.battery_pct} %"
        bonded = "?" if s.bonded is None else ("yes" if s.bonded else "no")
        window = "-" if s.pairing_open is None else ("open" if s.pairing_open else "closed")
        lines.append(
            f"{s.name:<16} {s.leg or '?':<3} {s.address:<20} {s.rssi_dbm:>4} dBm {battery:>8} "
            f"{bonded:<7} {window}"
        )
    return "\n".join(lines)


async def _scan(args: argparse.Namespace) -> list[SensorInfo]:
    from strideguard.ble.receiver import scan

    return await scan(args.timeout)


async def _scan_virtual(args: argparse.Namespace) -> list[SensorInfo]:
    from strideguard import plugins
    from strideguard.ble.receiver import scan

    provider = plugins.virtual_sensors("scan --virtual")
    async with provider.for_scan(args.virtual) as sensors:
        return await scan(min(args.timeout, 1.0), backend=sensors.backend)
