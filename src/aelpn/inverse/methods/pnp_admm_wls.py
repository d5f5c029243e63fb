"""PnP-ADMM on a Poisson problem with the Gaussian approximation of its likelihood in the x-update: weighted
least squares with variance (y + b) / c, f_WLS(x) = (c/2) sum_i (Ax + b - y)_i^2 / (y_i + b)
(aelpn.physics.poisson_gaussian.PoissonWLS); z-update and rho = lam / s^2 as ``pnp_admm``, with each trained
proximal network."""

from aelpn.inverse.methods import pnp_admm
from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.physics.poisson_gaussian import approximation

    return pnp_admm.solve(approximation("wls", data, section), prior, section, seed, x_true)


METHOD = Method("pnp_admm_wls", prior="proximal_network", likelihoods=("poisson",), trace="max_iter",
                solve=solve, map_weight="lam")
