"""Bad input, table-driven: every command answers in one line, exit 2, and leaves no file.

Two tables:

- every numeric option of every command (the product's and the dev kit's), read
  from the parser itself, with NaN, infinities, text, an empty string and values
  just outside its declared range (and a fraction for whole numbers): a new
  option is covered the day it is added;
- the cases of issue #14 and their relatives: option files that are null, a
  list, binary, a JSON bomb, ``/dev/zero``, a baseline profile with each field
  broken, outputs where nothing can be written, an unknown scenario, ...

Each case runs ``strideguard.cli.main`` in a fresh folder and checks: exit code 2,
exactly one line on stderr starting ``strideguard: error:`` with the expected
words, no "Traceback" and no "unexpected" (the last-resort handler of a bug),
and no file left behind. A few run as real processes too.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from strideguard import cli
from strideguard.cli import EXIT_INTERNAL, build_parser, main
from strideguard.cliargs import Number, iter_options, numeric_type, unbounded_numeric_options

from .profile_helpers import DELETE, profile, write_json

# ------------------------------------------------------------------ numeric options

#: arguments a command needs besides the option under test
REQUIRED: dict[str, list[str]] = {
    "flash": ["--port", "x"],
    "replay": ["run.sgrec"],
    "export": ["run.sgrec"],
    "simulate": ["steady", "--out", "x.csv"],
    "analyze": ["--example", "--out", "outdir"],
}


def _outside(t: Number) -> list[str]:
    """Texts just outside the declared range."""
    below = t.lo if t.lo_open else t.lo - (1 if t.integer else max(abs(t.lo) * 0.01, 1e-3))
    above = t.hi if t.hi_open else t.hi + (1 if t.integer else max(abs(t.hi) * 0.01, 1e-3))
    fmt = (lambda v: str(int(v))) if t.integer else (lambda v: repr(float(v)))
    return [fmt(below), fmt(above)]


def numeric_cases() -> list[tuple[str, list[str], str]]:
    parser = build_parser()
    cases = []
    for command, action in iter_options(parser):
        t = numeric_type(parser, action)
        if t is None or not command:
            continue
        option = action.option_strings[0]
        values = ["nan", "inf", "-inf", "1e999", "abc", "", *_outside(t)]
        if t.integer:
            values.append("1.5")
        for v in values:
            # a nested command ("service install") is two words on the command line
            argv = [*command.split(), *REQUIRED.get(command, []), f"{option}={v}"]
            cases.append((f"{command} {option} {v!r}", argv, f"{command} {option}: must be"))
    return cases


NUMERIC_CASES = numeric_cases()


def test_every_numeric_option_declares_its_range() -> None:
    assert unbounded_numeric_options(build_parser()) == []
    # dev kit commands are in the table as well as the product's
    commands = {argv[0] for _, argv, _ in NUMERIC_CASES}
    assert {
        "simulate",
        "demo",
        "virtual-board",
        "eval-alerts",
        "live",
        "replay",
        "scan",
    } <= commands


# ------------------------------------------------------------------ file and issue cases

Setup = Callable[[Path], None]


@dataclass
class Case:
    """One bad input: the command line, words the error must contain, files to make first."""

    name: str
    argv: list[str]
    expect: str
    files: dict[str, bytes | Callable[[Path], None]] = field(default_factory=dict)


def _bytes(text: str) -> bytes:
    return text.encode()


def _json(data: object) -> Callable[[Path], None]:
    return lambda p: write_json(p, data) and None


def _deep(n: int = 100_000) -> bytes:
    return b"[" * n + b"]" * n


def _csv_with_last_time(value: str, shift_half: bool = False) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        from strideguard.commands.analyze import example_files

        lines = example_files()[0].read_text().splitlines()
        if shift_half:  # half the file much later: not one wild value
            head = lines[0]
            rows = lines[1:]
            half = len(rows) // 2
            moved = []
            for row in rows[half:]:
                t, rest = row.split(",", 1)
                moved.append(f"{float(t) + float(value)},{rest}")
            lines = [head, *rows[:half], *moved]
        else:
            t, rest = lines[-1].split(",", 1)
            lines[-1] = f"{value},{rest}"
        path.write_text("\n".join(lines) + "\n")

    return make


#: baseline profiles broken one field at a time (issue #14: each turned "stop" off or crashed)
BROKEN_PROFILES: dict[str, tuple[object, str]] = {
    "null": (None, "a JSON null, not an object"),
    "list": ([], "a JSON array"),
    "number": (42, "a JSON number"),
    "string": ("profile", "a JSON string"),
    "no-schema": (profile(schema=DELETE), "schema None"),
    "wrong-schema": (profile(schema="strideguard.baseline/9"), "schema"),
    "cadence-nan": (profile(cadence_ref_spm=math.nan), "cadence_ref_spm = nan is not a finite"),
    "cadence-inf": (profile(cadence_ref_spm=math.inf), "cadence_ref_spm = inf is not a finite"),
    "cadence-negative": (profile(cadence_ref_spm=-160.0), "cadence_ref_spm = -160 is out of"),
    "cadence-zero": (profile(cadence_ref_spm=0), "cadence_ref_spm = 0 is out of range"),
    "cadence-string": (profile(cadence_ref_spm="160"), "cadence_ref_spm must be a number"),
    "cadence-bool": (profile(cadence_ref_spm=True), "cadence_ref_spm must be a number"),
    "cadence-huge-int": (profile(cadence_ref_spm=10**400), "is not a finite number"),
    "cadence-missing": (profile(cadence_ref_spm=DELETE), "cadence_ref_spm is missing"),
    "models-empty": (profile(models={}), "models lacks peak_midswing_gyr_dps"),
    "models-list": (profile(models=[]), "models must be an object"),
    "models-only-unknown": (
        profile(models={"foo": {"intercept": 1.0, "slope_per_spm": 0.0, "sd": 0.1}}),
        "models has an unknown feature foo",
    ),
    "model-sd-nan": (
        profile(**{"models.peak_midswing_gyr_dps.sd": math.nan}),
        "models.peak_midswing_gyr_dps.sd = nan",
    ),
    "model-sd-zero": (
        profile(**{"models.peak_midswing_gyr_dps.sd": 0}),
        "models.peak_midswing_gyr_dps.sd = 0 is out of range",
    ),
    "model-sd-negative": (
        profile(**{"models.late_swing_peak_decel_dps2.sd": -0.1}),
        "models.late_swing_peak_decel_dps2.sd = -0.1",
    ),
    "model-sd-string": (
        profile(**{"models.peak_midswing_gyr_dps.sd": "0.02"}),
        "sd must be a number",
    ),
    "model-intercept-huge": (
        profile(**{"models.peak_midswing_gyr_dps.intercept": 1e308}),
        "is not a plausible peak_midswing_gyr_dps",
    ),
    "model-extra-field": (
        profile(**{"models.peak_midswing_gyr_dps.bias": 1.0}),
        "has an unknown field bias",
    ),
    "model-missing-slope": (
        profile(**{"models.peak_midswing_gyr_dps.slope_per_spm": DELETE}),
        "slope_per_spm is missing",
    ),
    "medians-missing-feature": (
        profile(**{"medians.late_swing_peak_decel_dps2": DELETE}),
        "medians lacks late_swing_peak_decel_dps2",
    ),
    "median-negative": (
        profile(**{"medians.peak_midswing_gyr_dps": -500.0}),
        "is not a plausible peak_midswing_gyr_dps",
    ),
    "score-sd-zero": (profile(score_sd=0), "score_sd = 0 is out of range"),
    "score-sd-nan": (profile(score_sd=math.nan), "score_sd = nan"),
    "irregularity-sd-zero": (profile(irregularity_log_sd=0.0), "irregularity_log_sd = 0"),
    "irregularity-positive": (profile(irregularity_log=3.0), "irregularity_log = 3"),
    "step-sd-missing": (
        profile(step_sd={"peak_midswing_gyr_dps": 0.05}),
        "step_sd lacks late_swing_peak_decel_dps2",
    ),
    "step-sd-zero": (
        profile(**{"step_sd.peak_midswing_gyr_dps": 0.0}),
        "step_sd.peak_midswing_gyr_dps = 0",
    ),
    "angle-string": (profile(shank_angle_ref_deg="5"), "shank_angle_ref_deg must be a number"),
    "angle-huge": (profile(shank_angle_ref_deg=400.0), "shank_angle_ref_deg = 400"),
    "contact-ref-zero": (profile(contact_ref_s=0.0), "contact_ref_s = 0"),
    "calibrated-string": (profile(angle_calibrated="yes"), "angle_calibrated must be true"),
    "n-strides-float": (profile(n_strides=1.5), "n_strides must be a whole number"),
    "n-strides-negative": (profile(n_strides=-1), "n_strides = -1"),
    "extra-list": (profile(extra=[1]), "extra must be an object"),
}

#: option files that are not what they claim
BAD_OPTION_FILES: dict[str, tuple[bytes | Callable[[Path], None], str]] = {
    "binary": (bytes(range(256)) * 4, "is not UTF-8 text"),
    "json-bomb": (_deep(), "nested too deeply to read"),
    "empty": (b"", "is not valid JSON"),
    "truncated": (b'{"schema": ', "is not valid JSON"),
    "too-large": (b" " * 1_000_001 + b"{}", "larger than 1 MB"),
    "huge-number": (b'{"a": ' + b"9" * 5000 + b"}", "is not valid JSON"),
}

CONFIGS: dict[str, tuple[object, str]] = {
    "null": (None, "expected a table of sections, not a JSON null"),
    "list": ([1, 2], "not a JSON array"),
    "number": (42, "not a JSON number"),
    "unknown-section": ({"nope": {}}, "unknown section [nope]"),
    "unknown-setting-with-newline": (
        {"baseline": {"a\nb": 1}},
        "unknown setting baseline.'a\\nb'",
    ),
    "nan": ({"baseline": {"skip_s": math.nan}}, "baseline.skip_s = nan is out of range"),
    "inf": ({"baseline": {"duration_s": math.inf}}, "baseline.duration_s = inf is out of range"),
    "huge-int": ({"baseline": {"min_strides": 10**400}}, "is out of range"),
    "string": ({"baseline": {"skip_s": "60"}}, "baseline.skip_s must be a number"),
    "bool": ({"baseline": {"skip_s": True}}, "baseline.skip_s must be a number"),
    "section-not-table": ({"baseline": 5}, "[baseline] must be a table"),
}


def file_cases() -> list[Case]:
    cases: list[Case] = []
    # --baseline: refused before anything runs, by every command that takes it
    for key, (data, expect) in BROKEN_PROFILES.items():
        files: dict[str, bytes | Callable[[Path], None]] = {"bl.json": _json(data)}
        cases.append(Case(f"analyze --baseline {key}", ["analyze", "--example", "--baseline", "bl.json"], expect, files))  # fmt: skip
        cases.append(Case(f"replay --baseline {key}", ["replay", "run.sgrec", "--baseline", "bl.json"], expect, files))  # fmt: skip
    for key, (content, expect) in BAD_OPTION_FILES.items():
        files = {"f.json": content}
        cases.append(Case(f"analyze --baseline {key}", ["analyze", "--example", "--baseline", "f.json"], expect, files))  # fmt: skip
        cases.append(Case(f"analyze --alert-config {key}", ["analyze", "--example", "--alert-config", "f.json"], expect, files))  # fmt: skip
        cases.append(Case(f"live --alert-config {key}", ["live", "--virtual", "steady", "--alert-config", "f.json"], expect, files))  # fmt: skip
        cases.append(Case(f"eval-alerts --alert-config {key}", ["eval-alerts", "--quick", "--alert-config", "f.json"], expect, files))  # fmt: skip
    cases.append(Case("analyze --baseline /dev/zero", ["analyze", "--example", "--baseline", "/dev/zero"], "larger than 1 MB"))  # fmt: skip
    cases.append(Case("replay --alert-config /dev/zero", ["replay", "run.sgrec", "--alert-config", "/dev/zero"], "larger than 1 MB"))  # fmt: skip
    cases.append(Case("analyze --baseline folder", ["analyze", "--example", "--baseline", "."], "cannot read baseline profile"))  # fmt: skip
    cases.append(Case("live --baseline missing", ["live", "--virtual", "steady", "--baseline", "nope.json"], "--baseline nope.json: no such file"))  # fmt: skip
    cases.append(Case("live --baseline /dev/zero", ["live", "--virtual", "steady", "--baseline", "/dev/zero"], "not a regular file"))  # fmt: skip
    cases.append(Case("toml bomb", ["analyze", "--example", "--alert-config", "c.toml"], "nested too deeply to read", {"c.toml": b"a = " + b"[" * 50_000 + b"]" * 50_000}))  # fmt: skip
    cases.append(Case("toml binary", ["analyze", "--example", "--alert-config", "c.toml"], "is not UTF-8 text", {"c.toml": b"\xff\xfe\x00a"}))  # fmt: skip
    for key, (data, expect) in CONFIGS.items():
        files = {"c.json": _json(data)}
        cases.append(Case(f"analyze --alert-config {key}", ["analyze", "--example", "--alert-config", "c.json"], expect, files))  # fmt: skip
        cases.append(Case(f"replay --alert-config {key}", ["replay", "run.sgrec", "--alert-config", "c.json"], expect, files))  # fmt: skip
    # outputs that cannot be written: found before the run, not after it
    for cmd in (["analyze", "--example"], ["live", "--virtual", "steady"]):
        name = cmd[0]
        cases.append(Case(f"{name} --save-baseline in a missing folder", [*cmd, "--save-baseline", "/nonexistent/x.json"], "folder /nonexistent does not exist"))  # fmt: skip
        cases.append(Case(f"{name} --save-baseline a folder", [*cmd, "--save-baseline", "."], "is a folder, not a file"))  # fmt: skip
        cases.append(Case(f"{name} --save-baseline read-only", [*cmd, "--save-baseline", "/proc/x.json"], "cannot write there"))  # fmt: skip
    cases.append(Case("analyze --out is a file", ["analyze", "--example", "--out", "f.txt"], "exists and is not a folder", {"f.txt": b"x"}))  # fmt: skip
    cases.append(Case("analyze --out under a file", ["analyze", "--example", "--out", "f.txt/sub"], "is not a folder", {"f.txt": b"x"}))  # fmt: skip
    cases.append(Case("live --record exists", ["live", "--virtual", "steady", "--record", "r.sgrec"], "exists; not overwriting", {"r.sgrec": b"x"}))  # fmt: skip
    cases.append(Case("live --record under a file", ["live", "--virtual", "steady", "--record", "f.txt/r.sgrec"], "is not a folder", {"f.txt": b"x"}))  # fmt: skip
    cases.append(Case("simulate --out in a missing folder", ["simulate", "steady", "--duration", "30", "--out", "nope/x.csv"], "folder nope does not exist"))  # fmt: skip
    cases.append(Case("simulate --frames exists", ["simulate", "steady", "--duration", "30", "--frames", "f.sgrec"], "exists; not overwriting", {"f.sgrec": b"x"}))  # fmt: skip
    # issue #14's command lines
    cases.append(Case("simulate --seed -1", ["simulate", "steady", "--duration", "30", "--out", "x.csv", "--seed", "-1"], "simulate --seed: must be a whole number from 0"))  # fmt: skip
    cases.append(Case("simulate --clock-error nan", ["simulate", "steady", "--duration", "30", "--out", "x.csv", "--clock-error", "nan"], "simulate --clock-error: must be a number in [-0.05, 0.05]"))  # fmt: skip
    cases.append(Case("simulate --disconnects -3", ["simulate", "steady", "--duration", "30", "--frames", "x.sgrec", "--disconnects", "-3"], "simulate --disconnects: must be"))  # fmt: skip
    cases.append(Case("replay --speed nan", ["replay", "run.sgrec", "--speed", "nan"], "replay --speed: must be"))  # fmt: skip
    cases.append(Case("replay --speed inf", ["replay", "run.sgrec", "--speed", "inf"], "replay --speed: must be"))  # fmt: skip
    cases.append(Case("live --virtual nosuch", ["live", "--virtual", "nosuch", "--record", "r.sgrec"], "unknown scenario 'nosuch'"))  # fmt: skip
    # the pocket host (#18): options that belong to --headless, and what it cannot take
    cases.append(Case("live --end-still without --headless", ["live", "--virtual", "steady", "--end-still", "3"], "--end-still is only for --headless"))  # fmt: skip
    cases.append(Case("live --recordings without --headless", ["live", "--virtual", "steady", "--recordings", "r"], "--recordings is only for --headless"))  # fmt: skip
    cases.append(Case("live --headless --record", ["live", "--headless", "--virtual", "steady", "--record", "r.sgrec"], "every run gets its own"))  # fmt: skip
    cases.append(Case("live --headless --save-baseline", ["live", "--headless", "--virtual", "steady", "--save-baseline", "b.json"], "--save-baseline is not available with --headless"))  # fmt: skip
    cases.append(Case("live --headless --recordings a file", ["live", "--headless", "--virtual", "steady", "--recordings", "f.txt"], "--recordings f.txt: not a folder", {"f.txt": b"x"}))  # fmt: skip
    cases.append(Case("live --headless --recordings under a file", ["live", "--headless", "--virtual", "steady", "--recordings", "f.txt/r"], "cannot create it", {"f.txt": b"x"}))  # fmt: skip
    cases.append(Case("service install --alert-config missing", ["service", "install", "--user", "--print", "--alert-config", "nope.toml"], "--alert-config nope.toml: no such file"))  # fmt: skip
    cases.append(Case("service install --alert-config bad", ["service", "install", "--user", "--print", "--alert-config", "f.json"], "must be", {"f.json": b'{"baseline": {"skip_s": "60"}}'}))  # fmt: skip
    cases.append(Case("flash --rate 300", ["flash", "--port", "x", "--rate", "300"], "choose from 100, 200, 250, 500, 1000"))  # fmt: skip
    cases.append(Case("virtual-board --rate 300", ["virtual-board", "--rate", "300"], "choose from 100, 200, 250, 500, 1000"))  # fmt: skip
    cases.append(Case("unknown option", ["analyze", "--frobnicate"], "unrecognized arguments: --frobnicate"))  # fmt: skip
    cases.append(Case("missing argument", ["replay"], "the following arguments are required: recording"))  # fmt: skip
    # data files
    cases.append(Case("analyze time_s spans months", ["analyze", "x.csv"], "gaps far longer than the data", {"x.csv": _csv_with_last_time("1e7", shift_half=True)}))  # fmt: skip
    cases.append(Case("analyze binary csv", ["analyze", "x.csv"], "missing column time_s", {"x.csv": bytes(range(256))}))  # fmt: skip
    cases.append(Case("replay not a recording", ["replay", "x.sgrec"], "not a strideguard recording", {"x.sgrec": b"garbage"}))  # fmt: skip
    cases.append(Case("export not a recording", ["export", "x.sgrec"], "not a strideguard recording", {"x.sgrec": b"garbage"}))  # fmt: skip
    cases.append(Case("export missing", ["export", "nope.sgrec"], "cannot read nope.sgrec"))
    return cases


FILE_CASES = file_cases()


def _files(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*")}


@pytest.fixture(autouse=True)
def _one_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the parser once for the whole table (it is not changed by parsing)."""
    monkeypatch.setattr(cli, "build_parser", lambda: PARSER)


PARSER = build_parser()


def check_refused(
    argv: list[str],
    expect: str,
    folder: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``main(argv)`` in ``folder``: exit 2, one line, the expected words, no new file."""
    monkeypatch.chdir(folder)
    before = _files(folder)
    capfd.readouterr()
    rc = main(argv)
    out, err = capfd.readouterr()
    lines = err.strip().splitlines()
    assert rc == 2, (rc, err)
    assert out == "", out  # nothing that looks like a result
    assert len(lines) == 1, err
    assert lines[0].startswith("strideguard: error: "), err
    assert "Traceback" not in err and "unexpected" not in err
    assert expect in lines[0], lines[0]
    assert _files(folder) == before, "a file was left behind"
    assert rc != EXIT_INTERNAL


@pytest.mark.parametrize(("argv", "expect"), [c[1:] for c in NUMERIC_CASES], ids=[c[0] for c in NUMERIC_CASES])  # fmt: skip
def test_numeric_option_out_of_range_or_not_finite(
    argv: list[str],
    expect: str,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check_refused(argv, expect, tmp_path, capfd, monkeypatch)


@pytest.mark.parametrize("case", FILE_CASES, ids=[c.name for c in FILE_CASES])
def test_bad_file_or_command_line(
    case: Case, tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, content in case.files.items():
        path = tmp_path / name
        if callable(content):
            content(path)
        else:
            path.write_bytes(content)
    check_refused(case.argv, case.expect, tmp_path, capfd, monkeypatch)


def test_the_table_is_large_enough() -> None:
    assert len(NUMERIC_CASES) + len(FILE_CASES) >= 200


def test_one_wild_time_stamp_is_dropped_not_fatal(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last ``time_s`` at 1e6 or 1e9 s (issue #14: MemoryError) is one corrupt sample."""
    monkeypatch.chdir(tmp_path)
    clean = main(["analyze", "--example", "--format", "json"])
    reference = capfd.readouterr().out
    assert clean == 0
    import json

    ref = json.loads(reference)
    for value in ("1e6", "1e9"):
        _csv_with_last_time(value)(tmp_path / f"wild{value}.csv")
        assert main(["analyze", f"wild{value}.csv", "--format", "json"]) == 0
        got = json.loads(capfd.readouterr().out)
        assert any("wild time stamp" in w for w in got["warnings"])
        assert got["duration_s"] == pytest.approx(ref["duration_s"], abs=0.01)
        assert got["summary"]["n_strides"] == ref["summary"]["n_strides"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("argv", "expect"),
    [
        (["simulate", "steady", "--duration", "30", "--out", "x.csv", "--seed", "-1"], "--seed"),
        (["replay", "r.sgrec", "--speed", "inf"], "--speed"),
        (["analyze", "--example", "--baseline", "/dev/zero"], "larger than 1 MB"),
        (["live", "--virtual", "nosuch"], "unknown scenario"),
        (["analyze", "--example", "--save-baseline", "/nonexistent/x.json"], "does not exist"),
    ],
)
def test_as_a_process_too(argv: list[str], expect: str, tmp_path: Path) -> None:
    """The console entry point: one line on stderr, nothing on stdout, exit 2."""
    proc = subprocess.run(
        [sys.executable, "-m", "strideguard", *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONWARNINGS": "error"},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and expect in proc.stderr
    assert list(tmp_path.iterdir()) == []
