"""FIT activity export (Garmin Connect, Strava, TrainingPeaks) with Garmin's FIT SDK.

:func:`fit_activity` turns a stored run into the messages of a FIT activity
file (file id, device info, timer start, one record per second of running,
timer stop, one lap, one session, the activity) and :func:`write_fit` encodes
them with ``garmin_fit_sdk.Encoder`` (written to a temporary name, then renamed).

Units, because this is where running tools go wrong:

* **cadence** in FIT is **strides per minute** for running (the profile's
  ``rpm``: one revolution is one stride, i.e. two steps). strideguard's
  cadence is steps/min (both legs), so it is halved: 170 steps/min is written
  as ``cadence`` 85 plus ``fractional_cadence`` 0 (the fraction in 1/128 rpm).
  Writing steps/min here is the classic ×2 bug.
* **stance_time** is ground contact time in ms (``contact_time_s`` × 1000),
  **stance_time_percent** is the duty factor in %, and with two sensors
  **stance_time_balance** is the left leg's share of the contact time in %
  (the FIT profile does not name the side; Garmin's running dynamics show the
  left share first, and we follow that).
* Tibia angle at initial contact, late-swing peak deceleration and peak tibial
  acceleration have no FIT fields: they go into developer fields of
  strideguard's application id (tools that do not know it ignore them).

Each record holds the values of the latest running stride of each leg whose
initial contact was at most :data:`STALE_AFTER_S` before the record's second
(two legs: their mean; balance from both). Seconds without a running stride
(standing, walking, lost data) get no record.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from strideguard import __version__
from strideguard.atomic import AtomicOutputs, reason
from strideguard.errors import InputError
from strideguard.history.record import RunRecord
from strideguard.history.stats import FloatArray, column, running_mask

#: a stride's values stay current this long after its initial contact
STALE_AFTER_S = 3.0
#: steps per stride: FIT counts strides (one revolution = one stride)
STEPS_PER_STRIDE = 2.0
#: ``fractional_cadence`` resolution (its scale in the FIT profile)
FRACTION_SCALE = 128
#: strideguard's developer data application id (a fixed UUID)
APPLICATION_ID = uuid.UUID("7d2e0000-5a4b-4c6f-9e21-53545244474e")
#: developer fields: key, name, units, stride column, scale to the written value
DEVELOPER_FIELDS: tuple[tuple[int, str, str, str], ...] = (
    (0, "Tibia angle at IC", "deg", "shank_angle_at_ic_deg"),
    (1, "Late-swing braking", "deg/s^2", "late_swing_peak_decel_dps2"),
    (2, "Tibial shock", "g", "peak_tibial_accel_g"),
    (3, "Mid-swing speed", "deg/s", "peak_midswing_gyr_dps"),
)


def strides_per_min(cadence_spm: float) -> tuple[int, int]:
    """Steps/min (both legs) → FIT ``(cadence, fractional_cadence)`` in strides/min.

    ``fractional_cadence`` is the fraction in units of 1/128 stride/min (0–127).
    """
    spm = cadence_spm / STEPS_PER_STRIDE
    whole = int(np.floor(spm))
    frac = round((spm - whole) * FRACTION_SCALE)
    if frac == FRACTION_SCALE:
        whole, frac = whole + 1, 0
    return whole, frac


def software_version() -> float:
    """strideguard's version as FIT's ``software_version`` (``0.1.0`` → 0.1)."""
    parts = [p if p.isdigit() else "0" for p in __version__.split(".")[:2]] + ["0", "0"]
    return float(f"{parts[0]}.{parts[1]}")


def _per_second(times: FloatArray, ic_s: FloatArray, values: FloatArray) -> FloatArray:
    """The value of the latest stride with ``ic_s <= t`` (and within STALE_AFTER_S) at each time."""
    out = np.full(times.shape, np.nan)
    if ic_s.size == 0:
        return out
    k = np.searchsorted(ic_s, times, side="right") - 1
    ok = k >= 0
    kk = np.where(ok, k, 0)
    fresh = ok & (times - ic_s[kk] <= STALE_AFTER_S)
    out[fresh] = values[kk[fresh]]
    return out


def _leg_series(strides: dict[str, FloatArray], seconds: FloatArray) -> dict[str, FloatArray]:
    m = running_mask(strides)
    ic = column(strides, "initial_contact_s")[m]
    order = np.argsort(ic)
    ic = ic[order]
    names = ["cadence_spm", "contact_time_s", "duty_factor"] + [f[3] for f in DEVELOPER_FIELDS]
    return {n: _per_second(seconds, ic, column(strides, n)[m][order]) for n in names}


def _nanmean(stack: list[FloatArray]) -> FloatArray:
    a = np.vstack(stack)
    n = np.isfinite(a).sum(axis=0)
    s = np.where(np.isfinite(a), a, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def fit_activity(run: RunRecord) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """The FIT messages of ``run`` and its developer field descriptions.

    Returns
    -------
    messages, field_descriptions
        What :class:`garmin_fit_sdk.Encoder` takes (``write_mesg`` per message;
        ``field_descriptions`` for its constructor).

    Raises
    ------
    InputError
        If the run has no running strides.
    """
    from garmin_fit_sdk import Profile

    mesg = Profile["mesg_num"]
    start: datetime = run.started_utc.replace(microsecond=0)
    duration = max(int(np.ceil(run.duration_s)), 1)
    seconds = np.arange(duration, dtype=float)
    series = [_leg_series(leg.strides, seconds) for leg in run.legs]
    legs = [leg.leg for leg in run.legs]
    if not series or not any(np.isfinite(s["cadence_spm"]).any() for s in series):
        raise InputError("the run has no running strides to export")
    cadence = _nanmean([s["cadence_spm"] for s in series])
    contact = _nanmean([s["contact_time_s"] for s in series])
    duty = _nanmean([s["duty_factor"] for s in series])
    dev = {f[0]: _nanmean([s[f[3]] for s in series]) for f in DEVELOPER_FIELDS}
    balance = np.full(seconds.shape, np.nan)
    if "L" in legs and "R" in legs:
        left = series[legs.index("L")]["contact_time_s"]
        right = series[legs.index("R")]["contact_time_s"]
        with np.errstate(invalid="ignore", divide="ignore"):
            balance = 100.0 * left / (left + right)

    dev_id = {
        "mesg_num": mesg["DEVELOPER_DATA_ID"],
        "application_id": list(APPLICATION_ID.bytes),
        "application_version": 1,
        "developer_data_index": 0,
    }
    descriptions: dict[int, dict[str, Any]] = {}
    desc_mesgs = []
    for key, name, units, _col in DEVELOPER_FIELDS:
        d = {
            "mesg_num": mesg["FIELD_DESCRIPTION"],
            "developer_data_index": 0,
            "field_definition_number": key,
            "fit_base_type_id": 0x88,  # float32
            "field_name": name,
            "units": units,
            "native_mesg_num": mesg["RECORD"],
        }
        desc_mesgs.append(d)
        descriptions[key] = {"developer_data_id_mesg": dev_id, "field_description_mesg": d}

    out: list[dict[str, Any]] = [
        {
            "mesg_num": mesg["FILE_ID"],
            "type": "activity",
            "manufacturer": "development",
            "product": 0,
            "serial_number": int((run.fingerprint or "0")[:8], 16) or 1,
            "time_created": start,
            "product_name": "strideguard",
        },
        {
            "mesg_num": mesg["DEVICE_INFO"],
            "device_index": "creator",
            "manufacturer": "development",
            "product": 0,
            "product_name": "strideguard",
            "software_version": software_version(),
            "timestamp": start,
        },
        dev_id,
        *desc_mesgs,
        {"mesg_num": mesg["EVENT"], "timestamp": start, "event": "timer", "event_type": "start"},
    ]
    n_records = 0
    for k in np.flatnonzero(np.isfinite(cadence)).tolist():
        whole, frac = strides_per_min(float(cadence[k]))
        rec: dict[str, Any] = {
            "mesg_num": mesg["RECORD"],
            "timestamp": start + timedelta(seconds=int(k)),
            "cadence": whole,
            "fractional_cadence": frac / FRACTION_SCALE,
        }
        if np.isfinite(contact[k]):
            rec["stance_time"] = float(contact[k]) * 1000.0
        if np.isfinite(duty[k]):
            rec["stance_time_percent"] = float(duty[k]) * 100.0
        if np.isfinite(balance[k]):
            rec["stance_time_balance"] = float(balance[k])
        extra = {key: float(v[k]) for key, v in dev.items() if np.isfinite(v[k])}
        if extra:
            rec["developer_fields"] = extra
        out.append(rec)
        n_records += 1
    end = start + timedelta(seconds=duration)
    totals = _totals(run, cadence, contact, duty, balance)
    out.append(
        {"mesg_num": mesg["EVENT"], "timestamp": end, "event": "timer", "event_type": "stop"}
    )
    common = {
        "timestamp": end,
        "start_time": start,
        "total_elapsed_time": float(duration),
        "total_timer_time": float(duration),
        **totals,
    }
    if run.distance_m is not None:
        common["total_distance"] = float(run.distance_m)
    out.append({"mesg_num": mesg["LAP"], "message_index": 0, "sport": "running", **common})
    out.append(
        {
            "mesg_num": mesg["SESSION"],
            "message_index": 0,
            "sport": "running",
            "sub_sport": "generic",
            "first_lap_index": 0,
            "num_laps": 1,
            **common,
        }
    )
    local_offset = end.astimezone().utcoffset() or timedelta(0)
    out.append(
        {
            "mesg_num": mesg["ACTIVITY"],
            "timestamp": end,
            "num_sessions": 1,
            "type": "manual",
            "event": "activity",
            "event_type": "stop",
            "local_timestamp": int((end + local_offset).timestamp()) - 631065600,
            "total_timer_time": float(duration),
        }
    )
    return out, descriptions


def _totals(
    run: RunRecord, cadence: FloatArray, contact: FloatArray, duty: FloatArray, balance: FloatArray
) -> dict[str, Any]:
    """Lap/session averages from the per-second values, and the stride count."""
    out: dict[str, Any] = {}
    ok = np.isfinite(cadence)
    if ok.any():
        avg, avg_frac = strides_per_min(float(np.mean(cadence[ok])))
        top, top_frac = strides_per_min(float(np.max(cadence[ok])))
        out.update(
            avg_cadence=avg,
            avg_fractional_cadence=avg_frac / FRACTION_SCALE,
            max_cadence=top,
            max_fractional_cadence=top_frac / FRACTION_SCALE,
        )
    for name, values, scale in (
        ("avg_stance_time", contact, 1000.0),
        ("avg_stance_time_percent", duty, 100.0),
        ("avg_stance_time_balance", balance, 1.0),
    ):
        good = values[np.isfinite(values)]
        if good.size:
            out[name] = float(np.mean(good)) * scale
    counts = [int(running_mask(leg.strides).sum()) for leg in run.legs]
    if counts:
        out["total_cycles"] = round(float(np.mean(counts)))  # strides (one leg's cycles)
    return out


def encode_fit(run: RunRecord) -> bytes:
    """The FIT activity file of ``run`` as bytes."""
    from garmin_fit_sdk import Encoder

    messages, descriptions = fit_activity(run)
    encoder = Encoder(field_descriptions=descriptions)
    for m in messages:
        encoder.write_mesg(m)
    return bytes(encoder.close())


def write_fit(run: RunRecord, path: str | Path) -> Path:
    """Write the FIT activity file of ``run`` to ``path`` (via a temporary file and a rename).

    Raises
    ------
    InputError
        No running strides, or the file cannot be written.
    """
    path = Path(path)
    data = encode_fit(run)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {reason(exc)}") from None
    with AtomicOutputs(what=str(path)) as out:
        out.path(path).write_bytes(data)
    return path
