"""Read IMU recordings from files and validate them.

Accepted input is a CSV with a header naming the gaitmap/mobgap columns
``time_s`` and ``acc_x, acc_y, acc_z`` (m/s²) and/or ``gyr_x, gyr_y, gyr_z``
(°/s); extra columns are ignored. Every problem that makes the data unusable
raises :class:`~strideguard.errors.InputError` with a one-line message; problems
that can be repaired (jittery time stamps, short NaN spans, gaps) are repaired
and reported as warnings that name the affected time span.

Raw-frame recordings (``.sgrec``) are decoded by :mod:`strideguard.recording`
and validated the same way.

Parsing uses pandas' C reader when pandas is installed (about 1 s per hour of
6-axis data at 500 Hz) and falls back to :func:`numpy.loadtxt` otherwise.
"""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from strideguard.errors import InputError
from strideguard.gaps import bridge_missing, gaps_of, missing_runs
from strideguard.imudata import (
    ACC_COLUMNS,
    GYR_COLUMNS,
    STANDARD_GRAVITY_MPS2,
    FloatArray,
    ImuRecording,
)

#: shortest recording that can hold a few strides
MIN_DURATION_S = 3.0
#: a standing-calibration file is judged by how well it fixes gravity
#: (:func:`strideguard.align.gravity_from_still`), not by this loader: any length is read
#: time steps longer than this multiple of the sample period count as a gap
GAP_FACTOR = 1.5
#: a run of at most this many samples cut off from the rest by long gaps is corrupt
ISLAND_MAX_SAMPLES = 2
#: ... when the gaps around it are longer than this (s); shorter ones are ordinary loss
ISLAND_GAP_S = 1.0
#: more wild time stamps than this share of the rows: the file is refused, not repaired
WILD_SHARE_MAX = 0.01
#: the uniform grid may hold this many times the samples read ...
GRID_GROWTH_MAX = 2.0
#: ... plus this much gap time at the sample rate (s)
GAP_FILL_FREE_S = 3600.0


@dataclass
class LoadReport:
    """What :func:`load_recording` repaired or noticed.

    Attributes
    ----------
    warnings
        One line per issue, each naming the affected time span.
    parser
        ``"pandas"`` or ``"numpy"``.
    """

    warnings: list[str] = field(default_factory=list)
    parser: str = ""


def _parse_csv_table(path: Path) -> tuple[list[str], FloatArray, str]:
    """Return (column names, float table, parser name) of a CSV file."""
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            header = fh.readline()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not header.strip():
        raise InputError(f"{path}: empty file")
    names = [c.strip().strip('"').lower() for c in header.strip().split(",")]
    _check_header(path, names)
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - exercised only without pandas
        pd = None
    try:
        if pd is not None:
            try:
                frame = pd.read_csv(
                    path,
                    dtype=np.float64,
                    engine="c",
                    skipinitialspace=True,
                )
            except pd.errors.EmptyDataError:
                return names, np.zeros((0, len(names))), "pandas"
            table = frame.to_numpy(dtype=np.float64)
            parser = "pandas"
        else:
            with _warnings.catch_warnings():
                _warnings.simplefilter("ignore", UserWarning)  # "empty input file"
                table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
            parser = "numpy"
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"{path}: {_first_bad_line(path, len(names)) or 'not numeric CSV'}"
        ) from exc
    if table.ndim != 2 or (table.size and table.shape[1] != len(names)):
        raise InputError(f"{path}: rows do not have the {len(names)} columns of the header")
    return names, table, parser


def _check_header(path: Path, names: list[str]) -> None:
    if "time_s" not in names:
        raise InputError(f"{path}: missing column time_s (header: {','.join(names)[:60]!r})")
    if not all(c in names for c in ACC_COLUMNS) and not all(c in names for c in GYR_COLUMNS):
        missing = [c for c in (*ACC_COLUMNS, *GYR_COLUMNS) if c not in names]
        raise InputError(
            f"{path}: missing columns {', '.join(missing)} (need acc_x..z and/or gyr_x..z)"
        )


def _first_bad_line(path: Path, n_cols: int) -> str | None:
    """Locate the first non-numeric line (error path only)."""
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        fh.readline()
        for lineno, line in enumerate(fh, start=2):
            fields = line.strip().split(",")
            if not line.strip():
                continue
            if len(fields) != n_cols:
                return f"line {lineno} has {len(fields)} fields, the header has {n_cols}"
            try:
                [float(f) for f in fields]
            except ValueError:
                return f"line {lineno} is not numeric: {line.strip()[:40]!r}"
    return None


def read_csv(
    path: str | Path, *, min_duration_s: float = MIN_DURATION_S
) -> tuple[ImuRecording, LoadReport]:
    """Read and validate a CSV recording.

    Parameters
    ----------
    path
        CSV file with a header row (see module docstring).
    min_duration_s
        Shorter recordings are refused (0 for a standing-calibration file).

    Returns
    -------
    recording, report
        The validated recording on a uniform time grid, and what was repaired.

    Raises
    ------
    InputError
        Empty or unreadable file, missing columns, non-numeric content, wrong
        units, too short, or too many missing values.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    names, table, parser = _parse_csv_table(path)
    has_acc = all(c in names for c in ACC_COLUMNS)
    has_gyr = all(c in names for c in GYR_COLUMNS)
    if table.shape[0] == 0:
        raise InputError(f"{path}: no data rows")
    col = {n: i for i, n in enumerate(names)}
    time_s = table[:, col["time_s"]]
    acc = table[:, [col[c] for c in ACC_COLUMNS]] if has_acc else None
    gyr = table[:, [col[c] for c in GYR_COLUMNS]] if has_gyr else None
    report = LoadReport(parser=parser)
    rec = make_uniform(
        time_s, acc, gyr, source=path.name, report=report, min_duration_s=min_duration_s
    )
    check_units(rec)
    return rec, report


def wild_time_stamps(time_s: FloatArray) -> npt.NDArray[np.bool_]:
    """Which samples to keep: ``False`` for a single wild time stamp, never the new truth.

    A time stamp is wild when it is out of line with both neighbours while they
    are in order (``t[i-1] < t[i+1]`` but ``t[i]`` is not between them: a flipped
    bit, a counter glitch), or when it sits on an island of at most
    :data:`ISLAND_MAX_SAMPLES` samples cut off from the rest of the recording by
    gaps longer than :data:`ISLAND_GAP_S` (a last row at 1e9 s). Real data
    loss leaves gaps between long runs of samples, which are kept. Vectorised.

    Parameters
    ----------
    time_s
        Finite time stamps in file order.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` for the samples to keep.
    """
    t = np.asarray(time_s, dtype=np.float64)
    n = t.size
    keep = np.ones(n, dtype=bool)
    if n < 3:
        return keep
    prev, cur, nxt = t[:-2], t[1:-1], t[2:]
    keep[1:-1] = ~((prev < nxt) & ~((cur > prev) & (cur < nxt)))
    # the ends have one neighbour: wild when out of order with the next two in order
    if t[0] >= t[1] and t[1] < t[2]:
        keep[0] = False
    if t[-1] <= t[-2] and t[-3] < t[-2]:
        keep[-1] = False
    # islands: runs of <= ISLAND_MAX_SAMPLES between jumps longer than ISLAND_GAP_S
    idx = np.flatnonzero(keep)
    if idx.size >= 3:
        jump = np.abs(np.diff(t[idx])) > ISLAND_GAP_S
        if jump.any():
            segment = np.concatenate(([0], np.cumsum(jump)))  # segment number of each sample
            lengths = np.bincount(segment)
            island = (lengths <= ISLAND_MAX_SAMPLES) & (lengths < idx.size - lengths)
            keep[idx[island[segment]]] = False
    return keep


def make_uniform(
    time_s: FloatArray,
    acc_mps2: FloatArray | None,
    gyr_dps: FloatArray | None,
    *,
    source: str = "",
    report: LoadReport | None = None,
    min_duration_s: float = MIN_DURATION_S,
) -> ImuRecording:
    """Validate samples and put them on a uniform time grid.

    Rows with a non-finite time are dropped; time must increase. Rows with a
    missing (non-finite) value and time steps longer than ``GAP_FACTOR``
    periods are missing samples: they are listed in ``gaps`` and bridged on
    the uniform grid (:mod:`strideguard.gaps`, the same bridge as the live
    path). Jittery time stamps are resampled by linear interpolation onto the
    mean period of the ordinary (non-gap) steps, so time stamps rounded to
    the logger's resolution keep the true rate.

    Parameters
    ----------
    time_s, acc_mps2, gyr_dps
        Raw columns (see :class:`~strideguard.imudata.ImuRecording`).
    source
        Name used in messages.
    report
        Collects warnings; a new one is made if ``None``.
    min_duration_s
        Shorter recordings are refused.

    Returns
    -------
    ImuRecording
        Uniformly sampled recording with ``gaps`` filled in.
    """
    report = report if report is not None else LoadReport()
    name = source or "input"
    ok_t = np.isfinite(time_s)
    if not ok_t.all():
        if ok_t.mean() < 0.99:
            raise InputError(f"{name}: {np.count_nonzero(~ok_t)} rows have no valid time_s")
        report.warnings.append(f"dropped {np.count_nonzero(~ok_t)} rows without a valid time_s")
        time_s = time_s[ok_t]
        acc_mps2 = acc_mps2[ok_t] if acc_mps2 is not None else None
        gyr_dps = gyr_dps[ok_t] if gyr_dps is not None else None
    if time_s.size < 10:
        raise InputError(f"{name}: only {time_s.size} samples")
    keep = wild_time_stamps(time_s)
    if not keep.all():
        n_wild = int(np.count_nonzero(~keep))
        if n_wild > max(3, WILD_SHARE_MAX * time_s.size):
            raise InputError(
                f"{name}: {n_wild} time stamps are out of line with their neighbours "
                "(a corrupt or concatenated file?)"
            )
        rows = np.flatnonzero(~keep)
        shown = ", ".join(f"row {r + 2} ({time_s[r]:.6g} s)" for r in rows[:3])
        report.warnings.append(
            f"dropped {n_wild} sample{'s' if n_wild > 1 else ''} with a wild time stamp as "
            f"corrupt: {shown}{' …' if n_wild > 3 else ''}"
        )
        time_s = time_s[keep]
        acc_mps2 = acc_mps2[keep] if acc_mps2 is not None else None
        gyr_dps = gyr_dps[keep] if gyr_dps is not None else None
    dt = np.diff(time_s)
    if np.any(dt <= 0):
        bad = int(np.argmax(dt <= 0))
        raise InputError(
            f"{name}: time_s does not increase at {time_s[bad]:.3f} s (row {bad + 2}); sort or fix the time stamps"
        )
    # the period is the mean of the ordinary steps (not gaps): time stamps rounded to the
    # logger's resolution (milliseconds, or 5 decimals) step by two neighbouring values, and
    # their median is one of those, off by up to the rounding — a 403.6 Hz file written in
    # whole milliseconds read as 500 Hz, and 0.1 % off drifts 0.26 s over 260 s on the grid
    # (the median only sets the first bound: with ms rounding it may be the shorter value)
    period_s = float(np.mean(dt[dt < 2.0 * float(np.median(dt))]))
    period_s = float(np.mean(dt[dt <= GAP_FACTOR * period_s]))
    rate_hz = 1.0 / period_s
    if not 20.0 <= rate_hz <= 5000.0:
        raise InputError(
            f"{name}: sample rate {rate_hz:.3g} Hz is implausible (is time_s in seconds?)"
        )
    duration_s = float(time_s[-1] - time_s[0])
    if duration_s < min_duration_s:
        raise InputError(
            f"{name}: only {duration_s:.1f} s of data; need at least {min_duration_s:g} s"
        )
    grid_n = duration_s / period_s + 1
    if grid_n > GRID_GROWTH_MAX * time_s.size + rate_hz * GAP_FILL_FREE_S:
        # the uniform grid would be mostly invented samples (and could exhaust memory)
        raise InputError(
            f"{name}: time_s spans {duration_s:.6g} s but holds {time_s.size / rate_hz:.6g} s "
            f"of samples at {rate_hz:.3g} Hz: the time stamps have gaps far longer than the "
            "data (is time_s in seconds?)"
        )

    gap_idx = np.flatnonzero(dt > GAP_FACTOR * period_s)
    for i in gap_idx[:20]:
        report.warnings.append(
            f"gap of {dt[i]:.3f} s in the time stamps from {time_s[i]:.3f} s to {time_s[i + 1]:.3f} s"
        )
    if gap_idx.size > 20:
        report.warnings.append(f"... and {gap_idx.size - 20} more time gaps")
    jitter = float(np.std(dt[dt <= GAP_FACTOR * period_s])) / period_s if dt.size else 0.0

    data = [a for a in (acc_mps2, gyr_dps) if a is not None]
    finite = np.isfinite(np.concatenate(data, axis=1))
    if not finite.all():
        col_ok = finite.mean(axis=0)
        if np.any(col_ok < 0.5):
            raise InputError(
                f"{name}: a data column is mostly empty or NaN ({100 * (1 - col_ok.min()):.0f} % missing)"
            )
        # a row with a missing value is a missing sample, bridged like a lost frame
        good: np.ndarray = np.all(finite, axis=1)
        first, stop = missing_runs(good)
        for a, b in list(zip(first, stop, strict=True))[:20]:
            report.warnings.append(
                f"missing values from {time_s[a]:.3f} s to {time_s[b - 1]:.3f} s: treated as a gap"
            )
        if first.size > 20:
            report.warnings.append(f"... and {first.size - 20} more spans of missing values")
        time_s = time_s[good]
        acc_mps2 = acc_mps2[good] if acc_mps2 is not None else None
        gyr_dps = gyr_dps[good] if gyr_dps is not None else None
        if time_s.size < 10:
            raise InputError(f"{name}: only {time_s.size} samples with every value present")
        dt = np.diff(time_s)
        gap_idx = np.flatnonzero(dt > GAP_FACTOR * period_s)

    gaps: list[tuple[float, float]] = []
    if jitter > 0.01 or gap_idx.size:
        n = round(float(time_s[-1] - time_s[0]) / period_s) + 1
        grid = time_s[0] + period_s * np.arange(n)
        if jitter > 0.01:
            report.warnings.append(
                f"time stamps jitter by {100 * jitter:.1f} % of the {period_s * 1e3:.2f} ms period: "
                f"resampled to {rate_hz:.1f} Hz"
            )
            # grid points inside a gap, more than half a period from the samples around it, are missing
            pos = np.clip(np.searchsorted(time_s, grid), 1, time_s.size - 1)
            left, right = time_s[pos - 1], time_s[pos]
            present = ~(
                (right - left > GAP_FACTOR * period_s)
                & (grid - left > 0.5 * period_s)
                & (right - grid > 0.5 * period_s)
            )
        else:  # on the grid already: every value is kept as it is
            at = np.round((time_s - time_s[0]) / period_s).astype(np.int64)
            present = np.zeros(n, dtype=bool)
            present[at] = True

        def regrid(arr: FloatArray | None) -> FloatArray | None:
            if arr is None:
                return None
            if jitter > 0.01:
                out = np.column_stack(
                    [np.interp(grid, time_s, arr[:, j]) for j in range(arr.shape[1])]
                )
            else:
                out = np.zeros((n, arr.shape[1]))
                out[at] = arr
            return bridge_missing(out, present)

        acc_mps2, gyr_dps, time_s = regrid(acc_mps2), regrid(gyr_dps), grid
        gaps = gaps_of(grid, present)
    return ImuRecording(
        time_s=np.asarray(time_s, dtype=np.float64),
        acc_mps2=acc_mps2,
        gyr_dps=gyr_dps,
        sampling_rate_hz=rate_hz,
        source=source,
        gaps=gaps,
    )


def check_units(rec: ImuRecording) -> None:
    """Refuse the obvious unit mistakes: accelerometer in g, gyroscope in rad/s.

    Parameters
    ----------
    rec
        Recording to check.

    Raises
    ------
    InputError
        If the accelerometer's median magnitude is near 1 (g instead of m/s²)
        or far from 9.81, or if the gyroscope stays below 30 while the
        accelerometer shows vigorous movement (rad/s instead of °/s).
    """
    name = rec.source or "input"
    moving = False
    if rec.acc_mps2 is not None:
        norm = np.sqrt(np.einsum("ij,ij->i", rec.acc_mps2, rec.acc_mps2))
        med = float(np.median(norm))
        if 0.5 < med < 2.0:
            raise InputError(
                f"{name}: accelerometer looks like it is in g (median |acc| = {med:.2f}); "
                f"convert to m/s² (multiply by {STANDARD_GRAVITY_MPS2})"
            )
        if not 4.0 < med < 30.0:
            raise InputError(
                f"{name}: accelerometer median |acc| = {med:.3g} is not near 9.81 m/s²: check the units"
            )
        moving = float(np.std(norm)) > 3.0
    if rec.gyr_dps is not None and moving:
        p99 = float(np.percentile(np.abs(rec.gyr_dps), 99.5))
        if p99 < 30.0:
            raise InputError(
                f"{name}: gyroscope peaks at {p99:.3g} while the accelerometer shows running: "
                "it looks like rad/s; convert to °/s (multiply by 57.2958)"
            )


def from_imu(
    imu: ImuRecording, report: LoadReport | None = None, *, min_duration_s: float = MIN_DURATION_S
) -> ImuRecording:
    """Validate an in-memory recording (e.g. decoded raw frames) like a CSV file.

    Lost samples become gaps on a uniform grid; the sensor range and pain marks
    are kept.

    Parameters
    ----------
    imu
        Recording, possibly with holes in its time axis.
    report
        Collects warnings.
    min_duration_s
        Shorter recordings are refused.

    Returns
    -------
    ImuRecording
        Uniformly sampled, validated recording.
    """
    out = make_uniform(
        imu.time_s,
        imu.acc_mps2,
        imu.gyr_dps,
        source=imu.source,
        report=report,
        min_duration_s=min_duration_s,
    )
    out.acc_range_g = imu.acc_range_g
    out.gyr_range_dps = imu.gyr_range_dps
    out.pain_marks_s = imu.pain_marks_s
    out.acknowledgements = list(imu.acknowledgements)
    check_units(out)
    return out


def load_recording(
    path: str | Path, *, stream: int = 0, min_duration_s: float = MIN_DURATION_S
) -> tuple[ImuRecording, LoadReport]:
    """Load any supported recording file.

    Parameters
    ----------
    path
        A ``.csv`` file (gaitmap columns) or a raw-frame recording (``.sgrec``,
        see :mod:`strideguard.recording`).
    stream
        Sensor number inside a raw recording (0 = first sensor).
    min_duration_s
        Shorter recordings are refused (0 for a standing-calibration file,
        whose quality :class:`strideguard.align.ShankAligner` judges).

    Returns
    -------
    recording, report
        See :func:`read_csv`.
    """
    path = Path(path)
    if path.suffix.lower() == ".sgrec":
        from strideguard.recording import load_imu

        if not path.is_file():
            raise InputError(f"{path}: no such file")
        report = LoadReport(parser="sgrec")
        imu = load_imu(path, stream, report.warnings)
        return from_imu(imu, report, min_duration_s=min_duration_s), report
    if path.suffix.lower() in (".csv", ".txt", ""):
        return read_csv(path, min_duration_s=min_duration_s)
    raise InputError(f"{path}: unsupported file type {path.suffix!r} (expected .csv or .sgrec)")
