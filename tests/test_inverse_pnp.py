"""PnP solvers with an analytic Gaussian prior reach the closed-form MAP (float64)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aelpn.inverse import pnp
from aelpn.inverse.problems import build_problem

SHAPE = (3, 8, 6)
SIGMA_N, SIGMA_TRAIN, TAU, MU = 0.05, 0.1, 0.2, 0.5


class GaussianProx(nn.Module):
    """The prox of sigma_train^2 R for R(x) = ||x - mu||^2 / (2 tau^2), x -> (tau^2 x + sigma_train^2 mu) /
    (tau^2 + sigma_train^2): what a proximal network trained at sigma_train is for a Gaussian prior N(mu, tau^2)."""

    def forward(self, x, sigma=None):
        return (TAU**2 * x + SIGMA_TRAIN**2 * MU) / (TAU**2 + SIGMA_TRAIN**2)


def problem(operator: str):
    if operator == "inpainting":
        spec = {"operator": "inpainting", "keep": 0.5}
    else:
        spec = {"operator": "blur", "blur_sigma": 1.0}
    cfg = {"problems": {"p": {**spec, "noise": {"kind": "gaussian", "sigma": SIGMA_N}}},
           "poisson": {"newton_iterations": 1, "cg_iterations": 1}}
    gen = torch.Generator().manual_seed(0)
    prob = build_problem("p", cfg, SHAPE)
    x = torch.rand((2, *SHAPE), generator=gen, dtype=torch.float64)
    params = prob.sample_params(2, gen)
    y = prob.measure(x, params, gen)
    return prob.data_term(prob.physics(params, dtype=torch.float64), y), x


def dense_map(data, lam: float, tau2: float) -> torch.Tensor:
    """argmin ||Ax - y||^2 / (2 sigma_n^2) + lam ||x - mu||^2 / (2 tau2), by a dense solve per image."""
    n = SHAPE[0] * SHAPE[1] * SHAPE[2]
    out = []
    for b in range(data.y.shape[0]):
        def a_op(v, b=b):
            return data.physics.A(v.view(1, *SHAPE).expand(data.y.shape[0], *SHAPE))[b].flatten()

        eye = torch.eye(n, dtype=torch.float64)
        a_mat = torch.stack([a_op(eye[i]) for i in range(n)], dim=1)
        lhs = a_mat.T @ a_mat / SIGMA_N**2 + lam / tau2 * eye
        rhs = a_mat.T @ data.y[b].flatten() / SIGMA_N**2 + lam * MU / tau2
        out.append(torch.linalg.solve(lhs, rhs).view(SHAPE))
    return torch.stack(out)


@pytest.mark.parametrize("operator", ["inpainting", "blur"])
def test_pnp_admm_reaches_the_map_with_lam_over_sigma_train_squared(operator):
    data, x = problem(operator)
    lam = 1.0
    sol = pnp.pnp_admm(data, GaussianProx(), SIGMA_TRAIN, lam, max_iter=3000, tol=1e-13, x_true=x)
    assert torch.allclose(sol.x, dense_map(data, lam, TAU**2), atol=1e-8)
    assert bool((sol.iterations < 3000).all())
    assert torch.isfinite(sol.psnr_trace[:, 0]).all()


@pytest.mark.parametrize("operator", ["inpainting", "blur"])
def test_pnp_pgd_reaches_the_map_with_implied_weight(operator):
    data, x = problem(operator)
    stepsize = 1.0
    sol = pnp.pnp_pgd(data, GaussianProx(), stepsize, max_iter=5000, tol=1e-14)
    implied_lam = SIGMA_TRAIN**2 * data.lipschitz() / stepsize  # PGD on f + (sigma_train^2 / tau) R
    assert torch.allclose(sol.x, dense_map(data, implied_lam, TAU**2), atol=1e-8)


@pytest.mark.parametrize("operator", ["inpainting", "blur"])
def test_red_reaches_the_map_of_the_smoothed_prior(operator):
    data, x = problem(operator)
    lam = 2.0
    sol = pnp.red(data, GaussianProx(), SIGMA_TRAIN, lam, 1.0, max_iter=20000, tol=1e-15)
    # (x - D(x)) / sigma_train^2 = (x - mu) / (tau^2 + sigma_train^2): RED's prior is N(mu, tau^2 + sigma_train^2)
    assert torch.allclose(sol.x, dense_map(data, lam, TAU**2 + SIGMA_TRAIN**2), atol=1e-8)


def test_stopped_images_are_frozen_and_counted():
    data, x = problem("inpainting")
    sol = pnp.pnp_admm(data, GaussianProx(), SIGMA_TRAIN, 1.0, max_iter=500, tol=1e-3, x_true=x)
    k = int(sol.iterations[0])
    assert 1 <= k < 500
    last = int(sol.iterations.max())
    assert torch.isfinite(sol.psnr_trace[:, :last]).all() and torch.isnan(sol.psnr_trace[:, last:]).all()
    assert bool((sol.psnr_trace[0, k - 1 : last] == sol.psnr_trace[0, k - 1]).all())


def test_continuation_schedule_decreases_from_start_to_noise_level():
    s = pnp.continuation_schedule(49 / 255, 0.01, 8)
    assert torch.allclose(s[[0, -1]], torch.tensor([49 / 255, 0.01], dtype=torch.float64))
    assert bool((s[1:] < s[:-1]).all())
