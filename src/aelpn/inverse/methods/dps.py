"""DPS as published (Chung et al. 2023, Alg. 1) with the conditional denoiser as the score
(aelpn.solvers.diffusion.dps), guidance step zeta' / ||y - A x0_hat|| per operator kind
(``inverse.dps.per_operator``); the guidance is the gradient of a Gaussian likelihood."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.solvers import diffusion

    setting = diffusion.dps_settings(section, data.operator)
    x = diffusion.dps(data, prior.network, section["steps"], setting["zeta"], seed)
    return Estimate(x, section["steps"])


METHOD = Method("dps", prior="denoiser", likelihoods=("gaussian",), trace=None, solve=solve)
