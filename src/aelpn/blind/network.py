"""The blind MMSE network: a small kernel-estimation head theta_hat(y) feeding the unrolled HQS of
aelpn.models.unrolled with the data term of h(theta_hat), trained end to end on the blur family
(aelpn.blind.training) so that theta_hat ~ E[theta | y] and x_K ~ E[x | y]."""

from __future__ import annotations

import torch
from torch import nn

from aelpn.blind import kernels
from aelpn.models.denoiser import denoiser_from_spec
from aelpn.models.unrolled import UnrolledHQS


class KernelHead(nn.Module):
    """theta_hat(y) = theta_max sigmoid(w . mean_pixels(g(y)) + b), g three 3x3 convolutions (the last two with
    stride 2) with ReLUs, on y - 1/2; shape (B,)."""

    def __init__(self, channels: int, width: int, theta_max: float):
        super().__init__()
        self.theta_max = theta_max
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, stride=2, padding=1), nn.ReLU(),
        )
        self.out = nn.Linear(width, 1)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        pooled = self.features(y - 0.5).mean(dim=(2, 3))
        return self.theta_max * torch.sigmoid(self.out(pooled)).view(-1)


class BlindUnrolled(nn.Module):
    """forward(y) -> (x_hat, theta_hat): theta_hat = head(y), x_hat = UnrolledHQS(data term of h(theta_hat), y).
    The kernel reaches the HQS without gradient (theta_hat is learned from its own loss, the HQS from the image
    loss); ``reconstruct(y, theta)`` runs the HQS with a given width (the oracle-kernel bound)."""

    def __init__(self, denoiser, channels: int, head_width: int, iterations: int, sigma_start: float, lam: float,
                 theta_max: float, kernel_size: int, noise_sigma: float):
        super().__init__()
        self.head = KernelHead(channels, head_width, theta_max)
        self.unrolled = UnrolledHQS(denoiser, iterations, sigma_start, lam)
        self.kernel_size, self.noise_sigma = kernel_size, noise_sigma
        self.spec = {"denoiser": dict(denoiser.spec), "channels": channels, "head_width": head_width,
                     "iterations": iterations, "sigma_start": sigma_start, "lam": lam, "theta_max": theta_max,
                     "kernel_size": kernel_size, "noise_sigma": noise_sigma}

    def reconstruct(self, y: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        return self.unrolled(kernels.data_term(theta.detach().to(y), y, self.kernel_size, self.noise_sigma))

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        theta = self.head(y)
        return self.reconstruct(y, theta), theta


def blind_from_spec(spec: dict) -> BlindUnrolled:
    """A BlindUnrolled of the architecture ``spec`` (weights to be loaded; ``aelpn.models.files`` kind ``blind``)."""
    return BlindUnrolled(denoiser_from_spec(spec["denoiser"]), spec["channels"], spec["head_width"],
                         spec["iterations"], spec["sigma_start"], spec["lam"], spec["theta_max"], spec["kernel_size"],
                         spec["noise_sigma"])
