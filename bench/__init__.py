"""Benchmarks (``make bench``): each ``bench_*.py`` module defines ``run() -> None``
that prints its numbers. Where a number has a target (the alert detection delays)
the line says "met" or "not met"; nothing here passes or fails."""
