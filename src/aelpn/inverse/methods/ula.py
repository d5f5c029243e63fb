"""PnP-ULA posterior sampling with the conditional denoiser's score (aelpn.solvers.langevin.pnp_ula): the
posterior mean is the estimate, with the per-pixel posterior standard deviation and the last kept chain state
as one posterior sample; needs the gradient of a Gaussian likelihood."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.solvers import langevin

    mean, std, sample = langevin.pnp_ula(data, prior.network, section, seed)
    return Estimate(mean, section["iterations"], posterior_std=std, sample=sample)


METHOD = Method("ula", prior="denoiser", likelihoods=("gaussian",), trace=None, solve=solve)
