"""Trainer benchmarks: `python -m bench.train` (see __main__.py)."""
