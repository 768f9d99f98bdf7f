"""The run history: every run in one SQLite file, and what is computed from it.

==================  ==========================================================
``store``           :class:`History`: the database (WAL, transactions, migrations)
``schema``          tables, schema version, migrations
``record``          :class:`RunRecord` / :class:`LegRun`: one run as stored
``ingest``          records from a finished live run or from a file (``import``)
``stats``           run-level numbers: medians, per-minute series, load, symmetry
``intensity``       speedwork and uphill strides, the runner's reference
``trends``          weekly totals and the return-to-run rule
``dayafter``        the "does it still hurt?" question the day after
``fit``             FIT activity export
==================  ==========================================================

Schema and rules: ``docs/history.md``.
"""

from strideguard.history.record import LegRun, RunRecord
from strideguard.history.store import AddResult, History, HistoryError

__all__ = ["AddResult", "History", "HistoryError", "LegRun", "RunRecord"]
