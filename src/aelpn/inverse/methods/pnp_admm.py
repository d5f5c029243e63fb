"""PnP-ADMM with each trained proximal network D = prox_{s^2 R} (s = train.sigma): penalty rho = lam / s^2, so
the z-update prox_{(lam/rho) R} is D exactly (aelpn.solvers.pnp.pnp_admm)."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.solvers import pnp

    sol = pnp.pnp_admm(data, prior.network, prior.sigma, section["lam"], section["max_iter"], section["tol"], x_true)
    return Estimate.of(sol)


METHOD = Method("pnp_admm", prior="proximal_network", likelihoods=("gaussian", "poisson"), trace="max_iter",
                solve=solve, map_weight="lam")
