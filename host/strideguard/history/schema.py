"""The run history's SQLite schema, its version and the migrations between versions.

The schema version lives in ``PRAGMA user_version`` and the file is marked as
ours by ``PRAGMA application_id`` (:data:`APPLICATION_ID`). :data:`MIGRATIONS`
takes a database from version ``k - 1`` to ``k`` (index ``k - 1``); a new file
runs all of them, an older file the missing ones, each in one transaction.
Every table and column is described in ``docs/history.md``.

The per-stride table has one ``REAL`` column per entry of
:data:`strideguard.metrics.STRIDE_COLUMNS` (``NULL`` where a value was not
measured). A metric added to that list later gets its column when a database
is opened for writing (``ALTER TABLE ... ADD COLUMN``; older runs read ``NULL``):
adding a metric needs no migration, anything else does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from strideguard.metrics import STRIDE_COLUMNS

#: ``PRAGMA application_id`` of a strideguard history ("SGHD")
APPLICATION_ID = 0x53474844
#: the schema version this code writes
SCHEMA_VERSION = 2

#: the per-stride metric columns of the ``strides`` table, in order
STRIDE_METRICS: tuple[str, ...] = tuple(c.name for c in STRIDE_COLUMNS)

_V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started_utc TEXT NOT NULL,
    started_unix_s REAL NOT NULL,
    duration_s REAL NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('live', 'import')),
    simulated INTEGER NOT NULL DEFAULT 0,
    fingerprint TEXT UNIQUE,
    recording_path TEXT,
    distance_m REAL,
    n_sensors INTEGER NOT NULL,
    legs TEXT NOT NULL,
    firmware_version TEXT,
    angle_calibrated INTEGER NOT NULL,
    running_time_s REAL,
    n_strides INTEGER NOT NULL,
    cadence_spm REAL,
    shank_angle_at_ic_deg REAL,
    contact_time_s REAL,
    peak_midswing_gyr_dps REAL,
    late_swing_peak_decel_dps2 REAL,
    late_swing_load REAL,
    symmetry_pct REAL,
    n_alerts INTEGER NOT NULL,
    max_severity TEXT,
    n_pain_marks INTEGER NOT NULL,
    meta_json TEXT NOT NULL DEFAULT '{}',
    added_utc TEXT NOT NULL
);
CREATE INDEX runs_started ON runs (started_unix_s);
CREATE TABLE run_sensors (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    stream INTEGER NOT NULL,
    sensor TEXT NOT NULL,
    leg TEXT,
    samples INTEGER,
    samples_lost INTEGER,
    rate_hz REAL,
    angle_calibrated INTEGER NOT NULL,
    firmware_version TEXT,
    n_strides INTEGER NOT NULL,
    PRIMARY KEY (run_id, stream)
);
CREATE TABLE strides (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    stream INTEGER NOT NULL,
    stride INTEGER NOT NULL,
    {metrics},
    PRIMARY KEY (run_id, stream, stride)
) WITHOUT ROWID;
CREATE TABLE alerts (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    stream INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    time_s REAL NOT NULL,
    stride_index INTEGER,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    leg TEXT,
    title TEXT NOT NULL,
    reason TEXT NOT NULL,
    advice TEXT NOT NULL,
    numbers_json TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, stream, seq)
);
CREATE TABLE pain_marks (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    stream INTEGER NOT NULL,
    time_s REAL NOT NULL,
    leg TEXT
);
CREATE INDEX pain_marks_run ON pain_marks (run_id);
CREATE TABLE baselines (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    stream INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('used', 'learned')),
    profile_json TEXT NOT NULL,
    PRIMARY KEY (run_id, stream, role)
);
CREATE TABLE day_after (
    run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    asked_utc TEXT NOT NULL,
    answer TEXT NOT NULL CHECK (answer IN ('yes', 'no', 'skipped')),
    channel TEXT NOT NULL
);
CREATE TABLE recovery (
    id INTEGER PRIMARY KEY,
    leg TEXT NOT NULL CHECK (leg IN ('L', 'R')),
    started_utc TEXT NOT NULL,
    started_unix_s REAL NOT NULL,
    ended_utc TEXT,
    ended_unix_s REAL,
    note TEXT
);
""".replace("{metrics}", ",\n    ".join(f"{name} REAL" for name in STRIDE_METRICS))


def _v1(conn: sqlite3.Connection) -> None:
    for statement in _V1.split(";"):
        if statement.strip():
            conn.execute(statement)


#: why a stored baseline was dropped, for runs added before schema 2 (not recorded then)
DROPPED_BEFORE_V2 = "did not fit (the reason was not recorded before history schema 2)"

_V2 = """
ALTER TABLE run_sensors ADD COLUMN baseline TEXT;
ALTER TABLE run_sensors ADD COLUMN baseline_created TEXT;
ALTER TABLE run_sensors ADD COLUMN baseline_dropped_why TEXT;
CREATE TABLE baselines_v2 (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    stream INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('used', 'learned', 'dropped')),
    profile_json TEXT NOT NULL,
    PRIMARY KEY (run_id, stream, role)
);
INSERT INTO baselines_v2 (run_id, stream, role, profile_json)
    SELECT run_id, stream, role, profile_json FROM baselines;
DROP TABLE baselines;
ALTER TABLE baselines_v2 RENAME TO baselines
"""


def _v2(conn: sqlite3.Connection) -> None:
    """Which baseline really judged each sensor's run (``run_sensors.baseline``).

    Version 1 kept the stored baseline a run started with as ``used`` even when
    the fit check dropped it; the run then learned a new one, so a sensor with
    both a ``used`` and a ``learned`` profile had its stored one dropped: it
    becomes ``dropped`` and the sensor ``relearned``.
    """
    import json

    for statement in _V2.split(";"):
        if statement.strip():
            conn.execute(statement)
    roles: dict[tuple[int, int], dict[str, str]] = {}
    for run_id, stream, role, profile in conn.execute(
        "SELECT run_id, stream, role, profile_json FROM baselines"
    ):
        roles.setdefault((int(run_id), int(stream)), {})[str(role)] = str(profile)
    for (run_id, stream), have in roles.items():
        created = None
        if "used" in have and "learned" in have:
            conn.execute(
                "UPDATE baselines SET role = 'dropped' WHERE run_id = ? AND stream = ? AND role = 'used'",
                (run_id, stream),
            )
            source, why = "relearned", DROPPED_BEFORE_V2
        elif "used" in have:
            source, why = "stored", None
            try:
                created = json.loads(have["used"]).get("created")
            except (ValueError, AttributeError):
                created = None
        else:
            source, why = "learned", None
        conn.execute(
            "UPDATE run_sensors SET baseline = ?, baseline_created = ?, baseline_dropped_why = ? "
            "WHERE run_id = ? AND stream = ?",
            (source, created if isinstance(created, str) else None, why, run_id, stream),
        )


#: ``MIGRATIONS[k]`` takes a database from version ``k`` to ``k + 1``
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1, _v2)
assert len(MIGRATIONS) == SCHEMA_VERSION


def stride_columns_missing(conn: sqlite3.Connection) -> list[str]:
    """Metric columns of :data:`STRIDE_METRICS` that the ``strides`` table lacks."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(strides)")}
    return [name for name in STRIDE_METRICS if name not in have]
