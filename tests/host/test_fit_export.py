"""FIT export: decoded with Garmin's own SDK, every value and unit checked — above all
that running cadence is in strides/min (the classic ×2 bug)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from garmin_fit_sdk import Decoder, Profile, Stream

from strideguard.cli import main
from strideguard.history import History
from strideguard.history.fit import DEVELOPER_FIELDS, STALE_AFTER_S, strides_per_min, write_fit
from strideguard.history.record import RunRecord
from strideguard.history.stats import running_mask

from .history_helpers import intervals, sim_record

T0 = datetime(2026, 3, 4, 6, 45, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def run() -> RunRecord:
    # two legs, changing pace: cadence and contact time move during the run
    return sim_record(T0, intervals(block_s=30, n=4), duration_s=150, legs="LR")


def decode(path: Path) -> dict:
    stream = Stream.from_file(str(path))
    dec = Decoder(stream)
    assert dec.is_fit() and dec.check_integrity()
    messages, errors = Decoder(Stream.from_file(str(path))).read()
    assert errors == []
    return messages


def expected_per_second(run: RunRecord, name: str, t: float) -> float:
    """Independent reading of the rule: the latest running stride per leg with IC ≤ t
    (at most STALE_AFTER_S old), averaged over the legs."""
    vals = []
    for leg in run.legs:
        m = running_mask(leg.strides)
        ic = leg.strides["initial_contact_s"][m]
        v = leg.strides[name][m]
        best = None
        for i in range(ic.size):
            if (
                ic[i] <= t
                and t - ic[i] <= STALE_AFTER_S
                and (best is None or ic[i] > ic[best])
                and np.isfinite(v[i])
            ):
                best = i
        if best is not None:
            vals.append(v[best])
    return float(np.mean(vals)) if vals else float("nan")


def test_strides_per_min_halves_steps_and_keeps_the_fraction() -> None:
    assert strides_per_min(170.0) == (85, 0)
    assert strides_per_min(171.0) == (85, 64)  # 85.5 strides/min
    whole, frac = strides_per_min(163.37)
    assert whole + frac / 128 == pytest.approx(163.37 / 2, abs=1 / 256)
    assert strides_per_min(199.999) == (100, 0)  # a fraction rounding up carries


def test_fit_round_trip_through_the_sdk_decoder(run: RunRecord, tmp_path: Path) -> None:
    path = write_fit(run, tmp_path / "run.fit")
    msgs = decode(path)
    start = T0.replace(microsecond=0)

    (file_id,) = msgs["file_id_mesgs"]
    assert file_id["type"] == "activity" and file_id["time_created"] == start
    (session,) = msgs["session_mesgs"]
    (lap,) = msgs["lap_mesgs"]
    (activity,) = msgs["activity_mesgs"]
    assert session["sport"] == "running" and lap["sport"] == "running"
    assert session["start_time"] == start and activity["num_sessions"] == 1
    duration = int(np.ceil(run.duration_s))
    assert session["total_timer_time"] == session["total_elapsed_time"] == duration
    assert [e["event_type"] for e in msgs["event_mesgs"]] == ["start", "stop"]

    # units as the FIT profile defines them for the fields we write
    fields = {
        f["name"]: f
        for f in next(m for m in Profile["messages"].values() if m["name"] == "record")[
            "fields"
        ].values()
    }
    assert fields["cadence"]["units"] == "rpm" and fields["fractional_cadence"]["units"] == "rpm"
    assert (
        fields["stance_time"]["units"] == "ms"
        and fields["stance_time_percent"]["units"] == "percent"
    )
    assert fields["stance_time_balance"]["units"] == "percent"
    descs = {d["field_definition_number"]: d for d in msgs["field_description_mesgs"]}
    assert {k: (descs[k]["field_name"], descs[k]["units"]) for k in descs} == {
        key: (name, units) for key, name, units, _ in DEVELOPER_FIELDS
    }

    records = msgs["record_mesgs"]
    assert len(records) > 0.9 * (duration - 25)  # every second of running, none standing
    cadences = []
    for rec in records:
        t = (rec["timestamp"] - start).total_seconds()
        steps = expected_per_second(run, "cadence_spm", t)
        strides = rec["cadence"] + rec["fractional_cadence"]
        # strides/min: half the steps/min, to 1/128
        assert strides == pytest.approx(steps / 2, abs=1 / 256 + 1e-9), t
        cadences.append(strides)
        assert rec["stance_time"] == pytest.approx(
            1000 * expected_per_second(run, "contact_time_s", t), abs=0.051
        )
        assert rec["stance_time_percent"] == pytest.approx(
            100 * expected_per_second(run, "duty_factor", t), abs=0.0051
        )
        left = expected_per_second(
            RunRecord(run.started_utc, run.duration_s, "import", [run.legs[0]]), "contact_time_s", t
        )
        right = expected_per_second(
            RunRecord(run.started_utc, run.duration_s, "import", [run.legs[1]]), "contact_time_s", t
        )
        if np.isfinite(left) and np.isfinite(right):
            assert rec["stance_time_balance"] == pytest.approx(
                100 * left / (left + right), abs=0.0051
            )
        dev = rec["developer_fields"]
        for key, _name, _units, column in DEVELOPER_FIELDS:
            assert dev[key] == pytest.approx(
                expected_per_second(run, column, t), rel=1e-5, abs=1e-3
            )
    # the ×2 bug would put these at 150-180: running strides are 75-95 per minute
    assert 70 < np.median(cadences) < 100
    steps_median = np.nanmedian(
        np.concatenate([leg.strides["cadence_spm"][running_mask(leg.strides)] for leg in run.legs])
    )
    assert session["avg_running_cadence"] + session["avg_fractional_cadence"] == pytest.approx(
        np.mean(cadences), abs=1 / 128
    )
    assert abs(2 * np.mean(cadences) - steps_median) < 4.0
    assert session["max_running_cadence"] + session["max_fractional_cadence"] == pytest.approx(
        max(cadences), abs=1 / 128
    )
    counts = [int(running_mask(leg.strides).sum()) for leg in run.legs]
    assert session["total_strides"] == round(np.mean(counts))
    assert session["avg_stance_time"] == pytest.approx(
        np.mean([r["stance_time"] for r in records]), abs=0.1
    )


def test_export_cli_from_the_history(
    run: RunRecord, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.sqlite"
    with History(db) as h:
        run_id = h.add_run(run).run_id
    out = tmp_path / "out" / "last.fit"
    assert main(["export", "last", "--fit", str(out), "--db", str(db)]) == 0
    assert f"run {run_id} -> {out}" in capsys.readouterr().out
    msgs = decode(out)
    assert msgs["session_mesgs"][0]["total_strides"] > 50
    assert not list(out.parent.glob(".*.tmp"))
    assert main(["export", "7", "--fit", str(out), "--db", str(db)]) == 2
    assert "no run 7" in capsys.readouterr().err


def test_a_run_without_running_strides_is_refused(run: RunRecord, tmp_path: Path) -> None:
    from strideguard.errors import InputError
    from strideguard.history.record import LegRun

    standing = RunRecord(
        T0,
        60.0,
        "import",
        [LegRun(0, "s", "R", {k: v[:0] for k, v in run.legs[0].strides.items()})],
    )
    with pytest.raises(InputError, match="no running strides"):
        write_fit(standing, tmp_path / "x.fit")
    assert not (tmp_path / "x.fit").exists()
