"""L1-wavelet PnP-ADMM: the ADMM of ``admm_annealed`` / ``admm_diffusion`` (the same annealed penalty, start, dual
rescaling and iterations; aelpn.solvers.admm_diffusion_step) with soft-thresholding of the detail coefficients of a
``level``-level ``wavelet`` transform as its z-update, on f + weight ||W_detail x||_1 (``weight`` per
operator; aelpn.solvers.handcrafted). The seed's second hand-crafted prior of claim 15a."""

from aelpn.core.config import per_operator
from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    import torch

    from aelpn.solvers import admm_diffusion_step as diffusion_step
    from aelpn.solvers import handcrafted

    weight = per_operator(section, data.operator, "wavelet_admm")["weight"]
    z_update = handcrafted.prox_step(handcrafted.wavelet_prox(section["wavelet"], section["level"]), weight,
                                     section["lam"])
    sigmas = diffusion_step.sigma_schedule(section["sigma_start"], section["sigma_end"], section["iterations"])
    sol = diffusion_step.admm_diffusion(data, z_update, section["lam"], sigmas, 0.0,
                                       torch.Generator().manual_seed(seed), x_true)
    return Estimate.of(sol)


METHOD = Method("wavelet_admm", prior="handcrafted", likelihoods=("gaussian", "poisson"), trace="iterations",
                solve=solve)
