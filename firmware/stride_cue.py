"""On-board stride detector, cadence, cue rule and standing calibration.

Integer arithmetic only (no floats, no numpy, no heap allocation per sample),
bounded work per sample. It scans the big-endian samples of a stream frame
in place.

Stride detection works on the gyroscope projected on its dominant axis (the
sagittal one for a shin): the signs of the three axes are learned from their
running cross-moments, so the board may be mounted in any orientation, on
either leg. Each stride shows as bursts of rotation: the mid-swing burst and
the dips after initial contact and at push-off, which have the opposite sign.
The swing is the largest single rotation of the stride, so the polarity with
the larger recent burst area is taken as the swing's; a swing-polarity burst
of at least half the recent largest (and ``min_swing_deg``) ends a stride,
with a refractory time of at least ``min_stride_ms`` and 60 % of the last
stride. One leg's strides come at 75–95 per minute, so the cadence reported to
the Running Speed and Cadence service, which counts **steps** (both feet), is
twice the stride rate.
"""

from micropython import const
from protocol import GYR_LSB_PER_DPS_X10

SCAN_STRIDE = const(0x01)  # a stride ended in the scanned samples
SCAN_SATURATED = const(0x02)  # an accelerometer or gyro value hit the int16 rail
SCAN_CUE = const(0x04)  # the cue rule fired
SCAN_CAL_DONE = const(0x08)  # a calibration finished (see cal_ok)

_HISTORY = const(4)  # strides averaged for cadence
_RUNNING_MIN_SPM = const(140)  # RSC "running" status above this cadence
_CAL_STILL_DPS = const(10)  # gyro spread allowed while standing still


def _s16(v):
    return v - 65536 if v & 0x8000 else v


class StrideCue:
    """Stride events and cadence from gyro samples, plus the low-cadence cue.

    Parameters
    ----------
    rate_hz
        Sample rate of the scanned samples.
    low_dps
        A burst of rotation is where the projected gyro exceeds this, °/s.
    min_swing_deg
        Smallest rotation (burst area) that can be a mid-swing, degrees.
    min_stride_ms, max_stride_ms
        Shortest stride accepted; longer than ``max_stride_ms`` without a
        stride means the runner stopped (cadence 0).
    tolerance_pct
        The cue fires when cadence is more than this far below the target ...
    persist_strides
        ... for this many consecutive strides ...
    cooldown_strides
        ... and at most once per this many strides.
    """

    def __init__(
        self,
        rate_hz,
        low_dps=80,
        min_swing_deg=20,
        min_stride_ms=450,
        max_stride_ms=2000,
        tolerance_pct=8,
        persist_strides=4,
        cooldown_strides=20,
    ):
        self.low_dps = low_dps
        self.min_swing_deg = min_swing_deg
        self._sx = 1
        self._sy = 1
        self._sz = 1
        self._cxx = self._cyy = self._czz = 0
        self._cxy = self._cxz = self._cyz = 0
        self.min_stride_ms = min_stride_ms
        self.max_stride_ms = max_stride_ms
        self.tolerance_pct = tolerance_pct
        self.persist_strides = persist_strides
        self.cooldown_strides = cooldown_strides
        self.bias_x = 0
        self.bias_y = 0
        self.bias_z = 0
        self.target_spm = 0
        self.cue_enabled = False
        self._periods = [0] * _HISTORY
        self.cal_sums = [0] * 6
        self.cal_ok = False
        self.set_rate(rate_hz)
        self.reset()

    def set_rate(self, rate_hz):
        """Change the sample rate (clears the stride history)."""
        self.rate_hz = rate_hz
        self._low = self.low_dps * GYR_LSB_PER_DPS_X10 // 10
        # burst area unit: LSB/16 per sample; min_swing_deg of rotation
        self._min_area = self.min_swing_deg * GYR_LSB_PER_DPS_X10 * rate_hz // 160
        self._min_samples = self.min_stride_ms * rate_hz // 1000
        self._max_samples = self.max_stride_ms * rate_hz // 1000
        self.reset()

    def reset(self):
        """Forget strides, cadence and cue state."""
        self._since = 0
        self._pol = 0
        self._area = 0
        self._max_pos = 0
        self._max_neg = 0
        self._moving = False
        self._refractory = self._min_samples
        for i in range(_HISTORY):
            self._periods[i] = 0
        self._head = 0
        self._valid = 0
        self.strides = 0
        self.cadence_spm = 0
        self.last_stride_samples = 0
        self._slow = 0
        self._cooldown = 0
        self.cues = 0
        self._cal_left = 0

    def set_bias(self, bx, by, bz):
        """Gyro bias in LSB (from a standing calibration)."""
        self.bias_x = bx
        self.bias_y = by
        self.bias_z = bz

    @property
    def running(self):
        """True when the cadence says running rather than walking."""
        return self.cadence_spm >= _RUNNING_MIN_SPM

    # ------------------------------------------------------------ calibration
    def start_calibration(self, seconds):
        """Average the next ``seconds`` of samples (runner standing still)."""
        for i in range(6):
            self.cal_sums[i] = 0
        self._cal_n = seconds * self.rate_hz
        self._cal_left = self._cal_n
        self._cal_min = 1 << 29
        self._cal_max = -(1 << 29)
        self.cal_ok = False

    @property
    def calibrating(self):
        return self._cal_left > 0

    def calibration(self):
        """Return ``(gyro_bias, gravity)`` in LSB from the last calibration."""
        n = self._cal_n
        s = self.cal_sums
        return ([s[3] // n, s[4] // n, s[5] // n], [s[0] // n, s[1] // n, s[2] // n])

    def _cal_finish(self):
        spread = (self._cal_max - self._cal_min) * 10 // GYR_LSB_PER_DPS_X10
        self.cal_ok = spread <= 3 * _CAL_STILL_DPS
        if self.cal_ok:
            b = self.calibration()[0]
            self.set_bias(b[0], b[1], b[2])

    # ------------------------------------------------------------ scanning
    def scan(self, buf, offset, count):
        """Process ``count`` 12-byte samples of ``buf`` from ``offset``.

        Returns a bit mask of ``SCAN_*`` flags.
        """
        result = 0
        since = self._since
        pol = self._pol
        area = self._area
        low = self._low
        sx = self._sx
        sy = self._sy
        sz = self._sz
        bx = self.bias_x
        by = self.bias_y
        bz = self.bias_z
        i = offset
        end = offset + 12 * count
        while i < end:
            # a high byte of 0x7F or 0x80 may be a rail value: check that sample
            if not (
                (buf[i] - 0x7F) & 0xFE
                and (buf[i + 2] - 0x7F) & 0xFE
                and (buf[i + 4] - 0x7F) & 0xFE
                and (buf[i + 6] - 0x7F) & 0xFE
                and (buf[i + 8] - 0x7F) & 0xFE
                and (buf[i + 10] - 0x7F) & 0xFE
            ):
                result |= self._check_rail(buf, i)
            gx = _s16((buf[i + 6] << 8) | buf[i + 7]) - bx
            gy = _s16((buf[i + 8] << 8) | buf[i + 9]) - by
            gz = _s16((buf[i + 10] << 8) | buf[i + 11]) - bz
            since += 1
            if since & 3 == 0:  # every 4th sample is plenty to learn the axis
                self._learn_axis(gx >> 3, gy >> 3, gz >> 3)
            # signed rotation about the dominant (sagittal) axis
            sg = sx * gx + sy * gy + sz * gz
            if pol == 0:
                if sg > low:
                    pol = 1
                    area = 0
                elif sg < -low:
                    pol = -1
                    area = 0
            if pol != 0:
                if pol * sg > low:
                    if area < 0x10000000:  # stays a small int on the ESP32
                        area += (pol * sg) >> 4
                else:  # the burst ended
                    self._since = since
                    r = self._burst_end(pol, area)
                    if r:
                        result |= r
                        since = 0
                    pol = 0
            if since == self._max_samples:
                self._stopped()
            if self._cal_left > 0:
                self._cal_add(buf, i, abs(gx) + abs(gy) + abs(gz))
                if self._cal_left == 0:
                    self._cal_finish()
                    result |= SCAN_CAL_DONE
            i += 12
        self._since = since
        self._pol = pol
        self._area = area
        self._choose_axis()
        return result

    def _learn_axis(self, ax, ay, az):
        """Decaying second moments of the gyro (inputs scaled by 1/8)."""
        # decay 1/512 per call: ~2 s memory at 1 kHz (one call per 4 samples)
        self._cxx += ((ax * ax) >> 5) - (self._cxx >> 9)
        self._cyy += ((ay * ay) >> 5) - (self._cyy >> 9)
        self._czz += ((az * az) >> 5) - (self._czz >> 9)
        self._cxy += ((ax * ay) >> 5) - (self._cxy >> 9)
        self._cxz += ((ax * az) >> 5) - (self._cxz >> 9)
        self._cyz += ((ay * az) >> 5) - (self._cyz >> 9)

    def _choose_axis(self):
        """Axis signs that maximise the variance of sx*gx + sy*gy + sz*gz.

        The global sign is fixed by the axis with the most energy, so the
        projection keeps its sign while the mounting does not change.
        """
        xy = self._cxy
        xz = self._cxz
        yz = self._cyz
        # one assignment per name: a 4-tuple assignment would build a tuple (a heap allocation)
        best = xy + xz + yz
        sx = sy = sz = 1
        v = xy - xz - yz
        if v > best:
            best = v
            sz = -1
        v = -xy + xz - yz
        if v > best:
            best = v
            sx = sz = 1
            sy = -1
        v = -xy - xz + yz
        if v > best:
            best = v
            sy = sz = 1
            sx = -1
        if self._cxx >= self._cyy and self._cxx >= self._czz:
            lead = sx
        elif self._cyy >= self._czz:
            lead = sy
        else:
            lead = sz
        self._sx = sx * lead
        self._sy = sy * lead
        self._sz = sz * lead

    def _burst_end(self, pol, area):
        """A burst of rotation ended: is it this stride's mid-swing?

        The swing burst is the largest single rotation of the stride (the
        dips after contact and at push-off are shorter or smaller), so the
        polarity with the larger recent burst area is the swing's.
        """
        if pol > 0:
            peak = max(area, self._max_pos - (self._max_pos >> 3))
            self._max_pos = peak
        else:
            peak = max(area, self._max_neg - (self._max_neg >> 3))
            self._max_neg = peak
        swing = 1 if self._max_pos >= self._max_neg else -1
        if pol != swing or area < self._min_area or 2 * area < peak:
            return 0
        if self._since < self._refractory:
            return 0
        return self._stride()

    def _check_rail(self, buf, i):
        for j in range(0, 12, 2):
            v = (buf[i + j] << 8) | buf[i + j + 1]
            if v == 0x7FFF or v == 0x8000:
                return SCAN_SATURATED
        return 0

    def _cal_add(self, buf, i, m):
        s = self.cal_sums
        for j in range(6):
            s[j] += _s16((buf[i + 2 * j] << 8) | buf[i + 2 * j + 1])
        if m < self._cal_min:
            self._cal_min = m
        if m > self._cal_max:
            self._cal_max = m
        self._cal_left -= 1

    def _stride(self):
        period = self._since
        self.strides += 1
        self.last_stride_samples = period
        if period >= self._max_samples or not self._moving:
            self._moving = True
            self._refractory = self._min_samples
            return SCAN_STRIDE  # first stride after a start or a stop: no period yet
        self._periods[self._head] = period
        self._head = (self._head + 1) % _HISTORY
        if self._valid < _HISTORY:
            self._valid += 1
        total = 0
        shortest = period
        for j in range(self._valid):
            p = self._periods[(self._head - 1 - j) % _HISTORY]
            total += p
            if p < shortest:
                shortest = p
        # 60 % of the shortest recent stride: one missed swing (a doubled period)
        # must not make the refractory time longer than a stride, or the
        # detector would lock onto every other stride
        self._refractory = max(self._min_samples, shortest * 6 // 10)
        # steps/min = 2 x strides/min = 2 * 60 * rate / mean period (samples)
        self.cadence_spm = 120 * self.rate_hz * self._valid // total
        return SCAN_STRIDE | self._cue_rule()

    def _stopped(self):
        self._moving = False
        self._valid = 0
        self._head = 0
        self.cadence_spm = 0
        self._slow = 0
        self._refractory = self._min_samples

    def _cue_rule(self):
        if self._cooldown > 0:
            self._cooldown -= 1
        target = self.target_spm
        if not self.cue_enabled or target == 0 or self._valid < _HISTORY:
            self._slow = 0
            return 0
        if self.cadence_spm * 100 < target * (100 - self.tolerance_pct):
            self._slow += 1
        else:
            self._slow = 0
        if self._slow >= self.persist_strides and self._cooldown == 0:
            self._slow = 0
            self._cooldown = self.cooldown_strides
            self.cues += 1
            return SCAN_CUE
        return 0
