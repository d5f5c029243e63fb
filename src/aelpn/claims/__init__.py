"""Claims of the AE-LPN paper and of the PnP-vs-unrolled-vs-diffusion notes, checked on the pipeline's metrics
datasets: ``run_claims(cfg, ClaimData(...), "results/metrics/claims.nc")``."""

from aelpn.core.lazy import lazy_exports

_EXPORTS = {
    "CLAIMS": "aelpn.claims.definitions",
    "ClaimData": "aelpn.claims.definitions",
    "evaluate_claims": "aelpn.claims.evaluate",
    "failed": "aelpn.claims.evaluate",
    "run_claims": "aelpn.claims.evaluate",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = list(_EXPORTS)
