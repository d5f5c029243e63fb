"""PnP-ADMM with the conditional denoiser as a diffusion step at an annealed level: z = D(x + u, sigma_k),
sigma_k geometric from sigma_start to sigma_end, penalty rho_k = lam / sigma_k^2 increasing geometrically
(aelpn.solvers.admm_diffusion_step; Chan, Wang & Elgendy 2017's increasing penalty, the ADMM counterpart of DPIR's
continuation). sigma_start = sigma_end gives the fixed-rho method, i.e. ``pnp_fixed``."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    import torch

    from aelpn.solvers import admm_diffusion_step as diffusion_step

    sigmas = diffusion_step.sigma_schedule(section["sigma_start"], section["sigma_end"], section["iterations"])
    sol = diffusion_step.admm_diffusion(data, prior.network, section["lam"], sigmas, 0.0,
                                       torch.Generator().manual_seed(seed), x_true)
    return Estimate.of(sol)


METHOD = Method("admm_annealed", prior="denoiser", likelihoods=("gaussian", "poisson"), trace="iterations",
                solve=solve)
