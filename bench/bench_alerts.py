"""Alert engine at full scale: 21 simulated hours of normal running plus the change scenarios.

``strideguard eval-alerts --seeds 14``: seeds 1..14, 15-min runs at 200 Hz, every third seed
through lossy BLE framing (~75 s here). The defaults were tuned on other seeds (100-119).
"""

from __future__ import annotations

import sys
import time

from strideguard_devkit.commands.eval_alerts import DEFAULT_MINUTES
from strideguard_devkit.evaluate_alerts import (
    CHANGE_SCENARIOS,
    NORMAL_SCENARIOS,
    evaluate,
    format_table,
)

SEEDS = 14


def run() -> None:
    """Print the per-scenario table with the issue's targets."""
    t0 = time.perf_counter()
    summaries = evaluate(
        [*NORMAL_SCENARIOS, *CHANGE_SCENARIOS],
        list(range(1, SEEDS + 1)),
        duration_s=60.0 * DEFAULT_MINUTES,
        rate_hz=200.0,
        progress=lambda m: print(f"  {m}", file=sys.stderr, flush=True),
    )
    print(format_table(summaries))
    print(f"evaluation took {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    run()
