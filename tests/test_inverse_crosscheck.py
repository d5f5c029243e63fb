"""Our solvers against deepinv's implementations of the same published methods, with the same denoiser, the same
measurements and the conventions matched: DPIR (continuation: deepinv.optim.DPIR) and DiffPIR
(deepinv.sampling.DiffPIR). The denoiser is the exact MMSE denoiser of a Gaussian prior, so both runs are
deterministic functions of the measurements (DiffPIR with zeta = 0, the same starting noise)."""

from __future__ import annotations

import deepinv as dinv
import pytest
import torch

from aelpn.solvers import diffusion, pnp
from problem_helpers import measured_problem

SHAPE = (3, 16, 16)
NOISE = {"kind": "gaussian", "sigma": 0.05}  # above DPIR's 0.01 floor of the step size


class GaussianMMSE(torch.nn.Module):
    """D(x, sigma) = m + v / (v + sigma^2) (x - m): the MMSE denoiser of x ~ N(m, v I)."""

    def __init__(self, mean: float = 0.5, var: float = 0.04):
        super().__init__()
        self.mean, self.var = mean, var

    def forward(self, x, sigma):
        s2 = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, *([1] * (x.dim() - 1))) ** 2
        return self.mean + self.var / (self.var + s2) * (x - self.mean)


@pytest.mark.parametrize("operator", ["blur", "inpainting"])
def test_continuation_is_deepinv_dpir(operator):
    """Same start A^T y, same log-spaced levels 49/255 -> sigma_n over 8 iterations, same data weight
    sigma_k^2 / (0.23 sigma_n^2): the estimates agree to 1e-5 (deepinv builds its levels in float32)."""
    data, x = measured_problem(operator, NOISE, SHAPE)
    denoiser = GaussianMMSE()
    ours = pnp.pnp_continuation(data, denoiser, 49.0 / 255.0, 0.23, 8).x
    theirs = dinv.optim.DPIR(sigma=NOISE["sigma"], denoiser=denoiser)(data.y, data.physics)
    assert (ours - theirs).abs().max().item() < 1e-5


@pytest.mark.parametrize("operator", ["blur", "inpainting"])
def test_diffpir_is_deepinv_diffpir(operator):
    """zeta = 0, deepinv given our start and lambda / 2 (its data step weighs ||y - Ax||^2 by half of the
    paper's eq. 13 at the same lambda). deepinv returns its last iterate x_(t=0), unclipped, we return the last
    Tweedie estimate, clipped to [-1, 1]: clipped to [0, 1] as the pipeline's metrics see them, they agree to
    1e-3 per pixel (measured: 2.9e-4)."""
    data, x = measured_problem(operator, NOISE, SHAPE)
    denoiser = GaussianMMSE()
    lam, steps, seed = 7.0, 20, 3
    ours = diffusion.diffpir(data, denoiser, steps, lam, 0.0, seed)
    sampler = dinv.sampling.DiffPIR(denoiser, dinv.optim.L2(), sigma=NOISE["sigma"], max_iter=steps, zeta=0.0,
                                    lambda_=lam / 2)
    theirs = sampler(data.y, data.physics, seed=seed, x_init=data.init())
    assert (ours.clamp(0, 1) - theirs.clamp(0, 1)).abs().max().item() < 1e-3
