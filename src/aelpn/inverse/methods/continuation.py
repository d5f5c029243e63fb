"""DPIR-style HQS with the conditional denoiser D(x, sigma_k), sigma_k decreasing log-linearly from sigma_start
to the noise level (aelpn.inverse.pnp.pnp_continuation)."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.inverse import pnp

    sol = pnp.pnp_continuation(data, prior.network, section["sigma_start"], section["lam"], section["iterations"],
                               x_true)
    return Estimate.of(sol)


METHOD = Method("continuation", prior="denoiser", likelihoods=("gaussian", "poisson"), trace="iterations",
                solve=solve)
