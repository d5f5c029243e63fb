"""deepinv DPS with the conditional denoiser as the score (aelpn.inverse.diffusion.dps); its guidance is the
gradient of a Gaussian likelihood."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.inverse import diffusion

    x = diffusion.dps(data, prior.network, section["steps"], section["weight"], section["guidance"], seed)
    return Estimate(x, section["steps"])


METHOD = Method("dps", prior="denoiser", likelihoods=("gaussian",), trace=None, solve=solve)
