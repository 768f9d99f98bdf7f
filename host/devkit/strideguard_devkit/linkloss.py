"""Notification loss on a BLE link: independent losses and Gilbert–Elliott bursts.

BLE's link layer retransmits, so a notification is lost mostly in bursts: the
sensor's TX buffer is full, the host's queue stalls, the body shadows the
antenna for a step or two. :class:`NotificationLoss` models that with the two-state
Gilbert–Elliott chain (a *good* state that loses nothing and a *bad* state that
loses every notification), plus independent losses; the virtual board's radio
bridge (:class:`~strideguard_devkit.vboard.bridge.RadioBridge`) and the backfill
benchmark use it. Seeded: the same seed loses the same notifications.

Examples
--------
>>> loss = NotificationLoss(0.02, burst_mean_frames=5, seed=1)
>>> lost = sum(loss.drop() for _ in range(100_000))
>>> 1500 < lost < 2500
True
"""

from __future__ import annotations

import random


class NotificationLoss:
    """Which notifications the air loses.

    Parameters
    ----------
    loss_rate
        Long-run fraction of notifications lost (0 ≤ rate < 1).
    burst_mean_frames
        Mean length of a loss burst in notifications. ``1`` (default) loses
        notifications independently; more makes them Gilbert–Elliott bursts
        with the same long-run rate: from the good state a burst starts with
        probability ``rate / (burst_mean_frames · (1 − rate) + rate)``, and after
        each lost notification it ends with probability ``1 / burst_mean_frames``.
    seed
        Seed of the loss pattern.
    """

    def __init__(self, loss_rate: float, *, burst_mean_frames: float = 1.0, seed: int = 0) -> None:
        if not 0.0 <= loss_rate < 1.0:
            raise ValueError("loss_rate must be in [0, 1)")
        if burst_mean_frames < 1.0:
            raise ValueError("burst_mean_frames must be at least 1")
        self.loss_rate = loss_rate
        self.burst_mean_frames = burst_mean_frames
        self._rng = random.Random(seed)
        self._p_end = 1.0 / burst_mean_frames
        self._p_start = loss_rate / (burst_mean_frames * (1.0 - loss_rate) + loss_rate)
        self._bad = False
        self.seen = 0
        self.lost = 0

    def drop(self) -> bool:
        """Whether the next notification is lost (advances the chain)."""
        self.seen += 1
        lost = self._bad or self._rng.random() < self._p_start
        if lost:
            self.lost += 1
            self._bad = self._rng.random() >= self._p_end  # the burst goes on
        return lost
