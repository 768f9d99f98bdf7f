"""Shank kinematics over the gait cycle: angle, angular velocity, acceleration.

The sagittal shank angle of one gait cycle (initial contact to the next
initial contact of the same leg) is a *template* ``T(ψ)`` of a reference phase
``ψ ∈ [0, 1)``, shaped per stride:

``θ(t) = c(t) + Δ(t)·B(φ) + s·T(w(φ)) + ring(t)``

- ``φ`` is the stride phase (time since IC / stride time) and ``w`` a smooth,
  monotone phase warp (``w(0)=0, w(1)=1``) that moves toe-off (TO) to the
  stride's contact fraction and sets the forward swing's share of the stride;
- ``s`` scales the template (swing speed grows with running speed);
- ``c`` is the "neutral" angle at IC and ``Δ`` the overstride excess, both
  interpolated linearly in time between successive ICs so the angle is
  continuous; ``B`` is a narrow periodic bump centred on IC, so overstriding
  reaches further forward in late swing and snaps back harder after IC;
- ``ring`` is a small damped oscillation after IC (impact ringing) that starts
  from rest (no jump in angle or angular velocity).

The angular-velocity templates are smooth sums of periodic Gaussians. The
running template was fitted (7 components, RMS residual 9 °/s) to the mean
stride of the RBDS right+left shank gyroscope (2.5 m/s); the walking template is
hand-shaped after textbook walking shank gyroscope curves. No recorded data is
shipped: only the component parameters below.

Everything is evaluated in closed form (with table look-up for the template),
vectorised over arbitrary sample times, so the gyroscope is the exact time
derivative of the angle truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

GAIT_STAND = 0
GAIT_WALK = 1
GAIT_RUN = 2
GAIT_NAMES = ("stand", "walk", "run")

#: running template: (amplitude °/s, centre phase, width phase) at REF_STRIDE_S
RUN_COMPONENTS = (
    (-184.6, 0.0765, 0.0211),  # sharp dip just after IC
    (-233.1, 0.1080, 0.0615),  # early stance, shank rotates forward over the foot
    (124.8, 0.3763, 0.0597),  # late-stance plateau
    (-345.6, 0.5005, 0.1013),  # push-off and early swing: knee flexes, shank swings back
    (114.3, 0.7251, 0.0543),  # swing acceleration
    (484.3, 0.8561, 0.1054),  # mid-swing peak
    (-324.5, 0.9955, 0.0355),  # late-swing deceleration (hamstring braking)
)
RUN_REF_STRIDE_S = 0.762
RUN_TO_PHASE = 0.40  # toe-off in the reference phase (contact 0.30 s of 0.76 s)
RUN_FS_PHASE = 0.65  # forward swing starts (shank angle minimum)
RUN_MS_PHASE = 0.85  # mid-swing (gyro peak)

WALK_COMPONENTS = (
    (-90.0, 0.040, 0.020),
    (-60.0, 0.250, 0.140),
    (-170.0, 0.600, 0.050),
    (280.0, 0.800, 0.075),
    (-70.0, 0.975, 0.030),
)
WALK_REF_STRIDE_S = 1.10
WALK_TO_PHASE = 0.62
WALK_FS_PHASE = 0.70
WALK_MS_PHASE = 0.80

TABLE_SIZE = 8192
OVERSTRIDE_BUMP_WIDTH = 0.07  # phase SD of the bump that carries the IC angle change

# foot strike (module docstring, "Foot strike"; sources in docs/simulator.md)
#: the running template's post-contact dip (fitted to the RBDS rearfoot striker): amplitude, centre, width
RUN_DIP = RUN_COMPONENTS[0]
#: time of the shank's contact response after IC, rearfoot-equivalent … forefoot (strike index 0 … 1)
STRIKE_RESPONSE_PEAK_S = (0.058, 0.028)
STRIKE_PULSE_ORDER = 4  # (τ/t)^k·exp(k(1 − τ/t)): starts at contact with zero slope, peaks at t
STRIKE_BLEND_INDEX = 0.25  # strike index from which the template's dip is fully replaced
RETRACTION_WIDTH_S = 0.025  # width of the swing-retraction term around IC

RING_FREQ_HZ = 28.0
RING_DECAY_S = 0.018
RING_DEG_PER_G = 0.02  # amplitude of the post-impact angle ringing per g of impact
RING_WINDOW_S = 0.25  # ringing is computed this long after IC (exp(-14): nothing left)


@dataclass(frozen=True)
class Template:
    """One gait's angle template as look-up tables over the reference phase.

    Attributes
    ----------
    angle_deg
        ``T(ψ)`` in degrees, ``T(0) = 0`` (table of ``TABLE_SIZE + 1`` points).
    rate_deg
        ``dT/dψ`` in degrees per unit phase.
    accel_deg
        ``d²T/dψ²`` in degrees per unit phase².
    to_phase, ms_phase
        Reference phases of toe-off and mid-swing.
    peak_rate_deg
        Maximum of ``rate_deg`` in swing (per unit phase).
    """

    angle_deg: FloatArray
    rate_deg: FloatArray
    accel_deg: FloatArray
    to_phase: float
    ms_phase: float
    peak_rate_deg: float


def _gaussian_sum(
    components: tuple[tuple[float, float, float], ...], phase: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Periodic Gaussian sum and its derivative on ``phase``."""
    val = np.zeros_like(phase)
    der = np.zeros_like(phase)
    for amp, mu, sd in components:
        for shift in (-1.0, 0.0, 1.0):
            z = (phase - mu - shift) / sd
            g = amp * np.exp(-0.5 * z * z)
            val += g
            der += -z / sd * g
    return val, der


def build_template(
    components: tuple[tuple[float, float, float], ...],
    ref_stride_s: float,
    to_phase: float,
    ms_phase: float,
) -> Template:
    """Tabulate an angle template from angular-velocity components.

    Parameters
    ----------
    components
        ``(amplitude_dps, centre, width)`` of periodic Gaussians in phase units.
    ref_stride_s
        Stride time at which the amplitudes hold (°/s → ° per unit phase).
    to_phase, ms_phase
        Reference phases of toe-off and mid-swing.

    Returns
    -------
    Template
        Tables closed over one cycle (zero-mean rate, so the angle is periodic).
    """
    n = TABLE_SIZE
    phase = np.arange(n + 1) / n
    rate, accel = _gaussian_sum(components, phase)
    rate = (rate - rate[:-1].mean()) * ref_stride_s
    accel = accel * ref_stride_s
    # exact-ish periodic integral: trapezoid on the fine grid
    angle = np.concatenate(([0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1])) / n))
    angle -= np.linspace(0.0, angle[-1], n + 1)  # remove the tiny residual drift
    swing = phase > to_phase
    return Template(
        angle_deg=angle,
        rate_deg=rate,
        accel_deg=accel,
        to_phase=to_phase,
        ms_phase=ms_phase,
        peak_rate_deg=float(rate[swing].max()),
    )


RUN_TEMPLATE = build_template(RUN_COMPONENTS, RUN_REF_STRIDE_S, RUN_TO_PHASE, RUN_MS_PHASE)
WALK_TEMPLATE = build_template(WALK_COMPONENTS, WALK_REF_STRIDE_S, WALK_TO_PHASE, WALK_MS_PHASE)
_STAND_ZERO = np.zeros(TABLE_SIZE + 1)
#: tables indexed by gait code (stand uses zeros)
ANGLE_TABLES = np.stack([_STAND_ZERO, WALK_TEMPLATE.angle_deg, RUN_TEMPLATE.angle_deg])
RATE_TABLES = np.stack([_STAND_ZERO, WALK_TEMPLATE.rate_deg, RUN_TEMPLATE.rate_deg])
ACCEL_TABLES = np.stack([_STAND_ZERO, WALK_TEMPLATE.accel_deg, RUN_TEMPLATE.accel_deg])
TO_PHASES = np.array([0.5, WALK_TO_PHASE, RUN_TO_PHASE])
FS_PHASES = np.array([0.65, WALK_FS_PHASE, RUN_FS_PHASE])
MS_PHASES = np.array([0.85, WALK_MS_PHASE, RUN_MS_PHASE])
PEAK_RATES = np.array([1.0, WALK_TEMPLATE.peak_rate_deg, RUN_TEMPLATE.peak_rate_deg])


# ------------------------------------------------------------------ phase warp
N_KNOTS = 5


def _harmonic(a: FloatArray, b: FloatArray) -> FloatArray:
    return 2.0 * a * b / (a + b)


def warp_knots(
    contact_fraction: FloatArray,
    gait: npt.ArrayLike,
    forward_swing_ratio: FloatArray,
    late_swing_ratio: npt.ArrayLike = 1.0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Knots ``x`` (stride phase), values ``y`` (template phase) and slopes ``m``.

    Five knots per stride, each array ``(..., 5)``: IC ``(0, 0)``, TO
    ``(contact_fraction, ψ_TO)``, start of the forward swing ``(1 − (1 − ψ_FS)·ρ, ψ_FS)``,
    mid-swing ``(1 − (1 − ψ_MS)·ρ·λ, ψ_MS)`` and the next IC ``(1, 1)``, with
    ``ρ = forward_swing_ratio`` (1 keeps the template's timing of the forward
    swing; < 1 makes it shorter and faster, as in sprinting) and
    ``λ = late_swing_ratio`` (1 keeps the template's late swing; > 1 starts it
    earlier, so the shank decelerates over a longer time, with less braking:
    less knee extension in terminal swing). ``λ`` must stay below
    ``(1 − ψ_FS) / (1 − ψ_MS)`` (2.3 for running).
    """
    f = np.asarray(contact_fraction, float)
    g = np.broadcast_to(np.asarray(gait), f.shape)
    rho = np.broadcast_to(np.asarray(forward_swing_ratio, float), f.shape)
    lam = np.broadcast_to(np.asarray(late_swing_ratio, float), f.shape)
    to, fs, ms = TO_PHASES[g], FS_PHASES[g], MS_PHASES[g]
    x_fs = 1.0 - (1.0 - fs) * rho
    x_ms = 1.0 - (1.0 - ms) * rho * lam
    zero, one = np.zeros_like(f), np.ones_like(f)
    x = np.stack([zero, f, x_fs, x_ms, one], axis=-1)
    y = np.stack([zero, to, fs, ms, one], axis=-1)
    sec = np.diff(y, axis=-1) / np.diff(x, axis=-1)
    inner = _harmonic(sec[..., :-1], sec[..., 1:])
    d_ic = _harmonic(sec[..., -1], sec[..., 0])
    m = np.concatenate([d_ic[..., None], inner, d_ic[..., None]], axis=-1)
    return x, y, m


def _hermite_flat(
    phi: FloatArray, x: FloatArray, y: FloatArray, m: FloatArray, row: npt.NDArray[np.intp]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Evaluate the warp for samples whose knots are ``x[row]`` etc. (``x`` is ``(n, 5)``)."""
    xr = x.reshape(-1)
    yr = y.reshape(-1)
    mr = m.reshape(-1)
    base = row * N_KNOTS
    seg = np.zeros(phi.shape, np.intp)
    for j in range(1, N_KNOTS - 1):
        seg += phi >= xr[base + j]
    i0 = base + seg
    x0 = xr[i0]
    h = xr[i0 + 1] - x0
    u = (phi - x0) / h
    u2 = u * u
    u3 = u2 * u
    hm0, hm1 = h * mr[i0], h * mr[i0 + 1]
    y0 = yr[i0]
    dy = yr[i0 + 1] - y0
    psi = y0 + (u3 - 2 * u2 + u) * hm0 + (-2 * u3 + 3 * u2) * dy + (u3 - u2) * hm1
    d1 = ((3 * u2 - 4 * u + 1) * hm0 + (-6 * u2 + 6 * u) * dy + (3 * u2 - 2 * u) * hm1) / h
    d2 = ((6 * u - 4) * hm0 + (-12 * u + 6) * dy + (6 * u - 2) * hm1) / (h * h)
    return psi, d1, d2


def warp(
    phi: npt.ArrayLike,
    contact_fraction: npt.ArrayLike,
    gait: npt.ArrayLike = GAIT_RUN,
    forward_swing_ratio: npt.ArrayLike = 1.0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Phase warp ``ψ = w(φ)`` with its first and second derivatives.

    A periodic monotone cubic Hermite spline (PCHIP-style harmonic-mean
    slopes) through the knots of :func:`warp_knots`: TO moves to the stride's
    contact fraction, the forward swing keeps (or shortens by
    ``forward_swing_ratio``) its share of the stride, and ``w'`` is continuous,
    also across the IC that joins two strides. Arguments broadcast together.
    """
    arrays = np.broadcast_arrays(
        np.asarray(phi, float),
        np.asarray(contact_fraction, float),
        np.asarray(gait),
        np.asarray(forward_swing_ratio, float),
    )
    shape = arrays[0].shape
    p, f, g, rho = (a.ravel() for a in arrays)
    x, y, m = warp_knots(f, g.astype(np.intp), rho)
    psi, d1, d2 = _hermite_flat(p, x, y, m, np.arange(p.size))
    return psi.reshape(shape), d1.reshape(shape), d2.reshape(shape)


def swing_peak_rate(
    contact_fraction: FloatArray,
    gait: npt.ArrayLike,
    forward_swing_ratio: FloatArray,
    late_swing_ratio: npt.ArrayLike = 1.0,
    n_grid: int = 256,
) -> FloatArray:
    """Largest swing-phase rate of the warped template, per unit stride phase.

    ``max over the swing of T'(w(φ))·w'(φ)`` for each stride (arrays broadcast):
    the mid-swing peak of a stride with template scale 1 and duration 1 s. With
    the template's own timing it is close to ``PEAK_RATES[gait]`` times the warp
    slope at the mid-swing knot; moving that knot (``late_swing_ratio``) shifts
    the maximum, which this finds on a grid of ``n_grid`` phases from toe-off
    to the next contact.
    """
    f, g, rho, lam = np.broadcast_arrays(
        np.asarray(contact_fraction, float),
        np.asarray(gait),
        np.asarray(forward_swing_ratio, float),
        np.asarray(late_swing_ratio, float),
    )
    shape = f.shape
    f, g, rho, lam = (a.ravel() for a in (f, g, rho, lam))
    x, y, m = warp_knots(f, g.astype(np.intp), rho, lam)
    u = (np.arange(n_grid) + 0.5) / n_grid
    phi = (f[:, None] + (1.0 - f)[:, None] * u[None, :]).ravel()
    row = np.repeat(np.arange(f.size), n_grid)
    psi, d1, _ = _hermite_flat(phi, x, y, m, row)
    rate = _table_lookup(RATE_TABLES, g.astype(np.int64)[row], psi) * d1
    return rate.reshape(f.size, n_grid).max(axis=1).reshape(shape)


# ------------------------------------------------------------------ evaluation
@dataclass
class CycleTable:
    """Per-cycle parameters of one leg (arrays of length ``n_cycles``).

    ``start_s`` and the node values ``c_deg`` and ``overstride_deg`` have one
    extra entry: the end of the last cycle.
    """

    start_s: FloatArray
    gait: IntArray
    c_deg: FloatArray
    overstride_deg: FloatArray
    scale: FloatArray
    contact_phase: FloatArray  # stride phase of TO (the warp puts the template's TO there)
    forward_swing_ratio: FloatArray  # < 1: shorter, faster forward swing (sprinting)
    impact_g: FloatArray
    wobble_phase: FloatArray
    frontal_amp_deg: FloatArray
    twist_amp_deg: FloatArray
    speed_mps: FloatArray  # forward speed (stride length = speed · cycle duration)
    bounce_m: FloatArray  # hip's vertical bounce amplitude (twice per stride)
    thigh_amp_deg: FloatArray  # thigh swing amplitude (hip flexion-extension)
    # foot strike (see the "Foot strike" section of the module docstring)
    strike_index: FloatArray | None = None  # 0 rearfoot, 0.5 midfoot, 1 forefoot
    retraction_dps: FloatArray | None = None  # n + 1 node values: swing retraction term
    #: > 1: the late swing starts earlier and brakes less (``None``: 1 for every cycle)
    late_swing_ratio: FloatArray | None = None

    @property
    def n_cycles(self) -> int:
        """Number of cycles."""
        return int(self.gait.shape[0])

    @property
    def duration_s(self) -> FloatArray:
        """Duration of each cycle."""
        return np.diff(self.start_s)

    @property
    def strike(self) -> FloatArray:
        """Strike index per cycle (0 rearfoot … 1 forefoot; zeros when not set)."""
        return self.strike_index if self.strike_index is not None else np.zeros(self.n_cycles)

    @property
    def retraction(self) -> FloatArray:
        """Retraction-term amplitude per IC node (°/s; zeros when not set)."""
        if self.retraction_dps is not None:
            return self.retraction_dps
        return np.zeros(self.n_cycles + 1)


@dataclass
class ShankMotion:
    """Shank kinematics sampled at given times (all arrays ``(n,)``).

    Angles in degrees, rates in °/s, angular acceleration in °/s².
    """

    cycle: IntArray
    phase: FloatArray
    angle_deg: FloatArray
    rate_dps: FloatArray
    accel_dps2: FloatArray
    frontal_deg: FloatArray
    frontal_rate_dps: FloatArray
    twist_deg: FloatArray
    twist_rate_dps: FloatArray
    since_ic_s: FloatArray


def _table_lookup(tables: FloatArray, gait: IntArray, psi: FloatArray) -> FloatArray:
    """Linear interpolation in ``tables[gait]`` at phase ``psi`` in [0, 1]."""
    x = np.clip(psi, 0.0, 1.0) * TABLE_SIZE
    i0 = np.minimum(x.astype(np.int64), TABLE_SIZE - 1)
    frac = x - i0
    lo = tables[gait, i0]
    hi = tables[gait, i0 + 1]
    return lo + (hi - lo) * frac


def _gamma5(x: FloatArray) -> FloatArray:
    """Lower incomplete gamma function γ(5, x) (for the order-4 strike pulse)."""
    poly = 1.0 + x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x / 24.0)))
    return 24.0 * (1.0 - np.exp(-x) * poly)


#: ∫₀^∞ of the unit-peak strike pulse is this many times its peak time
_PULSE_AREA = float(
    np.exp(STRIKE_PULSE_ORDER)
    * np.prod(np.arange(1, STRIKE_PULSE_ORDER + 1))
    / STRIKE_PULSE_ORDER ** (STRIKE_PULSE_ORDER + 1)
)
assert STRIKE_PULSE_ORDER == 4  # _gamma5 is the order-4 integral


def _dip_integral(psi: FloatArray) -> FloatArray:
    """∫₀^ψ of the template's post-contact dip Gaussian (unit amplitude), in phase units."""
    from scipy.special import erf

    _, mu, sd = RUN_DIP
    r2 = np.sqrt(2.0) * sd
    return sd * np.sqrt(np.pi / 2.0) * (erf((psi - mu) / r2) + erf(mu / r2))


def strike_response_peak_s(strike_index: npt.ArrayLike) -> FloatArray:
    """Time after IC at which the shank's contact response peaks, per strike index."""
    rear, fore = STRIKE_RESPONSE_PEAK_S
    return np.asarray(rear + (fore - rear) * np.clip(strike_index, 0.0, 1.0), dtype=float)


def _strike_terms(
    cycles: CycleTable,
    k: IntArray,
    tau: FloatArray,
    psi: FloatArray,
    w1: FloatArray,
    w2: FloatArray,
    dur: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Angle, rate and angular acceleration added by the strike pattern and the retraction.

    * **Contact response.** The template's post-contact dip belongs to a heel
      strike (foot slap onto the forefoot ~40–60 ms after contact). For a
      strike index > 0 it is replaced by a causal pulse of the same area (the
      same backward rotation over stance, so the angle stays periodic) that
      peaks earlier, at :func:`strike_response_peak_s`: the forefoot lands
      first, the ankle dorsiflexes under load and the tibia keeps rotating
      without the heel strike's brief arrest.
    * **Retraction.** An odd term ``a·(τ/σ)·exp(−τ²/2σ²)`` around each IC
      (zero at IC) moves the late-swing zero crossing: a runner-specific
      time from the end of the forward swing to contact.
    """
    strike = cycles.strike[k]
    moving = cycles.gait[k] == GAIT_RUN
    angle = np.zeros_like(tau)
    rate = np.zeros_like(tau)
    accel = np.zeros_like(tau)
    blend = np.where(moving & (strike > 0), np.minimum(1.0, strike / STRIKE_BLEND_INDEX), 0.0)
    sel = np.flatnonzero(blend > 0)
    if sel.size:
        b = blend[sel]
        s = cycles.scale[k[sel]]
        amp_r, mu, sd = RUN_DIP
        ps, w1s, w2s, ds, ts = psi[sel], w1[sel], w2[sel], dur[sel], tau[sel]
        # remove the heel-strike dip (non-periodic copy inside this cycle)
        z = (ps - mu) / sd
        g = np.exp(-0.5 * z * z)
        dg = -z / sd * g
        c = b * s * amp_r * RUN_REF_STRIDE_S
        angle[sel] -= c * _dip_integral(ps)
        rate[sel] -= c * g * w1s / ds
        accel[sel] -= c * (dg * w1s * w1s + g * w2s) / (ds * ds)
        # add the earlier, causal contact pulse with the same area
        tp = strike_response_peak_s(strike[sel])
        area = c * _dip_integral(np.ones_like(ps))
        amp = area / (tp * _PULSE_AREA)
        kk = STRIKE_PULSE_ORDER
        x = np.maximum(ts, 0.0) / tp
        p = x**kk * np.exp(kk * (1.0 - x))
        angle[sel] += amp * tp * np.exp(kk) / kk ** (kk + 1) * _gamma5(kk * x)
        rate[sel] += amp * p
        with np.errstate(divide="ignore", invalid="ignore"):
            dp = np.where(x > 0, p * kk * (1.0 / np.maximum(x, 1e-12) - 1.0) / tp, 0.0)
        accel[sel] += amp * dp
    nodes = cycles.retraction
    if np.any(nodes != 0):
        sg = RETRACTION_WIDTH_S
        before = tau >= 0.5 * dur
        tr = np.where(before, tau - dur, tau)
        # only within 5 widths of an IC (exp(−12.5): nothing left beyond)
        near = np.flatnonzero((np.abs(tr) < 5 * sg) & (cycles.gait[k] != GAIT_STAND))
        if near.size:
            kn, bn, x = k[near], before[near], tr[near] / sg
            a = np.where(bn, nodes[np.minimum(kn + 1, nodes.size - 1)], nodes[kn])
            e = np.exp(-0.5 * x * x)
            angle[near] -= a * sg * e
            rate[near] += a * x * e
            accel[near] += a / sg * (1.0 - x * x) * e
    return angle, rate, accel


def shank_motion(cycles: CycleTable, time_s: FloatArray) -> ShankMotion:
    """Evaluate the shank's sagittal, frontal and axial rotation at ``time_s``.

    Parameters
    ----------
    cycles
        Per-cycle parameters of one leg.
    time_s
        Times (s) inside ``[cycles.start_s[0], cycles.start_s[-1])``.

    Returns
    -------
    ShankMotion
        Angles and their exact time derivatives.
    """
    t = np.asarray(time_s, dtype=float)
    k = np.clip(np.searchsorted(cycles.start_s, t, side="right") - 1, 0, cycles.n_cycles - 1)
    t0 = cycles.start_s[k]
    dur = cycles.start_s[k + 1] - t0
    tau = t - t0
    phi = np.clip(tau / dur, 0.0, 1.0)
    gait = cycles.gait[k]

    c0, c1 = cycles.c_deg[k], cycles.c_deg[k + 1]
    o0, o1 = cycles.overstride_deg[k], cycles.overstride_deg[k + 1]
    c = c0 + (c1 - c0) * phi
    dc = (c1 - c0) / dur
    over = o0 + (o1 - o0) * phi
    dover = (o1 - o0) / dur

    d = np.where(phi < 0.5, phi, phi - 1.0)
    sd2 = OVERSTRIDE_BUMP_WIDTH**2
    bump = np.exp(-0.5 * d * d / sd2)
    dbump = -d / sd2 * bump
    ddbump = (d * d / sd2 - 1.0) / sd2 * bump

    kx, ky, km = warp_knots(
        cycles.contact_phase,
        cycles.gait,
        cycles.forward_swing_ratio,
        1.0 if cycles.late_swing_ratio is None else cycles.late_swing_ratio,
    )
    psi, w1, w2 = _hermite_flat(phi, kx, ky, km, k)
    s = cycles.scale[k]
    tpl = _table_lookup(ANGLE_TABLES, gait, psi)
    tpl_rate = _table_lookup(RATE_TABLES, gait, psi)
    tpl_acc = _table_lookup(ACCEL_TABLES, gait, psi)

    # post-impact ringing: only the first RING_WINDOW_S after each IC matter
    ring = np.zeros_like(t)
    dring = np.zeros_like(t)
    ddring = np.zeros_like(t)
    near = np.flatnonzero((tau < RING_WINDOW_S) & (gait != GAIT_STAND))
    if near.size:
        tn = tau[near]
        om = 2 * np.pi * RING_FREQ_HZ
        # envelope t·exp(−t/τ) (peak at τ): the ringing starts without a jump in
        # angular velocity, so the sensor point's velocity stays continuous at IC
        amp = RING_DEG_PER_G * cycles.impact_g[k[near]] * np.e / RING_DECAY_S
        dec = np.exp(-tn / RING_DECAY_S)
        env = amp * tn * dec
        denv = amp * (1.0 - tn / RING_DECAY_S) * dec
        ddenv = amp * (tn / RING_DECAY_S - 2.0) / RING_DECAY_S * dec
        sin_r, cos_r = np.sin(om * tn), np.cos(om * tn)
        ring[near] = env * sin_r
        dring[near] = denv * sin_r + env * om * cos_r
        ddring[near] = ddenv * sin_r + 2 * denv * om * cos_r - env * om**2 * sin_r

    inv = 1.0 / dur
    st_angle, st_rate, st_accel = _strike_terms(cycles, k, tau, psi, w1, w2, dur)
    angle = c + over * bump + s * tpl + ring + st_angle
    rate = dc + dover * bump + over * dbump * inv + s * tpl_rate * w1 * inv + dring + st_rate
    accel = (
        over * ddbump * inv**2
        + 2 * dover * dbump * inv
        + s * (tpl_acc * w1 * w1 + tpl_rate * w2) * inv**2
        + ddring
        + st_accel
    )

    # small frontal (ab/adduction) and axial (tibial rotation) oscillations
    ph2 = 2 * np.pi * phi
    fa = cycles.frontal_amp_deg[k]
    ta = cycles.twist_amp_deg[k]
    frontal = fa * np.sin(ph2)
    frontal_rate = fa * 2 * np.pi * inv * np.cos(ph2)
    # the axial rotation follows the frontal one (same waveform): the cross term
    # of the two in the sagittal gyro axis then integrates to zero over a stride
    twist = ta * np.sin(ph2)
    twist_rate = ta * 2 * np.pi * inv * np.cos(ph2)
    return ShankMotion(
        cycle=k,
        phase=phi,
        angle_deg=angle,
        rate_dps=rate,
        accel_dps2=accel,
        frontal_deg=frontal,
        frontal_rate_dps=frontal_rate,
        twist_deg=twist,
        twist_rate_dps=twist_rate,
        since_ic_s=tau,
    )


# ------------------------------------------------------------------ body model
THIGH_LENGTH_M = 0.45
SHANK_LENGTH_M = 0.43
THIGH_MEAN_DEG = 12.0
THIGH_PEAK_PHASE = 0.83
SENSOR_BELOW_KNEE_M = 0.20  # along the tibia
SENSOR_ANTERIOR_M = 0.03  # skin over the tibia
IMPACT_DELAY_S = 0.003  # heel pad and shoe compress before the tibia feels the load
IMPACT_FREQ_HZ = 16.0
IMPACT_DECAY_S = 0.015
IMPACT_WINDOW_S = 0.15
IMPACT_AP_SHIFT_S = 0.003  # the braking part lags the axial one slightly
IMPACT_FREQ_FOREFOOT_HZ = 10.0  # forefoot: the ankle takes the load up first, slower transient
IMPACT_DECAY_FOREFOOT_S = 0.025
HEEL_TOUCH_S = 0.055  # a forefoot striker's heel touches down after the forefoot
HEEL_TOUCH_REL = 0.3
HEEL_TOUCH_WINDOW_S = 0.08
WOBBLE_FREQ_HZ = 14.0
WOBBLE_DECAY_S = 0.040
WOBBLE_WINDOW_S = 4 * WOBBLE_DECAY_S
WOBBLE_REL = 0.12
IMPACT_AP_REL = 0.45
WOBBLE_LATERAL_REL = 0.7
GRAVITY_MPS2 = 9.80665


def _damped_sine_integral(
    freq_hz: npt.ArrayLike, decay_s: npt.ArrayLike, length_s: float, phase_rad: npt.ArrayLike = 0.0
) -> FloatArray:
    """``∫₀^L exp(−x/τ)·sin(ωx + φ) dx`` in closed form (arguments broadcast)."""
    k = 2j * np.pi * np.asarray(freq_hz, float) - 1.0 / np.asarray(decay_s, float)
    val = np.exp(1j * np.asarray(phase_rad, float)) * (np.exp(k * length_s) - 1.0) / k
    return np.asarray(val.imag, dtype=float)


def _unit_peak(freq_hz: npt.ArrayLike, decay_s: npt.ArrayLike) -> FloatArray:
    """Peak of ``sin(2πf·x)·exp(−x/τ)`` for ``x ≥ 0`` (closed form)."""
    om = 2 * np.pi * np.asarray(freq_hz, float)
    d = np.asarray(decay_s, float)
    t = np.arctan(om * d) / om
    return np.asarray(np.sin(om * t) * np.exp(-t / d), dtype=float)


def impact_shape_params(strike_index: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Frequency (Hz), decay (s) and relative heel-touch size of the impact, per strike index.

    A heel strike loads the heel pad and shoe directly: a short, sharp transient
    (``IMPACT_FREQ_HZ``, ``IMPACT_DECAY_S``). A forefoot contact is taken up by
    the plantarflexed ankle first: a slower, longer transient
    (``IMPACT_FREQ_FOREFOOT_HZ``, ``IMPACT_DECAY_FOREFOOT_S``) that peaks later,
    and the heel touches down ``HEEL_TOUCH_S`` after contact with a small
    second transient (``HEEL_TOUCH_REL``). Midfoot: in between, no heel touch.
    """
    si = np.clip(np.asarray(strike_index, float), 0.0, 1.0)
    freq = IMPACT_FREQ_HZ + (IMPACT_FREQ_FOREFOOT_HZ - IMPACT_FREQ_HZ) * si
    decay = IMPACT_DECAY_S + (IMPACT_DECAY_FOREFOOT_S - IMPACT_DECAY_S) * si
    heel = HEEL_TOUCH_REL * np.clip(2.0 * si - 1.0, 0.0, 1.0)
    return freq, decay, heel


def _damped(
    x: FloatArray, freq: npt.ArrayLike, decay: npt.ArrayLike, window_s: float
) -> FloatArray:
    f = np.asarray(freq, dtype=float)
    d = np.asarray(decay, dtype=float)
    inside = (x >= 0) & (x < window_s)
    xs = np.where(inside, x, 0.0)
    y = np.sin(2 * np.pi * f * xs) * np.exp(-xs / d)
    return np.where(inside, y / _unit_peak(f, d), 0.0)


def _impact_shape(tau: FloatArray, strike_index: npt.ArrayLike = 0.0) -> FloatArray:
    """Unit-peak damped sine from ``IMPACT_DELAY_S`` (plus the forefoot's heel touch)."""
    si = np.broadcast_to(np.asarray(strike_index, float), np.shape(tau))
    if not np.any(si):  # heel strikes only (the common case): no per-sample parameters
        return _damped(tau - IMPACT_DELAY_S, IMPACT_FREQ_HZ, IMPACT_DECAY_S, IMPACT_WINDOW_S)
    freq, decay, heel = impact_shape_params(si)
    y = _damped(tau - IMPACT_DELAY_S, freq, decay, IMPACT_WINDOW_S)
    if np.any(heel > 0):
        y = y + heel * _damped(
            tau - HEEL_TOUCH_S, IMPACT_FREQ_HZ, IMPACT_DECAY_S, HEEL_TOUCH_WINDOW_S
        )
    return y


def impact_integral_s(strike_index: npt.ArrayLike = 0.0) -> FloatArray:
    """∫ of the unit-peak impact shape (s): the velocity (m/s per m/s² of peak) it arrests."""
    freq, decay, heel = impact_shape_params(strike_index)
    main = _damped_sine_integral(freq, decay, IMPACT_WINDOW_S) / _unit_peak(freq, decay)
    touch = _damped_sine_integral(IMPACT_FREQ_HZ, IMPACT_DECAY_S, HEEL_TOUCH_WINDOW_S) / _unit_peak(
        IMPACT_FREQ_HZ, IMPACT_DECAY_S
    )
    return np.asarray(main + heel * touch, dtype=float)


#: ∫ of the unit-peak heel-strike impact shape (s)
IMPACT_INTEGRAL_S = float(impact_integral_s(0.0))


def _rotate_world_to_shank(
    vec: FloatArray, theta_rad: FloatArray, frontal_rad: FloatArray, twist_rad: FloatArray
) -> FloatArray:
    """Apply ``Rz(γ)ᵀ Rx(α)ᵀ Ry(θ)ᵀ`` to world vectors ``(n, 3)``."""
    ct, st = np.cos(theta_rad), np.sin(theta_rad)
    x = ct * vec[:, 0] - st * vec[:, 2]
    y = vec[:, 1]
    z = st * vec[:, 0] + ct * vec[:, 2]
    ca, sa = np.cos(frontal_rad), np.sin(frontal_rad)
    y, z = ca * y + sa * z, -sa * y + ca * z
    cg, sg = np.cos(twist_rad), np.sin(twist_rad)
    x, y = cg * x + sg * y, -sg * x + cg * y
    return np.column_stack([x, y, z])


def _sagittal_to_world(
    x: FloatArray, y: FloatArray, z: FloatArray, theta_rad: FloatArray
) -> FloatArray:
    """Shank-frame components of a shank tilted by ``θ`` (sagittal only) in world axes."""
    ct, st = np.cos(theta_rad), np.sin(theta_rad)
    return np.stack([ct * x + st * z, y, -st * x + ct * z], axis=-1)


def shank_gyro_dps(motion: ShankMotion) -> FloatArray:
    """Angular velocity of the shank in the shank frame, °/s, ``(n, 3)``.

    The shank orientation is ``R = Ry(θ)·Rx(α)·Rz(γ)`` (sagittal, then frontal,
    then axial), so ``ω = Rz(γ)ᵀ[Rx(α)ᵀ(0, θ', 0) + (α', 0, 0)] + (0, 0, γ')``.
    """
    a = np.deg2rad(motion.frontal_deg)
    g = np.deg2rad(motion.twist_deg)
    vx = motion.frontal_rate_dps
    vy = np.cos(a) * motion.rate_dps
    vz = -np.sin(a) * motion.rate_dps
    cg, sg = np.cos(g), np.sin(g)
    return np.column_stack([cg * vx + sg * vy, -sg * vx + cg * vy, vz + motion.twist_rate_dps])


def _tibia_derivatives(
    theta_deg: FloatArray, rate_dps: FloatArray, accel_dps2: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """World ``u``, ``u'``, ``u''`` (``(..., 3)``) of the knee→ankle unit vector."""
    th, dth, ddth = np.deg2rad(theta_deg), np.deg2rad(rate_dps), np.deg2rad(accel_dps2)
    ct, st = np.cos(th), np.sin(th)
    zero = np.zeros_like(th)
    u = np.stack([st, zero, ct], axis=-1)
    du = np.stack([dth * ct, zero, -dth * st], axis=-1)
    ddu = np.stack(
        [ddth * ct - dth * dth * st, zero, -ddth * st - dth * dth * ct],
        axis=-1,
    )
    return u, du, ddu


def _transient_shank(
    imp_mps2: FloatArray,
    wobble_phase: FloatArray,
    tau_s: FloatArray,
    leg_sign: float,
    strike_index: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Impact transient and soft-tissue wobble in the IC shank frame (m/s²).

    Returns the three components and the axial (up the tibia) impact alone.
    """
    axial = imp_mps2 * _impact_shape(tau_s, strike_index)
    wob_t = tau_s - IMPACT_DELAY_S
    on = (wob_t >= 0) & (wob_t < WOBBLE_WINDOW_S)
    wob_ts = np.where(on, wob_t, 0.0)
    wob = np.where(
        on,
        WOBBLE_REL
        * imp_mps2
        * np.exp(-wob_ts / WOBBLE_DECAY_S)
        * np.sin(2 * np.pi * WOBBLE_FREQ_HZ * wob_ts + wobble_phase),
        0.0,
    )
    x = wob - IMPACT_AP_REL * imp_mps2 * _impact_shape(tau_s - IMPACT_AP_SHIFT_S, strike_index)
    return x, leg_sign * WOBBLE_LATERAL_REL * wob, -axial, axial


def _transient_velocity(
    imp_mps2: FloatArray, wobble_phase: FloatArray, leg_sign: float, strike_index: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Velocity change (m/s, IC shank frame) of the whole transient: what it arrests."""
    imp_v = imp_mps2 * impact_integral_s(strike_index)
    wob_v = (
        WOBBLE_REL
        * imp_mps2
        * _damped_sine_integral(WOBBLE_FREQ_HZ, WOBBLE_DECAY_S, WOBBLE_WINDOW_S, wobble_phase)
    )
    return wob_v - IMPACT_AP_REL * imp_v, leg_sign * WOBBLE_LATERAL_REL * wob_v, -imp_v


def _quintic_accel(
    s: FloatArray,
    h: FloatArray,
    p0: FloatArray,
    v0: FloatArray,
    a0: FloatArray,
    p1: FloatArray,
    v1: FloatArray,
    a1: FloatArray,
) -> FloatArray:
    """Second time derivative of the quintic Hermite path ``(p, v, a)₀ → (p, v, a)₁``.

    ``s ∈ [0, 1]`` is the normalised time over a segment of ``h`` seconds;
    vectors are ``(n, 3)``, ``s`` and ``h`` are ``(n,)``.
    """
    s2, s3 = s * s, s * s * s
    h0 = -60 * s + 180 * s2 - 120 * s3
    h1 = -36 * s + 96 * s2 - 60 * s3
    h2 = 1 - 9 * s + 18 * s2 - 10 * s3
    h3 = 3 * s - 12 * s2 + 10 * s3
    h4 = -24 * s + 84 * s2 - 60 * s3
    hh = h[:, None]
    return (
        h0[:, None] * (p0 - p1)
        + hh * (h1[:, None] * v0 + h4[:, None] * v1)
        + hh * hh * (h2[:, None] * a0 + h3[:, None] * a1)
    ) / (hh * hh)


def _thigh_knee(
    cycles: CycleTable, k: IntArray, phi: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Knee position, velocity, acceleration ``(n, 3)`` of the hip-and-thigh model.

    The hip moves forward at the cycle's speed from IC (``x = v·τ``) and bounces
    twice per stride; the thigh swings sinusoidally about ``THIGH_MEAN_DEG``.
    """
    dur = cycles.start_s[k + 1] - cycles.start_s[k]
    inv = 1.0 / dur
    v = cycles.speed_mps[k]
    b = cycles.bounce_m[k]
    om_b = 4 * np.pi * inv
    arg_b = 4 * np.pi * (phi - 0.2)
    moving = cycles.gait[k] != GAIT_STAND
    amp = np.deg2rad(cycles.thigh_amp_deg[k])
    om_t = 2 * np.pi * inv
    arg = 2 * np.pi * (phi - THIGH_PEAK_PHASE)
    psi = np.deg2rad(THIGH_MEAN_DEG) * moving + amp * np.cos(arg)
    dpsi = -amp * om_t * np.sin(arg)
    ddpsi = -amp * om_t**2 * np.cos(arg)
    cp, sp = np.cos(psi), np.sin(psi)
    lt = THIGH_LENGTH_M
    zero = np.zeros_like(phi)
    pos = np.column_stack([v * phi * dur + lt * sp, zero, b * np.cos(arg_b) + lt * cp])
    vel = np.column_stack([v + lt * dpsi * cp, zero, -b * om_b * np.sin(arg_b) - lt * dpsi * sp])
    acc = np.column_stack(
        [
            lt * (cp * ddpsi - sp * dpsi**2),
            zero,
            -b * om_b**2 * np.cos(arg_b) - lt * (sp * ddpsi + cp * dpsi**2),
        ]
    )
    return pos, vel, acc


def shank_specific_force_mps2(
    cycles: CycleTable, motion: ShankMotion, *, leg_sign: float
) -> tuple[FloatArray, FloatArray]:
    """Specific force at the sensor point in the shank frame, m/s².

    The sensor point (``SENSOR_BELOW_KNEE_M`` below the knee along the tibia,
    ``SENSOR_ANTERIOR_M`` in front of it) rides on one continuous knee path in
    the world (x forward, z down), so its velocity is continuous and the same
    at every IC (up to stride-to-stride variation): over whole strides its mean
    acceleration is zero and its mean specific force is gravity, ``g`` up.

    - **Stance** (IC to TO): the ankle is planted, the knee turns about it,
      ``K = P − L·u(θ)`` (``u`` = knee→ankle unit vector, ``L`` the shank
      length): tangential and centripetal terms of the rotation about the ankle.
    - **Swing** (TO to the next IC): the knee follows the hip (forward at the
      running speed, bouncing twice per stride) and the swinging thigh, plus
      the quintic correction that makes the path leave TO with the stance's
      position, velocity and acceleration and reach the next IC with the next
      stance's, one stride length (speed · stride time) further on. It lands
      with the touchdown velocity that the impact arrests.
    - **Impact** after IC (damped 16 Hz sine from 10 ms, along the tibia, 45 %
      braking along −x) and 14 Hz soft-tissue **wobble**, fixed in the
      direction of the shank at IC: their velocity change is exactly the
      touchdown velocity the swing path brings in.

    Parameters
    ----------
    cycles
        Per-cycle parameters.
    motion
        Output of :func:`shank_motion` for the same times.
    leg_sign
        +1 for the right leg, -1 for the left (mirrors lateral components).

    Returns
    -------
    specific_force, axial_impact
        ``(n, 3)`` shank-frame specific force (m/s²) and ``(n,)`` the part of
        the axial reading due to the impact transient (m/s², for truth).
    """
    k = motion.cycle
    n_cyc = cycles.n_cycles
    start = cycles.start_s
    dur_c = np.diff(start)
    moving_c = cycles.gait != GAIT_STAND
    length = SHANK_LENGTH_M

    # per-cycle boundary states of the cycles present here
    ks, inv_k = np.unique(k, return_inverse=True)
    kn = np.minimum(ks + 1, n_cyc - 1)
    to_s = start[ks] + cycles.contact_phase[ks] * dur_c[ks]
    ic_next_s = np.where(ks + 1 < n_cyc, start[ks + 1], start[ks])
    bound = shank_motion(cycles, np.concatenate([start[ks], to_s, ic_next_s]))
    m = ks.size
    th_ic = np.deg2rad(bound.angle_deg[:m])
    u_to, du_to, ddu_to = _tibia_derivatives(
        bound.angle_deg[m : 2 * m], bound.rate_dps[m : 2 * m], bound.accel_dps2[m : 2 * m]
    )
    u_n, du_n, ddu_n = _tibia_derivatives(
        bound.angle_deg[2 * m :], bound.rate_dps[2 * m :], bound.accel_dps2[2 * m :]
    )
    # the next IC's transient: the swing path brings in the velocity it arrests
    imp_n = np.where(moving_c[kn], cycles.impact_g[kn] * GRAVITY_MPS2, 0.0)
    jx, jy, jz = _transient_velocity(imp_n, cycles.wobble_phase[kn], leg_sign, cycles.strike[kn])
    j_world = _sagittal_to_world(jx, jy, jz, np.deg2rad(bound.angle_deg[2 * m :]))
    stride_m = cycles.speed_mps[ks] * dur_c[ks]
    advance = np.stack([stride_m, np.zeros(m), np.zeros(m)], axis=-1)
    # swing = hip-and-thigh model + the quintic that takes up its mismatch with the
    # planted-ankle stance at TO and at the next IC (position, velocity, acceleration)
    tp0, tv0, ta0 = _thigh_knee(cycles, ks, cycles.contact_phase[ks])
    tp1, tv1, ta1 = _thigh_knee(cycles, ks, np.ones(m))
    p0, v0, a0 = -length * u_to - tp0, -length * du_to - tv0, -length * ddu_to - ta0
    p1 = advance - length * u_n - tp1
    v1 = -length * du_n - j_world - tv1
    a1 = -length * ddu_n - ta1
    h_sw = start[ks] + dur_c[ks] - to_s

    u, du, ddu = _tibia_derivatives(motion.angle_deg, motion.rate_dps, motion.accel_dps2)
    del u, du
    th = np.deg2rad(motion.angle_deg)
    dth = np.deg2rad(motion.rate_dps)
    ddth = np.deg2rad(motion.accel_dps2)
    ct, st = np.cos(th), np.sin(th)
    # n: anterior unit vector (cos θ, 0, −sin θ)
    n_dd = np.column_stack(
        [-ddth * st - dth * dth * ct, np.zeros_like(th), -ddth * ct + dth * dth * st]
    )
    knee = -length * ddu  # stance: rotation about the planted ankle
    tau = motion.since_ic_s
    t_to_rel = (to_s - start[ks])[inv_k]
    swing = np.flatnonzero(tau > t_to_rel)
    if swing.size:
        j = inv_k[swing]
        h = h_sw[j]
        s = np.clip((tau[swing] - t_to_rel[swing]) / h, 0.0, 1.0)
        knee[swing] = _thigh_knee(cycles, k[swing], motion.phase[swing])[2] + _quintic_accel(
            s, h, p0[j], v0[j], a0[j], p1[j], v1[j], a1[j]
        )
    acc = knee + SENSOR_BELOW_KNEE_M * ddu + SENSOR_ANTERIOR_M * n_dd

    # impact transient and wobble (fixed in the IC shank direction), near IC only
    axial = np.zeros_like(tau)
    span = max(IMPACT_DELAY_S + WOBBLE_WINDOW_S, HEEL_TOUCH_S + HEEL_TOUCH_WINDOW_S)
    near = np.flatnonzero((tau < span) & moving_c[k])
    if near.size:
        kk = k[near]
        tx, ty, tz, axial[near] = _transient_shank(
            cycles.impact_g[kk] * GRAVITY_MPS2,
            cycles.wobble_phase[kk],
            tau[near],
            leg_sign,
            cycles.strike[kk],
        )
        acc[near] += _sagittal_to_world(tx, ty, tz, th_ic[inv_k[near]])

    acc[:, 2] -= GRAVITY_MPS2  # specific force = acceleration − gravity (z down)
    force = _rotate_world_to_shank(
        acc, th, np.deg2rad(motion.frontal_deg), np.deg2rad(motion.twist_deg)
    )
    return force, axial
