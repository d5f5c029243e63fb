"""TV PnP-ADMM: the ADMM of ``admm_annealed`` / ``admm_diffusion`` (the same annealed penalty rho_k = lam / sigma_k^2,
start, dual rescaling and iterations; aelpn.solvers.admm_diffusion_step) with the prox of isotropic total variation
as its z-update, on f + weight TV (the MAP of the prior exp(-weight TV), ``weight`` per operator;
aelpn.solvers.handcrafted). The seed's hand-crafted prior that claim 15a compares the diffusion step with."""

from aelpn.core.config import per_operator
from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    import torch

    from aelpn.solvers import admm_diffusion_step as diffusion_step
    from aelpn.solvers import handcrafted

    weight = per_operator(section, data.operator, "tv_admm")["weight"]
    z_update = handcrafted.prox_step(handcrafted.tv_prox(section["prox_iterations"]), weight, section["lam"])
    sigmas = diffusion_step.sigma_schedule(section["sigma_start"], section["sigma_end"], section["iterations"])
    sol = diffusion_step.admm_diffusion(data, z_update, section["lam"], sigmas, 0.0,
                                       torch.Generator().manual_seed(seed), x_true)
    return Estimate.of(sol)


METHOD = Method("tv_admm", prior="handcrafted", likelihoods=("gaussian", "poisson"), trace="iterations",
                solve=solve)
