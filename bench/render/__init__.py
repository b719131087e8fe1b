"""Benchmark of `tk render`: `python -m bench.render` (ratios against baselines measured in the same run)."""
