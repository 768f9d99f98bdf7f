"""Command-line options for the sinks and building them (used by ``live`` and ``replay``).

Example
-------
>>> import argparse
>>> p = argparse.ArgumentParser()
>>> add_sink_arguments(p)
>>> args = p.parse_args(["--web", "0.0.0.0:9000", "--plain"])
>>> parse_web_address(args.web, args.web_port)
('0.0.0.0', 9000)
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from strideguard.cliargs import whole
from strideguard.errors import InputError
from strideguard.live.web_server import DEFAULT_PORT

if TYPE_CHECKING:  # imported where used: building the CLI parser stays light (no numpy)
    from rich.console import Console

    from strideguard.live.hub import SinkHub


def add_sink_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--web``, ``--web-port``, ``--plain``, ``--log-every``, ``--no-sound``, ``--notify``."""
    g = parser.add_argument_group("what the runner sees and hears")
    g.add_argument(
        "--web",
        nargs="?",
        const="127.0.0.1",
        default=None,
        metavar="HOST[:PORT]",
        help="serve the phone page at a URL with a random token (default 127.0.0.1: this "
        "computer only; 0.0.0.0 for a phone on the same Wi-Fi: prints a QR code too)",
    )
    g.add_argument(
        "--web-port",
        type=whole(0, 65535),
        default=DEFAULT_PORT,
        help=f"phone page port (default {DEFAULT_PORT})",
    )
    g.add_argument(
        "--plain", action="store_true", help="plain log lines instead of the live terminal view"
    )
    g.add_argument(
        "--log-every",
        type=whole(1, 100_000),
        default=10,
        metavar="N",
        help="plain log: one stride line every N strides per sensor (default 10)",
    )
    g.add_argument(
        "--no-sound", action="store_true", help="no speech (espeak-ng) or bell for alerts"
    )
    g.add_argument(
        "--notify", action="store_true", help="desktop notifications for alerts (notify-send)"
    )


def parse_web_address(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """Split ``HOST[:PORT]`` (``[v6]:PORT`` for IPv6) into host and port.

    Raises
    ------
    InputError
        For a malformed address or port.
    """
    host, port_text = text.strip(), ""
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            raise InputError(f"--web: bad address {text!r}")
        host, rest = host[1:end], host[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise InputError(f"--web: bad address {text!r}")
            port_text = rest[1:]
    elif host.count(":") == 1:
        host, port_text = host.split(":")
    host = host or "127.0.0.1"
    if not port_text:
        return host, default_port
    try:
        port = int(port_text)
    except ValueError:
        raise InputError(f"--web: bad port {port_text!r}") from None
    if not 0 <= port <= 65535:
        raise InputError(f"--web: port {port} out of range")
    return host, port


def view_stream(args: argparse.Namespace) -> TextIO:
    """Where the runner's view goes: stdout, or stderr when stdout carries ``--format json``.

    Machine-readable output is alone on stdout, so ``... --format json > run.json``
    (or a pipe into ``jq``) gets only the JSON while the view stays on the terminal.
    """
    return sys.stderr if getattr(args, "format", "text") == "json" else sys.stdout


def open_sinks(
    args: argparse.Namespace, *, console: Console | None = None, token: str | None = None
) -> SinkHub:
    """Build the sinks the options ask for, start the web server, print its URL.

    Parameters
    ----------
    args
        Parsed options from :func:`add_sink_arguments` (and ``format``, if the
        command has one: see :func:`view_stream`).
    console
        Terminal console (default: on :func:`view_stream`).
    token
        The phone page's token: a lasting one (a headless session,
        :mod:`strideguard.service.webtoken`); ``None``: a new one for this run.

    Returns
    -------
    SinkHub
        Phone page first (its latency matters most), then terminal, sound, notifications.

    Raises
    ------
    InputError
        If the phone page's address cannot be bound.
    """
    from rich.console import Console

    from strideguard.live.announce import announce_phone_page
    from strideguard.live.hub import SinkHub
    from strideguard.live.sound import DesktopNotifySink, SoundSink
    from strideguard.live.terminal import TerminalSink
    from strideguard.live.web_sink import WebSink

    stream = view_stream(args)
    console = console if console is not None else Console(stderr=stream is sys.stderr)
    hub = SinkHub()
    web: WebSink | None = None
    if getattr(args, "web", None):
        host, port = parse_web_address(args.web, args.web_port)
        web = WebSink(host, port, token=token)
        try:
            web.start()
        except OSError as exc:
            raise InputError(
                f"cannot serve the phone page on {host}:{port}: {exc.strerror or exc}"
            ) from None
        console.print(
            announce_phone_page(web.url, local_only=web.local_only, lasting=token is not None),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        hub.add(web)
    terminal = TerminalSink(
        console,
        live=False if getattr(args, "plain", False) else None,
        log_every_strides=max(1, int(getattr(args, "log_every", 10))),
    )
    if web is not None:
        terminal.footer = f"phone page: {web.url}"
    hub.add(terminal)
    if not getattr(args, "no_sound", False):
        hub.add(SoundSink(bell_stream=stream))
    if getattr(args, "notify", False):
        hub.add(DesktopNotifySink())
    return hub
