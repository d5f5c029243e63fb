"""Inverse problems built from ``inverse.problems`` in the config: deepinv operators (random-pixel
inpainting, FFT Gaussian blur) with Gaussian or Poisson noise, and the data term f(x) = -log p(y|x)
that every solver uses through ``grad`` and ``prox``."""

from __future__ import annotations

from dataclasses import dataclass

import deepinv as dinv
import torch

from aelpn.inverse.poisson import PoissonData


class GaussianData:
    """f(x) = ||Ax - y||^2 / (2 sigma^2) for y = Ax + sigma * n, n ~ N(0, I)."""

    def __init__(self, physics: dinv.physics.LinearPhysics, y: torch.Tensor, sigma: float):
        self.physics, self.y, self.sigma = physics, y, float(sigma)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        """f(x) per image, shape (B,)."""
        r = self.physics.A(x) - self.y
        return r.pow(2).flatten(1).sum(1) / (2 * self.sigma**2)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        """grad f(x) = A^T (Ax - y) / sigma^2."""
        return self.physics.A_adjoint(self.physics.A(x) - self.y) / self.sigma**2

    def prox(self, z: torch.Tensor, gamma) -> torch.Tensor:
        """argmin_x gamma f(x) + ||x - z||^2 / 2, in closed form (deepinv ``prox_l2`` with weight gamma / sigma^2);
        gamma is a number or one weight per image (a (B,) tensor)."""
        if torch.is_tensor(gamma) and gamma.dim() == 1:
            gamma = gamma.view(-1, *([1] * (z.dim() - 1)))
        return self.physics.prox_l2(z, self.y, gamma / self.sigma**2)

    def init(self) -> torch.Tensor:
        """x0 = A^T y + (1 - A^T A 1) / 2: the back-projection, with unobserved pixels set to mid-grey."""
        ones = torch.ones_like(self.physics.A_adjoint(self.y))
        return self.physics.A_adjoint(self.y) + 0.5 * (ones - self.physics.A_adjoint(self.physics.A(ones)))

    def lipschitz(self) -> float:
        """Lipschitz constant of grad f: ||A||^2 / sigma^2 (the operators here have ||A|| = 1)."""
        return 1.0 / self.sigma**2

    @property
    def noise_level(self) -> torch.Tensor:
        """Standard deviation of the Gaussian noise of each image, shape (B,), used by the noise-adaptive schedules."""
        return torch.full((self.y.shape[0],), self.sigma, dtype=self.y.dtype, device=self.y.device)


def _gaussian_kernel(blur_sigma: float, dtype) -> torch.Tensor:
    return dinv.physics.functional.gaussian_blur(sigma=(blur_sigma, blur_sigma), angle=0.0).to(dtype)


@dataclass
class Problem:
    """One configured inverse problem on images of shape ``shape`` = (C, H, W)."""

    name: str
    spec: dict
    shape: tuple[int, int, int]
    poisson: dict

    @property
    def gaussian(self) -> bool:
        return self.spec["noise"]["kind"] == "gaussian"

    def sample_params(self, n: int, generator: torch.Generator) -> dict:
        """Random operator parameters for n images: an inpainting mask keeping each pixel (all channels)
        with probability ``keep``; nothing for blur."""
        if self.spec["operator"] == "inpainting":
            _, h, w = self.shape
            keep = torch.rand((n, 1, h, w), generator=generator) < self.spec["keep"]
            return {"mask": keep.float()}
        return {}

    def physics(self, params: dict, device="cpu", dtype=torch.float32) -> dinv.physics.LinearPhysics:
        """The deepinv operator A for a batch with operator parameters ``params`` (see ``sample_params``)."""
        if self.spec["operator"] == "inpainting":
            mask = params["mask"].to(device=device, dtype=dtype)
            return dinv.physics.Inpainting(img_size=self.shape, mask=mask, device=device)
        kernel = _gaussian_kernel(self.spec["blur_sigma"], dtype).to(device)
        return dinv.physics.BlurFFT(img_size=self.shape, filter=kernel, device=device)

    def measure(self, x: torch.Tensor, params: dict, generator: torch.Generator) -> torch.Tensor:
        """y = A x + sigma n (Gaussian) or y = Poisson(photons (A x + b)) / photons (Poisson), with the noise
        drawn from ``generator``."""
        physics = self.physics(params, device=x.device, dtype=x.dtype)
        noise = self.spec["noise"]
        if noise["kind"] == "gaussian":
            physics.noise_model = dinv.physics.GaussianNoise(sigma=noise["sigma"], rng=generator)
            return physics.noise(physics.A(x))
        physics.noise_model = dinv.physics.PoissonNoise(
            gain=1.0 / noise["photons"], normalize=True, clip_positive=True, rng=generator
        )
        return physics.noise(physics.A(x) + noise["background"])

    def data_term(self, physics: dinv.physics.LinearPhysics, y: torch.Tensor):
        """The negative log-likelihood f(x) = -log p(y | x) as a GaussianData or PoissonData."""
        noise = self.spec["noise"]
        if noise["kind"] == "gaussian":
            return GaussianData(physics, y, noise["sigma"])
        return PoissonData(
            physics,
            y,
            photons=noise["photons"],
            background=noise["background"],
            newton_iterations=self.poisson["newton_iterations"],
            cg_iterations=self.poisson["cg_iterations"],
        )


def build_problem(name: str, inverse_cfg: dict, shape: tuple[int, int, int]) -> Problem:
    """The problem ``name`` of ``inverse.problems`` on images of shape (C, H, W)."""
    problems = inverse_cfg["problems"]
    if name not in problems:
        raise KeyError(f"config key 'inverse.problems.{name}': no such problem (have {sorted(problems)})")
    return Problem(name=name, spec=problems[name], shape=tuple(shape), poisson=inverse_cfg["poisson"])

