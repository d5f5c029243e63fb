"""Benchmarks of the fast paths against straightforward baselines (``aelpn bench``): training-step throughput,
regularizer evaluation, PnP-ADMM iteration cost and the wall time of the quick pipeline."""

from aelpn.core.lazy import lazy_exports

_EXPORTS = {
    "BenchSettings": "aelpn.bench.run",
    "run_bench": "aelpn.bench.run",
    "table": "aelpn.bench.run",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = list(_EXPORTS)
