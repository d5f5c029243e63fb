"""The blur family h(theta) of the blind problem: isotropic Gaussian kernels of width theta (pixels) on a
k x k support, h(theta)[i, j] = exp(-(i^2 + j^2) / (2 theta^2)) / sum, so that h(0) = delta (the limit
theta -> 0, computed as a softmax of the logits -r^2 / (2 theta^2), exact at theta = 0). The operator
A_theta x = h(theta) * x is deepinv's circular FFT blur; y = A_theta x + sigma n."""

from __future__ import annotations

import deepinv as dinv
import torch

from aelpn.physics.problems import DataTerm, GaussianLikelihood

# Widths below this give a kernel equal to delta in double precision (exp(-1 / (2 * 1e-3^2)) underflows).
_DELTA_WIDTH = 1e-3


def gaussian_kernels(theta: torch.Tensor, size: int) -> torch.Tensor:
    """h(theta) for a (B,) tensor of widths: (B, 1, size, size), each summing to 1; size must be odd."""
    if size % 2 != 1:
        raise ValueError(f"kernel size {size} must be odd (the kernel is centred on a pixel)")
    theta = torch.as_tensor(theta).flatten()
    r = torch.arange(size, dtype=theta.dtype, device=theta.device) - size // 2
    r2 = (r.view(-1, 1) ** 2 + r.view(1, -1) ** 2).flatten()
    logits = -r2 / (2 * theta.clamp_min(_DELTA_WIDTH).view(-1, 1) ** 2)
    return torch.softmax(logits, dim=1).view(-1, 1, size, size)


def blur_physics(theta: torch.Tensor, size: int, shape: tuple[int, int, int]) -> dinv.physics.BlurFFT:
    """A_theta on images of shape (C, H, W): one width for the whole batch (a 1-element tensor) or one per
    image ((B,) tensor)."""
    kernel = gaussian_kernels(theta, size)
    return dinv.physics.BlurFFT(img_size=tuple(shape), filter=kernel, device=kernel.device)


def measure(x: torch.Tensor, theta: torch.Tensor, size: int, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """y = h(theta) * x + sigma n, one width per image, n ~ N(0, I) drawn from ``generator``."""
    physics = blur_physics(theta.to(x.dtype), size, tuple(x.shape[1:]))
    physics.noise_model = dinv.physics.GaussianNoise(sigma=sigma, rng=generator)
    return physics.noise(physics.A(x))


def data_term(theta: torch.Tensor, y: torch.Tensor, size: int, sigma: float) -> DataTerm:
    """f_theta(x) = ||h(theta) * x - y||^2 / (2 sigma^2), bound to the measurements y (aelpn.physics.problems)."""
    physics = blur_physics(torch.as_tensor(theta, dtype=y.dtype, device=y.device), size, tuple(y.shape[1:]))
    return DataTerm(GaussianLikelihood(sigma), physics, y, "blur")


def sample_widths(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    """True widths theta ~ U[low, high], shape (n,), float64."""
    return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)


def theta_grid(prior: dict, points: int) -> torch.Tensor:
    """``points`` widths equally spaced on the support [low, high] of the theta prior ``blind.theta_prior``
    (theta = 0 is delta), float64."""
    return torch.linspace(prior["low"], prior["high"], points, dtype=torch.float64)
