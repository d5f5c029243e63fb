"""PnP-ADMM whose z-update is a stochastic diffusion step: re-noise x + u by s_k = renoise * sigma_k, then
denoise at the total level sqrt(sigma_k^2 + s_k^2), on the annealed schedule of ``admm_annealed``
(aelpn.solvers.admm_diffusion_step; DiffPIR-style re-noising inside ADMM, a heuristic, not an exact sampler)."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    import torch

    from aelpn.solvers import admm_diffusion_step as diffusion_step

    sigmas = diffusion_step.sigma_schedule(section["sigma_start"], section["sigma_end"], section["iterations"])
    sol = diffusion_step.admm_diffusion(data, prior.network, section["lam"], sigmas, section["renoise"],
                                       torch.Generator().manual_seed(seed), x_true)
    return Estimate.of(sol)


METHOD = Method("admm_diffusion", prior="denoiser", likelihoods=("gaussian", "poisson"), trace="iterations",
                solve=solve)
