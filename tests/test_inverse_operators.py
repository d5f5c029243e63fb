"""Operators and data terms of the inverse problems: adjointness, prox optimality (Gaussian and Poisson)."""

from __future__ import annotations

import deepinv as dinv
import pytest
import torch

from aelpn.inverse.poisson import PoissonLikelihood
from aelpn.inverse.problems import DataTerm, build_problem

SHAPE = (3, 12, 10)
NOISE = {"gaussian": {"kind": "gaussian", "sigma": 0.05},
         "poisson": {"kind": "poisson", "photons": 30.0, "background": 0.02}}


def inverse_cfg(operator: str, noise: str) -> dict:
    if operator == "inpainting":
        spec = {"operator": "inpainting", "keep": 0.4}
    else:
        spec = {"operator": "blur", "blur_sigma": 1.5}
    return {"problems": {"p": {**spec, "noise": NOISE[noise]}},
            "poisson": {"newton_iterations": 30, "cg_iterations": 80}}


def setup(operator: str, noise: str, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    problem = build_problem("p", inverse_cfg(operator, noise), SHAPE)
    x = torch.rand((2, *SHAPE), generator=gen, dtype=torch.float64) * 0.8 + 0.1
    params = problem.sample_params(2, gen)
    y = problem.measure(x, params, gen)
    physics = problem.physics(params, dtype=torch.float64)
    return problem, physics, x, y, gen


@pytest.mark.parametrize("operator", ["inpainting", "blur"])
def test_operator_is_adjoint_in_float64(operator):
    _, physics, x, y, gen = setup(operator, "gaussian")
    v = torch.randn(y.shape, generator=gen, dtype=torch.float64)
    lhs = (physics.A(x) * v).sum()
    rhs = (x * physics.A_adjoint(v)).sum()
    assert torch.allclose(lhs, rhs, rtol=1e-12, atol=1e-12)
    assert abs(float(physics.adjointness_test(x))) < 1e-10


def test_inpainting_mask_is_seeded_and_keeps_the_configured_fraction():
    problem = build_problem("p", inverse_cfg("inpainting", "gaussian"), (3, 64, 64))
    a = problem.sample_params(4, torch.Generator().manual_seed(3))["mask"]
    b = problem.sample_params(4, torch.Generator().manual_seed(3))["mask"]
    assert torch.equal(a, b)
    assert abs(float(a.mean()) - 0.4) < 0.02
    assert a.shape == (4, 1, 64, 64)


@pytest.mark.parametrize("operator", ["inpainting", "blur"])
def test_gaussian_prox_satisfies_its_optimality_condition(operator):
    problem, physics, x, y, gen = setup(operator, "gaussian")
    data = problem.data_term(physics, y)
    z = torch.randn(x.shape, generator=gen, dtype=torch.float64)
    for gamma in (1e-3, 0.1, 10.0):
        p = data.prox(z, gamma)
        assert (gamma * data.grad(p) + p - z).abs().max() < 1e-10


@pytest.mark.parametrize("gamma", [1e-3, 1e-2, 0.3])
def test_poisson_blur_prox_satisfies_its_optimality_condition(gamma):
    problem, physics, x, y, gen = setup("blur", "poisson")
    data = problem.data_term(physics, y)
    z = x + 0.2 * torch.randn(x.shape, generator=gen, dtype=torch.float64)
    p = data.prox(z, gamma)
    assert bool((physics.A(p) + data.likelihood.background > 0).all())
    assert (gamma * data.grad(p) + p - z).abs().max() < 1e-9
    def objective(v):
        return gamma * data.value(v) + 0.5 * (v - z).pow(2).flatten(1).sum(1)

    assert bool((objective(p) <= objective(z.clamp_min(0))).all())


def test_poisson_identity_prox_is_the_closed_form_root():
    gen = torch.Generator().manual_seed(1)
    x = torch.rand((2, 3, 5, 5), generator=gen, dtype=torch.float64)
    y = (torch.poisson(50 * (x + 0.05), generator=gen) + 1) / 50  # strictly positive counts: interior optimum
    data = DataTerm(PoissonLikelihood(photons=50, background=0.05, newton_iterations=1, cg_iterations=1),
                    dinv.physics.Denoising(), y, "denoising")
    z = x + 0.3 * torch.randn(x.shape, generator=gen, dtype=torch.float64)
    for gamma in (1e-3, 0.05, 2.0):
        p = data.prox(z, gamma)
        assert (gamma * data.grad(p) + p - z).abs().max() < 1e-10


def test_poisson_measurements_are_seeded_normalized_counts():
    problem, _, x, y, _ = setup("blur", "poisson", seed=4)
    _, _, _, y2, _ = setup("blur", "poisson", seed=4)
    assert torch.equal(y, y2)
    counts = y * NOISE["poisson"]["photons"]
    assert torch.allclose(counts, counts.round(), atol=1e-9)


@pytest.mark.parametrize("noise", ["gaussian", "poisson"])
def test_likelihoods_are_deepinv_data_fidelities_with_the_gradient_of_their_value(noise):
    """grad is the autograd gradient of fn (summed over images), through deepinv's DataFidelity interface."""
    problem, physics, x, y, gen = setup("blur", noise)
    likelihood = problem.likelihood()
    assert isinstance(likelihood, dinv.optim.DataFidelity)
    v = (x + 0.05 * torch.randn(x.shape, generator=gen, dtype=torch.float64)).clamp(0.05, 1).requires_grad_()
    (auto,) = torch.autograd.grad(likelihood.fn(v, y, physics).sum(), v)
    assert torch.allclose(likelihood.grad(v, y, physics), auto, rtol=1e-10, atol=1e-8)
