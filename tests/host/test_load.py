"""Loader: fast CSV parsing, validation, repairs and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from strideguard.errors import InputError
from strideguard.imudata import ImuRecording, write_csv
from strideguard.load import LoadReport, check_units, make_uniform, read_csv
from tests.host.analysis_helpers import DATA

HEADER = "time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n"


def _synthetic(n: int = 2000, rate: float = 200.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.arange(n) / rate
    acc = np.column_stack([np.sin(t), 9.81 + 5 * np.sin(8 * t), np.cos(t)])
    gyr = np.column_stack([np.zeros(n), 300 * np.sin(8 * t), np.zeros(n)])
    return t, acc, gyr


def test_reads_rbds_file() -> None:
    rec, rep = read_csv(DATA / "RBDS0041_T25_R_mpu.csv")
    assert rec.n_samples == 5999
    assert rec.sampling_rate_hz == pytest.approx(200.0, rel=1e-6)
    assert rec.gyr_dps is not None and rec.acc_mps2 is not None
    assert rec.gyr_dps[0, 0] == pytest.approx(-259.3994)
    assert rep.warnings == []


def test_roundtrip_write_csv(tmp_path: Path) -> None:
    t, acc, gyr = _synthetic()
    write_csv(ImuRecording(t, acc, gyr, 200.0), tmp_path / "a.csv")
    rec, _ = read_csv(tmp_path / "a.csv")
    np.testing.assert_allclose(rec.acc_mps2, acc, atol=1e-5)
    np.testing.assert_allclose(rec.gyr_dps, gyr, atol=1e-5)


def test_accelerometer_only_file(tmp_path: Path) -> None:
    t, acc, _ = _synthetic()
    p = tmp_path / "acc.csv"
    np.savetxt(
        p, np.column_stack([t, acc]), delimiter=",", header="time_s,acc_x,acc_y,acc_z", comments=""
    )
    rec, _ = read_csv(p)
    assert rec.gyr_dps is None and rec.acc_mps2 is not None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n", "no data rows"),
        ("time_s,foo,bar\n0,1,2\n0.01,1,2\n", "missing columns"),
        ("acc_x,acc_y,acc_z\n1,2,3\n", "missing column time_s"),
        (HEADER + "0,1,2,3,4,5,6\n0.005,1,2,hello,4,5,6\n", "line 3 is not numeric"),
        ("\x00\x01binary garbage\x02\n\x03\x04\n", "missing column"),
    ],
)
def test_bad_files_raise_one_line(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(InputError, match=message) as exc:
        read_csv(p)
    assert "\n" not in str(exc.value)


def test_missing_file() -> None:
    with pytest.raises(InputError, match="no such file"):
        read_csv("/nonexistent/x.csv")


def test_accel_in_g_refused() -> None:
    t, acc, gyr = _synthetic()
    rec = ImuRecording(t, acc / 9.80665, gyr, 200.0, source="g.csv")
    with pytest.raises(InputError, match="in g"):
        check_units(rec)


def test_gyro_in_rad_per_s_refused() -> None:
    t, acc, gyr = _synthetic()
    rec = ImuRecording(t, acc, np.radians(gyr), 200.0, source="rad.csv")
    with pytest.raises(InputError, match="rad/s"):
        check_units(rec)


def test_jitter_is_resampled_with_warning() -> None:
    t, acc, gyr = _synthetic()
    rng = np.random.default_rng(0)
    tj = t + rng.uniform(-0.001, 0.001, t.size)
    rec = make_uniform(tj, acc.copy(), gyr.copy(), source="j")
    assert np.allclose(np.diff(rec.time_s), 1 / rec.sampling_rate_hz)


def test_gap_is_reported_with_its_span() -> None:
    t, acc, gyr = _synthetic()
    keep = (t < 3.0) | (t > 3.5)
    from strideguard.load import LoadReport

    rep = LoadReport()
    rec = make_uniform(t[keep], acc[keep], gyr[keep], source="g", report=rep)
    assert any("gap" in w and "2.995 s" in w for w in rep.warnings)
    assert (
        rec.gaps
        and rec.gaps[0][0] == pytest.approx(2.995)
        and rec.gaps[0][1] == pytest.approx(3.505)
    )
    assert np.allclose(np.diff(rec.time_s), 0.005)


def test_nan_spans_are_gaps_bridged_like_lost_frames() -> None:
    from strideguard.gaps import missing_mask
    from strideguard.load import LoadReport

    t, acc, gyr = _synthetic()
    acc0, gyr0 = acc.copy(), gyr.copy()
    acc[100:103, 0] = np.nan
    gyr[1000:1100, 1] = np.nan
    rep = LoadReport()
    rec = make_uniform(t, acc, gyr, report=rep)
    assert rec.acc_mps2 is not None and rec.gyr_dps is not None
    assert np.isfinite(rec.acc_mps2).all() and np.isfinite(rec.gyr_dps).all()
    assert any("treated as a gap" in w and "0.500 s" in w for w in rep.warnings)
    assert any("treated as a gap" in w and "5.000 s" in w for w in rep.warnings)
    # a row with a missing value is a missing sample: gaps run from the last sample before
    # to the first one after, as for lost frames
    assert rec.gaps == [pytest.approx((0.495, 0.515)), pytest.approx((4.995, 5.5))]
    lost = missing_mask(rec.time_s, rec.gaps)
    assert np.flatnonzero(lost).tolist() == [*range(100, 103), *range(1000, 1100)]
    # received values are kept exactly; the bridge stays within the samples around it
    assert np.array_equal(rec.gyr_dps[~lost], gyr0[~lost])
    assert np.array_equal(rec.acc_mps2[~lost], acc0[~lost])
    lo, hi = sorted((gyr0[999, 1], gyr0[1100, 1]))
    assert np.all(
        (rec.gyr_dps[1000:1100, 1] >= lo - 1e-9) & (rec.gyr_dps[1000:1100, 1] <= hi + 1e-9)
    )


def test_all_nan_column_refused() -> None:
    t, acc, gyr = _synthetic()
    gyr[:, 2] = np.nan
    with pytest.raises(InputError, match="NaN"):
        make_uniform(t, acc, gyr)


def test_time_going_backwards_refused() -> None:
    t, acc, gyr = _synthetic()
    t[1000:] -= 2.0  # two recordings one after the other: not one wild value
    with pytest.raises(InputError, match="does not increase"):
        make_uniform(t, acc, gyr)


@pytest.mark.parametrize(
    ("row", "value"),
    [(500, 1e6), (500, -3.0), (500, None), (-1, 1e6), (-1, 1e9), (0, 1e9), (0, -1e9), (-1, 0.0)],
)
def test_one_wild_time_stamp_is_corrupt_not_the_new_truth(row: int, value: float | None) -> None:
    """A single wild time stamp is dropped with a warning; the rest is analysed as it is."""
    t, acc, gyr = _synthetic()
    n = t.size
    t[row] = t[row - 2] if value is None else value
    report = LoadReport()
    rec = make_uniform(t.copy(), acc.copy(), gyr.copy(), report=report)
    assert any("wild time stamp" in w for w in report.warnings)
    assert rec.sampling_rate_hz == pytest.approx(200.0)
    assert rec.time_s[0] == 0.0 or row == 0
    assert rec.time_s[-1] == pytest.approx(9.995 if row != -1 else 9.990)
    if row in (0, -1):  # dropped at an end: one sample fewer, no gap
        assert rec.n_samples == n - 1 and rec.gaps == []
    else:  # dropped inside: a one-sample gap on the grid (the stride around it is not trusted)
        assert rec.n_samples == n
        assert len(rec.gaps) == 1 and rec.gaps[0][1] - rec.gaps[0][0] == pytest.approx(0.01)


def test_absurd_time_span_is_refused_before_allocating() -> None:
    t, acc, gyr = _synthetic()
    t[1000:] += 1e7  # half the file four months later: not one wild value, and no memory for it
    with pytest.raises(InputError, match="gaps far longer than the data"):
        make_uniform(t, acc, gyr)


def test_too_short_refused() -> None:
    t, acc, gyr = _synthetic(n=300)
    with pytest.raises(InputError, match="need at least"):
        make_uniform(t, acc, gyr)


def test_numpy_fallback_parser_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_pandas(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "pandas":
            raise ImportError("no pandas")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    rec, rep = read_csv(DATA / "RBDS0041_T25_L_clean.csv")
    assert rep.parser == "numpy"
    monkeypatch.undo()
    rec2, _rep2 = read_csv(DATA / "RBDS0041_T25_L_clean.csv")
    np.testing.assert_array_equal(rec.gyr_dps, rec2.gyr_dps)


def _write_sgrec(
    path: Path, acc_mps2: np.ndarray, gyr_dps: np.ndarray, rate_hz: int, drop: slice | None = None
) -> None:
    from strideguard import protocol as proto
    from strideguard.frames import encode_frames
    from strideguard.recording import RecordingWriter

    raw = np.column_stack(
        [
            acc_mps2 / 9.80665 * proto.ACC_LSB_PER_G,
            gyr_dps * proto.GYR_LSB_PER_DPS_X10 / 10,
        ]
    ).round()
    frames = encode_frames(raw, rate_hz=rate_hz, mtu=247)
    if drop is not None:
        del frames[drop]
    with RecordingWriter(path, {"sensors": ["StrideGuard-R"]}) as rec:
        for i, f in enumerate(frames):
            rec.append_frame(f, arrival_s=i * 0.01)


def test_raw_recording_loads_like_csv(tmp_path: Path) -> None:
    from strideguard.load import load_recording

    csv_rec, _ = read_csv(DATA / "RBDS0041_T25_R_mpu.csv")
    assert csv_rec.acc_mps2 is not None and csv_rec.gyr_dps is not None
    path = tmp_path / "run.sgrec"
    _write_sgrec(path, csv_rec.acc_mps2, csv_rec.gyr_dps, 200, drop=slice(100, 103))
    rec, rep = load_recording(path)
    assert rep.parser == "sgrec"
    assert rec.acc_range_g == 16
    assert rec.sampling_rate_hz == pytest.approx(200.0, rel=1e-3)
    assert len(rec.gaps) == 1 and any("gap" in w for w in rep.warnings)
    assert rec.n_samples == csv_rec.n_samples
    np.testing.assert_allclose(rec.gyr_dps[:100], csv_rec.gyr_dps[:100], atol=0.07)


def test_raw_recording_errors(tmp_path: Path) -> None:
    from strideguard.load import load_recording

    with pytest.raises(InputError, match="no such file"):
        load_recording(tmp_path / "none.sgrec")
    bad = tmp_path / "bad.sgrec"
    bad.write_bytes(b"not a recording")
    with pytest.raises(InputError):
        load_recording(bad)
    with pytest.raises(InputError, match="unsupported"):
        load_recording(tmp_path / "x.parquet")


@pytest.mark.parametrize(
    ("rate", "decimals"),
    [(403.55, 3), (500.0, 3), (203.5, 5), (198.7, 5), (100.0, 3)],
)
def test_rounded_time_stamps_keep_the_true_rate_and_clock(rate: float, decimals: int) -> None:
    # loggers write time stamps rounded to ms or 10 µs: the steps then take two neighbouring
    # values, and the median of those (the old rule) read a 403.55 Hz file as 500 Hz and let a
    # 203.5 Hz file written with 5 decimals drift against its own time stamps
    t, acc, gyr = _synthetic(n=int(300 * rate), rate=rate)
    rec = make_uniform(np.round(t, decimals), acc.copy(), gyr.copy(), source="rounded")
    assert rec.sampling_rate_hz == pytest.approx(rate, rel=2e-4)
    # the grid ends where the file's time stamps end (no drift over the 300 s)
    assert rec.time_s[-1] == pytest.approx(t[-1], abs=1.5 / rate)
    # and a sample lands at its own time: the 8 rad/s wave's phase at the end is kept
    i = rec.time_s.size - 1
    assert rec.gyr_dps[i, 1] == pytest.approx(300 * np.sin(8 * rec.time_s[i]), abs=300 * 8 / rate)
