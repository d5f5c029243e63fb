"""ADMM whose z-update is the projection onto the VAE's range, z = Dec(argmin_w ||Dec(w) - v||^2 + beta ||w||^2)
with beta = lam / rho, i.e. the MAP in latent space (aelpn.solvers.vae_projection.vae_admm); the x-update is the data term's
prox, so it runs on Poisson problems too."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.solvers import vae_projection as vae

    sol = vae.vae_admm(data, prior.network, section["lam"], section["rho"], section["max_iter"],
                       section["projection_steps"], section["projection_step"], section["tol"], x_true)
    return Estimate.of(sol)


METHOD = Method("vae_admm", prior="vae", likelihoods=("gaussian", "poisson"), trace="max_iter", solve=solve,
                map_weight="lam")
