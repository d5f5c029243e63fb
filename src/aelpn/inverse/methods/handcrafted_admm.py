"""The ADMM that the hand-crafted priors of claim 15a share with ``admm_annealed`` / ``admm_diffusion``: the same
annealed penalty rho_k = lam / sigma_k^2 over the geometric schedule sigma_start -> sigma_end, start, dual
rescaling and iterations (aelpn.solvers.admm_diffusion_step), with the prox of ``weight`` R as the z-update
(aelpn.solvers.handcrafted.prox_step), ``weight`` per operator from the method's section."""

from aelpn.core.config import per_operator
from aelpn.inverse.methods.base import Estimate


def solve_with(prox, name: str, data, section, seed, x_true) -> Estimate:
    """The estimate of the method ``name`` whose regulariser has the unit-weight prox ``prox``."""
    import torch

    from aelpn.solvers import admm_diffusion_step as diffusion_step
    from aelpn.solvers import handcrafted

    weight = per_operator(section, data.operator, name)["weight"]
    z_update = handcrafted.prox_step(prox, weight, section["lam"])
    sigmas = diffusion_step.sigma_schedule(section["sigma_start"], section["sigma_end"], section["iterations"])
    sol = diffusion_step.admm_diffusion(data, z_update, section["lam"], sigmas, 0.0,
                                       torch.Generator().manual_seed(seed), x_true)
    return Estimate.of(sol)
