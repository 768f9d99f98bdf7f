"""Alert engine at full scale: >= 10 simulated hours of normal running plus the change scenarios.

Same as ``strideguard eval-alerts`` with its defaults (seeds 1..7, 15-min runs at 200 Hz;
every third seed through lossy BLE framing). The defaults were tuned on other seeds (100-119).
"""

from __future__ import annotations

import sys
import time

from strideguard.alerts.evaluate import CHANGE_SCENARIOS, NORMAL_SCENARIOS, evaluate, format_table
from strideguard.commands.eval_alerts import DEFAULT_MINUTES, DEFAULT_SEEDS


def run() -> None:
    """Print the per-scenario table with the issue's targets."""
    t0 = time.perf_counter()
    summaries = evaluate(
        [*NORMAL_SCENARIOS, *CHANGE_SCENARIOS],
        list(range(1, DEFAULT_SEEDS + 1)),
        duration_s=60.0 * DEFAULT_MINUTES,
        rate_hz=200.0,
        progress=lambda m: print(f"  {m}", file=sys.stderr, flush=True),
    )
    print(format_table(summaries))
    print(f"evaluation took {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    run()
