"""``strideguard protocol`` — print the BLE profile and frame layout (for hardware hackers)."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``protocol`` parser."""
    p = subparsers.add_parser(
        "protocol", help="show the GATT UUIDs, frame layout and payload efficiency"
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(_run=run)


def efficiency_table() -> list[dict[str, float | int]]:
    """Samples per frame and payload efficiency at the common MTUs."""
    from strideguard import protocol as proto

    rows: list[dict[str, float | int]] = []
    for mtu in (23, 185, 247):
        n = proto.samples_per_frame(mtu)
        sent = proto.frame_size(n) + proto.ATT_OVERHEAD if n else 0
        rows.append(
            {
                "mtu": mtu,
                "samples_per_frame": n,
                "att_bytes_sent": sent,
                "sample_bytes": n * proto.SAMPLE_SIZE,
                "efficiency_pct": round(100.0 * n * proto.SAMPLE_SIZE / sent, 1) if n else 0.0,
            }
        )
    return rows


def run(args: argparse.Namespace) -> int:
    """Print the protocol summary."""
    from strideguard import protocol as proto

    info = {
        "protocol_version": proto.PROTOCOL_VERSION,
        "service_uuid": proto.SERVICE_UUID,
        "data_uuid": proto.DATA_CHAR_UUID,
        "control_uuid": proto.CONTROL_CHAR_UUID,
        "status_uuid": proto.STATUS_CHAR_UUID,
        "frame_header_bytes": proto.FRAME_HEADER_SIZE,
        "sample_bytes": proto.SAMPLE_SIZE,
        "rates_hz": list(proto.SUPPORTED_RATES_HZ),
        "efficiency": efficiency_table(),
    }
    if args.format == "json":
        print(json.dumps(info, indent=1))
        return 0
    print(f"strideguard wire protocol v{proto.PROTOCOL_VERSION}")
    for key in ("service_uuid", "data_uuid", "control_uuid", "status_uuid"):
        print(f"  {key:13s} {info[key]}")
    print(
        f"  frame: {proto.FRAME_HEADER_SIZE}-byte header + {proto.SAMPLE_SIZE} bytes per 6-axis sample (big-endian int16)"
    )
    print("  MTU  samples/frame  ATT bytes  efficiency")
    for row in efficiency_table():
        eff = (
            f"{row['efficiency_pct']:.1f} %"
            if row["samples_per_frame"]
            else "cannot stream (MTU too small)"
        )
        print(
            f"  {row['mtu']:>3}  {row['samples_per_frame']:>13}  {row['att_bytes_sent']:>9}  {eff}"
        )
    return 0
