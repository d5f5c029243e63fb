"""Unrolled HQS: K iterations x_k = prox_{g_k f}(z_{k-1}), z_k = D_k(x_k, sigma_k), with K untied denoisers
D_k of the same architecture as the PnP denoiser (initialized from it) and learned data weights g_k, trained
end to end (``aelpn.training.unrolled``) with MSE for one problem, so that x_K approximates the MMSE estimate E[x | y]."""

from __future__ import annotations

import copy

import torch
from torch import nn

from aelpn.models.denoiser import ConditionalDenoiser, denoiser_from_spec
from aelpn.models.files import load_model, read_model_file, training_record
from aelpn.solvers.pnp import continuation_schedule


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


def unrolled_from_spec(spec: dict) -> UnrolledHQS:
    """An UnrolledHQS of the architecture ``spec`` (weights to be loaded; ``aelpn.models.files`` kind)."""
    return UnrolledHQS(denoiser_from_spec(spec["denoiser"]), spec["iterations"], spec["sigma_start"], spec["lam"])


def load_unrolled(path: str, device="cpu") -> tuple[UnrolledHQS, dict]:
    """The trained unrolled network in eval mode (``aelpn.load_model``) and its metadata (problem,
    train_seconds, train_device, steps)."""
    return load_model(path, device=device, kind="unrolled"), {"problem": read_model_file(path)["extra"]["problem"],
                                             **training_record(path)}
