"""Diffusion posterior solvers from deepinv driven by our conditional denoiser (Tweedie: the score of the
noisy prior is (D(x, sigma) - x) / sigma^2): DiffPIR (denoise, data prox, re-noise) and DPS (reverse VP SDE
with the gradient of ||A D(x_t, sigma_t) - y|| as likelihood guidance)."""

from __future__ import annotations

import deepinv as dinv
import torch


class ProxAdapter(dinv.optim.DataFidelity):
    """deepinv's L2 convention for DiffPIR's data step: prox_{gamma ||A. - y||^2/2} = prox_{gamma s^2 f} with f
    our negative log-likelihood and s its (Gaussian-equivalent) noise level; exact for Gaussian noise and the
    Poisson prox with the same weight for Poisson noise."""

    def __init__(self, data):
        super().__init__()
        self.data = data

    def prox(self, x, y, physics, *args, gamma=1.0, **kwargs):
        return self.data.prox(x, gamma * self.data.noise_level**2)


def _with_gaussian_noise(physics, sigma: float):
    physics.noise_model = dinv.physics.GaussianNoise(sigma=sigma)
    return physics


def diffpir(data, denoiser, steps: int, lam: float, zeta: float, seed: int) -> torch.Tensor:
    """deepinv DiffPIR with ``steps`` denoiser evaluations, data weight rho_t = lam s^2 / sigma_t^2 and
    stochasticity zeta. deepinv draws its noise from the global RNG, so it runs in a forked RNG seeded with ``seed``."""
    device = data.y.device
    physics = _with_gaussian_noise(data.physics, data.noise_level)
    model = dinv.sampling.DiffPIR(denoiser, ProxAdapter(data), sigma=data.noise_level, max_iter=steps,
                                  zeta=zeta, lambda_=lam, device=device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), torch.no_grad():
        torch.manual_seed(seed)
        return model(data.y, physics)


def dps(data, denoiser, steps: int, weight: float, guidance: str, seed: int) -> torch.Tensor:
    """deepinv DPS (VP schedule, DDPM solver, ``steps`` steps) with guidance weight * ||A D(x_t) - y|| ("norm")
    or weight * ||A D(x_t) - y||^2 / (2 (s^2 + sigma_t^2)) ("annealed"); noise from a generator seeded with ``seed``."""
    device = data.y.device
    physics = _with_gaussian_noise(data.physics, data.noise_level)
    rng = torch.Generator(device).manual_seed(seed)
    model = dinv.sampling.DPS(denoiser, schedule="vp", solver="ddpm", num_steps=steps, weight=weight,
                              guidance=guidance, device=device, rng=rng)
    return model(data.y, physics).float().detach()
