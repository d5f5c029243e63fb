"""ADMM with PnP-Flow's interpolate-then-denoise step as the z-update, t_k from t_start to t_end and
rho_k = lam / s_k^2 at the denoiser's noise level s_k (aelpn.solvers.flow.flow_admm); the x-update is the
data term's prox, so it runs on Poisson problems too."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.solvers import flow as flow_solvers

    sol = flow_solvers.flow_admm(data, prior.network, section["t_start"], section["t_end"], section["lam"],
                                 section["iterations"], seed, x_true)
    return Estimate.of(sol)


METHOD = Method("flow_admm", prior="flow", likelihoods=("gaussian", "poisson"), trace="iterations", solve=solve)
