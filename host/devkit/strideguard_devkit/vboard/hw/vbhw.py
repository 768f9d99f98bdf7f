"""Shared state of the virtual board's stand-in modules (MicroPython side).

The host (``strideguard_devkit.vboard``) starts the MicroPython Unix port with this
folder first on ``MICROPYPATH`` (then ``strideguard_devkit/mp``) and
``STRIDEGUARD_VBOARD`` naming a JSON file:
``{"port", "token", "samples", "samples_rate_hz", "loop", "speed", "battery_mv", "paused"}``.

Board clock: it advances only when the firmware sleeps (``time.sleep_ms``),
paced so that board time runs ``speed`` times faster than wall time. When the
process cannot keep up, board time slows down instead of skipping (the
firmware, the FIFO model and the frame timestamps all read this one clock, so
they stay consistent). While it sleeps the board polls the socket to the host
and runs the Bluetooth IRQ handler for the events that arrived.

Wire format (both ways, one module for both runtimes): :mod:`vbwire`.
"""

import json
import os
import select
import socket
import struct

import utime
import vbwire as W

TICKS_PERIOD = 1 << 30
TICKS_MAX = TICKS_PERIOD - 1
TICKS_HALF = TICKS_PERIOD // 2
MAX_LAG_US = 100000  # wall lag beyond which the pacing re-anchors (board time slows)
REANCHOR_US = 60000000  # re-anchor the pacing this often (far from the 2**29 us ticks_diff wrap)
SOL_SOCKET = 1  # Linux values (the Unix port's socket module lacks the names)
SO_SNDBUF = 7


class Hub:
    """Board clock + socket to the host + event dispatch."""

    def __init__(self):
        path = os.getenv(W.SETTINGS_ENV)
        if not path:
            raise OSError(W.SETTINGS_ENV + " is not set: not started by strideguard_devkit.vboard")
        with open(path) as f:
            self.cfg = json.load(f)
        self.speed = float(self.cfg.get("speed", 1.0))
        self.board_us = 0
        self._wall0 = utime.ticks_us()
        self._board0 = 0
        self.sock = None
        self.poller = None
        self._rx = b""
        self.handlers = {}  # message type (int) -> callable(payload)
        self.pending = []  # messages received while waiting for a reply
        self.wdt_timeout_ms = 0
        self.wdt_fed_us = 0
        self.timers = []  # [board us, callable()]: run when board time passes them
        self._out = []
        self._out_bytes = 0
        self._clock_sent = self._wall0
        self._connect()

    # ------------------------------------------------------------ socket
    def _connect(self):
        addr = socket.getaddrinfo("127.0.0.1", int(self.cfg["port"]))[0][-1]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:  # small buffers: a busy host slows the board down soon, instead of lagging behind
            s.setsockopt(SOL_SOCKET, SO_SNDBUF, W.SOCKET_BUFFER)
        except OSError:
            pass
        s.connect(addr)
        self.sock = s
        self.poller = select.poll()
        self.poller.register(s, select.POLLIN)
        self.send(W.MSG_TOKEN, self.cfg["token"].encode())
        self.flush()

    def send(self, kind, payload=b""):
        """Queue a message; queued messages go out together when the board sleeps.

        (A real stack updates its attribute table at once and puts notifications
        on the air later, so a central never reads a value older than a
        notification it already got: sending one step's messages in one batch
        keeps that order.)
        """
        msg = W.encode(kind, payload)
        self._out.append(msg)
        self._out_bytes += len(msg)
        if self._out_bytes > W.SOCKET_BUFFER:
            self.flush()

    def flush(self):
        """Send the queued messages (blocking: a slow host slows the board down)."""
        if not self._out:
            return
        data = b"".join(self._out)
        self._out = []
        self._out_bytes = 0
        view = memoryview(data)
        while view:
            k = self.sock.send(view)
            view = view[k:]

    def _read_available(self):
        """Read what the socket holds (non-blocking); return the complete messages."""
        got = False
        while self.poller.poll(0):
            chunk = self.sock.recv(4096)
            if not chunk:
                raise SystemExit("strideguard_devkit.vboard: the host closed the link")
            self._rx += chunk
            got = True
        if not got:
            return []
        out, self._rx = W.split(self._rx)
        return out

    def request(self, kind, payload, reply_kind):
        """Send a message and block until the host answers with ``reply_kind``."""
        self.send(kind, payload)
        self.flush()
        while True:
            self.poller.poll(1000)
            for k, p in self._read_available():
                if k == reply_kind:
                    return p
                self.pending.append((k, p))

    def dispatch(self):
        """Run the handlers of every message that arrived."""
        msgs = self.pending + self._read_available()
        self.pending = []
        for kind, payload in msgs:
            h = self.handlers.get(kind)
            if h is not None:
                h(payload)

    # ------------------------------------------------------------ clock
    def at(self, board_us, fn):
        """Run ``fn()`` once board time reaches ``board_us`` (checked as the board sleeps)."""
        self.timers.append([board_us, fn])

    def advance_us(self, us):
        """Let ``us`` of board time pass (paced to wall time x speed)."""
        self.flush()
        self.board_us += us
        while True:
            self.dispatch()
            now = utime.ticks_us()
            elapsed = utime.ticks_diff(now, self._wall0)
            if elapsed > REANCHOR_US:  # stay far from the 2**29 us wrap of ticks_diff
                self._wall0 = now
                self._board0 += int(elapsed * self.speed)
                elapsed = 0
            lag = elapsed - (self.board_us - self._board0) / self.speed
            if lag >= 0:
                if lag > MAX_LAG_US:  # behind: re-anchor, board time runs slower
                    self._wall0 = now
                    self._board0 = self.board_us
                break
            rem = -lag
            if rem >= 2000:
                self.poller.poll(int(rem // 1000) - 1)
            else:
                utime.sleep_us(int(rem))
        if self.timers:
            due = [t for t in self.timers if t[0] <= self.board_us]
            for t in due:
                self.timers.remove(t)
                t[1]()
        if utime.ticks_diff(utime.ticks_us(), self._clock_sent) >= W.CLOCK_EVERY_US:
            # board time now: the host maps board times to its wall clock with these
            self._clock_sent = utime.ticks_us()
            self.send(W.MSG_CLOCK, struct.pack(W.FORMAT_CLOCK, self.board_us))
            self.flush()
        if self.wdt_timeout_ms and self.board_us - self.wdt_fed_us > self.wdt_timeout_ms * 1000:
            print("strideguard_devkit.vboard: watchdog reset")
            import machine

            machine.reset()


_hub = None


def hub():
    """The board's one :class:`Hub` (created at first use)."""
    global _hub
    if _hub is None:
        _hub = Hub()
    return _hub
