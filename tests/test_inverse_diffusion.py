"""DiffPIR's data step and DPS's guidance against the published updates on tiny problems (float64), and the
DDPM timesteps both samplers visit."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aelpn.core.config import ConfigError
from aelpn.solvers import diffusion
from aelpn.physics.problems import build_problem

SHAPE = (3, 6, 5)
SIGMA_N = 0.05


def problem(operator: str):
    spec = {"operator": "inpainting", "keep": 0.5} if operator == "inpainting" else {"operator": "blur",
                                                                                     "blur_sigma": 1.0}
    cfg = {"problems": {"p": {**spec, "noise": {"kind": "gaussian", "sigma": SIGMA_N}}},
           "poisson": {"newton_iterations": 1, "cg_iterations": 1}}
    gen = torch.Generator().manual_seed(0)
    prob = build_problem("p", cfg, SHAPE)
    x = torch.rand((2, *SHAPE), generator=gen, dtype=torch.float64)
    params = prob.sample_params(2, gen)
    return prob.data_term(prob.physics(params, dtype=torch.float64), prob.measure(x, params, gen))


def dense_operator(data, b: int) -> torch.Tensor:
    n = SHAPE[0] * SHAPE[1] * SHAPE[2]
    eye = torch.eye(n, dtype=torch.float64)
    cols = [data.physics.A(eye[i].view(1, *SHAPE).expand(2, *SHAPE))[b].flatten() for i in range(n)]
    return torch.stack(cols, 1)


class Shrink(nn.Module):
    """D(u, s) = c(s) u + (1 - c(s)) / 2 with c(s) = 1 / (1 + s): x0_hat(x_t) = c x_t / sqrt(abar_t) exactly."""

    def forward(self, u, s):
        c = 1 / (1 + torch.as_tensor(s, dtype=u.dtype))
        return c * u + (1 - c) / 2


@pytest.mark.parametrize("operator", ["inpainting", "blur"])
def test_diffpir_data_step_is_the_published_least_squares_update(operator):
    """x0_hat = argmin ||y - A x||^2 + rho_t ||x - x0||^2, rho_t = lam sigma_n^2 / sbar_t^2 (Zhu et al. 2023, eq. 13)."""
    data, lam = problem(operator), 7.0
    abar = float(diffusion.alpha_bar()[300])
    rho = lam * SIGMA_N**2 / ((1 - abar) / abar)
    x0 = torch.rand(data.y.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    got = diffusion.diffpir_data_step(data, x0, abar, lam)
    n = x0[0].numel()
    for b in range(2):
        a_mat = dense_operator(data, b)
        want = torch.linalg.solve(a_mat.T @ a_mat + rho * torch.eye(n, dtype=torch.float64),
                                  a_mat.T @ data.y[b].flatten() + rho * x0[b].flatten())
        assert torch.allclose(got[b].flatten(), want, atol=1e-10)


@pytest.mark.parametrize("operator", ["inpainting", "blur"])
def test_dps_guidance_is_the_published_step(operator):
    """zeta_t grad_{x_t} ||y - A x0_hat||^2 with zeta_t = zeta' / ||y - A x0_hat|| (Chung et al. 2023, Alg. 1), in
    the [-1, 1] units of the DDPM: for x0_hat = k x_t the gradient is 2 k A^T r with r = A x0_hat - (2 y - A 1)."""
    data, zeta = problem(operator), 0.4
    abar = float(diffusion.alpha_bar()[500])
    k = 1 / (1 + ((1 - abar) / abar) ** 0.5 / 2) / abar**0.5
    x = 0.1 * torch.randn(data.y.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    step, x0 = diffusion.dps_guidance(data, Shrink(), x, abar, zeta)
    assert torch.allclose(x0, k * x, atol=1e-12)
    ones = torch.ones_like(x)
    r = data.physics.A(k * x) - (2 * data.y - data.physics.A(ones))
    norm = r.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    assert torch.allclose(step, zeta / norm * 2 * k * data.physics.A_adjoint(r), atol=1e-10)


def test_timesteps_run_from_pure_noise_to_zero():
    pir, dps = diffusion.diffpir_timesteps(20), diffusion.dps_timesteps(30)
    for ts, n in ((pir, 20), (dps, 30)):
        assert len(ts) == n and ts[0] == diffusion.TIMESTEPS - 1 and ts[-1] == 0
        assert all(a > b for a, b in zip(ts, ts[1:]))
    gaps = [a - b for a, b in zip(pir, pir[1:])]
    assert gaps[-1] < gaps[0]  # DiffPIR's quadratic skipping is dense at low noise
    assert diffusion.dps_timesteps(diffusion.TIMESTEPS) == list(range(diffusion.TIMESTEPS - 1, -1, -1))


def test_per_operator_settings_name_the_missing_key():
    with pytest.raises(ConfigError, match="inverse.diffpir.per_operator"):
        diffusion.diffpir_settings({"per_operator": {"blur": {"lam": 7.0, "zeta": 0.3}}}, "inpainting")


@pytest.mark.parametrize("operator", ["inpainting", "blur"])
def test_dps_guidance_pulls_the_estimate_towards_the_measurements(operator):
    """DPS on a tiny problem, the same seed with and without the likelihood step: the guided estimate explains
    the data better, ||y - A x_hat|| lower (a step of the wrong sign raises it)."""
    data = problem(operator)

    def residual(zeta):
        x_hat = diffusion.dps(data, Shrink(), 50, zeta, seed=4)
        return (data.physics.A(x_hat) - data.y).flatten(1).norm(dim=1)

    assert bool((residual(0.5) < 0.8 * residual(0.0)).all())
