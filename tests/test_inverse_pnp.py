"""PnP solvers with an analytic Gaussian prior reach their closed-form answers (float64); the data term's
Lipschitz constant and per-image noise level."""

from __future__ import annotations

import pytest
import torch
import yaml
from torch import nn

from aelpn.core.config import ConfigError
from aelpn.solvers import pnp
from aelpn.physics.problems import build_problem
from aelpn.models.unrolled import UnrolledHQS
from aelpn.core.metrics import psnr

SHAPE = (3, 8, 6)
SIGMA_N, SIGMA_TRAIN, TAU, MU = 0.05, 0.1, 0.2, 0.5


class GaussianProx(nn.Module):
    """The prox of sigma_train^2 R for R(x) = ||x - mu||^2 / (2 tau^2), x -> (tau^2 x + sigma_train^2 mu) /
    (tau^2 + sigma_train^2): what a proximal network trained at sigma_train is for a Gaussian prior N(mu, tau^2)."""

    def forward(self, x, sigma=None):
        return (TAU**2 * x + SIGMA_TRAIN**2 * MU) / (TAU**2 + SIGMA_TRAIN**2)


class GaussianMMSE(nn.Module):
    """The exact denoiser of the prior N(mu, tau^2) at noise level sigma, (tau^2 x + sigma^2 mu) / (tau^2 + sigma^2),
    which is also prox_{sigma^2 R} of R(x) = ||x - mu||^2 / (2 tau^2); sigma may hold one level per image."""

    spec: dict = {}

    def forward(self, x, sigma):
        s2 = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, *([1] * (x.dim() - 1))) ** 2
        return (TAU**2 * x + s2 * MU) / (TAU**2 + s2)


def problem(operator: str, sigma_n: float = SIGMA_N, shape=SHAPE):
    if operator == "inpainting":
        spec = {"operator": "inpainting", "keep": 0.5}
    else:
        spec = {"operator": "blur", "blur_sigma": 1.0}
    cfg = {"problems": {"p": {**spec, "noise": {"kind": "gaussian", "sigma": sigma_n}}},
           "poisson": {"newton_iterations": 1, "cg_iterations": 1}}
    gen = torch.Generator().manual_seed(0)
    prob = build_problem("p", cfg, shape)
    x = torch.rand((2, *shape), generator=gen, dtype=torch.float64)
    params = prob.sample_params(2, gen)
    y = prob.measure(x, params, gen)
    return prob.data_term(prob.physics(params, dtype=torch.float64), y), x


def dense_operator(data, b: int) -> torch.Tensor:
    """The matrix of A for image b of the batch (columns A e_i)."""
    n = SHAPE[0] * SHAPE[1] * SHAPE[2]
    eye = torch.eye(n, dtype=torch.float64)
    batch = data.y.shape[0]
    return torch.stack([data.physics.A(eye[i].view(1, *SHAPE).expand(batch, *SHAPE))[b].flatten()
                        for i in range(n)], dim=1)


def dense_map(data, lam: float, tau2: float) -> torch.Tensor:
    """argmin ||Ax - y||^2 / (2 sigma_n^2) + lam ||x - mu||^2 / (2 tau2), by a dense solve per image."""
    n, s2 = SHAPE[0] * SHAPE[1] * SHAPE[2], data.likelihood.sigma**2
    out = []
    for b in range(data.y.shape[0]):
        a_mat, eye = dense_operator(data, b), torch.eye(n, dtype=torch.float64)
        lhs = a_mat.T @ a_mat / s2 + lam / tau2 * eye
        rhs = a_mat.T @ data.y[b].flatten() / s2 + lam * MU / tau2
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
@pytest.mark.parametrize("factor", [1.0, 3.0])
def test_pnp_pgd_and_pnp_admm_reach_the_same_map_for_the_same_lam(operator, factor):
    data, x = problem(operator)
    lam = factor * SIGMA_TRAIN**2 * data.lipschitz()  # the smallest lam whose PGD step is stable, and above it
    target = dense_map(data, lam, TAU**2)
    pgd = pnp.pnp_pgd(data, GaussianProx(), SIGMA_TRAIN, lam, max_iter=5000, tol=1e-14)
    admm = pnp.pnp_admm(data, GaussianProx(), SIGMA_TRAIN, lam, max_iter=5000, tol=1e-14)
    assert torch.allclose(pgd.x, target, atol=1e-8) and torch.allclose(admm.x, target, atol=1e-8)


def test_pnp_pgd_refuses_an_unstable_step():
    data, _ = problem("inpainting")
    with pytest.raises(ConfigError, match="inverse.pnp_pgd.lam"):
        pnp.pnp_pgd(data, GaussianProx(), SIGMA_TRAIN, 0.5 * SIGMA_TRAIN**2 * data.lipschitz(), 10, 1e-6)


def configured(section: str) -> dict:
    with open("config/config.yaml") as fh:
        return yaml.safe_load(fh)["inverse"][section]


@pytest.mark.parametrize("operator", ["inpainting", "blur"])
def test_red_reaches_the_map_of_the_smoothed_prior_in_the_configured_iterations(operator):
    cfg = configured("red")
    data, x = problem(operator, sigma_n=0.01)
    sol = pnp.red(data, GaussianProx(), SIGMA_TRAIN, cfg["lam"], cfg["max_iter"], cfg["tol"], x_true=x)
    # (x - D(x)) / sigma_train^2 = (x - mu) / (tau^2 + sigma_train^2): RED's prior is N(mu, tau^2 + sigma_train^2)
    target = dense_map(data, cfg["lam"], TAU**2 + SIGMA_TRAIN**2)
    assert bool((sol.iterations < cfg["max_iter"]).all())
    assert float((sol.x - target).norm() / target.norm()) < 1e-4
    last = sol.psnr_trace[torch.arange(x.shape[0]), sol.iterations - 1]
    assert torch.allclose(last, psnr(target, x).double(), atol=1e-3)  # the trace ends on the MAP's plateau


def test_continuation_at_a_constant_level_reaches_the_hqs_fixed_point():
    """With sigma_k = sigma_n throughout, HQS x = prox_{(sigma^2/lam) f}(z), z = D(x, sigma) is block-coordinate
    descent on f(x) + lam ||x - z||^2 / (2 sigma^2) + lam R(z); its minimiser solves a linear system."""
    data, _ = problem("blur")
    lam, n = 0.23, SHAPE[0] * SHAPE[1] * SHAPE[2]
    sol = pnp.pnp_continuation(data, GaussianMMSE(), SIGMA_N, lam, iterations=800)
    beta, eye = lam / SIGMA_N**2, torch.eye(n, dtype=torch.float64)
    for b in range(data.y.shape[0]):
        a_mat = dense_operator(data, b)
        lhs = torch.cat([torch.cat([a_mat.T @ a_mat / SIGMA_N**2 + beta * eye, -beta * eye], 1),
                         torch.cat([-beta * eye, (beta + lam / TAU**2) * eye], 1)], 0)
        rhs = torch.cat([a_mat.T @ data.y[b].flatten() / SIGMA_N**2, torch.full((n,), lam * MU / TAU**2,
                                                                                  dtype=torch.float64)])
        z = torch.linalg.solve(lhs, rhs)[n:]
        assert torch.allclose(sol.x[b].flatten(), z, atol=1e-8)


@pytest.mark.parametrize("operator", ["inpainting", "blur"])
def test_lipschitz_constant_matches_a_power_iteration(operator):
    data, _ = problem(operator, shape=(3, 20, 16))  # larger than the 9 x 9 kernel, which keeps its unit sum
    v = torch.randn(data.y.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for _ in range(300):
        v = data.grad(v) - data.grad(torch.zeros_like(v))  # (A^T A / sigma^2) v
        v = v / v.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    hv = data.grad(v) - data.grad(torch.zeros_like(v))
    estimate = hv.flatten(1).norm(dim=1)
    assert torch.allclose(estimate, torch.full_like(estimate, data.lipschitz()), rtol=1e-3)


def poisson_blur(n: int):
    cfg = {"problems": {"p": {"operator": "blur", "blur_sigma": 1.0,
                              "noise": {"kind": "poisson", "photons": 30.0, "background": 0.01}}},
           "poisson": {"newton_iterations": 6, "cg_iterations": 10}}
    gen = torch.Generator().manual_seed(4)
    prob = build_problem("p", cfg, SHAPE)
    brightness = torch.tensor([0.2, 0.5, 1.0], dtype=torch.float64)[:n].view(-1, 1, 1, 1)
    x = torch.rand((n, *SHAPE), generator=gen, dtype=torch.float64) * brightness
    params = prob.sample_params(n, gen)
    y = prob.measure(x, params, gen)
    return prob, params, y


def test_poisson_noise_level_and_continuation_of_an_image_ignore_its_batch_mates():
    prob, params, y = poisson_blur(3)
    batch = prob.data_term(prob.physics(params, dtype=torch.float64), y)
    alone = prob.data_term(prob.physics(params, dtype=torch.float64), y[1:2])
    assert torch.allclose(batch.noise_level, (y.flatten(1).clamp_min(0).mean(1) / 30.0).sqrt())
    assert torch.allclose(batch.noise_level[1:2], alone.noise_level)
    together = pnp.pnp_continuation(batch, GaussianMMSE(), 0.2, 0.23, iterations=4)
    single = pnp.pnp_continuation(alone, GaussianMMSE(), 0.2, 0.23, iterations=4)
    assert torch.allclose(together.x[1:2], single.x, atol=1e-10)
    net = UnrolledHQS(GaussianMMSE(), iterations=2, sigma_start=0.2, lam=0.23).double()
    with torch.no_grad():
        assert torch.allclose(net(batch)[1:2], net(alone), atol=1e-10)


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
    per_image = pnp.continuation_schedule(49 / 255, torch.tensor([0.01, 0.05]), 8)
    assert per_image.shape == (8, 2) and torch.allclose(per_image[:, 0], s)


def test_a_diverging_image_stops_at_its_last_finite_iterate_and_is_flagged():
    # x <- growth * x: image 0 grows by 1e10 per step and overflows float32 at the fourth step, image 1 shrinks
    x0 = torch.ones(2, 1, 4, 4)
    growth = torch.tensor([1e10, 0.5]).view(2, 1, 1, 1)
    sol = pnp.iterate(lambda s, k: {"x": s["x"] * growth}, {"x": x0}, "x", max_iter=10, tol=0.0)
    assert sol.diverged.tolist() == [True, False]
    assert sol.iterations.tolist() == [3, 10]
    assert torch.isfinite(sol.x).all()
    assert torch.equal(sol.x[0], torch.full((1, 4, 4), 1e30))
    assert torch.equal(sol.x[1], torch.full((1, 4, 4), 0.5**10))
    from aelpn.inverse.methods.base import Estimate

    assert Estimate.of(sol).diverged.tolist() == [True, False]  # what every iterative method returns keeps the flag
