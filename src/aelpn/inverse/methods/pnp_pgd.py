"""PnP proximal gradient with each trained proximal network: x = D(x - tau grad f(x)), tau = stepsize / L
(aelpn.inverse.pnp.pnp_pgd); needs the gradient of a Gaussian likelihood."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.inverse import pnp

    sol = pnp.pnp_pgd(data, prior.network, section["stepsize"], section["max_iter"], section["tol"], x_true)
    return Estimate(sol.x, sol.iterations, sol.psnr_trace)


METHOD = Method("pnp_pgd", prior="proximal_network", likelihoods=("gaussian",), trace="max_iter", solve=solve)
