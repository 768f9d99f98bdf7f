"""Files written whole or not at all: a temporary name in the same folder, then a rename.

A full disk, a crash or Ctrl-C in the middle of writing must never leave a file
that looks whole but is not. Every output of strideguard (``analyze --out``,
``export``, ``simulate``, baseline profiles) is written to a hidden temporary
file beside its destination and renamed over it only once every byte is on the
disk (``os.replace`` is atomic within a file system). Several files that belong
together (``strides.csv`` + ``analysis.json``) are renamed together at the end,
after all of them were written.

Recordings are the one exception: ``live`` appends to its recording as the
run goes (:mod:`strideguard.recording`), so that a crash loses at most a second.

Example
-------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with AtomicOutputs(what=str(folder)) as out:
...     _ = out.path(folder / "a.txt").write_text("whole")
>>> (folder / "a.txt").read_text()
'whole'
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path
from types import TracebackType

from strideguard.errors import InputError


def reason(exc: OSError) -> str:
    """What went wrong, in words (``disk full`` for ENOSPC)."""
    if exc.errno == errno.ENOSPC:
        return "disk full"
    if exc.errno == errno.EDQUOT:
        return "disk quota exceeded"
    return exc.strerror or str(exc) or type(exc).__name__


def temporary_name(final: Path) -> Path:
    """A hidden, unique name beside ``final`` (same folder, so the rename is atomic)."""
    return final.with_name(f".{final.name}.{secrets.token_hex(4)}.tmp")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform/file system can
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class AtomicOutputs:
    """Write one or more files through temporary names; rename them all on success.

    Use as a context manager: :meth:`path` gives the temporary name to write each
    destination to; leaving the block normally syncs and renames every file,
    an exception (a full disk, Ctrl-C) removes the temporary files instead, so
    nothing — neither a half file nor a stray temporary one — is left.

    Parameters
    ----------
    what
        Named in the one-line error when writing fails (e.g. the output folder).

    Raises
    ------
    InputError
        From the ``with`` block, when an ``OSError`` happened while writing or
        renaming (``cannot write WHAT: disk full``).
    """

    def __init__(self, what: str = "the output") -> None:
        self.what = what
        self._pending: list[tuple[Path, Path]] = []

    def path(self, final: str | Path) -> Path:
        """The temporary file to write instead of ``final`` (not created yet)."""
        final = Path(final)
        tmp = temporary_name(final)
        self._pending.append((tmp, final))
        return tmp

    def commit(self) -> list[Path]:
        """Sync every temporary file and rename it to its destination."""
        for tmp, _ in self._pending:
            _fsync_file(tmp)
        done = []
        for tmp, final in self._pending:
            os.replace(tmp, final)
            done.append(final)
        for folder in {final.parent for _, final in self._pending}:
            _fsync_dir(folder)
        self._pending = []
        return done

    def discard(self) -> None:
        """Remove the temporary files (whatever exists of them)."""
        for tmp, _ in self._pending:
            with contextlib.suppress(OSError):
                tmp.unlink()
        self._pending = []

    def __enter__(self) -> AtomicOutputs:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            try:
                self.commit()
            except OSError as err:
                self.discard()
                raise InputError(f"cannot write {self.what}: {reason(err)}") from None
            return
        self.discard()
        if isinstance(exc, OSError):
            raise InputError(f"cannot write {self.what}: {reason(exc)}") from None


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all.

    Raises
    ------
    InputError
        The file cannot be written (``cannot write PATH: disk full``).
    """
    with AtomicOutputs(what=str(path)) as out:
        out.path(path).write_text(text, encoding="utf-8")


def check_writable(path: str | Path, option: str) -> None:
    """Make sure a file can be created at ``path`` later (before a long run starts).

    Creates and removes a temporary file in the destination folder, which must
    exist; ``path`` itself must not be a folder.

    Raises
    ------
    InputError
        ``option PATH: <why>``.
    """
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{option} {p}: is a folder, not a file")
    folder = p.parent
    if not folder.is_dir():
        raise InputError(f"{option} {p}: folder {folder} does not exist")
    probe = temporary_name(p)
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        raise InputError(f"{option} {p}: cannot write there ({reason(exc)})") from None
