"""TV PnP-ADMM: the ADMM of ``admm_annealed`` / ``admm_diffusion`` (the same annealed penalty rho_k = lam / sigma_k^2,
start, dual rescaling and iterations; aelpn.solvers.admm_diffusion_step) with the prox of isotropic total variation
as its z-update, on f + weight TV (the MAP of the prior exp(-weight TV), ``weight`` per operator;
aelpn.solvers.handcrafted). The seed's hand-crafted prior that claim 15a compares the diffusion step with."""

from aelpn.inverse.methods.base import Method
from aelpn.inverse.methods.handcrafted_admm import solve_with


def solve(data, prior, section, seed, x_true):
    from aelpn.solvers import handcrafted

    return solve_with(handcrafted.tv_prox(section["prox_iterations"]), "tv_admm", data, section, seed, x_true)


METHOD = Method("tv_admm", prior="handcrafted", likelihoods=("gaussian", "poisson"), trace="iterations",
                solve=solve)
