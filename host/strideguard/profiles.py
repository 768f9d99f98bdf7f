"""Runner profiles: each runner's stored personal baseline, per leg, in the per-user data folder.

A run learns the runner's normal in its first minutes; storing it lets the
next run judge strides from the first minute instead. ``live`` saves the
baseline each leg learned at the end of every run that raised no "stop"
(a run that ended in a stop may have learned a guarded gait as normal), and
loads it automatically at the next start. Files live in the data folder that
:mod:`strideguard.userdirs` decides (``$STRIDEGUARD_DATA_DIR`` or the
platform's user data folder)::

    <data folder>/baselines/<runner>/R.json
    <data folder>/baselines/<runner>/L.json

Runners are named with ``--runner NAME`` (default :data:`DEFAULT_RUNNER`), so
two people sharing a computer keep their own normal. Every file is read
through :meth:`PersonalBaseline.load
<strideguard.alerts.baseline.PersonalBaseline.load>` (the baseline validator)
and written whole or not at all. This is the source of truth for the
automatic load; the run history (:mod:`strideguard.history`) may keep copies.

Example
-------
>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> baseline_path("default", "R", folder).relative_to(folder).as_posix()
'baselines/default/R.json'
>>> load_baseline("default", "R", folder)
(None, None)
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING

from strideguard.errors import InputError

if TYPE_CHECKING:
    from strideguard.alerts.baseline import PersonalBaseline

DEFAULT_RUNNER = "default"
#: the folder inside the data folder holding one folder per runner
BASELINES_FOLDER = "baselines"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
LEGS = ("L", "R")


def check_runner_name(name: str) -> str:
    """``name`` if it can name a runner's folder, else a one-line InputError.

    Letters, digits, ``_``, ``.`` and ``-`` (not first), at most 40 characters:
    safe as a folder name on every platform.
    """
    if not isinstance(name, str) or not _NAME.match(name) or name in (".", ".."):
        raise InputError(
            f"--runner {name!r}: use 1-40 letters, digits, '_', '.' or '-' "
            "(starting with a letter or digit)"
        )
    return name


def _root(data_dir: str | Path | None) -> Path:
    if data_dir is not None:
        return Path(data_dir).expanduser()
    from strideguard.userdirs import data_dir as default_dir

    return default_dir()


def baseline_path(runner: str, leg: str, data_dir: str | Path | None = None) -> Path:
    """Where ``runner``'s baseline of ``leg`` ("L"/"R") is stored.

    Parameters
    ----------
    runner
        Runner name (:func:`check_runner_name`).
    leg
        ``"L"`` or ``"R"``.
    data_dir
        The data folder; ``None``: :func:`strideguard.userdirs.data_dir`.
    """
    if leg not in LEGS:
        raise ValueError(f"leg must be 'L' or 'R', not {leg!r}")
    return _root(data_dir) / BASELINES_FOLDER / check_runner_name(runner) / f"{leg}.json"


def load_baseline(
    runner: str, leg: str, data_dir: str | Path | None = None
) -> tuple[PersonalBaseline | None, str | None]:
    """The stored baseline of ``runner``'s ``leg``, checked by the validator.

    Returns
    -------
    baseline, reason
        ``(None, None)`` when none is stored; ``(profile, None)``; or
        ``(None, one-line reason)`` when the file cannot be used (the run then
        learns from scratch and says why).
    """
    from strideguard.alerts.baseline_validate import load_baseline_or_reason

    path = baseline_path(runner, leg, data_dir)
    if not path.exists():
        return None, None
    base, reason = load_baseline_or_reason(path)
    if base is not None and base.leg is None:
        base.leg = leg
    return base, reason


def save_baseline(
    baseline: PersonalBaseline,
    runner: str,
    leg: str,
    data_dir: str | Path | None = None,
    *,
    now: dt.datetime | None = None,
) -> Path:
    """Store ``baseline`` as ``runner``'s normal for ``leg`` (whole or not at all).

    Sets the baseline's ``leg`` and, if unknown, ``created`` (``now``, default
    the current time with its UTC offset).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        The folder cannot be created or the file written, or the baseline
        would not load again (the validator's one-line reason).
    """
    path = baseline_path(runner, leg, data_dir)
    baseline.leg = leg
    if baseline.created is None:
        baseline.created = (now or dt.datetime.now(dt.UTC).astimezone()).isoformat(
            timespec="seconds"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {path.parent}: {exc.strerror or exc}") from None
    baseline.save(path)
    return path


def runners(data_dir: str | Path | None = None) -> list[str]:
    """Names of the runners with a stored baseline, sorted."""
    folder = _root(data_dir) / BASELINES_FOLDER
    if not folder.is_dir():
        return []
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.is_dir() and _NAME.match(p.name) and any((p / f"{x}.json").exists() for x in LEGS)
    )
