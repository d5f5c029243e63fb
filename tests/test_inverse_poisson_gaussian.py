"""Gaussian approximations of the Poisson likelihood (aelpn.physics.poisson_gaussian), float64: Anscombe's
transform and its asymptotically unbiased inverse on known values; each data term is the documented formula with
the problem's photons and background, its gradient is the autograd one, and its prox solves its optimality
condition; the two methods run on Poisson problems only."""

from __future__ import annotations

import math

import pytest
import torch

from aelpn.inverse.jobs import applicable
from aelpn.inverse.methods.registry import get
from aelpn.physics.poisson_gaussian import (PoissonAnscombe, PoissonWLS, anscombe, anscombe_mean, approximation,
                                            inverse_anscombe)
from problem_helpers import measured_problem

SHAPE = (3, 8, 6)
PHOTONS, BACKGROUND = 50.0, 0.02
SECTION = {"lam": 1.0, "max_iter": 5, "tol": 1e-4, "newton_iterations": 30, "cg_iterations": 300}


def poisson_data(operator: str = "blur"):
    return measured_problem(operator, {"kind": "poisson", "photons": PHOTONS, "background": BACKGROUND}, SHAPE)


def test_anscombe_and_its_inverse_on_known_values():
    k = torch.tensor([0.0, 1.0, 5.0], dtype=torch.float64)
    assert torch.allclose(anscombe(k), torch.tensor([math.sqrt(1.5), math.sqrt(5.5), math.sqrt(21.5)],
                                                    dtype=torch.float64), rtol=1e-15, atol=0)
    t = torch.tensor([2.0, 4.0, 10.0], dtype=torch.float64)
    assert torch.allclose(inverse_anscombe(t), torch.tensor([0.875, 3.875, 24.875], dtype=torch.float64),
                          rtol=1e-15, atol=0)
    mu = torch.tensor([0.5, 3.0, 40.0], dtype=torch.float64)
    assert torch.allclose(inverse_anscombe(anscombe_mean(mu)), mu, rtol=1e-14, atol=0)


@pytest.mark.parametrize("mu", [20.0, 50.0])
def test_the_inverse_is_asymptotically_unbiased(mu):
    """inverse_anscombe(E[anscombe(k)]) = mu up to O(mu^-2) for k ~ Poisson(mu) (the expectation summed exactly),
    where the algebraic inverse (t/2)^2 - 3/8 is off by 1/4."""
    k = torch.arange(0, 1000, dtype=torch.float64)
    pmf = torch.exp(k * math.log(mu) - mu - torch.lgamma(k + 1))
    mean = (pmf * anscombe(k)).sum()
    assert abs(float(inverse_anscombe(mean)) - mu) < 1e-4
    assert abs(float((mean / 2) ** 2 - 3 / 8) - mu) > 0.2


def _wls_formula(x, data):
    r = data.physics.A(x) + BACKGROUND - data.y
    return PHOTONS / 2 * (r * r / (data.y + BACKGROUND)).flatten(1).sum(1)


def _vst_formula(x, data):
    t = 2 * torch.sqrt(PHOTONS * data.y + 3 / 8)
    m = 2 * torch.sqrt(PHOTONS * (data.physics.A(x) + BACKGROUND) + 1 / 8)
    return 0.5 * ((t - m) ** 2).flatten(1).sum(1)


@pytest.mark.parametrize("kind, formula", [("wls", _wls_formula), ("anscombe", _vst_formula)])
def test_the_methods_data_term_is_the_documented_one_with_the_problems_photons(kind, formula):
    data, x = poisson_data()
    term = approximation(kind, data, SECTION)
    assert isinstance(term.likelihood, {"wls": PoissonWLS, "anscombe": PoissonAnscombe}[kind])
    assert term.physics is data.physics and term.y is data.y
    assert torch.allclose(term.value(x), formula(x, data), rtol=1e-13, atol=0)
    v = x.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(formula(v, data).sum(), v)
    assert torch.allclose(term.grad(x), auto, rtol=1e-10, atol=1e-10)


def test_the_anscombe_data_term_vanishes_where_the_transformed_mean_is_the_data():
    """f_VST(x) = 0 when c (Ax + b) + 1/8 = c y + 3/8, i.e. y = Ax + b - 1/(4c)."""
    data, x = poisson_data()
    exact = data.physics.A(x) + BACKGROUND - 1 / (4 * PHOTONS)
    term = approximation("anscombe", type(data)(data.likelihood, data.physics, exact, data.operator), SECTION)
    assert torch.allclose(term.value(x), torch.zeros(2, dtype=torch.float64), rtol=0, atol=1e-20)


@pytest.mark.parametrize("kind", ["wls", "anscombe"])
@pytest.mark.parametrize("operator", ["blur", "inpainting"])
@pytest.mark.parametrize("gamma", [1e-3, 1e-2, 0.1])
def test_prox_solves_its_optimality_condition(kind, operator, gamma):
    """u = prox_{gamma f}(z) satisfies gamma grad f(u) + u - z = 0 (for WLS: its normal equations
    (gamma A^T W A + I) u = z + gamma A^T W (y - b))."""
    data, x = poisson_data(operator)
    term = approximation(kind, data, SECTION)
    z = x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    u = term.prox(z, gamma)
    residual = gamma * term.grad(u) + u - z
    assert float(residual.abs().max()) < 1e-8


def test_gaussian_approximations_apply_to_poisson_problems_only():
    for name in ("pnp_admm_wls", "pnp_admm_anscombe"):
        assert get(name).likelihoods == ("poisson",) and get(name).map_weight == "lam"
        assert applicable(name, {"noise": {"kind": "poisson"}})
        assert not applicable(name, {"noise": {"kind": "gaussian"}})


@pytest.mark.parametrize("name, kind", [("pnp_admm_wls", "wls"), ("pnp_admm_anscombe", "anscombe")])
def test_each_method_is_pnp_admm_on_its_own_approximation(name, kind):
    """The registered method equals PnP-ADMM run on ``approximation(kind)`` (and differs from the other kind)."""
    from aelpn.solvers import pnp
    from aelpn.inverse.priors import LearnedPrior

    data, x = poisson_data()
    shrink = torch.nn.Module()
    shrink.forward = lambda v: 0.5 * (v + v.mean(dim=(1, 2, 3), keepdim=True))
    prior = LearnedPrior("shrink", shrink, 0.1, 0.0, "cpu")
    got = get(name).solve(data, prior, SECTION, 0, x).x
    expected = pnp.pnp_admm(approximation(kind, data, SECTION), shrink, 0.1, SECTION["lam"], SECTION["max_iter"],
                            SECTION["tol"], x).x
    other = {"wls": "anscombe", "anscombe": "wls"}[kind]
    assert torch.equal(got, expected)
    assert not torch.allclose(got, pnp.pnp_admm(approximation(other, data, SECTION), shrink, 0.1, SECTION["lam"],
                                                SECTION["max_iter"], SECTION["tol"], x).x, atol=1e-6)
