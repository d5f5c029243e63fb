"""DPIR (Zhang et al. 2021): HQS with the conditional denoiser D(x, sigma_k), from DPIR's start A^T y, sigma_k
decreasing log-linearly from the operator's sigma_start to the noise level (aelpn.solvers.pnp.pnp_continuation).
Cross-checked against deepinv.optim.DPIR in the tests."""

from aelpn.core.config import per_operator
from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.solvers import pnp

    start = per_operator(section, data.operator, "continuation")["sigma_start"]
    sol = pnp.pnp_continuation(data, prior.network, start, section["lam"], section["iterations"], x_true)
    return Estimate.of(sol)


METHOD = Method("continuation", prior="denoiser", likelihoods=("gaussian", "poisson"), trace="iterations",
                solve=solve)
