"""`strideguard analyze FILE --pair OTHER`: two CSV files, one per leg, paired (#16).

CSV files have no shared clock. The offset comes from ``--pair-offset-s`` or
from the two legs' stride rhythms (:mod:`strideguard.legclock`); when neither
can say it the pairing is refused with one line. Checked on a simulated
two-leg run written as two CSV files (one of them put on another clock), on
the real left and right files of one treadmill trial (RBDS, one clock), and on
rhythms that carry no common fingerprint.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from strideguard.cli import main
from strideguard.errors import InputError
from strideguard.legclock import MIN_STRIDES, rhythm_offset_s
from strideguard.symmetry import SYMMETRY_FEATURE_NAMES

DATA = Path(__file__).resolve().parents[1] / "data"
#: the left file's clock runs this much ahead of the right one's (any value will do)
SHIFT_S = 1234.567


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _json(*argv: str) -> dict[str, Any]:
    code, out, err = _cli("analyze", *argv, "--format", "json")
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


@pytest.fixture(scope="module")
def limp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """guarded_limp (right leg) as a two-sensor recording and as two CSV files; the left
    CSV also on another clock (+SHIFT_S) and without its last 40 s."""
    d = tmp_path_factory.mktemp("pair")
    code, _, err = _cli(
        "simulate", "guarded_limp", "--duration", "300", "--rate", "200", "--seed", "4",
        "--leg", "both", "--frames", str(d / "limp.sgrec"), "--out", str(d / "limp.csv"),
    )  # fmt: skip
    assert code == 0, err
    lines = (d / "limp.L.csv").read_text().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        t, rest = line.split(",", 1)
        if float(t) <= 260.0:
            out.append(f"{float(t) + SHIFT_S:.6f},{rest}")
    (d / "shifted.L.csv").write_text("\n".join(out) + "\n")
    return d


@pytest.mark.slow
def test_two_csv_files_on_different_clocks_pair_by_their_stride_rhythms(limp: Path) -> None:
    doc = _json(str(limp / "limp.R.csv"), "--leg", "R", "--pair", str(limp / "shifted.L.csv"))
    sym = doc["symmetry"]
    pairing = sym["pairing"]
    assert pairing["method"] == "stride rhythm"
    # the left file's times + offset = the right file's: -SHIFT_S, to well within a quarter stride
    assert pairing["offset_s"] == pytest.approx(-SHIFT_S, abs=0.05)
    assert pairing["match"] > 1.0 and pairing["strides_compared"] > 300
    # the same numbers as the two-sensor recording of the same run (its own host clock),
    # over the same stretch: the left file ends 40 s early
    ref = _json(str(limp / "limp.sgrec"), "--sensor", "1")["symmetry"]
    rows = [r for r in ref["stride_pairs"] if r["initial_contact_r_s"] < 259.0]
    assert abs(sym["pairs"] - len(rows)) <= 3
    for name in SYMMETRY_FEATURE_NAMES:
        expected = float(np.nanmedian([np.nan if r[name] is None else r[name] for r in rows]))
        assert sym["features"][name]["median"] == pytest.approx(expected, abs=0.5), name
    # the limp is named on the right leg, as with the recording
    stops = [a for a in doc["alerts"] if a["severity"] == "stop" and a["state"] == "raised"]
    assert stops and "right leg" in stops[0]["title"]


@pytest.mark.slow
def test_a_given_offset_pairs_as_the_recording_does(limp: Path) -> None:
    given = _json(
        str(limp / "limp.L.csv"), "--leg", "L", "--pair", str(limp / "limp.R.csv"),
        "--pair-offset-s", "0",
    )  # fmt: skip
    sym = given["symmetry"]
    assert sym["pairing"] == {"file": str(limp / "limp.R.csv"), "method": "given", "offset_s": 0.0}
    ref = _json(str(limp / "limp.sgrec"))["symmetry"]
    assert abs(sym["pairs"] - ref["pairs"]) <= 3
    for name in SYMMETRY_FEATURE_NAMES:
        assert sym["features"][name]["median"] == pytest.approx(
            ref["features"][name]["median"], abs=0.5
        ), name
    code, out, _ = _cli(
        "analyze", str(limp / "limp.L.csv"), "--leg", "L", "--pair", str(limp / "limp.R.csv"),
        "--pair-offset-s", "0",
    )  # fmt: skip
    assert code == 0 and "the two files' clocks: +0.000 s, given (--pair-offset-s)" in out


def test_real_left_and_right_files_of_one_trial(capsys: pytest.CaptureFixture[str]) -> None:
    """RBDS: 30 s of treadmill running, both shins on one clock (force-plate truth)."""
    right, left = DATA / "RBDS0041_T25_R_mpu.csv", DATA / "RBDS0041_T25_L_mpu.csv"
    # 38 strides: too few to match rhythms; refused with one line that says what to do
    code, _, err = _cli("analyze", str(right), "--leg", "R", "--pair", str(left))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "too few strides" in err and "--pair-offset-s" in err
    # they share the treadmill's clock: paired with offset 0
    sym = _json(str(right), "--leg", "R", "--pair", str(left), "--pair-offset-s", "0")["symmetry"]
    assert sym["pairs"] >= 35
    truth = {
        leg: json.loads((DATA / f"RBDS0041_T25_{leg}_mpu.truth.json").read_text())["strides"]
        for leg in "LR"
    }
    # the truth's contact-time symmetry over the same pairs (each right stride with the left
    # stride that began during it)
    values = []
    for a, b in zip(truth["R"], truth["R"][1:], strict=False):
        during = [
            s
            for s in truth["L"]
            if a["initial_contact_s"] <= s["initial_contact_s"] < b["initial_contact_s"]
        ]
        if during:
            values.append(
                200 * math.tanh(0.5 * math.log(a["contact_time_s"] / during[0]["contact_time_s"]))
            )
    # contact times from the shin are a few ms off the force plate's: within 2 points
    assert sym["features"]["contact_time_s"]["median"] == pytest.approx(
        float(np.median(values)), abs=2.0
    )


def _steps(n: int, sd_s: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.cumsum(0.36 + sd_s * rng.standard_normal(2 * n))


def test_rhythms_without_a_common_fingerprint_are_refused() -> None:
    # a metronome-perfect runner: every lag matches equally, no offset can be told
    landings = _steps(400, 0.0)
    with pytest.raises(InputError, match="do not identify one offset"):
        rhythm_offset_s(landings[0::2], landings[1::2] + 50.0)
    # two legs from two different runs (independent steps)
    a, b = _steps(400, 0.01, seed=1), _steps(400, 0.01, seed=2)
    with pytest.raises(InputError, match="do not identify one offset"):
        rhythm_offset_s(a[0::2], b[1::2])
    # too short
    short = _steps(MIN_STRIDES - 5, 0.01)
    with pytest.raises(InputError, match="too few strides"):
        rhythm_offset_s(short[0::2], short[1::2])
    # the left device's clock runs 0.2 % fast: 0.6 s apart after a 5-minute run
    long = _steps(400, 0.01, seed=3)
    with pytest.raises(InputError, match="drift apart"):
        rhythm_offset_s(long[0::2], long[1::2] * 1.002 + 7.0)


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_the_offset_is_found_within_a_tenth_of_a_stride(seed: int) -> None:
    landings = _steps(300, 0.008, seed=seed)
    # the left file's clock: 93.21 s behind, with 25 strides lost at its start
    right, left = landings[0::2], landings[1::2][25:] - 93.21
    m = rhythm_offset_s(right, left)
    assert m.offset_s == pytest.approx(93.21, abs=0.072)  # 0.1 stride
    assert m.strides >= 250 and m.peak_z >= 5


def test_pair_options_are_checked_first(limp: Path, tmp_path: Path) -> None:
    right = str(limp / "limp.R.csv")
    cases = [
        (("analyze", right, "--pair-offset-s", "0"), "--pair-offset-s is for --pair"),
        (("analyze", right, "--pair", str(limp / "limp.L.csv")), "say which leg"),
        (("analyze", right, "--leg", "R", "--pair", str(tmp_path / "none.csv")), "no such file"),
        (("analyze", right, "--leg", "R", "--pair", right), "not FILE again"),
        (("analyze", str(limp / "limp.sgrec"), "--pair", right), "already holds both legs"),
        (
            (
                "analyze",
                right,
                "--leg",
                "R",
                "--pair",
                str(limp / "limp.L.csv"),
                "--pair-offset-s",
                "100000",
            ),
            "overlap",
        ),
    ]
    for argv, words in cases:
        code, _, err = _cli(*argv)
        assert code == 2 and words in err and err.count("\n") == 1, (argv, err)
