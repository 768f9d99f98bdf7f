"""Alert patterns on the haptic motor: data from the host, played step by step, no allocation.

A pattern is up to ``protocol.PATTERN_MAX_PULSES`` (on, off) pulses, a number of
plays (0: until acknowledged) and the time from the start of one play to the
start of the next, as ``protocol.OP_PLAY_PATTERN`` carries them; the board's
own patterns (link lost, the long press taken) are tuples in ``protocol``.
:meth:`PatternPlayer.update` runs once per main-loop pass and only compares
the board clock with the next transition, so a pattern never blocks the
sampler. Transitions are kept on the pattern's own schedule (milliseconds
since it started): a late pass shortens one step, the pattern does not drift,
and a long stall catches up in one call.

Usage::

    player = PatternPlayer(time.ticks_diff)
    player.play_write(write, time.ticks_ms())      # a validated OP_PLAY_PATTERN write
    while True:
        if player.update(time.ticks_ms()):
            motor.value(player.on)
"""

import protocol
from micropython import const

SOURCE_NONE = const(0)
SOURCE_HOST = const(1)  # OP_PLAY_PATTERN: an alert; a long press acknowledges it
SOURCE_LINK_LOST = const(2)  # the board's own: no host for a while
SOURCE_CONFIRM = const(3)  # the board's own: the long press was taken

_IDLE = const(0)
_PULSE = const(1)  # inside a play (an on or an off step)
_WAIT = const(2)  # between two plays


class PatternPlayer:
    """Plays one pattern at a time on a motor the caller drives (see :attr:`on`).

    Parameters
    ----------
    ticks_diff
        The board clock's ``time.ticks_diff``.
    ack_window_ms
        After an alert pattern ended by itself (its plays done), a long press
        still acknowledges it for this long.

    Attributes
    ----------
    on
        Whether the pattern wants the motor on now.
    source
        ``SOURCE_*`` of the pattern playing (or of the last one, while its
        acknowledgement window is open).
    patterns, acknowledged
        Patterns started and acknowledged (by the button or the host) since boot.
    """

    def __init__(self, ticks_diff, ack_window_ms=30000):
        self._diff = ticks_diff
        self.ack_window_ms = ack_window_ms
        self._on_ms = [0] * protocol.PATTERN_MAX_PULSES
        self._off_ms = [0] * protocol.PATTERN_MAX_PULSES
        self.n = 0
        self.repeats = 0
        self.period_ms = 0
        self.source = SOURCE_NONE
        self.on = False
        self._state = _IDLE
        self._t0 = 0  # board ms when the pattern started
        self._next = 0  # ms after _t0 of the next transition
        self._step = 0
        self._phase_on = False
        self._plays = 0  # plays started
        self._ack_open = False
        self._ack_t = 0
        self.patterns = 0
        self.acknowledged = 0

    # ------------------------------------------------------------ state
    @property
    def active(self):
        """A pattern is playing or waiting for its next play."""
        return self._state != _IDLE

    @property
    def playing(self):
        """Inside a play: the pattern owns the motor (the cadence cue waits)."""
        return self._state == _PULSE

    def awaiting_ack(self, now):
        """An alert pattern plays, waits for its next play, or ended within the window."""
        if self.source != SOURCE_HOST:
            return False
        if self._state != _IDLE:
            return True
        return self._ack_open and self._diff(now, self._ack_t) < self.ack_window_ms

    # ------------------------------------------------------------ start / stop
    def play_write(self, data, now):
        """Start the pattern of a *validated* ``OP_PLAY_PATTERN`` write (replaces any)."""
        n = (len(data) - protocol.PATTERN_HEADER_SIZE) // 2
        unit = protocol.PATTERN_UNIT_MS
        for i in range(n):
            self._on_ms[i] = data[protocol.PATTERN_HEADER_SIZE + 2 * i] * unit
            self._off_ms[i] = data[protocol.PATTERN_HEADER_SIZE + 2 * i + 1] * unit
        self.n = n
        self.repeats = data[1]
        self.period_ms = (data[2] << 8) | data[3]
        self._start(SOURCE_HOST, now)

    def play_builtin(self, pulses_ms, source, now):
        """Play one of the board's own patterns once: ``(on, off, on, off, ...)`` in ms.

        A first pulse of 0 ms makes the pattern start with a pause (the motor goes
        off at the next :meth:`update`, which may be called at once).
        """
        n = len(pulses_ms) // 2
        for i in range(n):
            self._on_ms[i] = pulses_ms[2 * i]
            self._off_ms[i] = pulses_ms[2 * i + 1]
        self.n = n
        self.repeats = 1
        self.period_ms = 0
        self._start(source, now)

    def _start(self, source, now):
        self.source = source
        self._t0 = now
        self._plays = 1
        self._step = 0
        self._phase_on = True
        self._next = self._on_ms[0]
        self._state = _PULSE
        self._ack_open = False
        self.on = True
        self.patterns += 1

    def stop(self):
        """Stop at once (no repeats, no acknowledgement window); True if anything was on."""
        was = self._state != _IDLE or self._ack_open
        self._state = _IDLE
        self._ack_open = False
        self.on = False
        return was

    def acknowledge(self, now):
        """Acknowledged (a long press, or the host): stop whatever plays, and its repeats.

        Returns True when an alert pattern was waiting for it (counted in
        :attr:`acknowledged`).
        """
        waiting = self.awaiting_ack(now)
        if waiting:
            self.acknowledged += 1
        self.stop()
        self.source = SOURCE_NONE
        return waiting

    # ------------------------------------------------------------ the main loop's pass
    def update(self, now):
        """Advance to ``now`` (board ms); True when :attr:`on` changed. No allocation."""
        if self._state == _IDLE:
            return False
        el = self._diff(now, self._t0)
        if el < self._next:
            return False
        was = self.on
        while self._state != _IDLE and el >= self._next:
            self._advance(now)
        return self.on != was

    def _advance(self, now):
        """One transition at ``_next``."""
        if self._state == _WAIT:  # the next play starts
            self._plays += 1
            self._step = 0
            self._phase_on = True
            self.on = True
            self._next += self._on_ms[0]
            self._state = _PULSE
            return
        if self._phase_on:  # the pulse ends
            self._phase_on = False
            self.on = False
            self._next += self._off_ms[self._step]
            return
        self._step += 1  # the pause ends
        if self._step < self.n:
            self._phase_on = True
            self.on = True
            self._next += self._on_ms[self._step]
            return
        # the play is over: another one, or the end
        r = self.repeats
        start = self._plays * self.period_ms
        if (r == 0 and start <= protocol.PATTERN_SPAN_MAX_MS) or self._plays < r:
            self._next = start
            self._state = _WAIT
            return
        self._state = _IDLE
        self.on = False
        self._ack_open = self.source == SOURCE_HOST
        self._ack_t = now
