"""Calibration and alignment: from the sensor frame to the shank frame.

Shank frame (docs/gait-primer.md): x anterior, y to the runner's right, z down the
tibia; positive rotation about y moves the ankle forward (mid-swing peak
positive). The sensor may sit in any orientation on either leg.

Method
------
1. **Quiet periods** (gyro and accelerometer nearly constant for
   ``min_quiet_s``) give the gyroscope bias and the direction of gravity.
   They come from ``--standing FILE`` or from a standing period at the start
   of the recording.
2. **Sagittal axis** = the first principal axis of the bias-free angular
   velocity while moving: the shank rotates mostly about the knee's flexion
   axis. It is made orthogonal to the up direction.
3. **Sign** of the sagittal axis from the gait itself: smoothed over
   ``sign_smoothing_s`` the forward swing of the shank (mid-swing) is the
   largest sustained rotation in a running stride, larger than the brief
   post-contact and push-off backward rotations; so the smoothed signal's
   upper extreme exceeds its lower extreme in magnitude. The ratio of the two
   is the sign margin reported in ``confidence``.
4. **Long axis** = gravity during quiet standing, rotated in the sagittal
   plane by ``standing_tibia_angle_deg`` (the tibia stands a few degrees
   behind vertical, docs/gait-primer.md). Without standing data the mean specific
   force over the run stands in for "up": angles are then relative to the
   mean shank orientation and flagged ``calibrated = False``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Self

import numpy as np

from strideguard.errors import InputError
from strideguard.gaps import missing_mask
from strideguard.imudata import STANDARD_GRAVITY_MPS2, FloatArray, ImuRecording
from strideguard.sigproc import moving_mean

#: gait signature (see :class:`Alignment`): running and walking swing the shank forward
#: faster than back (sign margin 1.36–1.56 on lab and simulated runs) about one axis
#: (sagittal share ~0.9); noise, pedalling or shaking stay near 1.0 / below 0.5
MIN_SIGN_MARGIN = 1.15
MIN_SAGITTAL_SHARE = 0.5
#: a standing calibration must fix gravity's direction to this standard error (an
#: error in "up" shifts every absolute tibia angle by as much; the angle target is 2°)
MAX_TILT_STANDARD_ERROR_DEG = 0.5
#: below this much still data the block scatter cannot see the slow sway (~1 Hz and below)
#: that dominates the error of "up": shorter standing data are refused
MIN_STANDING_STILL_S = 0.5
#: still data is split into this many consecutive blocks to measure how much the
#: gravity direction wanders (sway, soft-tissue drift) beyond white noise
TILT_SE_BLOCKS = 5


@dataclass(frozen=True)
class GravityEstimate:
    """Gravity ("up") from still data and how well it is known.

    Attributes
    ----------
    up
        Unit vector of the mean specific force (sensor frame).
    still_s
        Duration of the still data (samples × sample period).
    tilt_standard_error_deg
        Standard error of that direction: the larger of the block-to-block
        scatter (``TILT_SE_BLOCKS`` consecutive blocks; sway and drift) and the
        white-noise floor ``σ_a / (g·√n)``.
    """

    up: FloatArray
    still_s: float
    tilt_standard_error_deg: float


def gravity_from_still(acc_mps2: FloatArray, rate_hz: float) -> GravityEstimate:
    """The up direction from still samples, with its standard error.

    A standing runner sways and the skin over the tibia drifts, so the
    samples are not independent: the scatter of the directions of
    ``TILT_SE_BLOCKS`` consecutive block means measures the error that
    averaging leaves, ``SD(block angles) / √blocks``. Sensor white noise sets
    a floor, ``σ_a / (g·√n)``. One second of quiet standing at 100–1000 Hz
    typically gives a few hundredths of a degree.

    Parameters
    ----------
    acc_mps2
        Specific force of the still samples, shape ``(n, 3)``, ``n ≥ 3·TILT_SE_BLOCKS``.
    rate_hz
        Sampling rate.

    Returns
    -------
    GravityEstimate
    """
    n = acc_mps2.shape[0]
    up = _unit(np.mean(acc_mps2, axis=0))
    blocks = np.array_split(acc_mps2, TILT_SE_BLOCKS)
    dirs = np.array([_unit(np.mean(b, axis=0)) for b in blocks])
    ang = np.degrees(np.arccos(np.clip(dirs @ up, -1.0, 1.0)))
    se_blocks = float(np.sqrt(np.sum(ang**2) / (TILT_SE_BLOCKS - 1)) / np.sqrt(TILT_SE_BLOCKS))
    resid = acc_mps2 - np.mean(acc_mps2, axis=0)
    # noise across "up" (two axes) relative to g
    across = resid - np.outer(resid @ up, up)
    noise = float(np.sqrt(np.mean(np.sum(across**2, axis=1)) / 2.0))
    se_white = float(np.degrees(noise / (STANDARD_GRAVITY_MPS2 * np.sqrt(n))))
    return GravityEstimate(up, n / rate_hz, max(se_blocks, se_white))


def quiet_mask(
    acc_mps2: FloatArray | None,
    gyr_dps: FloatArray | None,
    rate_hz: float,
    *,
    window_s: float = 0.5,
    gyr_sd_dps: float = 3.0,
    acc_sd_mps2: float = 0.3,
    missing: np.ndarray | None = None,
) -> np.ndarray:
    """Samples inside blocks where the sensor is still (standing or lying).

    The data are cut into consecutive blocks of ``window_s``; a block is still
    when every axis varies less than the limits and the accelerometer reads
    about 1 g. Missing (bridged) samples are left out of a block's statistics,
    so a lost frame does not break a still period. A block with almost no
    sample received (an outage) is still only between two received still
    blocks: an outage while standing does not split the still period, and
    one while running is never taken for one.

    Parameters
    ----------
    acc_mps2, gyr_dps
        Sensor data, shape ``(n, 3)``; either may be ``None``.
    rate_hz
        Sampling rate.
    window_s
        Block length.
    gyr_sd_dps, acc_sd_mps2
        Largest per-axis standard deviation that still counts as still.
    missing
        ``(n,)`` True for samples that were not received (bridged), or ``None``.

    Returns
    -------
    numpy.ndarray
        Boolean mask, shape ``(n,)``.
    """
    arrays = [a for a in (gyr_dps, acc_mps2) if a is not None]
    if not arrays:
        raise ValueError("need accelerometer or gyroscope data")
    n = arrays[0].shape[0]
    w = max(3, round(window_s * rate_hz))
    nb = max(1, n // w)
    ok = np.ones(nb, dtype=bool)
    # a few dozen samples per block tell stillness as well as all of them (and cost less)
    step = max(1, min(w, n) // 32)
    lost = None
    unknown = np.zeros(nb, dtype=bool)
    if missing is not None and missing.any():
        lost = missing[: nb * w].reshape(nb, min(w, n)) if n >= w else missing[None, :]
        lost = lost[:, ::step]
        unknown = np.count_nonzero(~lost, axis=1) < 3  # (hardly) nothing received
        lost &= ~unknown[:, None]  # (those are decided below, from their neighbours)
    for arr, limit in ((gyr_dps, gyr_sd_dps), (acc_mps2, acc_sd_mps2)):
        if arr is None:
            continue
        blocks = arr[: nb * w].reshape(nb, min(w, n), 3) if n >= w else arr[None, :, :]
        blocks = blocks[:, ::step]
        if lost is not None:
            blocks = np.where(lost[:, :, None], np.nan, blocks)
            sd, mean = np.nanstd(blocks, axis=1), np.nanmean(blocks, axis=1)
        else:
            sd, mean = blocks.std(axis=1), blocks.mean(axis=1)
        ok &= np.all(sd < limit, axis=1)
        if arr is acc_mps2:
            ok &= np.abs(np.linalg.norm(mean, axis=1) - STANDARD_GRAVITY_MPS2) < 1.5
    if unknown.any():
        # an outage is still when the received blocks on both sides of it are
        known = np.flatnonzero(~unknown)
        pos = np.searchsorted(known, np.flatnonzero(unknown))
        before = np.where(pos > 0, ok[known[np.maximum(pos - 1, 0)]], False)
        after = np.where(pos < known.size, ok[known[np.minimum(pos, known.size - 1)]], False)
        ok[unknown] = before & after if known.size else False
    mask = np.repeat(ok, min(w, n))
    if mask.size < n:
        mask = np.concatenate([mask, np.full(n - mask.size, bool(ok[-1]))])
    return mask


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _unit(v: FloatArray) -> FloatArray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


@dataclass
class Alignment:
    """Result of :class:`ShankAligner`: how to turn sensor data into shank data.

    Attributes
    ----------
    rotation
        3×3 matrix whose rows are the shank x, y, z axes in sensor
        coordinates: ``shank = rotation @ sensor``.
    gyro_bias_dps
        Gyroscope bias removed before rotating.
    calibrated
        True when a standing period fixed the sensor's tilt on the tibia, so
        absolute shank angles are meaningful.
    calibration_source
        ``"standing file"``, ``"standing at start (a–b s)"`` or ``None``.
    standing_tibia_angle_deg
        Tibia angle assumed during the standing calibration.
    sign_margin
        Ratio of forward-swing to backward-rotation magnitude (>1 favours the
        chosen sign).
    sagittal_share
        Share of the angular-velocity variance about the sagittal axis.
    confidence
        0–1 summary of ``sign_margin`` and ``sagittal_share``.
    bias_source
        Where the gyroscope bias came from.
    calibration_still_s
        Duration of the still data the calibration used (``None`` if not calibrated).
    tilt_standard_error_deg
        Standard error of the calibrated "up" direction (:func:`gravity_from_still`).
    """

    rotation: FloatArray
    gyro_bias_dps: FloatArray
    calibrated: bool
    calibration_source: str | None
    standing_tibia_angle_deg: float
    sign_margin: float
    sagittal_share: float
    confidence: float
    bias_source: str = "none"
    notes: list[str] = field(default_factory=list)
    calibration_still_s: float | None = None
    tilt_standard_error_deg: float | None = None

    def to_shank(self, rec: ImuRecording) -> tuple[FloatArray | None, FloatArray | None]:
        """Return ``(acc, gyr)`` of ``rec`` in the shank frame (bias removed)."""
        rt = np.ascontiguousarray(self.rotation.T)  # a non-contiguous operand is ~10x slower
        acc = rec.acc_mps2 @ rt if rec.acc_mps2 is not None else None
        gyr = (rec.gyr_dps - self.gyro_bias_dps) @ rt if rec.gyr_dps is not None else None
        return acc, gyr

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        axes = ["x", "y", "z"]
        z = self.rotation[2]
        k = int(np.argmax(np.abs(z)))
        return {
            "calibrated": self.calibrated,
            "calibration_source": self.calibration_source,
            "calibration_quality": (
                {
                    "still_s": round(self.calibration_still_s, 3),
                    "tilt_standard_error_deg": round(self.tilt_standard_error_deg, 3),
                }
                if self.calibrated
                and self.calibration_still_s is not None
                and self.tilt_standard_error_deg is not None
                else None
            ),
            "standing_tibia_angle_deg": self.standing_tibia_angle_deg if self.calibrated else None,
            "rotation_sensor_to_shank": [
                [round(float(v), 5) for v in row] for row in self.rotation
            ],
            "tibia_axis_in_sensor": f"{'+' if z[k] > 0 else '-'}{axes[k]}",
            "tibia_axis_tilt_deg": round(float(np.degrees(np.arccos(min(1.0, abs(z[k]))))), 2),
            "gyro_bias_dps": [round(float(v), 3) for v in self.gyro_bias_dps],
            "bias_source": self.bias_source,
            "sign_margin": round(self.sign_margin, 3),
            "sagittal_share": round(self.sagittal_share, 4),
            "confidence": round(self.confidence, 3),
            "notes": list(self.notes),
        }


class ShankAligner:
    """Find the shank frame of a recording (gaitmap-style algorithm object).

    Parameters
    ----------
    standing_tibia_angle_deg
        Tibia angle assumed while standing quietly (docs/gait-primer.md: typically
        −2 to −4°; default −3°).
    min_quiet_s
        Shortest still period at the start of a recording used as standing
        calibration (a ``standing`` recording is judged by
        ``max_tilt_standard_error_deg`` instead: any still span that fixes
        gravity well enough calibrates, a 1-s lab static trial included).
    max_tilt_standard_error_deg
        A standing recording is refused when its still data leave "up" less
        certain than this (:func:`gravity_from_still`).
    start_search_s
        A standing period must begin within this time from the start.
    sign_smoothing_s
        Moving-average window for the sign decision.

    Attributes
    ----------
    alignment_
        The :class:`Alignment` found by :meth:`align`.
    """

    def __init__(
        self,
        standing_tibia_angle_deg: float = -3.0,
        min_quiet_s: float = 1.0,
        start_search_s: float = 60.0,
        sign_smoothing_s: float = 0.1,
        max_tilt_standard_error_deg: float = MAX_TILT_STANDARD_ERROR_DEG,
    ) -> None:
        self.standing_tibia_angle_deg = standing_tibia_angle_deg
        self.min_quiet_s = min_quiet_s
        self.max_tilt_standard_error_deg = max_tilt_standard_error_deg
        self.start_search_s = start_search_s
        self.sign_smoothing_s = sign_smoothing_s

    def align(self, recording: ImuRecording, *, standing: ImuRecording | None = None) -> Self:
        """Estimate bias, axes and calibration.

        Parameters
        ----------
        recording
            The run.
        standing
            Optional quiet-standing recording of the same sensor and mounting.

        Returns
        -------
        Self
            With ``alignment_`` set.

        Raises
        ------
        InputError
            If ``standing`` is not still enough to fix gravity to
            ``max_tilt_standard_error_deg``.
        """
        rate = recording.sampling_rate_hz
        acc, gyr = recording.acc_mps2, recording.gyr_dps
        notes: list[str] = []
        up: FloatArray | None = None
        bias = np.zeros(3)
        bias_source = "none"
        calib: str | None = None
        moving = np.ones(recording.n_samples, dtype=bool)
        grav: GravityEstimate | None = None

        if standing is not None and standing.acc_mps2 is not None:
            grav, q = self._standing_gravity(standing)
            up = grav.up
            if standing.gyr_dps is not None:
                bias = np.median(standing.gyr_dps[q], axis=0)
                bias_source = "standing file"
            calib = "standing file"
        lost = missing_mask(recording.time_s, recording.gaps)
        quiet = quiet_mask(acc, gyr, rate, missing=lost)
        # a still period may hold lost samples: its length counts them, its values do not
        starts, stops = _runs(quiet)
        long_enough = (stops - starts) >= self.min_quiet_s * rate
        starts, stops = starts[long_enough], stops[long_enough]
        if starts.size:
            moving &= ~quiet
            if gyr is not None and bias_source == "none":
                qi = np.concatenate([np.arange(a, b) for a, b in zip(starts, stops, strict=True)])
                bias = np.median(gyr[qi[~lost[qi]]], axis=0)
                bias_source = "quiet periods in the recording"
            first = int(starts[0])
            if (
                up is None
                and acc is not None
                and recording.time_s[first] - recording.time_s[0] <= self.start_search_s
            ):
                seg = np.arange(first, int(stops[0]))
                grav = gravity_from_still(acc[seg[~lost[seg]]], rate)  # the samples received
                up = grav.up
                t0, t1 = recording.time_s[first], recording.time_s[int(stops[0]) - 1]
                calib = f"standing at start ({t0:.1f}–{t1:.1f} s)"
        if not moving.any():
            moving[:] = True
        calibrated = up is not None
        if up is None and acc is not None:
            up = _unit(np.mean(acc[moving], axis=0))
            notes.append(
                "no standing period: shank angles are relative to the mean shank orientation"
            )

        sign_margin = 1.0
        share = 0.0
        if gyr is not None:
            # every k-th sample (~100 Hz) is plenty for the principal axis and the percentiles
            k = max(1, round(rate / 100.0))
            g = gyr[::k][moving[::k]] - bias
            cov = g.T @ g / max(1, g.shape[0])
            w, v = np.linalg.eigh(cov)
            e1 = v[:, -1]
            share = float(w[-1] / max(w.sum(), 1e-12))
            if up is not None:
                e1 = _unit(e1 - np.dot(e1, up) * up)
            s = moving_mean((gyr[::k] - bias) @ e1, round(self.sign_smoothing_s * rate / k))
            hi, lo = np.percentile(s[moving[::k]], [99.5, 0.5])
            if abs(lo) > hi:
                e1 = -e1
                hi, lo = -lo, -hi
            sign_margin = float(hi / max(abs(lo), 1e-9))
            y = e1
        else:
            y = np.array([0.0, 1.0, 0.0]) if up is None else _unit(np.cross(up, [1.0, 0.0, 0.0]))
            notes.append("no gyroscope: sagittal axis unknown")
        if up is None:
            up = _unit(np.cross([1.0, 0.0, 0.0], y))
            notes.append("no accelerometer: tibia axis unknown")
        z0 = -_unit(up - np.dot(up, y) * y)
        x0 = np.cross(y, z0)
        alpha = np.radians(self.standing_tibia_angle_deg) if calibrated else 0.0
        # the tibia stands at angle alpha in the standing (world) frame
        x = np.cos(alpha) * x0 - np.sin(alpha) * z0
        z = np.sin(alpha) * x0 + np.cos(alpha) * z0
        rot = np.vstack([x, y, z])
        conf = float(np.clip((sign_margin - 1.0) / 0.5, 0, 1) * np.clip((share - 0.5) / 0.3, 0, 1))
        if gyr is not None and sign_margin < MIN_SIGN_MARGIN:
            notes.append(f"forward/backward direction uncertain (sign margin {sign_margin:.2f})")
        self.alignment_ = Alignment(
            rotation=rot,
            gyro_bias_dps=np.asarray(bias, dtype=np.float64),
            calibrated=calibrated,
            calibration_source=calib,
            standing_tibia_angle_deg=self.standing_tibia_angle_deg,
            sign_margin=sign_margin,
            sagittal_share=share,
            confidence=conf,
            bias_source=bias_source,
            notes=notes,
            calibration_still_s=grav.still_s if grav is not None and calibrated else None,
            tilt_standard_error_deg=(
                grav.tilt_standard_error_deg if grav is not None and calibrated else None
            ),
        )
        return self

    def _standing_gravity(self, standing: ImuRecording) -> tuple[GravityEstimate, np.ndarray]:
        """Gravity from a standing recording, or a one-line refusal."""
        assert standing.acc_mps2 is not None
        rate = standing.sampling_rate_hz
        name = standing.source or "standing file"
        # blocks of at most a quarter of the file, so a 1-s static trial is judged in parts
        window = min(0.5, standing.n_samples / rate / 4.0)
        lost = missing_mask(standing.time_s, standing.gaps)
        q = quiet_mask(standing.acc_mps2, standing.gyr_dps, rate, window_s=window, missing=lost)
        q &= ~lost  # the still samples received, not the bridge
        n_still = int(q.sum())
        if n_still < max(3 * TILT_SE_BLOCKS, MIN_STANDING_STILL_S * rate):
            raise InputError(
                f"{name}: only {n_still / rate:.2f} s without movement (need {MIN_STANDING_STILL_S:g} s): "
                "stand still with the sensor on for about a second, or leave out --standing"
            )
        grav = gravity_from_still(standing.acc_mps2[q], rate)
        if grav.tilt_standard_error_deg > self.max_tilt_standard_error_deg:
            raise InputError(
                f"{name}: {grav.still_s:.2f} s still fixes gravity only to "
                f"±{grav.tilt_standard_error_deg:.2f}° (need ±{self.max_tilt_standard_error_deg:g}°): "
                "stand still a little longer, or leave out --standing"
            )
        return grav, q


def estimate_bias_from_strides(
    recording: ImuRecording, alignment: Alignment, ic_s: FloatArray, next_ic_s: FloatArray
) -> Alignment:
    """The gyroscope bias when no quiet period gave one: the sagittal mean over whole strides.

    From IC to a later IC the shank returns to the same sagittal angle, so the
    mean sagittal angular velocity from the first stride's IC to the last
    stride's end is the sagittal bias. The other axes are not estimated: a
    closed 3-D rotation path has a non-zero mean body rate. The offline
    analysis and the live path both use it.

    Parameters
    ----------
    recording
        The recording the strides were found in (sensor frame, with gyroscope).
    alignment
        The alignment whose bias to replace (its ``rotation[1]`` is the sagittal axis).
    ic_s, next_ic_s
        Start and end of the detected strides, seconds from the first sample.

    Returns
    -------
    Alignment
        A copy with ``gyro_bias_dps`` along the sagittal axis and ``bias_source``
        ``"sagittal mean over whole strides"``; ``alignment`` itself is unchanged.

    Raises
    ------
    ValueError
        If the recording has no gyroscope or there are no strides.
    """
    if recording.gyr_dps is None or ic_s.size == 0:
        raise ValueError("the bias from strides needs gyroscope data and at least one stride")
    fs = recording.sampling_rate_hz
    i0 = round(float(np.nanmin(ic_s)) * fs)
    i1 = round(float(np.nanmax(next_ic_s)) * fs)
    y = alignment.rotation[1]
    # the samples received: a bridge cannot restore a rotation lost in a gap, while the
    # received ones, lost at random phases of the stride, still average it without bias
    received = ~missing_mask(recording.time_s, recording.gaps)[i0:i1]
    return replace(
        alignment,
        gyro_bias_dps=float(recording.gyr_dps[i0:i1][received].mean(axis=0) @ y) * y,
        bias_source="sagittal mean over whole strides",
        notes=list(alignment.notes),
    )


def shank_signals(
    recording: ImuRecording, alignment: Alignment | None
) -> tuple[FloatArray | None, FloatArray | None]:
    """The signals event detection needs, in the shank frame.

    Parameters
    ----------
    recording
        Sensor-frame data.
    alignment
        Sensor-to-shank alignment (``None`` without gyroscope).

    Returns
    -------
    gyr_sagittal_dps, acc_shank_mps2
        Bias-free angular velocity about the shank y axis, and the specific
        force in the shank frame (``None`` where the data or the alignment lack).
    """
    if alignment is None or recording.gyr_dps is None:
        return None, None
    gyr_sag = (recording.gyr_dps - alignment.gyro_bias_dps) @ alignment.rotation[1]
    acc = recording.acc_mps2
    acc_s = None if acc is None else acc @ np.ascontiguousarray(alignment.rotation.T)  # ~10x faster
    return gyr_sag, acc_s
