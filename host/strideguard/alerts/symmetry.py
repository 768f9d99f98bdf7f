"""Two sensors: pair the legs' strides, learn the runner's own balance, feed one-sided evidence.

:class:`SymmetryMonitor` sits beside the two legs' :class:`~strideguard.alerts.policy.AlertPolicy`
objects. Every stride of either leg goes to :meth:`SymmetryMonitor.add` after its
own policy has seen it; strides are paired in time
(:class:`~strideguard.symmetry.StridePairer`), and each pair gives

- the symmetry indices shown live and in the summary (rolling medians);
- while the baseline is learned, the runner's own balance
  (:class:`~strideguard.alerts.baseline.SymmetryModel`: nobody is perfectly symmetric);
- afterwards, a one-sided score: how far the right leg has moved against the
  left, compared with that balance, in the direction a guarded leg moves
  (slower swing, less braking, shorter stance, more upright tibia, softer
  landing). Pace, hills and tiredness change both legs alike and cancel; a
  one-sided change does not. The score goes to the right leg's policy, and
  its negative to the left leg's (:meth:`AlertPolicy.update_symmetry`), whose
  gait-change detector accumulates it and names the leg.

The pair-to-pair noise of the score is followed slowly (from differences of
consecutive pairs, which a lasting one-sided shift does not change), so rough
ground that makes both legs less regular does not read as a change. After a
sensor moved on its strap, the balance is measured again before it counts.
Settings: :class:`~strideguard.alerts.config.SymmetryConfig`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from strideguard.alerts.baseline import SYMMETRY_EVIDENCE, SymmetryModel
from strideguard.alerts.config import AlertConfig
from strideguard.alerts.model import Alert
from strideguard.alerts.policy import AlertPolicy
from strideguard.symmetry import (
    SYMMETRY_FEATURE_NAMES,
    RollingSymmetry,
    Stride,
    StridePair,
    StridePairer,
    display_value,
    symmetry_summary,
)

LEGS = ("L", "R")
#: the noise estimate starts from this many of the last learning pairs (and more)
MIN_NOISE_PAIRS = 15


@dataclass
class SymmetryStep:
    """What one stride added on the two-leg side.

    Attributes
    ----------
    pairs
        Stride pairs it completed (zero or one).
    alerts
        Alert events per leg (``"L"``/``"R"``) the pairs caused.
    """

    pairs: list[StridePair] = field(default_factory=list)
    alerts: dict[str, list[Alert]] = field(default_factory=lambda: {"L": [], "R": []})


class SymmetryMonitor:
    """Left/right symmetry of a two-sensor run (see the module docstring).

    Parameters
    ----------
    policies
        The two legs' policies, keyed ``"L"`` and ``"R"``.
    config
        Alert settings (the ``symmetry`` and ``baseline`` sections).

    Attributes
    ----------
    model_
        The runner's balance, right leg against left (stored or learned; ``None`` while learning).
    model_source_
        ``"profile"`` (from a stored baseline), ``"learned"`` (this run) or ``None``.
    rolling_
        Rolling symmetry (:class:`~strideguard.symmetry.RollingSymmetry`).
    pairs_
        Every pair so far (offline summaries; the live path keeps only counts).
    """

    def __init__(
        self,
        policies: Mapping[str, AlertPolicy],
        config: AlertConfig | None = None,
        *,
        keep_pairs: bool = False,
    ) -> None:
        if set(policies) != set(LEGS):
            raise ValueError("a symmetry monitor needs a left and a right policy")
        self.policies = dict(policies)
        self.config = config if config is not None else AlertConfig()
        self.pairer = StridePairer()
        self.rolling_ = RollingSymmetry(self.config.symmetry.rolling_pairs)
        self.model_: SymmetryModel | None = None
        self.model_source_: str | None = None
        self.pairs_: list[StridePair] = []
        self.n_pairs_ = 0
        self._keep = keep_pairs
        self._learn: dict[str, list[float]] = {}
        self._first_running_s: float | None = None
        self._noise2 = 1.0
        self._noise_n = 0  # pair differences the noise estimate has seen
        self._prev_raw: float | None = None
        self._reanchor_left = 0
        self._reanchor_values: dict[str, list[float]] = {}
        self._was_reanchoring = False
        stored = self._stored_model()
        if stored is not None:
            self.model_, self.model_source_ = stored, "profile"

    def _stored_model(self) -> SymmetryModel | None:
        for leg in ("R", "L"):
            base = self.policies[leg].baseline
            if base is not None and base.symmetry is not None:
                return base.symmetry if leg == "R" else base.symmetry.flipped()
        return None

    # ------------------------------------------------------------------ strides

    def add(self, leg: str, stride: Stride, offset_s: float = 0.0) -> SymmetryStep:
        """A stride of ``leg``, already seen by its own policy; ``offset_s`` puts it on the common clock."""
        step = SymmetryStep()
        for pair in self.pairer.add(leg, stride, offset_s):
            step.pairs.append(pair)
            self.n_pairs_ += 1
            if self._keep:
                self.pairs_.append(pair)
            self.rolling_.add(pair)
            for side, alerts in self._evidence(pair).items():
                step.alerts[side] += alerts
        return step

    def _running(self, pair: StridePair) -> bool:
        return all(self.policies[leg].is_running(pair.strides[leg]) for leg in LEGS)

    def _evidence(self, pair: StridePair) -> dict[str, list[Alert]]:
        cfg = self.config
        out: dict[str, list[Alert]] = {"L": [], "R": []}
        if not self._running(pair):
            self._prev_raw = None
            return out
        if self._first_running_s is None:
            self._first_running_s = pair.time_s
        run_s = pair.time_s - self._first_running_s
        reanchoring = any(self.policies[leg].reanchoring for leg in LEGS)
        if reanchoring:
            self._was_reanchoring = True
            self._prev_raw = None
            return out
        if self._was_reanchoring:
            # a sensor moved: the balance is measured again from the new position
            self._was_reanchoring = False
            if self.model_ is not None:
                self._reanchor_left = cfg.symmetry.reanchor_pairs
                self._reanchor_values = {}
        if self.model_ is None:
            self._collect(pair, run_s)
            return out
        if self._reanchor_left > 0:
            for name in self.model_.mean:
                v = pair.values.get(name, float("nan"))
                if math.isfinite(v):
                    self._reanchor_values.setdefault(name, []).append(v)
            self._reanchor_left -= 1
            if self._reanchor_left == 0:
                for name, vals in self._reanchor_values.items():
                    self.model_.mean[name] = float(np.median(vals))
            return out
        if any(self.policies[leg].evidence_paused for leg in LEGS) or not self._usual_pace(pair):
            self._prev_raw = None
            return out
        raw = self.model_.raw_score(pair.values)
        if not math.isfinite(raw):
            return out
        raw /= self.model_.score_sd
        self._follow_noise(raw)
        score = raw / math.sqrt(self._noise2)
        deviation = {
            name: pair.values[name] - mu
            for name, mu in self.model_.mean.items()
            if math.isfinite(pair.values.get(name, float("nan")))
        }
        out["R"] = self.policies["R"].update_symmetry(score, deviation)
        out["L"] = self.policies["L"].update_symmetry(-score, {k: -v for k, v in deviation.items()})
        return out

    def _usual_pace(self, pair: StridePair) -> bool:
        """Both legs swing within ``pace_range_ratio`` of their normal (not sprinting)."""
        ratio = self.config.symmetry.pace_range_ratio
        for leg in LEGS:
            base = self.policies[leg].baseline_
            normal = base.medians.get("peak_midswing_gyr_dps") if base is not None else None
            peak = pair.strides[leg].get("peak_midswing_gyr_dps")
            if normal and peak is not None and not 1.0 / ratio <= float(peak) / normal <= ratio:
                return False
        return True

    def _follow_noise(self, raw: float) -> None:
        """Follow the pair-to-pair noise of the score (not while evidence builds up)."""
        prev, self._prev_raw = self._prev_raw, raw
        if prev is None:
            return
        quiet = all(
            self.policies[leg].gait_evidence_share < self.config.gait_change.quiet_share
            for leg in LEGS
        )
        if not quiet:
            return
        self._add_noise(0.5 * (raw - prev) ** 2)

    def _add_noise(self, d2: float) -> None:
        """One squared half-difference into the noise estimate: a running mean at first,
        then an exponential average with ``noise_half_life_pairs``."""
        self._noise_n += 1
        alpha = max(
            1.0 / self._noise_n, 1.0 - 0.5 ** (1.0 / self.config.symmetry.noise_half_life_pairs)
        )
        self._noise2 = max(1.0, self._noise2 + alpha * (min(d2, 25.0) - self._noise2))

    def _collect(self, pair: StridePair, run_s: float) -> None:
        """Learn the balance over the baseline's learning window."""
        bcfg = self.config.baseline
        if run_s < bcfg.skip_s:
            return
        for name in SYMMETRY_FEATURE_NAMES:
            self._learn.setdefault(name, []).append(pair.values[name])
        n = len(self._learn.get(SYMMETRY_FEATURE_NAMES[0], []))
        if run_s > bcfg.skip_s + bcfg.duration_s and n >= self.config.symmetry.min_pairs:
            model = SymmetryModel.fit(self._learn)
            if model is not None:
                self.model_, self.model_source_ = model, "learned"
                # start the noise estimate from the last learning pairs: the ground the
                # runner is on now (a trail begun during learning) is what comes next
                scores = [
                    model.raw_score({k: self._learn[k][i] for k in model.mean}) / model.score_sd
                    for i in range(max(0, n - 2 * MIN_NOISE_PAIRS), n)
                ]
                good = [x for x in scores if math.isfinite(x)]
                for a, b in itertools.pairwise(good):
                    self._add_noise(0.5 * (b - a) ** 2)
            self._learn = {}

    # ------------------------------------------------------------------ views

    def balance_for(self, leg: str) -> SymmetryModel | None:
        """The balance seen from ``leg`` (to store with that leg's baseline)."""
        if self.model_ is None:
            return None
        return self.model_ if leg == "R" else self.model_.flipped()

    def rolling_indices(self) -> dict[str, float | None]:
        """Rolling symmetry index (%) per feature (angle: degrees), right against left."""
        return self.rolling_.indices()

    def versus_normal(self) -> dict[str, float | None]:
        """Rolling symmetry minus the runner's normal balance, as shown (SI points, °)."""
        if self.model_ is None:
            return {}
        out: dict[str, float | None] = {}
        rolling = self.rolling_.values()
        for spec in SYMMETRY_EVIDENCE:
            mu = self.model_.mean.get(spec.name)
            v = rolling.get(spec.name, float("nan"))
            if mu is None or not math.isfinite(v):
                out[spec.name] = None
                continue
            out[spec.name] = round(display_value(spec.name, v) - display_value(spec.name, mu), 2)
        return out

    def summary(self) -> dict[str, object]:
        """The run's symmetry as the run summary and ``analyze`` report it.

        ``pairs``, ``state``, ``balance_from`` (:attr:`model_source_`),
        ``features`` (:func:`~strideguard.symmetry.symmetry_summary` of the kept
        pairs) and ``versus_normal``.
        """
        return {
            "pairs": self.n_pairs_,
            "state": self.state(),
            "balance_from": self.model_source_,
            "features": symmetry_summary(self.pairs_),
            "versus_normal": self.versus_normal(),
        }

    def state(self) -> str:
        """``"learning"`` the balance, ``"re-measuring"`` it after a move, or ``"watching"``."""
        if self.model_ is None:
            return "learning"
        if self._reanchor_left > 0 or any(self.policies[leg].reanchoring for leg in LEGS):
            return "re-measuring"
        return "watching"
