"""``strideguard flash`` — copy the firmware to a board with mpremote, configure it, reset it.

One ``mpremote`` session: ``connect PORT resume fs cp <firmware/*.py> :. +
exec <update strideguard.json> + reset``. The configuration is updated on the
board by the firmware's own ``config`` module, so it is validated exactly as
at boot and a standing calibration already stored there is kept. Afterwards
the command waits for the board's first status line on the serial port.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from strideguard import protocol as proto
from strideguard.cliargs import real, whole
from strideguard.errors import InputError, StrideguardError

STATUS_PREFIX = b"strideguard "


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``flash`` parser."""
    p = subparsers.add_parser(
        "flash",
        help="copy the firmware to an ESP32 with mpremote, set leg/rate, reset",
        description=(
            "Copy firmware/*.py to the board's file system, update its strideguard.json "
            "(leg, rate) and reset it; then wait for its status line."
        ),
    )
    p.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB0 or COM3")
    p.add_argument("--leg", choices=("L", "R"), help="which shin the board is strapped to")
    p.add_argument(
        "--rate",
        type=whole(1, 100_000),
        choices=proto.SUPPORTED_RATES_HZ,
        dest="rate_hz",
        metavar="HZ",
        help=f"sample rate in Hz ({', '.join(map(str, proto.SUPPORTED_RATES_HZ))})",
    )
    p.add_argument(
        "--firmware-dir", type=Path, help="folder with the firmware .py files (default: ours)"
    )
    p.add_argument("--no-reset", action="store_true", help="do not reset the board afterwards")
    p.add_argument(
        "--wait-status-s",
        type=real(0, 600),
        default=15.0,
        help="seconds to wait for the board's status line after the reset (0: do not wait)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the mpremote command only")
    p.set_defaults(_run=run)


def firmware_dir(explicit: Path | None) -> Path:
    """The folder holding ``main.py`` and the other firmware modules."""
    # the package's firmware/ (a link to the repository's firmware/ in a checkout, a copy in
    # the wheel)
    folder = (
        explicit if explicit is not None else Path(__file__).resolve().parent.parent / "firmware"
    )
    if (folder / "main.py").is_file() and (folder / "protocol.py").is_file():
        return folder
    raise InputError(f"no firmware found in {folder} (main.py and protocol.py expected)")


def config_snippet(leg: str | None, rate_hz: int | None) -> str:
    """MicroPython code run on the board to update and print its configuration."""
    lines = ["import config", "c, ok, why = config.load()"]
    if leg is not None:
        lines.append(f"c['leg'] = {leg!r}")
    if rate_hz is not None:
        lines.append(f"c['rate_hz'] = {int(rate_hz)}")
    lines += [
        "config.save(c)",
        "print('config:', 'leg', c['leg'], 'rate_hz', c['rate_hz'], 'was', 'ok' if ok else why)",
    ]
    return "\n".join(lines)


def mpremote_command(port: str, files: list[Path], snippet: str, reset: bool) -> list[str]:
    """The one ``mpremote`` invocation that deploys and configures the board."""
    cmd = [sys.executable, "-m", "mpremote", "connect", port, "resume"]
    # ":." is the board's working directory ("/" on an ESP32); a bare ":" fails
    # on ports whose os.stat("") raises (the Unix port behind the virtual board)
    cmd += ["fs", "cp", *(str(f) for f in files), ":."]
    cmd += ["+", "exec", snippet]
    if reset:
        cmd += ["+", "reset"]
    return cmd


def wait_status_line(port: str, timeout_s: float) -> bytes | None:
    """Read the serial port until a firmware status line arrives (or time out)."""
    import serial

    ser = serial.Serial()
    ser.port = port
    ser.baudrate = 115200
    ser.timeout = 0.2
    ser.dtr = False  # ESP32 DevKits: keep EN and IO0 released (no reset into the bootloader)
    ser.rts = False
    deadline = time.monotonic() + timeout_s
    buf = b""
    try:
        ser.open()
    except (OSError, serial.SerialException) as exc:
        raise StrideguardError(f"cannot open {port} to read the status line: {exc}") from None
    try:
        while time.monotonic() < deadline:
            buf += ser.read(256)
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                line = line.strip(b"\r")
                if line.startswith(STATUS_PREFIX):
                    return line
    finally:
        ser.close()
    return None


def run(args: argparse.Namespace) -> int:
    """Deploy the firmware."""
    import importlib.util

    from strideguard import protocol as proto

    if args.rate_hz is not None and args.rate_hz not in proto.SUPPORTED_RATES_HZ:
        rates = ", ".join(str(r) for r in proto.SUPPORTED_RATES_HZ)
        raise InputError(f"--rate {args.rate_hz}: supported rates are {rates} Hz")
    fw = firmware_dir(args.firmware_dir)
    files = sorted(p for p in fw.glob("*.py"))
    # main.py last: the board only boots into the new firmware once everything is there
    files.sort(key=lambda p: p.name == "main.py")
    cmd = mpremote_command(
        args.port, files, config_snippet(args.leg, args.rate_hz), not args.no_reset
    )
    if args.dry_run:
        print(subprocess.list2cmdline(cmd))
        return 0
    if importlib.util.find_spec("mpremote") is None:
        raise InputError("mpremote is not installed: pip install mpremote")
    if args.port.startswith("/") and not Path(args.port).exists():
        raise InputError(f"no serial port {args.port} (is the board plugged in?)")
    print(f"flashing {len(files)} files from {fw} to {args.port} ...", flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    out = (proc.stdout + proc.stderr).strip()
    for line in out.splitlines():
        if line.startswith("config:") or "rror" in line:
            print(line)
    if proc.returncode != 0:
        last = out.splitlines()[-1] if out else "no output"
        raise StrideguardError(f"mpremote failed (exit {proc.returncode}): {last}")
    if args.no_reset or args.wait_status_s <= 0:
        print("done")
        return 0
    status = wait_status_line(args.port, args.wait_status_s)
    if status is None:
        print(
            f"flashed, but no status line within {args.wait_status_s:.0f} s: "
            f"open a console (mpremote connect {args.port} repl) to see what the board says",
            file=sys.stderr,
        )
        return 1
    print(status.decode(errors="replace"))
    return 0
