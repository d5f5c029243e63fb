"""The split-normal prior SN(0, sigma_L, sigma_R) of the 1-D study and its exact MAP denoiser under
Gaussian noise of standard deviation s:

    p(x) = sqrt(2/pi) / (sigma_L + sigma_R) * exp(-x^2 / (2 sigma_L^2))  for x < 0   (sigma_R for x >= 0)
    R(x) = s^2 * (-log p(x))  = s^2 x^2 / (2 sigma_L^2)  (x < 0),  s^2 x^2 / (2 sigma_R^2)  (x >= 0), up to a constant
    prox_R(y) = argmin_u 1/2 (u - y)^2 + R(u) = y sigma_L^2 / (sigma_L^2 + s^2)  (y < 0),
                                                 y sigma_R^2 / (sigma_R^2 + s^2)  (y >= 0)
    psi(y) = 1/2 y^2 sigma_L^2 / (sigma_L^2 + s^2)  (y < 0), likewise with sigma_R  (convex, psi' = prox_R)

With sigma_L = 1, sigma_R = 2, s = 1: prox = y/2 | 4y/5, psi = y^2/4 | 2y^2/5, R = x^2/2 | x^2/8. The prox is
positively 1-homogeneous (scale-equivariant) but not shift-equivariant."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SplitNormal:
    sigma_left: float
    sigma_right: float
    noise_sigma: float

    @classmethod
    def from_config(cls, prox1d_cfg: dict) -> "SplitNormal":
        return cls(float(prox1d_cfg["sigma_left"]), float(prox1d_cfg["sigma_right"]),
                   float(prox1d_cfg["noise_sigma"]))

    def _side(self, x: torch.Tensor, left, right) -> torch.Tensor:
        return torch.where(x < 0, torch.as_tensor(left, dtype=x.dtype), torch.as_tensor(right, dtype=x.dtype))

    def sample(self, n: int, generator: torch.Generator, dtype=torch.float32) -> torch.Tensor:
        """n draws: with probability sigma_L / (sigma_L + sigma_R) take -|z| sigma_L, else +|z| sigma_R, z ~ N(0, 1)."""
        z = torch.randn(n, generator=generator, dtype=dtype).abs()
        left = torch.rand(n, generator=generator, dtype=dtype) < self.sigma_left / (self.sigma_left + self.sigma_right)
        return torch.where(left, -z * self.sigma_left, z * self.sigma_right)

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) = log(sqrt(2/pi) / (sigma_L + sigma_R)) - x^2 / (2 sigma_side^2)."""
        scale = self._side(x, self.sigma_left, self.sigma_right)
        return math.log(math.sqrt(2 / math.pi) / (self.sigma_left + self.sigma_right)) - x**2 / (2 * scale**2)

    def regularizer(self, x: torch.Tensor) -> torch.Tensor:
        """R(x) = s^2 x^2 / (2 sigma_side^2) = s^2 (-log p(x)) + const, with min R = R(0) = 0."""
        scale = self._side(x, self.sigma_left, self.sigma_right)
        return self.noise_sigma**2 * x**2 / (2 * scale**2)

    def shrinkage(self, y: torch.Tensor) -> torch.Tensor:
        """The prox's slope on each side: sigma_side^2 / (sigma_side^2 + s^2)."""
        s2 = self.noise_sigma**2
        return self._side(y, self.sigma_left**2 / (self.sigma_left**2 + s2),
                          self.sigma_right**2 / (self.sigma_right**2 + s2))

    def prox(self, y: torch.Tensor) -> torch.Tensor:
        """prox_R(y) = y sigma_side^2 / (sigma_side^2 + s^2), the MAP denoiser of y = x + s n."""
        return self.shrinkage(y) * y

    def potential(self, y: torch.Tensor) -> torch.Tensor:
        """psi(y) = 1/2 y^2 sigma_side^2 / (sigma_side^2 + s^2), the convex potential with psi' = prox_R."""
        return 0.5 * self.shrinkage(y) * y**2
