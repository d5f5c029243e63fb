"""PnP proximal gradient with each trained proximal network on f + lam R: x = D(x - tau grad f(x)) with
tau = train.sigma^2 / lam, stable only for tau <= 1/L (aelpn.solvers.pnp.pnp_pgd); needs the gradient of a
Gaussian likelihood."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.solvers import pnp

    sol = pnp.pnp_pgd(data, prior.network, prior.sigma, section["lam"], section["max_iter"], section["tol"], x_true)
    return Estimate.of(sol)


METHOD = Method("pnp_pgd", prior="proximal_network", likelihoods=("gaussian",), trace="max_iter", solve=solve,
                map_weight="lam")
