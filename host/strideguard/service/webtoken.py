"""The phone page's lasting token for a headless host.

A pocket host has no screen to show a new QR code every run, so a headless
session keeps one token in :data:`TOKEN_FILE` (per-user data folder, readable
by the user only): the runner opens (or bookmarks) the URL once, and
``strideguard service status`` shows it again with its QR code. Delete the file
to make a new token (a phone that had the old URL is then refused).
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from strideguard.atomic import reason, temporary_name
from strideguard.errors import InputError
from strideguard.userdirs import data_dir

#: the token file's name in the per-user data folder
TOKEN_FILE = "web-token"
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def token_path(explicit: str | Path | None = None) -> Path:
    """``explicit``, or ``web-token`` in the per-user data folder."""
    return Path(explicit).expanduser() if explicit is not None else data_dir() / TOKEN_FILE


def read_token(path: Path) -> str | None:
    """The stored token, or ``None`` when there is none or it is not a token."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if _TOKEN_RE.match(text) else None


def lasting_token(path: Path) -> str:
    """The stored token; a new one is made (mode 0600, written whole) when there is none.

    Raises
    ------
    InputError
        The file cannot be written.
    """
    token = read_token(path)
    if token is not None:
        return token
    token = secrets.token_urlsafe(16)
    tmp = temporary_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(token + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot store the phone page's token in {path}: {reason(exc)}") from None
    return token
