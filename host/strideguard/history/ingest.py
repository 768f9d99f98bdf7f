"""Building :class:`~strideguard.history.record.RunRecord` objects: from a finished live
run (what ``strideguard live`` adds at its end) and from a file (``strideguard import``).

A file is analysed exactly like ``strideguard analyze`` does it (the same
analysis and the same alert policy, stride by stride), once per sensor stream.
Its SHA-256 is the run's fingerprint, so the same recording is never stored
twice, whether it came in live or by import.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from strideguard.alerts import AlertConfig, PersonalBaseline
from strideguard.errors import InputError
from strideguard.history.record import (
    LegRun,
    RunRecord,
    baselines_of_policy,
    parse_utc,
    strides_from_rows,
    strides_from_table,
)
from strideguard.imudata import ImuRecording
from strideguard.recording import KIND_STATUS, Recording, read_recording

log = logging.getLogger(__name__)


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as hex (the run fingerprint)."""
    return hashlib.sha256(data).hexdigest()


def is_simulated(header: dict[str, Any]) -> bool:
    """Whether a recording header says the data came from simulated sensors."""
    mode = str(header.get("mode", ""))
    return header.get("source") == "simulator" or mode.startswith("virtual")


def firmware_versions(rec: Recording) -> dict[int, str]:
    """Per stream, the firmware version in the last readable status record."""
    from strideguard import protocol as proto

    out: dict[int, str] = {}
    for i in (rec.kind == KIND_STATUS).nonzero()[0].tolist():
        payload = rec.payload(i)
        if len(payload) < proto.STATUS_SIZE_V1:
            continue
        try:
            st = proto.unpack_status(payload)
        except Exception:  # a damaged record: skip it
            continue
        out[int(rec.stream[i])] = f"{st['fw_major']}.{st['fw_minor']}.{st['fw_patch']}"
    return out


def recording_started_utc(header: dict[str, Any]) -> datetime | None:
    """The recording's ``created_utc`` header field, if readable."""
    text = header.get("created_utc")
    if not isinstance(text, str):
        return None
    try:
        return parse_utc(text)
    except ValueError:
        return None


def record_from_live(
    pipelines: Sequence[Any],
    summary: dict[str, Any],
    recording_path: Path,
    *,
    started_utc: datetime,
    wall_duration_s: float,
) -> RunRecord:
    """The history record of a finished live run.

    Parameters
    ----------
    pipelines
        The run's :class:`~strideguard.live.pipeline.SensorPipeline` objects, in stream order.
    summary
        :meth:`LiveRun.finish() <strideguard.live.run.LiveRun.finish>`'s summary.
    recording_path
        The run's ``.sgrec`` (its header, status records and SHA-256 are read back).
    started_utc
        When the run started (used if the recording cannot be read).
    wall_duration_s
        Wall-clock length (used when the sample counts say nothing).
    """
    header: dict[str, Any] = {}
    fingerprint = None
    fw: dict[int, str] = {}
    try:
        rec = read_recording(recording_path)
        header = rec.header
        fingerprint = sha256_hex(rec.buffer)
        fw = firmware_versions(rec)
    except InputError as exc:  # the run still goes into the history, without the file's facts
        log.warning("history: the recording could not be read back: %s", exc)
    sensors = summary.get("sensors", [])
    legs: list[LegRun] = []
    duration = 0.0
    for stream, p in enumerate(pipelines):
        s = sensors[stream] if stream < len(sensors) else {}
        rate = float(s.get("rate_hz") or 0.0)
        total = int(s.get("samples") or 0) + int(s.get("samples_lost") or 0)
        if rate > 0:
            duration = max(duration, total / rate)
        legs.append(
            LegRun(
                stream=stream,
                sensor=str(p.sensor),
                leg=p.leg,
                strides=strides_from_rows(p.strides),
                alerts=[a.to_dict() for a in p.alerts],
                pain_marks_s=[float(t) for t in getattr(p.policy, "pain_marks_s", [])],
                **baselines_of_policy(p.policy),
                samples=s.get("samples"),
                samples_lost=s.get("samples_lost"),
                rate_hz=rate or None,
                angle_calibrated=bool(s.get("angle_calibrated", False)),
                firmware_version=fw.get(stream),
            )
        )
    started = recording_started_utc(header) or started_utc
    meta: dict[str, Any] = {k: header[k] for k in ("mode", "speed", "sensors") if k in header}
    return RunRecord(
        started_utc=started,
        duration_s=duration if duration > 0 else max(wall_duration_s, 0.0),
        source="live",
        legs=legs,
        simulated=is_simulated(header) if header else False,
        recording_path=str(Path(recording_path).resolve()),
        fingerprint=fingerprint,
        meta=meta,
    )


def record_from_file(
    path: str | Path,
    *,
    config: AlertConfig | None = None,
    baseline: PersonalBaseline | None = None,
    leg: str | None = None,
    started_utc: datetime | None = None,
) -> RunRecord:
    """Analyse a recording (``.sgrec``) or CSV and build its history record.

    Parameters
    ----------
    path
        The file.
    config, baseline
        Alert settings and a stored profile (as ``strideguard analyze`` takes them).
    leg
        Leg of a CSV's sensor (``.sgrec`` files name their sensors).
    started_utc
        Start time; default: the recording's header, or for a CSV its
        modification time minus its duration.

    Raises
    ------
    InputError
        Unreadable file, or no running strides in any of its sensors.
    """
    from strideguard.load import from_imu, load_recording

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.suffix.lower() == ".sgrec":
        from strideguard.frames import to_recording
        from strideguard.recording import decode_stream

        rec = read_recording(path)
        fingerprint = sha256_hex(rec.buffer)
        names = [str(n) for n in (rec.header.get("sensors") or [])]
        fw = firmware_versions(rec)
        imus = []
        for stream in rec.streams():
            decoded = decode_stream(rec, stream)
            if decoded.n_samples == 0:
                continue
            label = names[stream] if stream < len(names) else f"sensor{stream}"
            imus.append(
                (stream, label, from_imu(to_recording(decoded, source=f"{path.name}:{label}")))
            )
        if not imus:
            raise InputError(f"{path}: no decodable frames")
        started = started_utc or recording_started_utc(rec.header)
        simulated = is_simulated(rec.header)
        meta: dict[str, Any] = {
            k: rec.header[k] for k in ("mode", "scenario", "seed", "sensors") if k in rec.header
        }
    else:
        data = _read_bytes(path)
        fingerprint = sha256_hex(data)
        imu, _report = load_recording(path)
        imus = [(0, path.stem, imu)]
        fw = {}
        started = started_utc
        simulated = False
        meta = {}
    from strideguard.ble.receiver import leg_from_name

    labelled = [
        (stream, label, leg_from_name(label) or (leg if len(imus) == 1 else None), imu)
        for stream, label, imu in imus
    ]
    if started is None:
        duration = max(float(imu.duration_s) for _, _, imu in imus)
        started = datetime.fromtimestamp(path.stat().st_mtime - duration, UTC)
    return record_from_imus(
        labelled,
        started_utc=started,
        config=config,
        baseline=baseline,
        simulated=simulated,
        recording_path=str(path.resolve()),
        fingerprint=fingerprint,
        meta=meta,
        firmware=fw,
        source_name=str(path),
    )


def record_from_imus(
    imus: Sequence[tuple[int, str, str | None, ImuRecording]],
    *,
    started_utc: datetime,
    config: AlertConfig | None = None,
    baseline: PersonalBaseline | None = None,
    simulated: bool = False,
    recording_path: str | None = None,
    fingerprint: str | None = None,
    meta: dict[str, Any] | None = None,
    firmware: dict[int, str] | None = None,
    source_name: str = "input",
) -> RunRecord:
    """Analyse loaded recordings (one per sensor) and build an imported run's record.

    Parameters
    ----------
    imus
        ``(stream, sensor label, leg, recording)`` per sensor.
    started_utc
        When the run started.
    config, baseline
        Alert settings and a stored profile.
    simulated, recording_path, fingerprint, meta
        As in :class:`~strideguard.history.record.RunRecord`.
    firmware
        Firmware version per stream.
    source_name
        Name used in messages.

    Raises
    ------
    InputError
        No running strides in any of the sensors.
    """
    config = config or AlertConfig()
    legs: list[LegRun] = []
    duration = 0.0
    problems: list[str] = []
    for stream, label, leg, imu in imus:
        try:
            legs.append(
                _analyse_leg(
                    stream, label, leg, imu, config, baseline, (firmware or {}).get(stream)
                )
            )
        except InputError as exc:
            problems.append(str(exc))
            continue
        duration = max(duration, float(imu.duration_s))
    if not legs:
        raise InputError(problems[0] if problems else f"{source_name}: nothing to analyse")
    for p in problems:
        log.warning("import %s: %s", source_name, p)
    return RunRecord(
        started_utc=started_utc,
        duration_s=duration,
        source="import",
        legs=legs,
        simulated=simulated,
        recording_path=recording_path,
        fingerprint=fingerprint,
        meta=dict(meta or {}),
    )


def _analyse_leg(
    stream: int,
    label: str,
    leg: str | None,
    imu: Any,
    config: AlertConfig,
    baseline: PersonalBaseline | None,
    firmware_version: str | None,
) -> LegRun:
    from strideguard.alerts.offline import alerts_for_strides
    from strideguard.analysis import analyze

    tic = time.perf_counter()
    result = analyze(imu, leg=leg, alert_config=config)
    calibrated = bool(result.alignment.calibrated) if result.alignment else False
    policy = alerts_for_strides(
        result.strides.rows(),
        pain_marks_s=imu.pain_marks_s,
        acknowledgements=getattr(imu, "acknowledgements", ()),
        gaps=imu.gaps,
        config=config,
        baseline=baseline,
        leg=leg,
        angle_calibrated=calibrated,
        end_time_s=float(imu.time_s[-1]) if imu.time_s.size else None,
    )
    log.debug("import %s: analysed in %.2f s", label, time.perf_counter() - tic)
    return LegRun(
        stream=stream,
        sensor=label,
        leg=leg,
        strides=strides_from_table(result.strides),
        alerts=[a.to_dict() for a in policy.alerts_],
        pain_marks_s=[float(t) for t in imu.pain_marks_s],
        **baselines_of_policy(policy),
        samples=int(imu.n_samples),
        samples_lost=int(sum(round((b - a) * imu.sampling_rate_hz) for a, b in imu.gaps)),
        rate_hz=float(imu.sampling_rate_hz),
        angle_calibrated=calibrated,
        firmware_version=firmware_version,
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
