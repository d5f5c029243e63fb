"""PnP-ADMM on a Poisson problem after Anscombe's variance-stabilising transform: the x-update is the prox of the
Gaussian likelihood of t = 2 sqrt(c y + 3/8), f_VST(x) = (1/2) ||t - 2 sqrt(c (Ax + b) + 1/8)||^2 (asymptotically
unbiased mean; aelpn.physics.poisson_gaussian.PoissonAnscombe); z-update and rho = lam / s^2 as ``pnp_admm``, with
each trained proximal network. The estimate is in intensity units (the transform is inside the data term)."""

from aelpn.inverse.methods import pnp_admm
from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.physics.poisson_gaussian import approximation

    return pnp_admm.solve(approximation("anscombe", data, section), prior, section, seed, x_true)


METHOD = Method("pnp_admm_anscombe", prior="proximal_network", likelihoods=("poisson",), trace="max_iter",
                solve=solve, map_weight="lam")
