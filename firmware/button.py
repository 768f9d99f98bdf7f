"""The BOOT button: taps and holds, from the IRQ's press count and the pin level.

The pin IRQ counts presses (so a tap shorter than one main-loop pass is never
missed); the main loop reads the level once per pass (10 ms) and hands both to
:meth:`Button.update`, which reports what happened as ``BUTTON_*`` bits:

* ``BUTTON_TAP``: released after less than ``tap_max_ms`` (the app: "pain now");
* ``BUTTON_HOLD``: still down and past one of ``holds_ms`` (:attr:`Button.crossed_ms`
  says which; several thresholds can be given, each is reported once per press,
  and thresholds crossed in the same pass together, ``crossed_ms`` the highest);
* ``BUTTON_RELEASE``: released, after any time (:attr:`Button.held_ms`).

It decides nothing itself: the app maps a threshold to an action (a 2-s hold
acknowledges an alert pattern, 3 s opens the pairing window, 10 s clears the bonds).
Integers only, no allocation.
"""

from micropython import const

BUTTON_TAP = const(0x01)
BUTTON_HOLD = const(0x02)
BUTTON_RELEASE = const(0x04)

_RELEASE_POLLS = const(2)  # the level must read "up" this many passes in a row (bounce)


class Button:
    """Press-duration classifier (see the module docstring).

    Parameters
    ----------
    ticks_diff
        The board clock's ``time.ticks_diff``.
    holds_ms
        Hold thresholds in ms, ascending (a tuple: no allocation per pass).
    tap_max_ms
        A press released before this is a tap.

    Attributes
    ----------
    down
        The button is being held.
    held_ms
        How long the current (or last) press lasted so far.
    crossed_ms
        The threshold the last ``BUTTON_HOLD`` reported.
    taps, holds
        Taps and threshold crossings since boot.
    """

    def __init__(self, ticks_diff, holds_ms=(2000,), tap_max_ms=1000):
        self._diff = ticks_diff
        self.holds_ms = holds_ms
        self.tap_max_ms = tap_max_ms
        self.down = False
        self.held_ms = 0
        self.crossed_ms = 0
        self._t_down = 0
        self._next = 0  # index of the next threshold of this press
        self._up = 0
        self._presses = 0
        self._synced = False
        self.taps = 0
        self.holds = 0

    def update(self, presses, level_down, now):
        """One main-loop pass: the IRQ's press count, the pin level, the board ms."""
        new = self._synced and presses != self._presses
        self._presses = presses
        self._synced = True
        if not self.down:
            if level_down:
                self.down = True
                self._t_down = now
                self._next = 0
                self._up = 0
                self.held_ms = 0
                return 0
            if new:  # pressed and released between two passes: the shortest tap
                self.held_ms = 0
                self.taps += 1
                return BUTTON_TAP | BUTTON_RELEASE
            return 0
        held = self._diff(now, self._t_down)
        self.held_ms = held
        if not level_down:
            self._up += 1
            if self._up < _RELEASE_POLLS:
                return 0
            self.down = False
            if held < self.tap_max_ms:
                self.taps += 1
                return BUTTON_TAP | BUTTON_RELEASE
            return BUTTON_RELEASE
        self._up = 0
        ev = 0
        holds = self.holds_ms
        while self._next < len(holds) and held >= holds[self._next]:
            self.crossed_ms = holds[self._next]
            self._next += 1
            self.holds += 1
            ev = BUTTON_HOLD
        return ev
