"""PnP-Flow (Martin, Gagneux, Hagemann & Steidl, ICLR 2025, Alg. 1) with the flow-matching model: gradient step on
f, interpolation onto the flow path at time t_k, the flow's one-step denoiser (aelpn.solvers.flow.pnp_flow);
its gradient step needs the gradient of a Gaussian likelihood."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.solvers import flow as flow_solvers

    sol = flow_solvers.pnp_flow(data, prior.network, section["iterations"], section["alpha"],
                                section["step_fraction"], seed, x_true)
    return Estimate.of(sol)


METHOD = Method("pnp_flow", prior="flow", likelihoods=("gaussian",), trace="iterations", solve=solve)
