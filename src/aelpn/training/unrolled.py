"""Training of an unrolled HQS network (``aelpn.models.unrolled``) end to end with MSE for one problem, so that
x_K approximates the MMSE estimate E[x | y]."""

from __future__ import annotations

from pathlib import Path

import torch

from aelpn.core.device import autocast
from aelpn.core.seeding import derive_seed
from aelpn.models.files import load_model
from aelpn.models.unrolled import UnrolledHQS
from aelpn.physics.problems import build_problem
from aelpn.training.crops import train_on_crops
from aelpn.training.log import Field, fields
from aelpn.training.loop import Step


def _measure_batch(problem, x: torch.Tensor, generator: torch.Generator, device):
    params = problem.sample_params(x.shape[0], generator)
    y = problem.measure(x, params, generator)
    physics = problem.physics(params, device=device)
    return problem.data_term(physics, y.to(device))


def train_unrolled(cfg: dict, problem_name: str, crops_path: str, denoiser_path: str, out: str,
                   log_out: str) -> Path:
    """Train the unrolled network of ``problem_name`` end to end (MSE of x_K, recipe of
    ``inverse.unrolled``: warm-up, gradient clipping) on fresh seeded measurements of the crops by ``aelpn.training.crops.train_on_crops``; writes
    the model file (kind unrolled) and the training log. cfg: seed, compute, inverse."""
    icfg, ucfg = cfg["inverse"], cfg["inverse"]["unrolled"]

    problem = None

    def build(x):
        nonlocal problem
        problem = build_problem(problem_name, icfg, tuple(x.shape[1:]))
        return UnrolledHQS(load_model(denoiser_path, device="cpu", kind="denoiser"), ucfg["iterations"],
                           ucfg["sigma_start"], ucfg["lam"])

    def loss(model, xb, gen, device) -> Step:
        data = _measure_batch(problem, xb, gen, device)
        with autocast(cfg["compute"], device):
            return Step((model(data) - xb.to(device)).pow(2).mean())

    return train_on_crops(cfg, "inverse.unrolled", "unrolled", f"unrolled {problem_name}",
                          f"unrolled network training log, problem {problem_name}", crops_path, out, log_out, build,
                          loss, derive_seed(cfg["seed"], "inverse", problem_name, "unrolled"),
                          fields(loss=Field("mean squared error of x_K")), depends_on=(denoiser_path,),
                          extra={"problem": problem_name},
                          log_attrs={"problem": problem_name})

