"""Inverse problems built from ``inverse.problems`` in the config: deepinv operators (random-pixel
inpainting, FFT Gaussian blur) with Gaussian or Poisson noise, the likelihoods as deepinv data fidelities, and
the data term f(x) = -log p(y|x) bound to a batch's measurements that every solver uses (``grad``, ``prox``)."""

from __future__ import annotations

from dataclasses import dataclass

import deepinv as dinv
import torch

from aelpn.core.config import ConfigError
from aelpn.physics.poisson import PoissonLikelihood


class GaussianLikelihood(dinv.optim.DataFidelity):
    """f(x) = ||Ax - y||^2 / (2 sigma^2), the negative log-likelihood of y = Ax + sigma * n, n ~ N(0, I), as a
    deepinv data fidelity (deepinv's signatures: fn, grad, prox take x, y and the physics)."""

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = float(sigma)

    def fn(self, x: torch.Tensor, y: torch.Tensor, physics, *args, **kwargs) -> torch.Tensor:
        """f(x) per image, shape (B,)."""
        r = physics.A(x) - y
        return r.pow(2).flatten(1).sum(1) / (2 * self.sigma**2)

    def grad(self, x: torch.Tensor, y: torch.Tensor, physics, *args, **kwargs) -> torch.Tensor:
        """grad f(x) = A^T (Ax - y) / sigma^2."""
        return physics.A_adjoint(physics.A(x) - y) / self.sigma**2

    def prox(self, x: torch.Tensor, y: torch.Tensor, physics, *args, gamma=1.0, **kwargs) -> torch.Tensor:
        """argmin_u gamma f(u) + ||u - x||^2 / 2, in closed form (deepinv ``prox_l2`` with weight gamma / sigma^2);
        gamma is a number or one weight per image (a (B,) tensor)."""
        if torch.is_tensor(gamma) and gamma.dim() == 1:
            gamma = gamma.view(-1, *([1] * (x.dim() - 1)))
        return physics.prox_l2(x, y, gamma / self.sigma**2)

    def init(self, y: torch.Tensor, physics) -> torch.Tensor:
        """x0 = A^T y + (1 - A^T A 1) / 2: the back-projection, with unobserved pixels set to mid-grey."""
        ones = torch.ones_like(physics.A_adjoint(y))
        return physics.A_adjoint(y) + 0.5 * (ones - physics.A_adjoint(physics.A(ones)))

    def lipschitz(self, physics) -> float:
        """Lipschitz constant of grad f: ||A||^2 / sigma^2 (the operators here have ||A|| = 1)."""
        return 1.0 / self.sigma**2

    def noise_level(self, y: torch.Tensor) -> torch.Tensor:
        """Standard deviation of the Gaussian noise of each image, shape (B,), used by the noise-adaptive
        schedules."""
        return torch.full((y.shape[0],), self.sigma, dtype=y.dtype, device=y.device)


class DataTerm:
    """f(x) = -log p(y | x) of one batch: a likelihood (a deepinv DataFidelity) bound to its operator
    ``physics`` and measurements ``y``; the interface every solver uses (value, grad, prox, init, lipschitz,
    noise_level). ``operator`` names the operator kind (``inpainting``, ``blur``), for the methods whose
    settings depend on it (DiffPIR, DPS)."""

    def __init__(self, likelihood: dinv.optim.DataFidelity, physics: dinv.physics.LinearPhysics, y: torch.Tensor,
                 operator: str):
        self.likelihood, self.physics, self.y, self.operator = likelihood, physics, y, operator

    def value(self, x: torch.Tensor) -> torch.Tensor:
        """f(x) per image, shape (B,)."""
        return self.likelihood.fn(x, self.y, self.physics)

    def grad(self, x: torch.Tensor) -> torch.Tensor:
        return self.likelihood.grad(x, self.y, self.physics)

    def prox(self, z: torch.Tensor, gamma) -> torch.Tensor:
        """argmin_x gamma f(x) + ||x - z||^2 / 2."""
        return self.likelihood.prox(z, self.y, self.physics, gamma=gamma)

    def back_projection(self) -> torch.Tensor:
        """A^T y, DPIR's (and deepinv's) starting point: zero where the operator observes nothing."""
        return self.physics.A_adjoint(self.y)

    def init(self) -> torch.Tensor:
        """The solvers' starting point, from the measurements."""
        return self.likelihood.init(self.y, self.physics)

    def lipschitz(self) -> float:
        return self.likelihood.lipschitz(self.physics)

    @property
    def noise_level(self) -> torch.Tensor:
        """The (Gaussian-equivalent) noise standard deviation of each image, shape (B,), used by the
        noise-adaptive schedules."""
        return self.likelihood.noise_level(self.y)


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

    def likelihood(self) -> dinv.optim.DataFidelity:
        """The negative log-likelihood -log p(y | x) as a deepinv data fidelity."""
        noise = self.spec["noise"]
        if noise["kind"] == "gaussian":
            return GaussianLikelihood(noise["sigma"])
        return PoissonLikelihood(
            photons=noise["photons"],
            background=noise["background"],
            newton_iterations=self.poisson["newton_iterations"],
            cg_iterations=self.poisson["cg_iterations"],
        )

    def data_term(self, physics: dinv.physics.LinearPhysics, y: torch.Tensor) -> DataTerm:
        """f(x) = -log p(y | x) for measurements ``y`` of the operator ``physics``."""
        return DataTerm(self.likelihood(), physics, y, self.spec["operator"])


def build_problem(name: str, inverse_cfg: dict, shape: tuple[int, int, int]) -> Problem:
    """The problem ``name`` of ``inverse.problems`` on images of shape (C, H, W)."""
    problems = inverse_cfg["problems"]
    if name not in problems:
        raise ConfigError(f"config key 'inverse.problems.{name}': no such problem (have {', '.join(sorted(problems))})")
    return Problem(name=name, spec=problems[name], shape=tuple(shape), poisson=inverse_cfg["poisson"])

