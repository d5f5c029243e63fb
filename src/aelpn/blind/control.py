"""The classical control of the blind experiment: a convex, shift-invariant quadratic gradient prior,

    R_D(x) = (beta / 2) ||grad x||^2,   grad x = (x[i+1, j] - x[i, j], x[i, j+1] - x[i, j]) circularly, per channel,

whose prox is exact and diagonal in Fourier space, f(v) = prox_{R_D}(v) = F^-1[F(v) / (1 + beta |d|^2)] with
|d(w)|^2 = 4 sin^2(w_1 / 2) + 4 sin^2(w_2 / 2) the symbol of grad^T grad. f = grad psi for the convex
psi(v) = <v, f(v)> / 2 (f is linear, symmetric, positive definite), so the landscape's exact formula
R_D(f(v)) = <v, f(v)> - psi(v) - ||f(v)||^2 / 2 applies unchanged; ``value`` is R_D directly.

For any kernel h >= 0 with sum 1 and the circular blur, R_D(h * x) <= sum_k h_k R_D(shift_k x) = R_D(x)
(Jensen, convexity and shift invariance), and f_0(h(theta) * x) = f_theta(x) for the same y, hence
J(0) <= J(theta) for every theta: the joint MAP with this prior must land at theta = 0 (the box [0, 1]^n is
kept by a blur, so the constrained MAP too)."""

from __future__ import annotations

import torch
from torch import nn

LABEL = "quadratic_gradient"


def _gradient(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.roll(x, -1, dims=-2) - x, torch.roll(x, -1, dims=-1) - x


class QuadraticGradientProx(nn.Module):
    """f(v) = prox of R_D = (beta / 2) ||grad x||^2 on (B, C, H, W) images, with ``potential_and_gradient``
    (psi(v) = <v, f(v)> / 2, f(v)) and ``value`` (R_D(x), per image)."""

    def __init__(self, beta: float):
        super().__init__()
        self.beta = float(beta)

    def _symbol(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        wy = 2 * torch.pi * torch.fft.fftfreq(h, dtype=x.dtype, device=x.device)
        wx = 2 * torch.pi * torch.fft.rfftfreq(w, dtype=x.dtype, device=x.device)
        return 4 * torch.sin(wy / 2).view(-1, 1) ** 2 + 4 * torch.sin(wx / 2).view(1, -1) ** 2

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        spectrum = torch.fft.rfft2(v) / (1 + self.beta * self._symbol(v))
        return torch.fft.irfft2(spectrum, s=v.shape[-2:])

    def potential_and_gradient(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self(v)
        return 0.5 * (v * f).flatten(1).sum(1), f

    def value(self, x: torch.Tensor) -> torch.Tensor:
        """R_D(x) = (beta / 2) ||grad x||^2 per image."""
        gy, gx = _gradient(x)
        return 0.5 * self.beta * (gy.square() + gx.square()).flatten(1).sum(1)
