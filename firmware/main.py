"""Board entry point: load the config, build the hardware, run the app.

On an ESP32 the hardware is :mod:`board`. Under the MicroPython Unix port
(no ``bluetooth`` module) a ``vboard`` module on the path, provided by the
virtual-board test bridge, supplies simulated hardware instead.
"""

import app
import config


def main():
    cfg, ok, reason = config.load()
    try:
        import board

        hw = board.Board(cfg)
    except ImportError:
        import vboard  # type: ignore[import-not-found]  # virtual board only

        hw = vboard.Board(cfg)
    a = app.App(hw, cfg, ok, reason)
    print(a.status_line())
    try:
        a.run()
    except KeyboardInterrupt:
        relax = getattr(hw, "relax_watchdog", None)
        if relax is not None:
            relax()
        print("strideguard stopped (Ctrl-C); reset the board to restart")


main()
