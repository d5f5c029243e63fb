"""Claims of the AE-LPN paper and of the PnP-vs-unrolled-vs-diffusion notes, checked on the pipeline's metrics
datasets: ``run_claims(cfg, ClaimData(...), "results/metrics/claims.nc")``."""

from aelpn.claims.definitions import CLAIMS, ClaimData
from aelpn.claims.evaluate import evaluate_claims, failed, run_claims

__all__ = ["CLAIMS", "ClaimData", "evaluate_claims", "failed", "run_claims"]
