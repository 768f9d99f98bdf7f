"""The virtual board's console on a pseudo-terminal, for ``mpremote`` (deploy path).

The MicroPython Unix port runs in the board's "flash" directory; clients open
:attr:`PtyBoard.port` exactly like a USB serial port
(``mpremote connect <port> resume fs cp ...``, ``make flash PORT=<port>``).
The relay emulates what the Unix port lacks:

* a board boots into ``main.py``: the interpreter runs ``-i main.py`` (the
  REPL follows when main ends or is interrupted), or just the REPL when the
  flash has no ``main.py``;
* Ctrl-C while code runs (no prompt showing) is delivered as SIGINT, since
  the raw terminal does not turn it into a signal;
* a reset (``machine.reset()`` exits the interpreter, as does a soft reset,
  which the Unix port treats as end of input) boots it again.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import threading
import time
import tty
from pathlib import Path

CTRL_C = 0x03


class PtyBoard:
    """The interpreter behind a pty, restarted on reset.

    Parameters
    ----------
    flash_dir
        The board's file system (its working directory).
    micropython
        Path of the ``micropython`` binary.
    env
        Its environment (``MICROPYPATH`` with the stand-in modules first).
    """

    def __init__(self, flash_dir: Path, micropython: str, env: dict[str, str]) -> None:
        self.flash_dir = Path(flash_dir)
        self.micropython = micropython
        self.env = env
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

    def start(self) -> PtyBoard:
        """Boot and start relaying."""
        self._boot()
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the interpreter and close the pty."""
        self._stop.set()
        self._thread.join(timeout=2)
        self._kill_child()
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def _boot(self) -> None:
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
            env=self.env,
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

    def _busy(self) -> bool:
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
        try:
            os.write(self._master, data)
        except OSError:
            pass
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
                self._kill_child()
                if not self._stop.is_set():
                    self._boot()
