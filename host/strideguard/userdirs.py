"""Where strideguard keeps a runner's own files (run history, stored baselines).

One place decides the per-user data folder, so every feature that stores
something for the runner uses the same one:

* ``$STRIDEGUARD_DATA_DIR`` when set (tests, portable installs, a second runner
  on the same account);
* otherwise the folder :mod:`platformdirs` gives for user data
  (``~/.local/share/strideguard`` on Linux, ``~/Library/Application Support/strideguard``
  on macOS, ``%LOCALAPPDATA%\\strideguard`` on Windows).

Commands that write there also take an explicit path option (``--db``), which wins.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "strideguard"
#: environment variable that replaces the platform's data folder
DATA_DIR_ENV = "STRIDEGUARD_DATA_DIR"
#: the run history's file name inside the data folder
HISTORY_FILE = "history.sqlite"


def data_dir() -> Path:
    """The per-user data folder (not created here).

    Returns
    -------
    Path
        ``$STRIDEGUARD_DATA_DIR`` if set and not empty, else the platform's
        user data folder for strideguard.
    """
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_path(APP_NAME, appauthor=False))


def history_path(explicit: str | Path | None = None) -> Path:
    """The run history database: ``explicit`` (``--db``) or ``data_dir()/history.sqlite``."""
    if explicit is not None:
        return Path(explicit).expanduser()
    return data_dir() / HISTORY_FILE
