"""DiffPIR (Zhu et al. 2023) with the conditional denoiser as the score (aelpn.solvers.diffusion.diffpir), lam
and zeta per operator kind (``inverse.diffpir.per_operator``); its data step is the data term's prox, so it runs
on Poisson problems too."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.solvers import diffusion

    setting = diffusion.diffpir_settings(section, data.operator)
    x = diffusion.diffpir(data, prior.network, section["steps"], setting["lam"], setting["zeta"], seed)
    return Estimate(x, section["steps"])


METHOD = Method("diffpir", prior="denoiser", likelihoods=("gaussian", "poisson"), trace=None, solve=solve)
