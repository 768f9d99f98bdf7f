"""A virtual board behind a pseudo-terminal, for ``mpremote`` deploy tests (no radio bridge).

The pty relay is the product's (:class:`strideguard_devkit.vboard.pty.PtyBoard`); here
the simulated hardware is the firmware tests' fakes (``vboard_hw/machine.py``,
``fakes/vboard.py``: no ``bluetooth`` module, so ``main.py`` falls back to the
fake ``vboard``), so no host-side bridge is needed. The product's virtual board
with the radio bridged to bumble is ``strideguard_devkit.vboard.VirtualBoard(pty=True)``.

Run it by hand with ``python tests/firmware/vboard_pty.py FLASH_DIR``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from strideguard_devkit.vboard.pty import PtyBoard

HERE = Path(__file__).resolve().parent
HW_DIRS = (HERE / "vboard_hw", HERE / "fakes")


def default_micropython() -> str:
    local = Path(sys.executable).parent / "micropython"
    return str(local) if local.exists() else "micropython"


class VirtualBoard(PtyBoard):
    """MicroPython Unix port with the test fakes behind a pty, restarted on reset.

    Parameters
    ----------
    flash_dir
        The board's file system (created if missing).
    micropython
        Path of the ``micropython`` binary.
    """

    def __init__(self, flash_dir: Path, micropython: str | None = None) -> None:
        flash_dir = Path(flash_dir)
        flash_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["MICROPYPATH"] = ":".join([str(flash_dir), *(str(p) for p in HW_DIRS), ".frozen"])
        super().__init__(flash_dir, micropython or default_micropython(), env)

    def __enter__(self) -> VirtualBoard:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str]) -> int:
    """Run a virtual board until Ctrl-C; print its port."""
    if len(argv) != 1:
        print("usage: python tests/firmware/vboard_pty.py FLASH_DIR", file=sys.stderr)
        return 2
    with VirtualBoard(Path(argv[0])) as board:
        print(board.port, flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
