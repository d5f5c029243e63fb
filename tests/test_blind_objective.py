"""Blind deblurring objective: with a known analytic prior, R(x) = ||x||^2 / (2 tau), whose prox
prox_{s^2 R}(v) = v tau / (tau + s^2) is linear, J(theta) by the consensus ADMM with the exact R equals the closed
form of the quadratic MAP; the exact R at the ADMM output equals the convex inversion for learned priors; the box
constraint holds; the classical control's joint MAP lands at theta = 0; an inversion with a large residual is
refused; the alternating solver never raises J; the kernel family."""

from __future__ import annotations

import pytest
import torch

from aelpn.blind import kernels, premises
from aelpn.blind.alternating import alternating_map, theta_step
from aelpn.blind.control import QuadraticGradientProx
from aelpn.blind.landscape import box_admm, box_violation, exact_regularizer, landscape
from aelpn.inverse.priors import LearnedPrior
from aelpn.models.regularizer import regularizer
from model_helpers import image_model

TAU, S, SIGMA, LAM, SIZE = 0.05, 0.1, 0.05, 1.0, 5
BCFG = {"kernel_size": SIZE, "noise_sigma": SIGMA, "theta_prior": {"low": 0.0, "high": 2.0},
        "map": {"lam": LAM, "max_iter": 3000, "tol": 1e-13, "box": False},
        "inversion": {"iterations": 200, "residual_tol": 1e-6},
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


def control(beta=0.5):
    return LearnedPrior("quadratic_gradient", QuadraticGradientProx(beta), S, 0.0, "cpu")


def measured(n=2, seed=0, sigma=SIGMA):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand((n, 1, 8, 8), generator=gen, dtype=torch.float64)
    theta = torch.tensor([1.0, 1.5], dtype=torch.float64)[:n]
    return x, theta, kernels.measure(x, theta, SIZE, sigma, gen)


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
    assert (land.residual < 1e-8).all(), land.residual


@pytest.mark.parametrize("variant", ["lpn", "aelpn"])
def test_exact_regularizer_equals_the_converged_inversion(variant):
    """R(f(v)) = (<v, f(v)> - psi(v) - ||f(v)||^2 / 2) / s^2 against aelpn.models.regularizer at f(v), in float64."""
    net = image_model(variant, channels=3, size=16)
    v = torch.rand((3, 3, 16, 16), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    point = exact_regularizer(LearnedPrior(variant, net, S, 0.0, "cpu"), v)
    inv = regularizer(net, point.x, tol=1e-12, max_iter=2000)
    assert (inv.residual < 1e-6).all(), inv.residual
    assert torch.allclose(point.regularizer, inv.value / S**2, rtol=1e-6, atol=1e-6), (point.regularizer, inv.value)


def test_box_admm_keeps_the_estimate_in_the_box():
    """Stretched measurements push the unconstrained MAP beyond [0, 1]; the box keeps it there, and the
    constrained J is above the unconstrained one."""
    x, theta, y = measured(sigma=0.01)
    data = kernels.data_term(theta, 4 * (y - 0.5) + 0.5, SIZE, SIGMA)
    p = control(0.01)
    free = box_admm(data, p, LAM, 2000, 1e-10, box=False)
    boxed = box_admm(data, p, LAM, 2000, 1e-10, box=True)
    assert (box_violation(free.x) > 0.1).all()
    assert (box_violation(boxed.x) < 1e-6).all(), box_violation(boxed.x)
    j_free, j_boxed = (data.value(m.x) + LAM * m.regularizer for m in (free, boxed))
    assert (j_boxed > j_free).all()


def test_control_prox_is_exact_and_its_formula_is_the_closed_form():
    c = QuadraticGradientProx(0.7)
    v = torch.rand((2, 3, 8, 8), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    x = c(v).requires_grad_()
    (grad,) = torch.autograd.grad(c.value(x).sum(), x)
    assert torch.allclose(grad + x - v, torch.zeros_like(v), atol=1e-12)  # optimality of prox_{R_D}(v)
    point = exact_regularizer(LearnedPrior("c", c, S, 0.0, "cpu"), v)
    assert torch.allclose(point.regularizer, c.value(point.x) / S**2, rtol=1e-10)


@pytest.mark.parametrize("box", [False, True])
def test_control_joint_map_lands_at_zero_width_without_noise(box):
    """Convex shift-invariant prior, noise-free y = h(theta) * x: R(h * x) <= R(x) and J(0) <= J(theta)."""
    x, theta, _ = measured()
    y = kernels.blur_physics(theta, SIZE, (1, 8, 8)).A(x)
    cfg = {**BCFG, "map": {**BCFG["map"], "box": box, "max_iter": 5000, "tol": 1e-12}}
    land = landscape(control(), y, kernels.theta_grid(cfg["theta_prior"], 9), cfg)
    assert (land.argmin() == 0).all(), land.objective
    prem = premises.premises(control(), x, theta, cfg)
    assert (prem.blur_lowers_r == 1).all() and (prem.r_truth.residual == 0).all()


def test_an_inversion_above_the_residual_tolerance_is_refused():
    net = image_model("lpn", channels=1, size=8)
    p = LearnedPrior("lpn", net, S, 0.0, "cpu")
    v, theta, _ = measured()
    with torch.no_grad():
        x = net(v)  # in the range of f: the inversion converges
    good = premises.regularizer_at(p, x, {"iterations": 500, "residual_tol": 1e-6})
    assert not good.refused.any() and torch.isfinite(good.value).all()
    residual = premises.regularizer_at(p, x, {"iterations": 2, "residual_tol": 1.0}).residual
    bad = premises.regularizer_at(p, x, {"iterations": 2, "residual_tol": 0.5 * float(residual.min())})
    assert bad.refused.all() and bad.value.isnan().all()
    kept = premises.regularizer_at(p, x, {"iterations": 2, "residual_tol": 2.0 * float(residual.max())})
    assert not kept.refused.any() and torch.isfinite(kept.value).all()
    prem = premises.premises(p, x, theta, {**BCFG, "inversion": {"iterations": 2, "residual_tol": 1e-9}})
    assert prem.blur_lowers_r.isnan().all()
    assert not premises.premises(p, x, theta, BCFG).r_truth.refused.any()


def test_properness_by_construction_and_lower_bound():
    x, _, _ = measured()
    lpn = LearnedPrior("lpn", image_model("lpn", channels=1, size=8), S, 0.0, "cpu")
    bound = premises.regularizer_lower_bound(lpn, x, [1.0, 4.0, 16.0, 64.0])
    assert premises.properness("lpn", bound, 0.0)[0]
    assert not premises.properness("aelpn", bound, 1.0)[0]
    assert not premises.properness("scale", bound, -1.0)[0]
    assert not premises.properness("quadratic_gradient", bound, 1.0)[0]
    assert not premises.properness("lpn", -bound, 0.0)[0]


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


def test_the_local_search_starts_its_first_x_step_at_the_given_image():
    """alternating_map(..., x0=x): the initial MAP solve is warm-started at x (the local search from the truth), so
    with one ADMM iteration and no rounds it ends where one ADMM iteration from x ends, not from data.init()."""
    x, theta, y = measured()
    cfg = {**BCFG, "map": {**BCFG["map"], "max_iter": 1, "tol": 0.0}, "alternating": {"rounds": 0, "search_points": 9}}
    data = kernels.data_term(theta, y, SIZE, SIGMA)
    from_truth = box_admm(data, prior(), LAM, 1, 0.0, False, z0=x).x
    path = alternating_map(prior(), y, theta, cfg, x0=x)
    assert torch.allclose(path.x, from_truth, rtol=0, atol=1e-12)
    assert not torch.allclose(alternating_map(prior(), y, theta, cfg).x, from_truth, rtol=0, atol=1e-6)
    assert torch.equal(path.theta[-1], theta)
