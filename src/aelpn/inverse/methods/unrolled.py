"""The unrolled HQS network trained end to end on the problem (aelpn.models.unrolled.UnrolledHQS): one
forward pass, an approximation of the MMSE estimate E[x | y]."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    import torch

    with torch.no_grad():
        return Estimate(prior.network(data), len(prior.network.denoisers))


METHOD = Method("unrolled", prior="unrolled", likelihoods=("gaussian", "poisson"), trace=None, solve=solve)
