"""Operators and data terms of the inverse problems: the configured operators against independent float64
constructions, adjointness, the Lipschitz constant against a power iteration, prox optimality (Gaussian and
Poisson; the Poisson prox on hard inputs is in test_inverse_poisson.py)."""

from __future__ import annotations

import deepinv as dinv
import pytest
import torch

from aelpn.physics.poisson import PoissonLikelihood
from aelpn.physics.problems import DataTerm, build_problem

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


def setup(operator: str, noise: str, seed: int = 0, shape=SHAPE):
    gen = torch.Generator().manual_seed(seed)
    problem = build_problem("p", inverse_cfg(operator, noise), shape)
    x = torch.rand((2, *shape), generator=gen, dtype=torch.float64) * 0.8 + 0.1
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


@pytest.mark.parametrize("keep", [0.2, 0.7])
def test_inpainting_masks_the_configured_fraction_of_pixels_in_every_channel(keep):
    """A x = m * x with m in {0, 1} shared by the channels and P(m = 1) = ``keep`` (binomial 5-sigma band)."""
    spec = {"operator": "inpainting", "keep": keep, "noise": NOISE["gaussian"]}
    problem = build_problem("p", {"problems": {"p": spec}, "poisson": {}}, (3, 64, 64))
    gen = torch.Generator().manual_seed(3)
    params = problem.sample_params(4, gen)
    assert torch.equal(params["mask"], problem.sample_params(4, torch.Generator().manual_seed(3))["mask"])
    x = torch.rand((4, 3, 64, 64), generator=gen, dtype=torch.float64) + 0.5
    ax = problem.physics(params, dtype=torch.float64).A(x)
    kept = ax != 0
    assert torch.equal(kept, kept[:, :1].expand_as(kept)), "the mask differs between channels"
    assert torch.equal(ax[kept], x[kept])
    n = kept[:, 0].numel()
    assert abs(float(kept[:, 0].double().mean()) - keep) < 5 * (keep * (1 - keep) / n) ** 0.5


@pytest.mark.parametrize("blur_sigma", [0.8, 2.0])
def test_blur_is_the_periodic_convolution_with_a_gaussian_of_the_configured_width(blur_sigma):
    """The impulse response of A is the sampled Gaussian exp(-(i^2 + j^2) / (2 s^2)), normalized to sum 1, with
    s = ``blur_sigma``, wrapped around the borders (circular convolution), and the same for every channel."""
    size = 32
    spec = {"operator": "blur", "blur_sigma": blur_sigma, "noise": NOISE["gaussian"]}
    physics = build_problem("p", {"problems": {"p": spec}, "poisson": {}}, (2, size, size)).physics(
        {}, dtype=torch.float64)
    offset = torch.arange(size, dtype=torch.float64) - size // 2
    kernel = torch.exp(-(offset[:, None] ** 2 + offset[None, :] ** 2) / (2 * blur_sigma**2))
    kernel = kernel / kernel.sum()
    for centre in [(size // 2, size // 2), (1, size - 2)]:
        impulse = torch.zeros((1, 2, size, size), dtype=torch.float64)
        impulse[..., centre[0], centre[1]] = 1.0
        expected = torch.roll(kernel, (centre[0] - size // 2, centre[1] - size // 2), dims=(0, 1))
        response = physics.A(impulse)[0]
        for channel in response:
            assert (channel - expected).abs().max() < 1e-4


@pytest.mark.parametrize("operator", ["inpainting", "blur"])
def test_lipschitz_constant_is_the_largest_eigenvalue_of_the_data_hessian(operator):
    """L = ||A^T A|| / sigma^2 for grad f(x) = A^T (A x - y) / sigma^2: 300 power iterations on A^T A from a
    seeded random start reach it from below (on images larger than the blur kernel, which FFT blur would crop)."""
    problem, physics, x, y, gen = setup(operator, "gaussian", shape=(3, 32, 32))
    data = problem.data_term(physics, y)
    v = torch.randn(x.shape, generator=gen, dtype=torch.float64)
    for _ in range(300):
        v = physics.A_adjoint(physics.A(v))
        v = v / v.norm()
    largest = float((v * physics.A_adjoint(physics.A(v))).sum()) / data.likelihood.sigma**2
    assert largest <= data.lipschitz() * (1 + 1e-6)  # the kernel is built in float32
    assert largest >= data.lipschitz() * (1 - 1e-3)


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
        assert bool((p + data.likelihood.background > 0).all()), "the negative root also zeroes the residual"
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
