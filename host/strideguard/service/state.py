"""What a headless session is doing, in a small JSON file that ``service status`` reads.

``strideguard live --headless`` keeps :data:`STATE_FILE` in the per-user data
folder up to date: on every change (scanning, a run started, a run ended) and
every :data:`HEARTBEAT_S` seconds during a run. Each write goes to a temporary
name and is renamed over the old file, so a reader never sees half a file. A
write that fails (a full disk) is logged once and never stops the session.

Example
-------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "state.json"
>>> s = SessionState(path)
>>> s.update(state="scanning", message="Waiting for the sensors")
>>> read_state(path)["state"]
'scanning'
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from strideguard.atomic import temporary_name
from strideguard.userdirs import data_dir

log = logging.getLogger(__name__)

#: the state file's name in the per-user data folder
STATE_FILE = "service-state.json"
#: a running session rewrites the file at least this often (seconds)
HEARTBEAT_S = 10.0
#: schema tag of the file
SCHEMA = "strideguard.service-state/1"


def state_path(explicit: str | Path | None = None) -> Path:
    """``explicit``, or ``service-state.json`` in the per-user data folder."""
    return Path(explicit).expanduser() if explicit is not None else data_dir() / STATE_FILE


def now_utc() -> str:
    """The current time as ISO 8601 UTC (seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class SessionState:
    """The state of one headless session, written atomically on each update.

    Parameters
    ----------
    path
        The state file (its folder is created).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {
            "schema": SCHEMA,
            "pid": os.getpid(),
            "session_started_utc": now_utc(),
            "runs_done": 0,
        }
        self._failed = False
        self._written_at = -float("inf")

    def update(self, **fields: Any) -> None:
        """Merge ``fields`` (``None`` removes a key) and write the file."""
        for k, v in fields.items():
            if v is None:
                self.data.pop(k, None)
            else:
                self.data[k] = v
        if "state" in fields:
            self.data["state_since_utc"] = now_utc()
        self.write()

    def heartbeat(self, **fields: Any) -> None:
        """Like :meth:`update`, but writes at most every :data:`HEARTBEAT_S` seconds."""
        for k, v in fields.items():
            self.data[k] = v
        if time.monotonic() - self._written_at >= HEARTBEAT_S:
            self.write()

    def write(self) -> None:
        """Write the file now (temporary name, then rename); failures are logged once."""
        self.data["updated_utc"] = now_utc()
        self._written_at = time.monotonic()
        tmp = temporary_name(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # the user's only: it holds the phone page's address with its token
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(json.dumps(self.data, indent=1, default=str))
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if not self._failed:
                self._failed = True
                log.warning("the state file %s cannot be written: %s", self.path, exc)


def read_state(path: Path) -> dict[str, Any] | None:
    """The state file's content, or ``None`` when there is none (or it is not a state file)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        return None
    return data


def pid_alive(pid: object) -> bool:
    """Whether a process with this id exists (on this machine)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    except OSError:
        return False
    return True
