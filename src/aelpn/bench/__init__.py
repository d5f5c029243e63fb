"""Benchmarks of the fast paths against straightforward baselines (``aelpn bench``): training-step throughput,
regularizer evaluation, PnP-ADMM iteration cost and the wall time of the quick pipeline."""

from aelpn.bench.run import BenchSettings, run_bench, table

__all__ = ["BenchSettings", "run_bench", "table"]
