"""The Poisson data term's prox on hard inputs at the paper's iteration budget (``inverse.poisson`` of
config/config.yaml): dark images where A x + b nears 0 and inpainting with Poisson noise. Written against the
public ``data_term(...).prox``, whatever algorithm computes it."""

from __future__ import annotations

import pytest
import torch

from aelpn.physics.problems import build_problem
from configs import shipped_config

SHAPE = (3, 16, 16)
PAPER_NOISE = {"kind": "poisson", "photons": 100.0, "background": 0.01}
OPERATORS = {"blur": {"operator": "blur", "blur_sigma": 1.0}, "inpainting": {"operator": "inpainting", "keep": 0.5}}
BRIGHTNESS = {"bright": (0.1, 0.8), "dark": (0.0, 0.02)}  # x ~ low + U(0, 1) * span
GAMMAS = (1e-3, 1e-2, 0.1)  # the prox weights the solvers use: 1 / rho of PnP-ADMM, sigma_k^2 / lam of continuation
RMS_TOLERANCE = 1e-4  # far below the 8-bit quantization step 1/255


def poisson_prox_case(operator: str, brightness: str, interior: bool, seed: int = 0):
    """(data term, ground truth x, prox input z, physics) with the paper's budget. With ``interior`` a zero
    count is raised to one photon, so that -y log(A x + b) keeps the optimum inside A x + b > 0; otherwise the
    counts are the raw Poisson draws (dark images then have many zero counts)."""
    inverse = shipped_config("config.yaml")["inverse"]
    spec = {**OPERATORS[operator], "noise": PAPER_NOISE}
    problem = build_problem("p", {"problems": {"p": spec}, "poisson": inverse["poisson"]}, SHAPE)
    gen = torch.Generator().manual_seed(seed)
    low, span = BRIGHTNESS[brightness]
    x = low + span * torch.rand((2, *SHAPE), generator=gen, dtype=torch.float64)
    params = problem.sample_params(2, gen)
    y = problem.measure(x, params, gen)
    if interior:
        y = y.clamp_min(1.0 / PAPER_NOISE["photons"])
    physics = problem.physics(params, dtype=torch.float64)
    z = x + 0.1 * torch.randn(x.shape, generator=gen, dtype=torch.float64)
    return problem.data_term(physics, y), x, z, physics


def objective(data, z, gamma):
    return lambda v: gamma * data.value(v) + 0.5 * (v - z).pow(2).flatten(1).sum(1)


@pytest.mark.parametrize("brightness", BRIGHTNESS)
@pytest.mark.parametrize("operator", OPERATORS)
def test_poisson_prox_reaches_the_optimum_at_the_paper_budget(operator, brightness):
    """p = prox_{gamma f}(z) satisfies gamma grad f(p) + p - z = 0 with A p + b > 0. The prox objective is
    1-strongly convex, so ||p - p*|| <= ||residual||: the RMS residual bounds the RMS error in intensity."""
    data, _, z, physics = poisson_prox_case(operator, brightness, interior=True)
    for gamma in GAMMAS:
        p = data.prox(z, gamma)
        u = physics.A(p) + data.likelihood.background
        assert bool((u > 0).all()), f"A p + b <= 0 at gamma={gamma}: {float(u.min()):.3g}"
        residual = gamma * data.grad(p) + p - z
        rms = residual.flatten(1).norm(dim=1) / residual[0].numel() ** 0.5
        assert float(rms.max()) < RMS_TOLERANCE, f"gamma={gamma}: RMS optimality residual {float(rms.max()):.2e}"


@pytest.mark.parametrize("operator", OPERATORS)
def test_poisson_prox_stays_feasible_on_dark_images_with_zero_counts(operator):
    """Zero counts make f linear in those pixels, pulling A x + b towards 0: every prox output keeps A p + b > 0
    and a finite objective no larger than at the feasible point max(z, 0)."""
    data, _, z, physics = poisson_prox_case(operator, "dark", interior=False)
    assert bool((data.y == 0).any())
    for gamma in GAMMAS:
        p = data.prox(z, gamma)
        u = physics.A(p) + data.likelihood.background
        assert bool((u > 0).all()), f"A p + b <= 0 at gamma={gamma}: {float(u.min()):.3g}"
        value = objective(data, z, gamma)
        assert bool(torch.isfinite(value(p)).all())
        assert bool((value(p) <= value(z.clamp_min(0))).all())
