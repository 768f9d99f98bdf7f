"""The systemd unit that runs ``strideguard live --headless`` on a pocket host.

:func:`unit_text` writes the unit for the per-user service manager
(``systemctl --user``, recommended: speech reaches the user's sound server and
Bluetooth headphones) or for the system one (``User=`` the runner). Either way
the service restarts on failure, is stopped with SIGTERM (the current run ends
cleanly: recording closed, run added to the history) and logs to the journal.

Example
-------
>>> text = unit_text(["/opt/sg/bin/strideguard", "live", "--headless"], user_unit=True)
>>> "ExecStart=/opt/sg/bin/strideguard live --headless" in text
True
>>> "Restart=on-failure" in text
True
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

#: the unit's file name
UNIT_NAME = "strideguard.service"
#: where ``service install`` puts a system unit
SYSTEM_UNIT_DIR = Path("/etc/systemd/system")
#: seconds systemd waits before starting a failed service again
RESTART_SEC = 10
#: seconds systemd gives a stopping service (the run's end: recording, history, summary)
STOP_TIMEOUT_S = 60

_PLAIN = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


def systemd_quote(arg: str) -> str:
    """One command-line word as ``ExecStart=`` reads it.

    ``%`` (a unit specifier) and ``$`` (an environment variable) are doubled;
    words with other characters are double-quoted with ``\\`` and ``"``
    escaped (systemd.service(5), "Command lines").

    >>> systemd_quote("--web"), systemd_quote("/home/a b/x"), systemd_quote("50%")
    ('--web', '"/home/a b/x"', '50%%')
    """
    if any(ord(c) < 32 or ord(c) == 127 for c in arg):
        raise ValueError(f"control character in a service argument: {arg!r}")
    text = arg.replace("%", "%%").replace("$", "$$")
    if text and _PLAIN.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def strideguard_command() -> list[str]:
    """How the service starts this installation's ``strideguard`` (an absolute path).

    The ``strideguard`` script beside this Python (a virtual environment, pipx),
    else this Python with ``-m strideguard``.
    """
    script = Path(sys.executable).with_name("strideguard")
    if script.exists():
        return [str(script.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "strideguard"]


def unit_text(
    argv: list[str],
    *,
    user_unit: bool,
    user: str | None = None,
    environment: dict[str, str] | None = None,
) -> str:
    """The unit file's text.

    Parameters
    ----------
    argv
        The command (absolute executable first).
    user_unit
        For ``systemctl --user`` (``WantedBy=default.target``); otherwise a
        system unit (``WantedBy=multi-user.target``, ``User=user``, after BlueZ).
    user
        The account a system unit runs as (required for a system unit).
    environment
        Extra ``Environment=`` variables (e.g. ``STRIDEGUARD_DATA_DIR``).
    """
    if not user_unit and not user:
        raise ValueError("a system unit needs the user it runs as")
    lines = [
        "# strideguard pocket host, written by `strideguard service install`",
        "# (run it again to change the options; see docs/pocket-host.md)",
        "[Unit]",
        "Description=strideguard pocket host: live gait alerts from the shin sensors",
    ]
    if not user_unit:
        # system units can order themselves after BlueZ; a user unit cannot see system units
        # (the session retries Bluetooth by itself either way)
        lines += ["Wants=bluetooth.service", "After=bluetooth.service network.target sound.target"]
    lines += [
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=" + " ".join(systemd_quote(a) for a in argv),
        "Restart=on-failure",
        f"RestartSec={RESTART_SEC}",
        "# SIGTERM ends the current run cleanly (recording closed, run added to the history)",
        "KillSignal=SIGTERM",
        f"TimeoutStopSec={STOP_TIMEOUT_S}",
        "Environment=PYTHONUNBUFFERED=1",
    ]
    for key, value in sorted((environment or {}).items()):
        if not re.match(r"^[A-Z_][A-Z0-9_]*$", key):
            raise ValueError(f"bad environment variable name {key!r}")
        lines.append("Environment=" + systemd_quote(f"{key}={value}"))
    if not user_unit:
        lines.append(f"User={user}")
    lines += [
        "",
        "[Install]",
        f"WantedBy={'default.target' if user_unit else 'multi-user.target'}",
        "",
    ]
    return "\n".join(lines)


def user_unit_dir() -> Path:
    """``$XDG_CONFIG_HOME/systemd/user`` (``~/.config/systemd/user``)."""
    import os

    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".config") / "systemd" / "user"


def enable_instructions(path: Path, *, user_unit: bool, user: str | None = None) -> list[str]:
    """What to run to start the service now and at every boot."""
    name = UNIT_NAME
    if user_unit:
        return [
            f"systemctl --user daemon-reload && systemctl --user enable --now {name}",
            f"sudo loginctl enable-linger {user or '$USER'}   # start at boot, without logging in",
            f"journalctl --user -u {name} -f   # its log;  strideguard service status   # what it does",
        ]
    return [
        f"sudo systemctl daemon-reload && sudo systemctl enable --now {name}",
        f"journalctl -u {name} -f   # its log;  strideguard service status   # what it does",
    ]
