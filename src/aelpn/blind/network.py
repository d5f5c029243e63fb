"""The blind MMSE network: a small kernel-estimation head theta_hat(y) on the measurement's radial log spectrum,
feeding the unrolled HQS of aelpn.models.unrolled with the data term of h(theta_hat), trained on the blur family
(aelpn.blind.training) so that theta_hat ~ E[theta | y] and x_K ~ E[x | y]."""

from __future__ import annotations

import torch
from torch import nn

from aelpn.blind import kernels
from aelpn.models.denoiser import denoiser_from_spec
from aelpn.models.unrolled import UnrolledHQS


def radial_log_spectrum(y: torch.Tensor, bins: int) -> torch.Tensor:
    """The blur-revealing features of y (B, C, H, W): the log power spectrum of the channel mean, minus its mean
    over pixels, averaged over ``bins`` rings of equal width in radial frequency (0, 1/2] cycles per pixel,
    centred on its mean over the rings; (B, bins). A Gaussian blur of width theta multiplies the power by
    exp(-(2 pi theta r)^2) at radial frequency r, a ring-wise shift of the log spectrum by -(2 pi theta r)^2
    (down to the noise floor), whatever the image."""
    gray = y.mean(1)
    gray = gray - gray.mean((-2, -1), keepdim=True)
    power = torch.fft.rfft2(gray).abs().square()
    fy = torch.fft.fftfreq(gray.shape[-2], dtype=y.dtype, device=y.device).view(-1, 1)
    fx = torch.fft.rfftfreq(gray.shape[-1], dtype=y.dtype, device=y.device).view(1, -1)
    ring = (torch.sqrt(fy**2 + fx**2) * 2 * bins).ceil().long() - 1  # ring of (0, 1/(2 bins)] is 0, ...
    keep = ((ring >= 0) & (ring < bins)).flatten()
    index = ring.flatten()[keep]
    log_power = torch.log(power.flatten(1)[:, keep] + 1e-12)
    sums = torch.zeros(y.shape[0], bins, dtype=y.dtype, device=y.device).index_add_(1, index, log_power)
    ones = torch.ones_like(index, dtype=y.dtype)
    counts = torch.zeros(bins, dtype=y.dtype, device=y.device).index_add_(0, index, ones)
    profile = sums / counts.clamp_min(1)
    return profile - profile.mean(1, keepdim=True)


class KernelHead(nn.Module):
    """theta_hat(y) = low + (high - low) sigmoid(g(radial_log_spectrum(y))), g an MLP bins -> width -> width -> 1
    with ReLUs, [low, high] the support of the theta prior; shape (B,). It sees the blur through the spectrum's
    fall-off, not through the image content."""

    def __init__(self, bins: int, width: int, theta_low: float, theta_high: float):
        super().__init__()
        self.bins, self.theta_low, self.theta_high = bins, theta_low, theta_high
        self.mlp = nn.Sequential(nn.Linear(bins, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                                 nn.Linear(width, 1))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        out = torch.sigmoid(self.mlp(radial_log_spectrum(y, self.bins))).view(-1)
        return self.theta_low + (self.theta_high - self.theta_low) * out


class BlindUnrolled(nn.Module):
    """forward(y) -> (x_hat, theta_hat): theta_hat = head(y), x_hat = UnrolledHQS(data term of h(theta_hat), y).
    The kernel reaches the HQS without gradient (theta_hat is learned from its own loss, the HQS from the image
    loss); ``reconstruct(y, theta)`` runs the HQS with a given width (the oracle-kernel bound)."""

    def __init__(self, denoiser, channels: int, head_width: int, head_bins: int, iterations: int, sigma_start: float,
                 lam: float, theta_low: float, theta_high: float, kernel_size: int, noise_sigma: float):
        super().__init__()
        self.head = KernelHead(head_bins, head_width, theta_low, theta_high)
        self.unrolled = UnrolledHQS(denoiser, iterations, sigma_start, lam)
        self.kernel_size, self.noise_sigma = kernel_size, noise_sigma
        self.spec = {"denoiser": dict(denoiser.spec), "channels": channels, "head_width": head_width,
                     "head_bins": head_bins, "iterations": iterations, "sigma_start": sigma_start, "lam": lam,
                     "theta_low": theta_low, "theta_high": theta_high,
                     "kernel_size": kernel_size, "noise_sigma": noise_sigma}

    def reconstruct(self, y: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        return self.unrolled(kernels.data_term(theta.detach().to(y), y, self.kernel_size, self.noise_sigma))

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        theta = self.head(y)
        return self.reconstruct(y, theta), theta


def blind_from_spec(spec: dict) -> BlindUnrolled:
    """A BlindUnrolled of the architecture ``spec`` (weights to be loaded; ``aelpn.models.files`` kind ``blind``)."""
    return BlindUnrolled(denoiser_from_spec(spec["denoiser"]), spec["channels"], spec["head_width"],
                         spec["head_bins"], spec["iterations"], spec["sigma_start"], spec["lam"], spec["theta_low"],
                         spec["theta_high"], spec["kernel_size"], spec["noise_sigma"])
