"""``strideguard live --headless``: the options, the journal, the sinks and the session.

The session itself is :func:`strideguard.live.headless.headless_session`; this
module checks the options before anything starts, sets up logging for the
journal (plain lines on stderr; systemd adds the time), opens the sinks once for
the whole session (plain log, speech, the phone page with its lasting token and
its "Acknowledge" button) and runs the session under :class:`StopSignals`
(SIGTERM from systemd ends the current run cleanly, then the session).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from strideguard.live.headless import HeadlessSettings

#: the recordings' folder in the per-user data folder
RECORDINGS_DIR = "recordings"


def headless_settings(args: argparse.Namespace) -> HeadlessSettings:
    """The session's settings from the options; the recordings' folder is checked (exit 2)."""
    from strideguard.atomic import check_writable
    from strideguard.commands.live import DEFAULT_END_GONE_S, DEFAULT_END_STILL_MIN
    from strideguard.errors import InputError
    from strideguard.userdirs import data_dir

    folder: Path = args.recordings if args.recordings is not None else data_dir() / RECORDINGS_DIR
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--recordings {folder}: not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"--recordings {folder}: cannot create it ({exc.strerror or exc})"
        ) from None
    check_writable(folder / "run.sgrec", "--recordings")
    end_still_min = args.end_still if args.end_still is not None else DEFAULT_END_STILL_MIN
    return HeadlessSettings(
        recordings=folder,
        end_still_s=60.0 * end_still_min,
        end_gone_s=args.end_gone if args.end_gone is not None else DEFAULT_END_GONE_S,
        max_runs=args.runs,
        session_s=args.duration,
    )


def journal_logging() -> None:
    """strideguard's log lines (INFO and up) on stderr, once: systemd puts them in the journal."""
    logger = logging.getLogger("strideguard")
    if any(getattr(h, "_strideguard_journal", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler._strideguard_journal = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # once, even when a library configured the root logger


def run_headless(
    args: argparse.Namespace, config: Any, baselines: Callable[[], tuple[Any, str | None]]
) -> int:
    """Run a headless session until it ends (``--runs``, ``--duration``, SIGTERM, Ctrl-C).

    ``baselines`` is called at the start of every run: the stored baseline(s)
    that run starts with, and why a stored one is not used (see
    :func:`strideguard.live.headless.headless_session`).
    """
    import asyncio

    from strideguard.live.stopping import StopSignals

    settings = headless_settings(args)
    args.plain = True  # no terminal view: one line per event, for the journal
    journal_logging()
    with StopSignals() as signals:
        return asyncio.run(_main(args, signals, settings, config, baselines))


async def _main(
    args: argparse.Namespace,
    signals: Any,
    settings: HeadlessSettings,
    config: Any,
    baselines: Callable[[], tuple[Any, str | None]],
) -> int:
    from strideguard.commands.live import offer_acknowledge
    from strideguard.live.headless import headless_session
    from strideguard.live.sinkargs import open_sinks
    from strideguard.live.web_sink import WebSink
    from strideguard.service.state import SessionState, state_path
    from strideguard.service.webtoken import lasting_token, token_path

    stop = signals.attach()
    state = SessionState(state_path())
    token = lasting_token(token_path()) if getattr(args, "web", None) else None
    hub = open_sinks(args, token=token)
    web = next((s for s in hub.sinks if isinstance(s, WebSink)), None)
    acknowledge = offer_acknowledge(hub)
    if web is not None:
        state.update(web_url=web.url, web_local_url=web.local_url)
    common: dict[str, Any] = {
        "config": config,
        "baselines": baselines,
        "acknowledge": acknowledge,
    }
    try:
        if args.virtual:
            from strideguard import plugins

            provider = plugins.virtual_sensors("live --virtual")
            async with provider.for_live(args) as sensors:
                await headless_session(
                    args,
                    stop,
                    hub,
                    settings,
                    state,
                    wanted=list(sensors.names),
                    backend=sensors.backend,
                    mode=sensors.mode,
                    **common,
                )
        else:
            await headless_session(
                args, stop, hub, settings, state, wanted=list(args.sensor), **common
            )
    finally:
        hub.close()
    return 0
