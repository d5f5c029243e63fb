"""Posterior sampling with the flow-matching model through deepinv's FlowMatching SDE and PosteriorDiffusion with
the DPS data-fidelity score (aelpn.solvers.flow.flow_posterior): the estimate is one posterior sample
(also reported as the sample); a Gaussian likelihood."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.solvers import flow as flow_solvers

    x = flow_solvers.flow_posterior(data, prior.network, section["steps"], section["t_max"], section["t_min"],
                                    section["weight"], seed)
    return Estimate(x, section["steps"], sample=x)


METHOD = Method("flow_posterior", prior="flow", likelihoods=("gaussian",), trace=None, solve=solve)
