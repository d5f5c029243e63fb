"""Vanilla PnP: PnP-ADMM with the conditional denoiser frozen at one noise level s = ``sigma``, i.e. D(., s) in
place of prox_{s^2 R} and penalty rho = lam / s^2, for ``iterations`` iterations from z = data.init(): the ADMM of
``admm_annealed`` (aelpn.solvers.admm_diffusion_step) on the constant schedule sigma_k = s, so that the two
differ in the schedule only (claim 8; core.pairs)."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    import torch

    from aelpn.solvers import admm_diffusion_step as diffusion_step

    sigmas = diffusion_step.sigma_schedule(section["sigma"], section["sigma"], section["iterations"])
    sol = diffusion_step.admm_diffusion(data, prior.network, section["lam"], sigmas, 0.0,
                                       torch.Generator().manual_seed(seed), x_true)
    return Estimate.of(sol)


METHOD = Method("pnp_fixed", prior="denoiser", likelihoods=("gaussian", "poisson"), trace="iterations",
                solve=solve)
