"""DPIR's HQS without continuation: the HQS of ``continuation`` (start A^T y, data weight sigma^2 / lam, the
conditional denoiser, ``iterations`` iterations) at one fixed level, the last of continuation's schedule: the
(Gaussian-equivalent) noise level of each image (aelpn.solvers.pnp.hqs_fixed). The two differ in the schedule only
(claim 8; core.pairs)."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.solvers import pnp

    return Estimate.of(pnp.hqs_fixed(data, prior.network, section["lam"], section["iterations"], x_true))


METHOD = Method("hqs_fixed", prior="denoiser", likelihoods=("gaussian", "poisson"), trace="iterations",
                solve=solve)
