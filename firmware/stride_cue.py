"""On-board stride detector, cadence, cue rule and standing calibration.

Integer arithmetic only (no floats, no numpy, no heap allocation per sample),
bounded work per sample. It scans the big-endian samples of a stream frame
in place.

Stride detection works on the L1 norm of the bias-corrected gyroscope,
``|gx| + |gy| + |gz|``, so it does not depend on how the board is mounted or
on which leg. Each stride has two large bursts (the mid-swing peak and the dip
after initial contact, ~0.1 s apart); a rising crossing of ``high_dps`` after
the signal fell below ``low_dps`` counts a stride once it has stayed above
``high_dps`` for ``min_burst_ms``: the wide mid-swing burst qualifies, the
short impact transients after initial contact do not. A refractory time of at
least ``min_stride_ms`` (and 60 % of the last stride) guards against a second
count. One leg's strides come at 75–95 per minute, so the cadence reported to
the Running Speed and Cadence service, which counts **steps** (both feet), is
twice the stride rate.
"""

try:
    from micropython import const  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # CPython

    def const(x: int) -> int:  # type: ignore[no-redef, misc, unused-ignore]
        return x


from protocol import GYR_LSB_PER_DPS_X10

SCAN_STRIDE = const(0x01)  # a stride ended in the scanned samples
SCAN_SATURATED = const(0x02)  # an accelerometer or gyro value hit the int16 rail
SCAN_CUE = const(0x04)  # the cue rule fired
SCAN_CAL_DONE = const(0x08)  # a calibration finished (see cal_ok)

HISTORY = const(4)  # strides averaged for cadence
RUNNING_MIN_SPM = const(140)  # RSC "running" status above this cadence
CAL_STILL_DPS = const(10)  # gyro spread allowed while standing still


def _s16(v):
    return v - 65536 if v & 0x8000 else v


class StrideCue:
    """Stride events and cadence from gyro samples, plus the low-cadence cue.

    Parameters
    ----------
    rate_hz
        Sample rate of the scanned samples.
    high_dps, low_dps
        Trigger and re-arm thresholds on the gyro L1 norm, °/s.
    min_burst_ms
        How long the norm must stay above ``high_dps`` to count as mid-swing.
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
        high_dps=250,
        low_dps=80,
        min_burst_ms=60,
        min_stride_ms=450,
        max_stride_ms=2000,
        tolerance_pct=8,
        persist_strides=4,
        cooldown_strides=20,
    ):
        self.high_dps = high_dps
        self.low_dps = low_dps
        self.min_burst_ms = min_burst_ms
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
        self._periods = [0] * HISTORY
        self.cal_sums = [0] * 6
        self.cal_ok = False
        self.set_rate(rate_hz)
        self.reset()

    def set_rate(self, rate_hz):
        """Change the sample rate (clears the stride history)."""
        self.rate_hz = rate_hz
        self._high = self.high_dps * GYR_LSB_PER_DPS_X10 // 10
        self._low = self.low_dps * GYR_LSB_PER_DPS_X10 // 10
        self._min_samples = self.min_stride_ms * rate_hz // 1000
        self._burst = max(1, self.min_burst_ms * rate_hz // 1000)
        self._max_samples = self.max_stride_ms * rate_hz // 1000
        self.reset()

    def reset(self):
        """Forget strides, cadence and cue state."""
        self._since = 0
        self._armed = False
        self._above = 0
        self._moving = False
        self._refractory = self._min_samples
        for i in range(HISTORY):
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
        return self.cadence_spm >= RUNNING_MIN_SPM

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
        self.cal_ok = spread <= 3 * CAL_STILL_DPS
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
        armed = self._armed
        above = self._above
        burst = self._burst
        high = self._high
        low = self._low
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
            m = abs(gx) + abs(gy) + abs(gz)
            since += 1
            if m > high:
                above += 1
                if armed and above >= burst and since >= self._refractory:
                    self._since = since
                    result |= self._stride()
                    since = 0
                    armed = False
            else:
                above = 0
                if m < low:
                    armed = True
            if since == self._max_samples:
                self._stopped()
            if self._cal_left > 0:
                self._cal_add(buf, i, m)
                if self._cal_left == 0:
                    self._cal_finish()
                    result |= SCAN_CAL_DONE
            i += 12
        self._since = since
        self._armed = armed
        self._above = above
        return result

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
        self._refractory = max(self._min_samples, period * 6 // 10)
        if period >= self._max_samples or not self._moving:
            self._moving = True
            return SCAN_STRIDE  # first stride after a start or a stop: no period yet
        self._periods[self._head] = period
        self._head = (self._head + 1) % HISTORY
        if self._valid < HISTORY:
            self._valid += 1
        total = 0
        for j in range(self._valid):
            total += self._periods[(self._head - 1 - j) % HISTORY]
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
        if not self.cue_enabled or target == 0 or self._valid < HISTORY:
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
