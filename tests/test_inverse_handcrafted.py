"""The hand-crafted z-updates of the diffusion-step ADMM (aelpn.solvers.handcrafted; methods tv_admm and
wavelet_admm): the prox weight gamma_k = sigma_k^2 weight / lam, and the property the module docstring promises:
the ADMM minimises f + weight R0, so on a denoising problem (A = I, Gaussian noise s, f = ||x - y||^2 / (2 s^2))
it reaches prox_{s^2 weight R0}(y)."""

from __future__ import annotations

import pytest
import torch

from aelpn.inverse.methods.registry import get
from aelpn.inverse.priors import LearnedPrior
from aelpn.physics.problems import build_problem
from aelpn.solvers import handcrafted

NOTHING = LearnedPrior("denoiser", None, None, 0.0, "none")


def test_prox_step_weight_is_sigma_squared_weight_over_lam():
    seen = []
    step = handcrafted.prox_step(lambda v, gamma: seen.append(gamma) or v, 30.0, 0.23)
    step(torch.zeros(2, 3, 4, 4, dtype=torch.float64), 0.1)
    assert seen == [pytest.approx(0.1**2 * 30.0 / 0.23, rel=1e-15)]


def _denoising_problem(sigma: float = 0.01):
    """inpainting with keep = 1 (A = I) and Gaussian noise sigma: f = ||x - y||^2 / (2 sigma^2)."""
    cfg = {"problems": {"d": {"operator": "inpainting", "keep": 1.0, "noise": {"kind": "gaussian", "sigma": sigma}}},
           "poisson": {"newton_iterations": 1, "cg_iterations": 1}}
    gen = torch.Generator().manual_seed(0)
    problem = build_problem("d", cfg, (3, 12, 12))
    x = torch.rand((2, 3, 12, 12), generator=gen, dtype=torch.float64) * 0.8 + 0.1
    params = problem.sample_params(2, gen)
    y = problem.measure(x, params, gen)
    return problem.data_term(problem.physics(params, dtype=torch.float64), y), x


def test_tv_admm_on_denoising_reaches_the_tv_prox_of_y():
    """f + weight TV with f = ||x - y||^2 / (2 s^2) is minimised by prox_{s^2 weight TV}(y)."""
    from deepinv.optim import TVPrior

    data, x = _denoising_problem()
    weight = 200.0  # s^2 weight = 0.02
    section = {"sigma_start": 0.005, "sigma_end": 0.005, "lam": 0.23, "iterations": 100, "prox_iterations": 200,
               "per_operator": {"inpainting": {"weight": weight}}}
    ours = get("tv_admm").solve(data, NOTHING, section, 0, x).x
    direct = TVPrior(def_crit=1e-12, n_it_max=20000).prox(data.y, gamma=0.01**2 * weight)
    torch.testing.assert_close(ours, direct, rtol=0, atol=2e-4)
    assert (ours - data.y).abs().max() > 1e-2  # the prior acts


@pytest.mark.parametrize("name,extra", [("tv_admm", {"prox_iterations": 20}),
                                        ("wavelet_admm", {"wavelet": "haar", "level": 2})])
def test_a_larger_weight_regularises_more(name, extra):
    """A weight near zero leaves the noisy denoising measurement; a larger one moves the estimate away from it."""
    data, x = _denoising_problem(0.05)
    distances = []
    for weight in (1e-6, 20.0):
        section = {"sigma_start": 0.192, "sigma_end": 0.02, "lam": 0.23, "iterations": 30, **extra,
                   "per_operator": {"inpainting": {"weight": weight}}}
        distances.append(float((get(name).solve(data, NOTHING, section, 0, x).x - data.y).abs().max()))
    assert distances[0] < 1e-4 < 1e-2 < distances[1]
