"""The virtual board: the real firmware in the MicroPython Unix port, seen over bumble.

>>> async def demo(air):  # doctest: +SKIP
...     async with VirtualBoard(air, synthetic_gait(60), leg="L", speed=5) as board:
...         sensors = await scan(1.0, backend=air.backend)

See ``docs/virtual-board.md``.
"""

from strideguard_devkit.vboard.board import VirtualBoard
from strideguard_devkit.vboard.samples import as_counts, counts_from_physical, synthetic_gait

__all__ = [
    "VirtualBoard",
    "as_counts",
    "counts_from_physical",
    "synthetic_gait",
]
