"""RED (Romano et al. 2017) with each trained proximal network, by its fixed-point iteration
x = prox_{(s^2 / lam) f}(D(x)) (s = train.sigma; aelpn.solvers.pnp.red), whose fixed points solve
grad f(x) + lam (x - D(x)) / s^2 = 0; it needs only the data term's prox, so it runs on Poisson problems too."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.solvers import pnp

    sol = pnp.red(data, prior.network, prior.sigma, section["lam"], section["max_iter"], section["tol"], x_true)
    return Estimate.of(sol)


METHOD = Method("red", prior="proximal_network", likelihoods=("gaussian", "poisson"), trace="max_iter", solve=solve,
                map_weight="lam")
