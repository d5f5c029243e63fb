"""Blind deblurring objective with a known analytic prior, R(x) = ||x||^2 / (2 tau), whose prox
prox_{s^2 R}(v) = v tau / (tau + s^2) is linear: J(theta) by PnP-ADMM and the regularizer inversion equals the
closed form of the quadratic MAP; the alternating solver never raises J; the kernel family."""

from __future__ import annotations

import pytest
import torch

from aelpn.blind import kernels
from aelpn.blind.alternating import alternating_map, theta_step
from aelpn.blind.landscape import landscape
from aelpn.inverse.priors import LearnedPrior

TAU, S, SIGMA, LAM, SIZE = 0.05, 0.1, 0.05, 1.0, 5
BCFG = {"kernel_size": SIZE, "noise_sigma": SIGMA, "theta_max": 2.0,
        "map": {"lam": LAM, "max_iter": 3000, "tol": 1e-13, "regularizer_iterations": 200},
        "alternating": {"rounds": 3, "search_points": 9}}


class QuadraticProx(torch.nn.Module):
    """D(v) = c v with c = tau / (tau + s^2): the prox of s^2 ||x||^2 / (2 tau), gradient of psi(v) = c ||v||^2 / 2."""

    def __init__(self):
        super().__init__()
        self.c = TAU / (TAU + S**2)

    def forward(self, v):
        return self.c * v

    def potential_and_gradient(self, v):
        return 0.5 * self.c * v.flatten(1).pow(2).sum(1), self.c * v


def prior():
    return LearnedPrior("quadratic", QuadraticProx(), S, float("nan"), "cpu")


def measured(n=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand((n, 1, 8, 8), generator=gen, dtype=torch.float64)
    theta = torch.tensor([1.0, 1.5], dtype=torch.float64)[:n]
    return x, theta, kernels.measure(x, theta, SIZE, SIGMA, gen)


def closed_form_j(theta: float, y: torch.Tensor) -> torch.Tensor:
    """J(theta) of the quadratic MAP by dense linear algebra: x = (A'A / sigma^2 + lam / tau I)^-1 A'y / sigma^2."""
    physics = kernels.blur_physics(torch.tensor([theta], dtype=torch.float64), SIZE, (1, 8, 8))
    eye = torch.eye(64, dtype=torch.float64).view(64, 1, 8, 8)
    a = physics.A(eye).view(64, 64).T  # column j = A e_j
    out = []
    for yi in y.view(-1, 64):
        x = torch.linalg.solve(a.T @ a / SIGMA**2 + LAM / TAU * torch.eye(64, dtype=torch.float64), a.T @ yi / SIGMA**2)
        out.append((a @ x - yi).pow(2).sum() / (2 * SIGMA**2) + LAM * x.pow(2).sum() / (2 * TAU))
    return torch.stack(out)


def test_gaussian_kernels_are_normalised_and_delta_at_zero():
    h = kernels.gaussian_kernels(torch.tensor([0.0, 0.5, 2.0], dtype=torch.float64), 7)
    assert torch.allclose(h.sum((1, 2, 3)), torch.ones(3, dtype=torch.float64))
    delta = torch.zeros(7, 7, dtype=torch.float64)
    delta[3, 3] = 1.0
    assert torch.equal(h[0, 0], delta)
    r2 = (torch.arange(7.0, dtype=torch.float64) - 3) ** 2
    g = torch.exp(-(r2.view(-1, 1) + r2.view(1, -1)) / (2 * 2.0**2))
    assert torch.allclose(h[2, 0], g / g.sum())
    with pytest.raises(ValueError, match="odd"):
        kernels.gaussian_kernels(torch.tensor([1.0]), 6)


def test_landscape_equals_the_closed_form_of_the_quadratic_prior():
    x, _, y = measured()
    thetas = torch.tensor([0.0, 0.7, 1.0, 1.5, 2.0], dtype=torch.float64)
    land = landscape(prior(), y, thetas, BCFG, x_true=x)
    expected = torch.stack([closed_form_j(float(t), y) for t in thetas])
    assert torch.allclose(land.objective, expected, rtol=1e-7), (land.objective, expected)
    assert torch.allclose(land.data + LAM * land.regularizer, land.objective)
    assert torch.isfinite(land.psnr).all() and land.x.shape == (5, *x.shape)


def test_theta_step_minimises_the_data_term_over_the_candidates_and_the_current_width():
    x, theta, y = measured()
    candidates = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0], dtype=torch.float64)
    got = theta_step(x, y, torch.tensor([0.3, 0.3], dtype=torch.float64), candidates, BCFG)
    assert torch.equal(got, theta)  # noisy data of the true x: the true width wins
    far = torch.tensor([1.0, 1.5], dtype=torch.float64)
    assert torch.equal(theta_step(x, y, far, candidates[:1], BCFG), far)  # the current width is kept when best


@pytest.mark.parametrize("start", [0.0, 2.0])
def test_alternating_map_never_raises_the_objective(start):
    _, _, y = measured()
    cfg = {**BCFG, "map": {**BCFG["map"], "max_iter": 5, "tol": 0.0}}  # inexact x-steps: the safeguard matters
    path = alternating_map(prior(), y, torch.full((2,), start, dtype=torch.float64), cfg)
    assert path.objective.shape == path.theta.shape == (4, 2)
    assert (path.objective[1:] <= path.objective[:-1]).all(), path.objective
