"""Board entry point: load the config, build the hardware, run the app.

The hardware is :mod:`board`. The virtual board (the dev kit's) runs this same
file under the MicroPython Unix port, with stand-ins for ``machine``,
``bluetooth`` and ``time`` first on its module path.
"""

import app
import board
import config


def main():
    cfg, ok, reason = config.load()
    hw = board.Board(cfg)
    a = app.App(hw, cfg, ok, reason)
    print(a.status_line())
    try:
        a.run()
    except KeyboardInterrupt:
        hw.relax_watchdog()
        print("strideguard stopped (Ctrl-C); reset the board to restart")


main()
