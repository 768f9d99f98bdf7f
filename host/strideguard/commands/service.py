"""``strideguard service install|status`` — the pocket host as a systemd service.

``install`` writes a unit that runs ``strideguard live --headless`` with the
options given here (checked now, not at the next boot), restarting on failure,
and says how to enable it. ``status`` shows what the headless session is doing
(from its state file, :mod:`strideguard.service.state`) and the phone page's
address with its QR code. See docs/pocket-host.md.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from strideguard.cliargs import whole


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``service`` parser with ``install`` and ``status``."""
    from strideguard.commands.live import add_headless_arguments
    from strideguard.profiles import DEFAULT_RUNNER

    p = subparsers.add_parser(
        "service",
        help="run the live host as a service on a pocket computer (install the systemd unit, show its status)",
        description="The pocket host: `strideguard live --headless` as a systemd service that starts at "
        "boot, restarts on failure and logs to the journal. See docs/pocket-host.md.",
    )
    sub = p.add_subparsers(dest="service_command", metavar="ACTION", required=True)
    i = sub.add_parser(
        "install",
        help="write the systemd unit and tell how to enable it",
        description="Write strideguard.service running `strideguard live --headless` with these "
        "options (checked now). Run it again to change them.",
    )
    i.add_argument(
        "--user",
        action="store_true",
        help="a per-user unit (~/.config/systemd/user; recommended: speech reaches your sound "
        "server and Bluetooth headphones); default: a system unit in /etc/systemd/system (needs root)",
    )
    i.add_argument(
        "--unit-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the unit into DIR instead (to inspect or package it)",
    )
    i.add_argument("--print", action="store_true", help="print the unit instead of writing it")
    i.add_argument(
        "--run-as",
        default=None,
        metavar="USER",
        help="system unit: the account it runs as (default: the user who ran sudo, else you)",
    )
    i.add_argument(
        "--sensor",
        action="append",
        default=[],
        metavar="NAME|ADDRESS",
        help="the runner's sensor (repeat for two; addresses are safest: `strideguard scan` lists "
        "them); default: any strideguard sensor in range",
    )
    web = i.add_mutually_exclusive_group()
    web.add_argument(
        "--web",
        default="0.0.0.0",
        metavar="HOST[:PORT]",
        help="where the phone page is served (default 0.0.0.0: the phone on the same Wi-Fi or hotspot)",
    )
    web.add_argument("--no-web", action="store_true", help="no phone page")
    add_headless_arguments(i, service=True)
    i.add_argument("--db", type=Path, default=None, metavar="FILE", help="the run history")
    i.add_argument("--alert-config", type=Path, default=None, metavar="FILE", help="alert settings")
    who = i.add_mutually_exclusive_group()
    who.add_argument(
        "--runner",
        default=DEFAULT_RUNNER,
        metavar="NAME",
        help="whose stored baselines each run loads at its start and stores at its end "
        f"(default {DEFAULT_RUNNER!r})",
    )
    who.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="FILE",
        help="one stored baseline for every run instead (the runner's are then neither loaded "
        "nor stored)",
    )
    i.add_argument("--no-sound", action="store_true", help="no speech (espeak-ng)")
    i.add_argument("--web-port", type=whole(0, 65535), default=None, help=argparse.SUPPRESS)
    i.set_defaults(_run=run_install)
    s = sub.add_parser(
        "status",
        help="what the headless session is doing, and the phone page's address",
        description="What `strideguard live --headless` is doing (from its state file), the last "
        "run, and the phone page's address with its QR code.",
    )
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.add_argument(
        "--state",
        type=Path,
        default=None,
        metavar="FILE",
        help="the state file (default: service-state.json in the per-user data folder)",
    )
    s.set_defaults(_run=run_status)


# ---------------------------------------------------------------------- install


def live_argv(args: argparse.Namespace) -> list[str]:
    """The ``live --headless`` options the service runs with (paths absolute), checked.

    Raises
    ------
    InputError
        An option ``live`` would refuse, or a file that does not exist.
    """
    from strideguard.errors import InputError

    argv = ["live", "--headless"]
    for sensor in args.sensor:
        argv += ["--sensor", sensor]
    if not args.no_web:
        argv += ["--web", args.web]
        if args.web_port is not None:
            argv += ["--web-port", str(args.web_port)]
    argv += ["--end-still", f"{args.end_still:g}", "--end-gone", f"{args.end_gone:g}"]
    if args.baseline is None:
        from strideguard.profiles import check_runner_name

        argv += ["--runner", check_runner_name(args.runner)]
    for option, value in (
        ("--recordings", args.recordings),
        ("--db", args.db),
        ("--alert-config", args.alert_config),
        ("--baseline", args.baseline),
    ):
        if value is not None:
            argv += [option, str(Path(value).expanduser().absolute())]
    if args.no_sound:
        argv.append("--no-sound")
    for option, value in (("--alert-config", args.alert_config), ("--baseline", args.baseline)):
        if value is not None and not Path(value).expanduser().is_file():
            raise InputError(f"{option} {value}: no such file")
    if args.alert_config is not None:
        from strideguard.alerts import load_config

        load_config(Path(args.alert_config).expanduser())  # one line, exit 2, when it is bad
    if not args.no_web:
        from strideguard.live.sinkargs import parse_web_address

        parse_web_address(args.web)
    # the same parser the service will use: what passes here starts there
    from strideguard.cli import build_parser

    try:
        build_parser().parse_args(argv)
    except SystemExit:
        raise InputError("the live options above were refused") from None
    return argv


def run_install(args: argparse.Namespace) -> int:
    """Write (or print) the unit, then say how to enable it."""
    import getpass

    from strideguard.atomic import atomic_write_text
    from strideguard.errors import InputError
    from strideguard.service import unit
    from strideguard.userdirs import DATA_DIR_ENV

    argv = unit.strideguard_command() + live_argv(args)
    user_unit = bool(args.user)
    run_as = None
    if not user_unit:
        run_as = args.run_as or os.environ.get("SUDO_USER") or getpass.getuser()
    env = {}
    if os.environ.get(DATA_DIR_ENV, "").strip():
        env[DATA_DIR_ENV] = str(Path(os.environ[DATA_DIR_ENV]).expanduser().absolute())
    try:
        text = unit.unit_text(argv, user_unit=user_unit, user=run_as, environment=env)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if args.print:
        print(text, end="")
        return 0
    folder = args.unit_dir or (unit.user_unit_dir() if user_unit else unit.SYSTEM_UNIT_DIR)
    path = Path(folder) / unit.UNIT_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(_cannot_write(path, exc, user_unit)) from None
    existed = path.exists()
    try:
        atomic_write_text(path, text)
    except InputError as exc:
        raise InputError(
            f"{exc}" + ("" if user_unit else " (a system unit needs root: sudo, or --user)")
        ) from None
    print(f"{'replaced' if existed else 'wrote'} {path}")
    print("it runs: " + " ".join(argv))
    print("to start it now and at every boot:")
    for line in unit.enable_instructions(
        path, user_unit=user_unit, user=run_as or getpass.getuser()
    ):
        print("  " + line)
    if user_unit and not args.no_web:
        _print_phone_page(args.web, args.web_port)
    return 0


def _cannot_write(path: Path, exc: OSError, user_unit: bool) -> str:
    why = exc.strerror or str(exc)
    hint = "" if user_unit else " (a system unit needs root: sudo, or --user)"
    return f"cannot write {path}: {why}{hint}"


def _print_phone_page(web: str, port: int | None) -> None:
    """The page's address with the lasting token, and its QR code (set up the phone now)."""
    from rich.console import Console

    from strideguard.live.announce import terminal_qr
    from strideguard.live.sinkargs import parse_web_address
    from strideguard.live.web_server import DEFAULT_PORT, lan_address
    from strideguard.service.webtoken import lasting_token, token_path

    host, p = parse_web_address(web, port if port is not None else DEFAULT_PORT)
    token = lasting_token(token_path())
    shown = lan_address() if host in ("0.0.0.0", "::", "") else host
    url = f"http://{shown}:{p}/?token={token}"
    print(f"phone page (once the service runs): {url}")
    qr = terminal_qr(url)
    if qr:
        Console().print(qr, style="bright_white on black", markup=False, highlight=False)


# ---------------------------------------------------------------------- status


def _systemd_state() -> dict[str, str]:
    """``systemctl [--user] is-active strideguard.service`` where systemctl exists (best effort)."""
    import shutil
    import subprocess

    from strideguard.service.unit import UNIT_NAME

    out: dict[str, str] = {}
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return out
    for scope, extra in (("user", ["--user"]), ("system", [])):
        try:
            r = subprocess.run(
                [systemctl, *extra, "is-active", UNIT_NAME],
                capture_output=True,
                text=True,
                timeout=3,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        state = r.stdout.strip()
        if (state and state not in ("inactive", "unknown")) or r.returncode == 0:
            out[scope] = state or "?"
    return out


def status_report(state: dict[str, Any] | None, *, now_utc: Any = None) -> dict[str, Any]:
    """The state file's content with whether its session is alive and how old it is."""
    from datetime import UTC, datetime

    from strideguard.service.state import HEARTBEAT_S, pid_alive

    if state is None:
        return {"state": None}
    now = now_utc or datetime.now(UTC)
    age_s: float | None = None
    try:
        age_s = (now - datetime.fromisoformat(str(state.get("updated_utc")))).total_seconds()
    except (TypeError, ValueError):
        age_s = None
    alive = pid_alive(state.get("pid")) and state.get("state") != "stopped"
    report = dict(state)
    report["alive"] = alive
    report["updated_s_ago"] = None if age_s is None else round(age_s, 1)
    # a session that stopped writing (killed, machine asleep) is not doing what the file says
    report["stale"] = bool(alive and age_s is not None and age_s > 3 * HEARTBEAT_S + 30)
    return report


def run_status(args: argparse.Namespace) -> int:
    """Print what the headless session is doing."""
    import json

    from strideguard.service.state import read_state, state_path

    path = state_path(args.state)
    report = status_report(read_state(path))
    report["state_file"] = str(path)
    report["systemd"] = _systemd_state()
    if args.format == "json":
        print(json.dumps(report, indent=1))
        return 0
    for line in status_lines(report):
        print(line)
    url = report.get("web_url")
    if url and report.get("alive"):
        from rich.console import Console

        from strideguard.live.announce import terminal_qr

        qr = terminal_qr(str(url))
        if qr:
            Console().print(qr, style="bright_white on black", markup=False, highlight=False)
    return 0


def status_lines(report: dict[str, Any]) -> list[str]:
    """The status as lines of text."""
    lines: list[str] = []
    systemd = report.get("systemd") or {}
    for scope, st in systemd.items():
        lines.append(f"systemd ({scope} unit): {st}")
    if report.get("state") is None:
        lines.append(
            f"no headless session has run here yet (no state file at {report.get('state_file')})"
        )
        return lines
    if not report.get("alive"):
        lines.append(
            f"not running (last: {report.get('state')} at {report.get('updated_utc')}, pid {report.get('pid')})"
        )
    elif report.get("stale"):
        lines.append(
            f"pid {report.get('pid')} is alive but has not updated its state for "
            f"{report.get('updated_s_ago')} s (stuck? see the journal)"
        )
    else:
        lines.append(
            f"{report.get('state')} since {report.get('state_since_utc')} (pid {report.get('pid')}): "
            f"{report.get('message', '')}"
        )
    run = report.get("run")
    if isinstance(run, dict) and report.get("alive"):
        if "run_time" in run:
            lines.append(f"  run: {run['run_time']} so far, recording {run.get('recording', '?')}")
        for s in run.get("sensors", []) if isinstance(run.get("sensors"), list) else []:
            if isinstance(s, dict):
                battery = s.get("battery_pct")
                lines.append(
                    f"    {s.get('sensor')}: {s.get('strides')} strides, battery "
                    f"{'—' if battery is None else f'{battery} %'}"
                )
        for a in run.get("alerts_waiting", []) or []:
            lines.append(f"    alert: {a.get('severity')} {a.get('title')} ({a.get('sensor')})")
    lines.append(f"runs this session: {report.get('runs_done', 0)}")
    last = report.get("last_run")
    if isinstance(last, dict):
        lines.append(
            f"last run: ended {last.get('ended_utc')} ({last.get('ended_by')}), {last.get('strides')} strides "
            f"in {last.get('run_time')}"
            + (f", recording {last['recording']}" if last.get("recording") else "")
            + (f", history run {last['history_run_id']}" if last.get("history_run_id") else "")
        )
    if report.get("web_url"):
        lines.append(f"phone page: {report['web_url']}")
    return lines
