"""Seeded float64 inverse problems on tiny images for the solver tests."""

from __future__ import annotations

import torch

from aelpn.physics.problems import build_problem

POISSON_SOLVER = {"newton_iterations": 3, "cg_iterations": 10}


def measured_problem(operator: str, noise: dict, shape: tuple[int, int, int], images: int = 2):
    """(data term, x): ``images`` seeded ground truths in [0.1, 0.9] of ``shape`` measured through ``operator``
    (50 % inpainting or blur of width 1) with ``noise`` (a problem's noise section), physics in float64."""
    spec = {"operator": "inpainting", "keep": 0.5} if operator == "inpainting" else {"operator": "blur",
                                                                                      "blur_sigma": 1.0}
    cfg = {"problems": {"p": {**spec, "noise": noise}}, "poisson": POISSON_SOLVER}
    gen = torch.Generator().manual_seed(0)
    problem = build_problem("p", cfg, shape)
    x = torch.rand((images, *shape), generator=gen, dtype=torch.float64) * 0.8 + 0.1
    params = problem.sample_params(images, gen)
    y = problem.measure(x, params, gen)
    return problem.data_term(problem.physics(params, dtype=torch.float64), y), x
