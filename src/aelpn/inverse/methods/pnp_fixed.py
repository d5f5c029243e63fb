"""Vanilla PnP: PnP-ADMM with the conditional denoiser frozen at one noise level s = ``sigma``, i.e. D(., s) in
place of prox_{s^2 R} and penalty rho = lam / s^2 (aelpn.solvers.pnp.pnp_admm); the baseline that continuation
and the unrolled network improve on."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.solvers import pnp

    sigma = section["sigma"]
    sol = pnp.pnp_admm(data, lambda x: prior.network(x, sigma), sigma, section["lam"], section["max_iter"],
                       section["tol"], x_true)
    return Estimate.of(sol)


METHOD = Method("pnp_fixed", prior="denoiser", likelihoods=("gaussian", "poisson"), trace="max_iter", solve=solve)
