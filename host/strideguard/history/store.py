"""The run history: one SQLite file (WAL mode, one transaction per change).

:class:`History` opens (and creates or migrates) the database, adds runs,
lists them, reads one back with its strides, and keeps the day-after answers and
the return-to-run periods. Every SQLite failure becomes one
:class:`HistoryError` line (a damaged file, a locked database, a full disk),
never a traceback. Schema and rules: ``docs/history.md``.
"""

from __future__ import annotations

import functools
import json
import math
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

import numpy as np

from strideguard.errors import InputError
from strideguard.history import schema
from strideguard.history.record import LegRun, RunRecord, format_utc, parse_utc
from strideguard.history.schema import STRIDE_METRICS
from strideguard.history.stats import FloatArray

P = ParamSpec("P")
R = TypeVar("R")

#: how long a writer waits for another process's transaction (ms)
BUSY_TIMEOUT_MS = 5000
#: the ``runs`` columns a listing returns
LISTED_COLUMNS: tuple[str, ...] = (
    "id",
    "started_utc",
    "started_unix_s",
    "duration_s",
    "source",
    "simulated",
    "recording_path",
    "distance_m",
    "n_sensors",
    "legs",
    "firmware_version",
    "angle_calibrated",
    "running_time_s",
    "n_strides",
    "cadence_spm",
    "shank_angle_at_ic_deg",
    "contact_time_s",
    "peak_midswing_gyr_dps",
    "late_swing_peak_decel_dps2",
    "late_swing_load",
    "symmetry_pct",
    "n_alerts",
    "max_severity",
    "n_pain_marks",
)


class HistoryError(InputError):
    """The history database cannot be used (damaged, locked, newer, not ours, disk full)."""


@dataclass(frozen=True)
class AddResult:
    """What :meth:`History.add_run` did: the run's id and whether it was new."""

    run_id: int
    added: bool


@dataclass(frozen=True)
class RecoveryPeriod:
    """A return-to-run period (``strideguard recovery start/end``)."""

    id: int
    leg: str
    started_utc: datetime
    ended_utc: datetime | None
    note: str | None

    def contains(self, t: datetime) -> bool:
        """Whether ``t`` falls in the period (an open period runs until now)."""
        return self.started_utc <= t and (self.ended_utc is None or t < self.ended_utc)


def _translated(method: Callable[P, R]) -> Callable[P, R]:
    """Turn any SQLite error raised by ``method`` into one :class:`HistoryError` line."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as exc:
            self = args[0]
            path = getattr(self, "path", "?")
            raise HistoryError(describe_sqlite_error(path, exc)) from None

    return wrapper


def describe_sqlite_error(path: Path | str, exc: sqlite3.Error) -> str:
    """One line for the runner about what went wrong with the database at ``path``."""
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return (
            f"run history {path} is damaged ({text}); move it aside and strideguard starts a "
            "new one (recordings are separate files: `strideguard import` adds them again)"
        )
    if "locked" in low or "busy" in low:
        return f"run history {path} is in use by another strideguard ({text}); try again"
    if "full" in low:
        return f"run history {path}: the disk is full ({text}); nothing was changed"
    if "readonly" in low or "read-only" in low or "unable to open" in low:
        return f"run history {path} cannot be written or opened ({text})"
    return f"run history {path}: {text}"


class History:
    """The run history in one SQLite file (see the module docstring).

    Parameters
    ----------
    path
        The database file (created with its folder when missing, unless ``create`` is false).
    create
        Create a new database if the file does not exist.

    Raises
    ------
    HistoryError
        Damaged or foreign file, a newer schema, or the file cannot be opened.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with History(pathlib.Path(tempfile.mkdtemp()) / "h.sqlite") as h:
    ...     h.list_runs()
    []
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not self.path.exists():
            if not create:
                raise HistoryError(f"no run history at {self.path} yet")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise HistoryError(
                    f"cannot create the history folder {self.path.parent}: {exc.strerror or exc}"
                ) from None
        elif self.path.is_dir():
            raise HistoryError(f"run history {self.path} is a folder, not a database file")
        self._conn: sqlite3.Connection | None = None
        self._open()

    # ------------------------------------------------------------------ opening

    @_translated
    def _open(self) -> None:
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        self._conn = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # reading the header proves it is an SQLite file at all
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if app_id != schema.APPLICATION_ID and (tables or version):
                raise HistoryError(
                    f"{self.path} is an SQLite file but not a strideguard run history"
                )
            if version > schema.SCHEMA_VERSION:
                raise HistoryError(
                    f"run history {self.path} was written by a newer strideguard "
                    f"(schema {version}, this one knows {schema.SCHEMA_VERSION}): upgrade strideguard"
                )
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise HistoryError(f"run history {self.path}: cannot use WAL mode ({mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            if version < schema.SCHEMA_VERSION:
                self._migrate(version)
            if schema.stride_columns_missing(conn):
                self._add_stride_columns()
        except BaseException:
            conn.close()
            self._conn = None
            raise

    def _migrate(self, version: int) -> None:
        conn = self.conn
        for target in range(version + 1, schema.SCHEMA_VERSION + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                # another process may have migrated meanwhile
                now = int(conn.execute("PRAGMA user_version").fetchone()[0])
                if now < target:
                    schema.MIGRATIONS[target - 1](conn)
                    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
                    conn.execute(f"PRAGMA user_version = {target}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _add_stride_columns(self) -> None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for name in schema.stride_columns_missing(conn):
                conn.execute(f"ALTER TABLE strides ADD COLUMN {name} REAL")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection."""
        if self._conn is None:
            raise HistoryError(f"run history {self.path} is closed")
        return self._conn

    def close(self) -> None:
        """Close the database (safe to call twice)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> History:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """``PRAGMA user_version`` of the open database."""
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    # ------------------------------------------------------------------ adding

    @_translated
    def find_fingerprint(self, fingerprint: str) -> int | None:
        """The id of the run added from the file with this SHA-256, if any."""
        row = self.conn.execute(
            "SELECT id FROM runs WHERE fingerprint = ?", (fingerprint,)
        ).fetchone()
        return None if row is None else int(row[0])

    @_translated
    def add_run(self, run: RunRecord, *, now: datetime | None = None) -> AddResult:
        """Store ``run`` with all its strides, alerts, pain marks and baselines in one transaction.

        A run whose ``fingerprint`` is already stored is not added again (the
        existing id is returned with ``added=False``).
        """
        conn = self.conn
        summary = run.summary()
        added_utc = format_utc(now or datetime.now(UTC))
        conn.execute("BEGIN IMMEDIATE")
        try:
            if run.fingerprint is not None:
                row = conn.execute(
                    "SELECT id FROM runs WHERE fingerprint = ?", (run.fingerprint,)
                ).fetchone()
                if row is not None:
                    conn.execute("ROLLBACK")
                    return AddResult(int(row[0]), False)
            cur = conn.execute(
                "INSERT INTO runs (started_utc, started_unix_s, duration_s, source, simulated, "
                "fingerprint, recording_path, distance_m, n_sensors, legs, firmware_version, "
                "angle_calibrated, running_time_s, n_strides, cadence_spm, shank_angle_at_ic_deg, "
                "contact_time_s, peak_midswing_gyr_dps, late_swing_peak_decel_dps2, "
                "late_swing_load, symmetry_pct, n_alerts, max_severity, n_pain_marks, meta_json, "
                "added_utc) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    format_utc(run.started_utc),
                    run.started_unix_s,
                    float(run.duration_s),
                    run.source,
                    int(run.simulated),
                    run.fingerprint,
                    run.recording_path,
                    _finite(run.distance_m),
                    len(run.legs),
                    run.legs_text,
                    run.firmware_version,
                    int(run.angle_calibrated),
                    _finite(summary["running_time_s"]),
                    int(summary["n_strides"]),
                    _finite(summary["cadence_spm"]),
                    _finite(summary["shank_angle_at_ic_deg"]),
                    _finite(summary["contact_time_s"]),
                    _finite(summary["peak_midswing_gyr_dps"]),
                    _finite(summary["late_swing_peak_decel_dps2"]),
                    _finite(summary["late_swing_load"]),
                    _finite(summary["symmetry_pct"]),
                    int(summary["n_alerts"]),
                    summary["max_severity"],
                    int(summary["n_pain_marks"]),
                    json.dumps(_jsonable(run.meta), allow_nan=False),
                    added_utc,
                ),
            )
            run_id = int(cur.lastrowid or 0)
            for leg in run.legs:
                self._insert_leg(run_id, leg)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        run.run_id = run_id
        return AddResult(run_id, True)

    def _insert_leg(self, run_id: int, leg: LegRun) -> None:
        conn = self.conn
        conn.execute(
            "INSERT INTO run_sensors (run_id, stream, sensor, leg, samples, samples_lost, "
            "rate_hz, angle_calibrated, firmware_version, n_strides, baseline, baseline_created, "
            "baseline_dropped_why) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                run_id,
                leg.stream,
                leg.sensor,
                leg.leg,
                leg.samples,
                leg.samples_lost,
                _finite(leg.rate_hz),
                int(leg.angle_calibrated),
                leg.firmware_version,
                leg.n_strides,
                leg.baseline_source,
                leg.baseline_created,
                leg.baseline_dropped_why,
            ),
        )
        n = leg.n_strides
        if n:
            cols = [
                np.asarray(leg.strides.get(name, np.full(n, np.nan)), float)
                for name in STRIDE_METRICS
            ]
            table = np.column_stack(cols).astype(object)
            table[~np.isfinite(np.column_stack(cols))] = None
            rows = ((run_id, leg.stream, i, *table[i].tolist()) for i in range(n))
            placeholders = ",".join("?" * (3 + len(STRIDE_METRICS)))
            conn.executemany(
                f"INSERT INTO strides (run_id, stream, stride, {', '.join(STRIDE_METRICS)}) "
                f"VALUES ({placeholders})",
                rows,
            )
        conn.executemany(
            "INSERT INTO alerts (run_id, stream, seq, time_s, stride_index, kind, severity, state, "
            "leg, title, reason, advice, numbers_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                (
                    run_id,
                    leg.stream,
                    k,
                    float(a.get("time_s") or 0.0),
                    a.get("stride_index"),
                    str(a.get("kind")),
                    str(a.get("severity")),
                    str(a.get("state")),
                    a.get("leg", leg.leg),
                    str(a.get("title", "")),
                    str(a.get("reason", "")),
                    str(a.get("advice", "")),
                    json.dumps(_jsonable(a.get("numbers") or {}), allow_nan=False),
                )
                for k, a in enumerate(leg.alerts)
            ),
        )
        conn.executemany(
            "INSERT INTO pain_marks (run_id, stream, time_s, leg) VALUES (?,?,?,?)",
            ((run_id, leg.stream, float(t), leg.leg) for t in leg.pain_marks_s),
        )
        for role, profile in (
            ("used", leg.baseline_used),
            ("learned", leg.baseline_learned),
            ("dropped", leg.baseline_dropped),
        ):
            if profile is not None:
                conn.execute(
                    "INSERT INTO baselines (run_id, stream, role, profile_json) VALUES (?,?,?,?)",
                    (run_id, leg.stream, role, json.dumps(_jsonable(profile), allow_nan=False)),
                )

    # ------------------------------------------------------------------ reading

    @_translated
    def count_runs(self) -> int:
        """Number of runs stored."""
        return int(self.conn.execute("SELECT count(*) FROM runs").fetchone()[0])

    @_translated
    def list_runs(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        last: int | None = None,
        include_simulated: bool = True,
    ) -> list[dict[str, Any]]:
        """Runs in time order, as dicts of :data:`LISTED_COLUMNS` (plus ``ended_unix_s``
        and ``baselines``: per sensor its ``leg``, ``source`` — ``"stored"``,
        ``"relearned"``, ``"learned"`` or ``None`` —, the stored baseline's
        ``created`` and ``dropped_why``).

        Parameters
        ----------
        since, until
            Only runs that started at or after ``since`` / before ``until``.
        last
            Only the latest ``last`` of those.
        include_simulated
            Also runs from simulated sensors.
        """
        where, params = _where(since, until, include_simulated)
        sql = f"SELECT {', '.join(LISTED_COLUMNS)} FROM runs{where} ORDER BY started_unix_s DESC, id DESC"
        if last is not None:
            sql += " LIMIT ?"
            params.append(int(last))
        rows = self.conn.execute(sql, params).fetchall()
        out = [dict(zip(LISTED_COLUMNS, r, strict=True)) for r in reversed(rows)]
        sources = self._baseline_sources([int(d["id"]) for d in out])
        for d in out:
            d["simulated"] = bool(d["simulated"])
            d["angle_calibrated"] = bool(d["angle_calibrated"])
            d["ended_unix_s"] = d["started_unix_s"] + d["duration_s"]
            d["baselines"] = sources.get(int(d["id"]), [])
        return out

    def _baseline_sources(self, run_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """Per run, per sensor: which normal judged it (``run_sensors.baseline`` …)."""
        out: dict[int, list[dict[str, Any]]] = {}
        for chunk in _chunks(run_ids, 500):
            marks = ",".join("?" * len(chunk))
            for run_id, leg, source, created, why in self.conn.execute(
                "SELECT run_id, leg, baseline, baseline_created, baseline_dropped_why "
                f"FROM run_sensors WHERE run_id IN ({marks}) ORDER BY run_id, stream",
                chunk,
            ):
                out.setdefault(int(run_id), []).append(
                    {"leg": leg, "source": source, "created": created, "dropped_why": why}
                )
        return out

    @_translated
    def resolve(self, ref: str | int | None) -> int:
        """A run id from ``ref``: a number, ``"last"``/``None`` (the latest run) or ``-N`` (N-th latest).

        Raises
        ------
        HistoryError
            Unknown run, or an empty history.
        """
        text = "last" if ref is None else str(ref).strip().lower()
        if text == "last":
            text = "-1"
        try:
            n = int(text)
        except ValueError:
            raise HistoryError(
                f"which run? give its number from `strideguard history` or 'last', not {ref!r}"
            ) from None
        if n < 0:
            row = self.conn.execute(
                "SELECT id FROM runs ORDER BY started_unix_s DESC, id DESC LIMIT 1 OFFSET ?",
                (-n - 1,),
            ).fetchone()
            if row is None:
                raise HistoryError(
                    "the run history is empty: `strideguard live` adds runs, `strideguard import FILE` adds recordings"
                    if n == -1
                    else f"the history has fewer than {-n} runs"
                )
            return int(row[0])
        if self.conn.execute("SELECT 1 FROM runs WHERE id = ?", (n,)).fetchone() is None:
            raise HistoryError(f"no run {n} in the history (see `strideguard history`)")
        return n

    @_translated
    def load_run(self, run_id: int, *, columns: Sequence[str] | None = None) -> RunRecord:
        """Read a run back with its sensors, strides, alerts, pain marks and baselines.

        Parameters
        ----------
        run_id
            The run's id.
        columns
            Stride columns to read (default: all).
        """
        conn = self.conn
        row = conn.execute(
            "SELECT started_utc, duration_s, source, simulated, recording_path, fingerprint, "
            "distance_m, meta_json FROM runs WHERE id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            raise HistoryError(f"no run {run_id} in the history")
        started, duration, source, simulated, rec_path, fp, dist, meta = row
        names = list(STRIDE_METRICS if columns is None else columns)
        unknown = [c for c in names if c not in STRIDE_METRICS]
        if unknown:
            raise ValueError(f"unknown stride columns {unknown}")
        legs: list[LegRun] = []
        for stream, sensor, leg, samples, lost, rate, cal, fw, dropped_why in conn.execute(
            "SELECT stream, sensor, leg, samples, samples_lost, rate_hz, angle_calibrated, "
            "firmware_version, baseline_dropped_why FROM run_sensors WHERE run_id = ? "
            "ORDER BY stream",
            (run_id,),
        ).fetchall():
            legs.append(
                LegRun(
                    stream=int(stream),
                    sensor=str(sensor),
                    leg=leg,
                    strides=self._strides(run_id, int(stream), names),
                    alerts=self._alerts(run_id, int(stream)),
                    pain_marks_s=[
                        float(t)
                        for (t,) in conn.execute(
                            "SELECT time_s FROM pain_marks WHERE run_id = ? AND stream = ? ORDER BY time_s",
                            (run_id, stream),
                        )
                    ],
                    baseline_used=self._baseline(run_id, int(stream), "used"),
                    baseline_learned=self._baseline(run_id, int(stream), "learned"),
                    baseline_dropped=self._baseline(run_id, int(stream), "dropped"),
                    baseline_dropped_why=dropped_why,
                    samples=samples,
                    samples_lost=lost,
                    rate_hz=rate,
                    angle_calibrated=bool(cal),
                    firmware_version=fw,
                )
            )
        return RunRecord(
            started_utc=parse_utc(started),
            duration_s=float(duration),
            source=str(source),
            legs=legs,
            simulated=bool(simulated),
            recording_path=rec_path,
            fingerprint=fp,
            distance_m=dist,
            meta=json.loads(meta or "{}"),
            run_id=run_id,
        )

    def _strides(self, run_id: int, stream: int, names: Sequence[str]) -> dict[str, FloatArray]:
        rows = self.conn.execute(
            f"SELECT {', '.join(names) if names else 'stride'} FROM strides "
            "WHERE run_id = ? AND stream = ? ORDER BY stride",
            (run_id, stream),
        ).fetchall()
        if not names:
            return {}
        arr = np.array(rows, dtype=float).reshape(len(rows), len(names))  # None → nan
        return {name: arr[:, k].copy() for k, name in enumerate(names)}

    def _alerts(self, run_id: int, stream: int) -> list[dict[str, Any]]:
        out = []
        for t, idx, kind, sev, state, leg, title, reason, advice, numbers in self.conn.execute(
            "SELECT time_s, stride_index, kind, severity, state, leg, title, reason, advice, "
            "numbers_json FROM alerts WHERE run_id = ? AND stream = ? ORDER BY seq",
            (run_id, stream),
        ):
            out.append(
                {
                    "kind": kind,
                    "severity": sev,
                    "state": state,
                    "time_s": float(t),
                    "stride_index": idx,
                    "title": title,
                    "reason": reason,
                    "advice": advice,
                    "numbers": json.loads(numbers or "{}"),
                    "leg": leg,
                }
            )
        return out

    def _baseline(self, run_id: int, stream: int, role: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT profile_json FROM baselines WHERE run_id = ? AND stream = ? AND role = ?",
            (run_id, stream, role),
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    @_translated
    def strides_of_runs(
        self, run_ids: Iterable[int], columns: Sequence[str]
    ) -> dict[int, list[tuple[str | None, dict[str, FloatArray]]]]:
        """Per run: ``(leg, strides)`` of each sensor, with only ``columns`` (for trends)."""
        ids = [int(i) for i in run_ids]
        out: dict[int, list[tuple[str | None, dict[str, FloatArray]]]] = {i: [] for i in ids}
        if not ids:
            return out
        legs: dict[tuple[int, int], str | None] = {}
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            for rid, stream, leg in self.conn.execute(
                f"SELECT run_id, stream, leg FROM run_sensors WHERE run_id IN ({marks}) ORDER BY run_id, stream",
                chunk,
            ):
                legs[(int(rid), int(stream))] = leg
        for (rid, stream), leg in legs.items():
            out[rid].append((leg, self._strides(rid, stream, list(columns))))
        return out

    # ------------------------------------------------------------------ day after

    @_translated
    def record_answer(
        self, run_id: int, answer: str, *, channel: str, now: datetime | None = None
    ) -> bool:
        """Remember the day-after answer for ``run_id`` (the first answer wins).

        Returns
        -------
        bool
            Whether this answer was stored (false: the run had an answer already).
        """
        if answer not in ("yes", "no", "skipped"):
            raise ValueError(f"answer must be yes, no or skipped, not {answer!r}")
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO day_after (run_id, asked_utc, answer, channel) VALUES (?,?,?,?)",
            (run_id, format_utc(now or datetime.now(UTC)), answer, channel),
        )
        return cur.rowcount == 1

    @_translated
    def answer_for(self, run_id: int) -> str | None:
        """The stored day-after answer of ``run_id``, if any."""
        row = self.conn.execute(
            "SELECT answer FROM day_after WHERE run_id = ?", (run_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    @_translated
    def runs_needing_checkin(
        self, since_unix_s: float, until_unix_s: float
    ) -> list[dict[str, Any]]:
        """Real (not simulated) runs that ended between the bounds with a stop alert or a pain
        mark and have no day-after answer yet, newest first."""
        rows = self.conn.execute(
            "SELECT id, started_unix_s, duration_s, max_severity, n_pain_marks FROM runs "
            "WHERE simulated = 0 AND (max_severity = 'stop' OR n_pain_marks > 0) "
            "AND started_unix_s + duration_s BETWEEN ? AND ? "
            "AND id NOT IN (SELECT run_id FROM day_after) "
            "ORDER BY started_unix_s + duration_s DESC",
            (since_unix_s, until_unix_s),
        ).fetchall()
        return [
            {
                "id": r[0],
                "started_unix_s": r[1],
                "duration_s": r[2],
                "max_severity": r[3],
                "n_pain_marks": r[4],
            }
            for r in rows
        ]

    @_translated
    def pain_and_stop_legs(self, run_id: int) -> tuple[set[str], set[str]]:
        """The legs with a pain mark, and the legs with a raised or escalated stop alert."""
        pain = {
            str(leg)
            for (leg,) in self.conn.execute(
                "SELECT DISTINCT leg FROM pain_marks WHERE run_id = ? AND leg IS NOT NULL",
                (run_id,),
            )
        }
        stop = {
            str(leg)
            for (leg,) in self.conn.execute(
                "SELECT DISTINCT leg FROM alerts WHERE run_id = ? AND severity = 'stop' "
                "AND state IN ('raised', 'escalated') AND leg IS NOT NULL",
                (run_id,),
            )
        }
        return pain & {"L", "R"}, stop & {"L", "R"}

    @_translated
    def latest_end_unix_s(self) -> float | None:
        """End of the most recent real run (``None`` without any)."""
        row = self.conn.execute(
            "SELECT max(started_unix_s + duration_s) FROM runs WHERE simulated = 0"
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    # ------------------------------------------------------------------ recovery

    @_translated
    def recovery_periods(self) -> list[RecoveryPeriod]:
        """Every return-to-run period, oldest first."""
        return [
            RecoveryPeriod(
                id=int(i),
                leg=str(leg),
                started_utc=parse_utc(s),
                ended_utc=None if e is None else parse_utc(e),
                note=note,
            )
            for i, leg, s, e, note in self.conn.execute(
                "SELECT id, leg, started_utc, ended_utc, note FROM recovery ORDER BY started_unix_s, id"
            )
        ]

    @_translated
    def start_recovery(
        self, leg: str, *, now: datetime | None = None, note: str | None = None
    ) -> RecoveryPeriod:
        """Start return-to-run mode for ``leg`` (``"L"``/``"R"``).

        Raises
        ------
        HistoryError
            If a period is already open.
        """
        if leg not in ("L", "R"):
            raise HistoryError(f"--leg must be L or R, not {leg!r}")
        t = now or datetime.now(UTC)
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            open_row = conn.execute(
                "SELECT leg, started_utc FROM recovery WHERE ended_utc IS NULL"
            ).fetchone()
            if open_row is not None:
                conn.execute("ROLLBACK")
                raise HistoryError(
                    f"return-to-run mode is already on (leg {open_row[0]}, since {open_row[1]}); "
                    "`strideguard recovery end` first"
                )
            cur = conn.execute(
                "INSERT INTO recovery (leg, started_utc, started_unix_s, note) VALUES (?,?,?,?)",
                (leg, format_utc(t), t.timestamp(), note),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return RecoveryPeriod(int(cur.lastrowid or 0), leg, t.astimezone(UTC), None, note)

    @_translated
    def end_recovery(self, *, now: datetime | None = None) -> RecoveryPeriod:
        """End the open return-to-run period.

        Raises
        ------
        HistoryError
            If none is open.
        """
        t = now or datetime.now(UTC)
        conn = self.conn
        row = conn.execute(
            "SELECT id, leg, started_utc, note FROM recovery WHERE ended_utc IS NULL"
        ).fetchone()
        if row is None:
            raise HistoryError(
                "return-to-run mode is not on (`strideguard recovery start --leg L|R`)"
            )
        conn.execute(
            "UPDATE recovery SET ended_utc = ?, ended_unix_s = ? WHERE id = ?",
            (format_utc(t), t.timestamp(), row[0]),
        )
        return RecoveryPeriod(
            int(row[0]), str(row[1]), parse_utc(row[2]), t.astimezone(UTC), row[3]
        )

    @_translated
    def integrity_ok(self) -> bool:
        """``PRAGMA integrity_check`` says ``ok``."""
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _where(
    since: datetime | None, until: datetime | None, include_simulated: bool
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if since is not None:
        clauses.append("started_unix_s >= ?")
        params.append(since.timestamp())
    if until is not None:
        clauses.append("started_unix_s < ?")
        params.append(until.timestamp())
    if not include_simulated:
        clauses.append("simulated = 0")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _finite(v: float | None) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _jsonable(value: Any) -> Any:
    """Non-finite floats → ``None``, numpy scalars → Python, tuples → lists (recursively)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value
