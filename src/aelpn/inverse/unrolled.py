"""Unrolled HQS: K iterations x_k = prox_{g_k f}(z_{k-1}), z_k = D_k(x_k, sigma_k), with K untied denoisers
D_k of the same architecture as the PnP denoiser (initialized from it) and learned data weights g_k, trained
end to end with MSE for one problem, so that x_K approximates the MMSE estimate E[x | y]."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from aelpn.core.device import autocast
from aelpn.core.seeding import derive_seed
from aelpn.inverse.denoiser import ConditionalDenoiser, denoiser_from_spec, training_record
from aelpn.inverse.pnp import continuation_schedule
from aelpn.inverse.problems import build_problem
from aelpn.modelfile import load_model, read_model_file
from aelpn.training import Field, Step, fields
from aelpn.training.crops import train_on_crops


class UnrolledHQS(nn.Module):
    """x_K of K HQS steps from z_0 = data.init(); sigma_k follows the continuation schedule from sigma_start
    to the noise level of y; log g_k starts at log(sigma_k^2 / lam) (the DPIR weights) and is learned."""

    def __init__(self, denoiser: ConditionalDenoiser, iterations: int, sigma_start: float, lam: float):
        super().__init__()
        self.spec = {"denoiser": dict(denoiser.spec), "iterations": iterations, "sigma_start": sigma_start, "lam": lam}
        self.denoisers = nn.ModuleList(copy.deepcopy(denoiser) for _ in range(iterations))
        self.sigma_start, self.lam = sigma_start, lam
        self.log_weight_offset = nn.Parameter(torch.zeros(iterations))

    def schedule(self, noise_level: torch.Tensor) -> torch.Tensor:
        return continuation_schedule(self.sigma_start, noise_level, len(self.denoisers)).float()

    def forward(self, data) -> torch.Tensor:
        sigmas = self.schedule(data.noise_level).to(self.log_weight_offset.device)
        weights = sigmas**2 / self.lam * torch.exp(self.log_weight_offset).view(-1, 1)
        z = data.init()
        for k, denoiser in enumerate(self.denoisers):
            z = denoiser(data.prox(z, weights[k]), sigmas[k])
        return z


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
        return UnrolledHQS(load_model(denoiser_path, device="cpu"), ucfg["iterations"],
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


def unrolled_from_spec(spec: dict) -> UnrolledHQS:
    """An UnrolledHQS of the architecture ``spec`` (weights to be loaded; ``aelpn.modelfile`` kind)."""
    return UnrolledHQS(denoiser_from_spec(spec["denoiser"]), spec["iterations"], spec["sigma_start"], spec["lam"])


def load_unrolled(path: str, device="cpu") -> tuple[UnrolledHQS, dict]:
    """The trained unrolled network in eval mode (``aelpn.load_model``) and its metadata (problem,
    train_seconds, train_device, steps)."""
    return load_model(path, device=device), {"problem": read_model_file(path)["extra"]["problem"],
                                             **training_record(path)}
