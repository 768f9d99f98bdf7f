"""Reading the small files options point at (alert settings, baseline profiles), defensively.

Such a file may be anything a user can name: a device (``/dev/zero``), a binary,
a JSON bomb nested a hundred thousand levels deep. :func:`read_option_text` reads
at most :data:`MAX_OPTION_FILE_BYTES` and insists on UTF-8 text;
:func:`parse_json` turns every parser failure, including a recursion overflow,
into the caller's one-line error.

Example
-------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "x.json"
>>> _ = p.write_text('{"a": 1}')
>>> parse_json(read_option_text(p, "settings"), "settings", p)
{'a': 1}
"""

from __future__ import annotations

import json
from pathlib import Path

from strideguard.errors import InputError, StrideguardError

#: the largest option file read (settings and profiles are a few kB)
MAX_OPTION_FILE_BYTES = 1_000_000


def read_option_text(
    path: str | Path,
    what: str,
    *,
    error: type[StrideguardError] = InputError,
    max_bytes: int = MAX_OPTION_FILE_BYTES,
) -> str:
    """Read a small UTF-8 text file named by an option.

    Parameters
    ----------
    path
        The file.
    what
        What it should be, for messages (``"alert config"``, ``"baseline profile"``).
    error
        The exception class raised (one line, exit 2).
    max_bytes
        Larger files are refused without being read further.

    Raises
    ------
    StrideguardError
        Of class ``error``: unreadable, too large, or not UTF-8 text.
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise error(f"{what} {p} is larger than {max_bytes / 1e6:g} MB: not a {what}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{what} {p} is not UTF-8 text (a binary file?)") from None


def parse_json(
    text: str, what: str, path: str | Path, *, error: type[StrideguardError] = InputError
) -> object:
    """Parse JSON text; every failure is one line of class ``error``.

    Raises
    ------
    StrideguardError
        Of class ``error``: not JSON, or nested too deeply to parse.
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise error(f"{what} {path} is nested too deeply to read") from None
    except ValueError as exc:  # JSONDecodeError, and ints longer than Python converts
        raise error(f"{what} {path} is not valid JSON: {_first_line(exc)}") from None


def json_kind(value: object) -> str:
    """What a parsed JSON value is, in JSON's words (``null``, ``array``, ``number`` …)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:120] if lines else type(exc).__name__
