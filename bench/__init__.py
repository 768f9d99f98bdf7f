"""Benchmarks (``make bench``): each ``bench_*.py`` module defines ``run() -> None``
that prints its numbers; nothing here passes or fails on timing."""
