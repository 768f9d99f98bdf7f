"""``machine`` for the virtual board (overrides the Unix port's built-in one).

Only what the deploy flow needs: ``reset()`` ends the interpreter with
RESET_EXIT_CODE and the pty bridge boots it again, running ``main.py`` the
way a real board does after a hard reset. ``board.py`` imports this, then
fails on ``import bluetooth``, so ``main.py`` falls back to ``vboard``.
"""

import sys

RESET_EXIT_CODE = 75


def reset():
    sys.exit(RESET_EXIT_CODE)


def soft_reset():
    sys.exit(RESET_EXIT_CODE)
