"""The virtual board: the real firmware in the MicroPython Unix port, on a virtual air.

::

    MicroPython Unix port (one process per board)          host process (asyncio)
    ┌──────────────────────────────────────────┐           ┌───────────────────────────────┐
    │ firmware/*.py (main → board → app ...)   │           │ VirtualBoard                  │
    │   machine.I2C ─▶ mpu6050_model ◀─ samples│  TCP      │  RadioBridge: bumble Device   │
    │   bluetooth.BLE ─────────────────────────┼─127.0.0.1─┼▶ (GATT table, advertising,    │
    │   time (board clock, × speed) ◀──────────┼──events───┼─  notify) on a VirtualAir ◀──┼── bleak (bumble backend)
    │ hw/ stand-ins first on MICROPYPATH, mp/  │           │                               │
    └──────────────────────────────────────────┘           └───────────────────────────────┘

The firmware runs unchanged: ``main.py`` imports ``board.py``, whose
``machine``, ``bluetooth`` and ``time`` are the stand-ins of
``strideguard_devkit/vboard/hw``, built on the models of ``strideguard_devkit/mp``
(the ones the firmware tests use). See ``docs/virtual-board.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from strideguard import protocol as proto
from strideguard_devkit.bumble_backend import VirtualAir
from strideguard_devkit.linkloss import NotificationLoss
from strideguard_devkit.mp import MP_DIR, micropython_binary, micropython_env
from strideguard_devkit.mp import vbwire as W
from strideguard_devkit.vboard.bridge import HCI_CONNECTION_TIMEOUT, RadioBridge, read_message
from strideguard_devkit.vboard.samples import as_counts

#: the stand-ins for MicroPython's machine, bluetooth and time (first on MICROPYPATH)
HW_DIR = Path(__file__).resolve().parent / "hw"
_addresses = itertools.count(1)


def firmware_source() -> Path:
    """The ``firmware/`` folder of this checkout (what ``strideguard flash`` copies)."""
    from strideguard.commands.flash import firmware_dir

    return firmware_dir(None)


class VirtualBoard:
    """One virtual strideguard board (async context manager).

    Parameters
    ----------
    air
        The virtual Bluetooth link the board's radio lives on (the host's bleak
        talks to it through ``air.backend``).
    samples
        What the simulated MPU6050 measures: ``(n, 6)`` int16 counts, a
        ``strideguard_devkit.sim.SimRun`` or an ``ImuRecording`` (converted at ±16 g /
        ±2000 °/s).
    leg
        ``"L"`` or ``"R"``, written to the board's ``strideguard.json``.
    rate_hz
        The firmware's sample rate (its config; the host may change it).
    samples_rate_hz
        Rate of ``samples`` (default: theirs, else ``rate_hz``). At equal rates
        the sensor's ``k``-th sample after wake-up is ``samples[k]``.
    speed
        Board time runs ``speed`` times faster than wall time (the board slows
        down rather than lose samples when the machine cannot keep up).
    loop
        Play ``samples`` in a loop; otherwise the last one is held.
    battery_mv
        Battery voltage the ADC reads.
    flash_dir
        The board's file system (default: a temporary folder, removed on stop).
    install_firmware
        Copy ``firmware/*.py`` into the flash before booting (when it has no ``main.py``).
    paused
        The sensor holds ``samples[0]`` (a runner standing still) until
        :meth:`play`, so a scripted run can start when the host is ready.
    play_on_stream
        With ``paused``: start playing when a central first writes
        ``OP_START_STREAM`` (:attr:`play_index` tells where the samples start).
    pty
        Also expose the board's console on a pseudo-terminal (:attr:`port`) that
        ``mpremote``/``strideguard flash``/``make flash PORT=...`` use like a USB port.
    loss
        Lose stream-data notifications on the air (a
        :class:`~strideguard_devkit.linkloss.NotificationLoss`, kept across boots).
    pairing_window_s
        The board's ``pairing_window_s`` (board seconds; default the maximum, 600: board
        time runs up to 200 times faster than the host connects, and a new board's window
        must still be open when the host pairs at its first connection).
    """

    def __init__(
        self,
        air: VirtualAir,
        samples: Any,
        *,
        leg: str = "L",
        rate_hz: int = proto.DEFAULT_RATE_HZ,
        samples_rate_hz: float | None = None,
        speed: float = 1.0,
        loop: bool = True,
        battery_mv: int = 3950,
        flash_dir: Path | None = None,
        install_firmware: bool = True,
        pty: bool = False,
        paused: bool = False,
        play_on_stream: bool = False,
        loss: NotificationLoss | None = None,
        pairing_window_s: int = 600,
    ) -> None:
        if leg not in proto.LEG_NAMES:
            raise ValueError("leg must be 'L' or 'R'")
        if rate_hz not in proto.SUPPORTED_RATES_HZ:
            raise ValueError(f"rate_hz must be one of {proto.SUPPORTED_RATES_HZ}")
        if not 0 < speed <= 200:
            raise ValueError("speed must be in (0, 200]")
        counts, own_rate = as_counts(samples)
        self.air = air
        self.samples = counts
        self.samples_rate_hz = float(samples_rate_hz or own_rate or rate_hz)
        self.leg = leg
        self.rate_hz = rate_hz
        self.speed = float(speed)
        self.loop = loop
        self.battery_mv = battery_mv
        self.install_firmware = install_firmware
        self.use_pty = pty
        self.paused = paused
        self.play_on_stream = paused and play_on_stream
        self.loss = loss
        self.pairing_window_s = pairing_window_s
        n = next(_addresses)
        self.address = f"D0:5E:B0:00:{n >> 8:02X}:{n & 0xFF:02X}"
        self._work = Path(tempfile.gettempdir())  # a private folder from start() on
        self._flash_dir = Path(flash_dir) if flash_dir is not None else None
        self._boots = 0
        self.console: list[str] = []  # the board's printed lines (non-pty mode)
        self.echo: bool = False  # also print the console lines
        self.bridge: RadioBridge | None = None
        self._token = secrets.token_hex(8)
        self._server: asyncio.Server | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._runner: asyncio.Task[None] | None = None
        self._pty: Any = None
        self._session_ready = asyncio.Event()
        self._stopping = False
        self._power_cycle = False
        self.failure: str | None = None

    # ------------------------------------------------------------ properties
    @property
    def name(self) -> str:
        """Advertised name (from the firmware's ``config(gap_name=...)``)."""
        return self.bridge.name if self.bridge is not None else ""

    @property
    def boots(self) -> int:
        """Times the interpreter started (1 + resets and power cycles so far)."""
        return self._pty.boots if self._pty is not None else self._boots

    @property
    def port(self) -> str | None:
        """The pseudo-terminal to give ``mpremote``/``make flash PORT=`` (``pty=True`` only)."""
        return self._pty.port if self._pty is not None else None

    @property
    def notified(self) -> dict[str, int]:
        """Notifications the firmware sent, by characteristic UUID (this boot)."""
        return dict(self.bridge.notified) if self.bridge is not None else {}

    @property
    def first_sample(self) -> int:
        """Index into the samples of the sensor's first FIFO sample this boot (-1: none yet).

        At equal rates the firmware's stream sample index ``i`` carries
        ``samples[(first_sample + i) % n]`` (until a rate change or a lost sample).
        """
        return self.bridge.first_sample if self.bridge is not None else -1

    def sample_time_s(self, index: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``time.monotonic()`` at which the sensor measured stream sample(s) ``index``.

        For latency measurements (sample measured -> host). Valid while the rate
        is the configured ``rate_hz`` (NaN before the first sample or clock reading).
        """
        idx = np.asarray(index, np.int64)
        bridge = self.bridge
        out = np.full(idx.shape, np.nan)
        if bridge is None or bridge.first_sample_board_us < 0 or not bridge.clock:
            return out
        board_us = bridge.first_sample_board_us + idx * (1_000_000 // self.rate_hz)
        clock = np.array(bridge.clock, dtype=np.float64)
        j = np.clip(np.searchsorted(clock[:, 0], board_us, side="right") - 1, 0, len(clock) - 1)
        return clock[j, 1] + (board_us - clock[j, 0]) / 1e6 / self.speed

    @property
    def pid(self) -> int | None:
        """Process id of the running MicroPython interpreter (None between boots, or with a pty)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    @property
    def notify_lost(self) -> int:
        """Data notifications the loss model took on the air (this boot)."""
        return self.bridge.notify_lost if self.bridge is not None else 0

    @property
    def pins(self) -> list[tuple[float, int, int]]:
        """Output pin changes ``(monotonic_s, gpio, level)`` (LED, haptic) this boot."""
        return list(self.bridge.pins) if self.bridge is not None else []

    @property
    def pin_log(self) -> list[tuple[int, int, int]]:
        """The same changes in board time: ``(board_us, gpio, level)``, this boot."""
        return list(self.bridge.pin_log) if self.bridge is not None else []

    def motor_activity(self, config: Any = None) -> list[dict[str, Any]]:
        """The motor's activity this boot, read off its pin as patterns (board seconds).

        See :func:`strideguard_devkit.vboard.motor.motor_activity`; ``config`` is the
        host's :class:`~strideguard.alerts.config.PatternConfig`.
        """
        from strideguard_devkit.vboard.motor import motor_activity

        return motor_activity(self.pin_log, config=config, console=self.console)

    def board_us_at(self, monotonic_s: float) -> float:
        """Board time (us) at host time ``monotonic_s`` (NaN before the first clock reading).

        From the board's clock messages (every ~50 ms of wall time), as
        :meth:`sample_time_s` maps the other way.
        """
        bridge = self.bridge
        if bridge is None or not bridge.clock:
            return float("nan")
        clock = np.array(bridge.clock, dtype=np.float64)
        j = int(np.clip(np.searchsorted(clock[:, 1], monotonic_s, side="right") - 1, 0, None))
        return float(clock[j, 0] + (monotonic_s - clock[j, 1]) * 1e6 * self.speed)

    @property
    def play_board_us(self) -> int:
        """Board time (us) of the sample the scenario started with (-1 before :meth:`play`)."""
        bridge = self.bridge
        if bridge is None or bridge.play_index < 0 or bridge.first_sample_board_us < 0:
            return -1
        return bridge.first_sample_board_us + bridge.play_index * (1_000_000 // self.rate_hz)

    # ------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> VirtualBoard:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def flash_dir(self) -> Path:
        """The board's file system (a temporary folder unless given)."""
        return self._flash_dir if self._flash_dir is not None else self._work / "flash"

    def _prepare_files(self) -> Path:
        self._work = Path(tempfile.mkdtemp(prefix="sg-vboard-"))
        self.flash_dir.mkdir(parents=True, exist_ok=True)
        if self.install_firmware and not (self.flash_dir / "main.py").exists():
            for src in sorted(firmware_source().glob("*.py")):
                shutil.copyfile(src, self.flash_dir / src.name)
            cfg = {
                "leg": self.leg,
                "rate_hz": self.rate_hz,
                "pairing_window_s": self.pairing_window_s,
            }
            (self.flash_dir / "strideguard.json").write_text(json.dumps(cfg))
        samples_path = self._work / "samples.bin"
        samples_path.write_bytes(self.samples.astype(">i2").tobytes())
        return samples_path

    def _env(self, port: int, samples_path: Path) -> dict[str, str]:
        settings = {
            "port": port,
            "token": self._token,
            "samples": str(samples_path),
            "samples_rate_hz": self.samples_rate_hz,
            "loop": self.loop,
            "speed": self.speed,
            "battery_mv": self.battery_mv,
            "paused": self.paused,
        }
        settings_path = self._work / "vboard.json"
        settings_path.write_text(json.dumps(settings))
        env = micropython_env([HW_DIR, MP_DIR, self.flash_dir])
        env[W.SETTINGS_ENV] = str(settings_path)
        return env

    async def start(self, timeout_s: float = 15.0) -> None:
        """Boot the board and wait until it advertises.

        Raises
        ------
        RuntimeError
            The firmware did not come up (its console output is in the message).
        """
        samples_path = self._prepare_files()
        # small buffers (with the board's): a busy host slows the board instead of lagging
        self._server = await asyncio.start_server(
            self._on_session, "127.0.0.1", 0, limit=W.SOCKET_BUFFER
        )
        port = self._server.sockets[0].getsockname()[1]
        env = self._env(port, samples_path)
        if self.use_pty:
            from strideguard_devkit.vboard.pty import PtyBoard

            self._pty = PtyBoard(self.flash_dir, micropython_binary(), env).start()
        else:
            self._runner = asyncio.create_task(self._run(env))
        if not (self.flash_dir / "main.py").exists():
            return  # an empty flash (pty): nothing runs until it is flashed
        try:
            await self.wait_advertising(timeout_s)
        except BaseException:
            await self.stop()
            raise

    async def wait_advertising(self, timeout_s: float = 15.0) -> None:
        """Wait until the firmware (of the current boot) advertises."""
        deadline = time.monotonic() + timeout_s
        while True:
            bridge = self.bridge
            if bridge is not None and bridge.advertising.is_set():
                return
            if self.failure is not None or time.monotonic() > deadline:
                tail = "\n".join(self.console[-20:])
                raise RuntimeError(
                    f"virtual board {self.leg}: firmware not advertising "
                    f"({self.failure or 'timeout'})\n{tail}"
                )
            await asyncio.sleep(0.02)

    async def _run(self, env: dict[str, str]) -> None:
        """Run the interpreter; boot it again after a reset (exit code 75)."""
        binary = micropython_binary()
        while not self._stopping:
            self._boots += 1
            proc = await asyncio.create_subprocess_exec(
                binary,
                "main.py",
                cwd=self.flash_dir,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            self._proc = proc
            assert proc.stdout is not None
            async for raw in proc.stdout:
                line = raw.decode(errors="replace").rstrip("\n")
                self.console.append(line)
                if self.echo:
                    print(f"[{self.leg}] {line}", flush=True)
            code = await proc.wait()
            if self._stopping:
                return
            if self._power_cycle:
                self._power_cycle = False
            elif code != W.RESET_EXIT_CODE:
                self.failure = f"micropython exited with {code}"
                return

    async def _on_session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A (re)booted firmware connected: give it a fresh radio on the air."""
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, W.SOCKET_BUFFER)
        try:
            kind, token = await asyncio.wait_for(read_message(reader), 5.0)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        if kind != W.MSG_TOKEN or token.decode(errors="replace") != self._token:
            writer.close()
            return
        old, self.bridge = self.bridge, None
        if old is not None:
            await old.close()
        bridge = RadioBridge(self.air, self.address, self.speed, writer)
        bridge.loss = self.loss
        bridge.play_on_stream = self.play_on_stream and self.boots <= 1
        self.bridge = bridge
        try:
            await bridge.serve(reader)
        finally:
            if self.bridge is bridge or self._stopping:
                await bridge.close()

    async def stop(self) -> None:
        """Power the board off: stop the interpreter, drop its links, clean up."""
        self._stopping = True
        if self._pty is not None:
            await asyncio.to_thread(self._pty.close)
        proc = self._proc
        if proc is not None and proc.returncode is None:
            proc.kill()
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._runner, 5.0)
        if self.bridge is not None:
            await self.bridge.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
        if self._work.name.startswith("sg-vboard-"):
            shutil.rmtree(self._work, ignore_errors=True)

    # ------------------------------------------------------------ events
    async def play(self, timeout_s: float = 15.0) -> int:
        """Start the samples of a ``paused`` board from ``samples[0]``.

        Returns
        -------
        int
            The stream sample index carrying ``samples[0]``: stream sample
            ``play_index + j`` is ``samples[j]`` (exact unless samples were lost or
            the rate changed before).
        """
        bridge = self.bridge
        if bridge is None:
            raise RuntimeError("the board is not running")
        bridge.playing.clear()
        bridge.send(W.MSG_PLAY)
        await asyncio.wait_for(bridge.playing.wait(), timeout_s)
        return bridge.play_index

    @property
    def play_index(self) -> int:
        """Stream sample index carrying ``samples[0]`` after :meth:`play` (-1 before)."""
        return self.bridge.play_index if self.bridge is not None else -1

    async def power_cycle(self, timeout_s: float = 15.0) -> None:
        """Cut the power and boot again (a brown-out): links drop, the firmware restarts.

        Waits until the new boot advertises. The flash (firmware, config) is kept.
        """
        bridge = self.bridge
        if self._pty is not None:
            child = self._pty._child
            if child is not None:
                child.kill()  # the relay boots it again
        else:
            self._power_cycle = True
            if self._proc is not None and self._proc.returncode is None:
                self._proc.kill()
        deadline = time.monotonic() + timeout_s
        while self.bridge is bridge or self.bridge is None:
            if time.monotonic() > deadline or self.failure is not None:
                raise RuntimeError(f"virtual board {self.leg}: no boot after the power cycle")
            await asyncio.sleep(0.02)
        await self.wait_advertising(max(deadline - time.monotonic(), 0.1))

    async def drop_link(self, reason: int = HCI_CONNECTION_TIMEOUT) -> int:
        """Drop the board's links from its side (out of range); the firmware sees the IRQ.

        Returns
        -------
        int
            Links dropped.
        """
        if self.bridge is None:
            return 0
        return await self.bridge.drop_links(reason)

    def press_button(self) -> None:
        """Tap the BOOT button ("pain now" mark in a frame after it)."""
        if self.bridge is not None:
            self.bridge.press_button(0)

    def hold_button(self, seconds: float) -> None:
        """Hold the BOOT button for ``seconds`` of board time (2 s or more: acknowledge).

        Returns at once; the board lets go by itself when its clock has run that long.
        """
        if self.bridge is not None:
            self.bridge.hold_button(0, round(seconds * 1000))

    def samples_fed(self) -> np.ndarray:
        """The counts the simulated MPU6050 plays (``(n, 6)`` int16)."""
        return self.samples
