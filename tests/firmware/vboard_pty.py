"""A virtual board behind a pseudo-terminal, for ``mpremote`` deploy tests.

The MicroPython Unix port runs in a temporary "flash" directory (its working
directory, first on ``MICROPYPATH``) with simulated hardware on the path
(``vboard_hw/machine.py``, ``fakes/vboard.py``). Clients open :attr:`port`
exactly like a USB serial port: ``mpremote connect <port> resume fs cp ...``.

The bridge emulates what the Unix port lacks:

* a board boots into ``main.py``: the interpreter is started with
  ``-i main.py`` (the REPL follows when main ends or is interrupted);
* Ctrl-C while code is running (no prompt showing) is delivered as SIGINT,
  since the raw terminal does not turn it into a signal;
* a reset (``machine.reset()`` exits the interpreter, as does a soft reset,
  which the Unix port treats as end of input): the bridge starts it again.

Run it by hand with ``python tests/firmware/vboard_pty.py FLASH_DIR``.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

HERE = Path(__file__).resolve().parent
HW_DIRS = (HERE / "vboard_hw", HERE / "fakes")
CTRL_C = 0x03


def default_micropython() -> str:
    local = Path(sys.executable).parent / "micropython"
    return str(local) if local.exists() else "micropython"


class VirtualBoard:
    """MicroPython Unix port behind a pty, restarted on reset.

    Parameters
    ----------
    flash_dir
        The board's file system (created if missing).
    micropython
        Path of the ``micropython`` binary.
    """

    def __init__(self, flash_dir: Path, micropython: str | None = None) -> None:
        self.flash_dir = Path(flash_dir)
        self.flash_dir.mkdir(parents=True, exist_ok=True)
        self.micropython = micropython or default_micropython()
        self.boots = 0
        self.output = bytearray()  # everything the board printed
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._child: subprocess.Popen[bytes] | None = None
        self._child_fd = -1
        self._tail = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, daemon=True)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> VirtualBoard:
        self._boot()
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._kill_child()
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> VirtualBoard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        parts = [str(self.flash_dir), *(str(p) for p in HW_DIRS), ".frozen"]
        env["MICROPYPATH"] = ":".join(parts)
        return env

    def _boot(self) -> None:
        """Power-on / reset: run main.py if the flash has one, else the REPL."""
        master, slave = pty.openpty()
        tty.setraw(slave)
        args = [self.micropython]
        if (self.flash_dir / "main.py").exists():
            args += ["-i", "main.py"]
        self._child = subprocess.Popen(
            args,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=self.flash_dir,
            env=self._env(),
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self._child_fd = master
        self._tail = b""
        self.boots += 1

    def _kill_child(self) -> None:
        if self._child is not None and self._child.poll() is None:
            self._child.kill()
            self._child.wait(timeout=5)
        if self._child_fd >= 0:
            try:
                os.close(self._child_fd)
            except OSError:
                pass
            self._child_fd = -1

    # ------------------------------------------------------------ relay
    def _busy(self) -> bool:
        """True while code runs: the last output is not a REPL prompt."""
        return not (self._tail.endswith(b">>> ") or self._tail.endswith(b">"))

    def _from_host(self, data: bytes) -> None:
        child = self._child
        if CTRL_C in data and child is not None and self._busy():
            child.send_signal(signal.SIGINT)
            data = data.replace(bytes((CTRL_C,)), b"")
            time.sleep(0.05)
        if data and self._child_fd >= 0:
            os.write(self._child_fd, data)

    def _from_child(self) -> bool:
        try:
            data = os.read(self._child_fd, 4096)
        except OSError:
            data = b""
        if not data:
            return False
        self.output += data
        self._tail = (self._tail + data)[-64:]
        os.write(self._master, data)
        return True

    def _relay(self) -> None:
        while not self._stop.is_set():
            fds = [self._master]
            if self._child_fd >= 0:
                fds.append(self._child_fd)
            ready, _, _ = select.select(fds, [], [], 0.05)
            if self._master in ready:
                try:
                    data = os.read(self._master, 4096)
                except OSError:
                    data = b""
                if data:
                    self._from_host(data)
            if self._child_fd in ready and not self._from_child():
                # the interpreter ended: a reset (or soft reset) -> boot again
                self._kill_child()
                if not self._stop.is_set():
                    self._boot()


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
