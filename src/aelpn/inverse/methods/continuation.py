"""DPIR (Zhang et al. 2021): HQS with the conditional denoiser D(x, sigma_k), from DPIR's start A^T y, sigma_k
decreasing log-linearly from the operator's sigma_start to the noise level (aelpn.inverse.pnp.pnp_continuation).
Cross-checked against deepinv.optim.DPIR in the tests."""

from aelpn.inverse.methods.base import Estimate, Method, per_operator


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.inverse import pnp

    start = per_operator(section, data.operator, "continuation")["sigma_start"]
    sol = pnp.pnp_continuation(data, prior.network, start, section["lam"], section["iterations"], x_true)
    return Estimate.of(sol)


METHOD = Method("continuation", prior="denoiser", likelihoods=("gaussian", "poisson"), trace="iterations",
                solve=solve)
