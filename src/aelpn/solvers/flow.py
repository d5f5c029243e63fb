"""Inverse-problem solvers with the flow-matching prior (aelpn.models.flow; t = 0 data, t = 1 noise, flow
units 2 image - 1), images in [0, 1] for the data term f = -log p(y|x):

* ``pnp_flow``: PnP-Flow (Martin, Gagneux, Hagemann & Steidl, ICLR 2025, Alg. 1), a forward-backward scheme
  whose backward step is the flow's time-dependent denoiser after a re-projection onto the flow path;
* ``flow_admm``: ADMM whose z-update is that same interpolate-then-denoise step (PnP-Flow's denoiser in place
  of the prox of PnP-ADMM), so the x-update is the data term's prox and Poisson likelihoods are handled;
* ``flow_posterior``: posterior sampling with deepinv's ``FlowMatching`` SDE and ``PosteriorDiffusion`` with the
  DPS data-fidelity score (Chung et al. 2023) on the same model (a Gaussian likelihood)."""

from __future__ import annotations

import deepinv as dinv
import torch

from aelpn.solvers.pnp import Solution, iterate


def flow_times(t_start: float, t_end: float, iterations: int) -> torch.Tensor:
    """t_k linear from t_start down to t_end (float64, ``iterations`` values; t = 1 is pure noise)."""
    return torch.linspace(t_start, t_end, iterations, dtype=torch.float64)


@torch.no_grad()
def pnp_flow(data, flow, iterations: int, alpha: float, step_fraction: float, seed: int, x_true=None) -> Solution:
    """PnP-Flow, written in our time convention (the paper's t' = 1 - t): with t_k = 1 - (k + 1) / (N + 1),
    k = 0 .. N-1, from x = data.init():

        z = x - gamma_k grad f(x),  gamma_k = (step_fraction / L) t_k^alpha   (the paper's (1 - t'_k)^alpha)
        z_t = (1 - t_k) (2 z - 1) + t_k eps,  eps ~ N(0, I)                    (interpolation onto the path)
        x = (E[x_0 | z_t] + 1) / 2,  E[x_0 | z_t] = z_t - t_k v(z_t, t_k)       (the time-dependent denoiser)

    L is the Lipschitz constant of grad f, so the step never exceeds step_fraction / L; the noise comes from a
    generator seeded with ``seed``. Needs grad f: Gaussian likelihoods. The paper's grid t'_k = k / N starts at
    pure noise, t = 1, where a velocity derived from a denoiser is singular (1 / (1 - t)); the uniform grid above
    stays inside (0, 1)."""
    times = (1 - torch.arange(1, iterations + 1, dtype=torch.float64) / (iterations + 1)).tolist()
    lipschitz = data.lipschitz()
    x0 = data.init()
    gen = torch.Generator(device=x0.device).manual_seed(seed)

    def step(s, k):
        z = s["x"] - step_fraction / lipschitz * times[k] ** alpha * data.grad(s["x"])
        eps = torch.randn(z.shape, generator=gen, device=z.device, dtype=z.dtype)
        return {"x": flow.restore(z, times[k], eps)}

    return iterate(step, {"x": x0}, "x", iterations, 0.0, x_true, "pnp-flow")


def flow_noise_level(t: float) -> float:
    """The image-unit noise level of the flow's denoiser at time t: t / (2 (1 - t))."""
    return t / (2 * (1 - t))


@torch.no_grad()
def flow_admm(data, flow, t_start: float, t_end: float, lam: float, iterations: int, seed: int,
              x_true=None) -> Solution:
    """Scaled ADMM with PnP-Flow's denoiser as the z-update, t_k linear from t_start to t_end:

        x = prox_{f / rho_k}(z - u);  z = restore(x + u, t_k, eps_k);  u = u + x - z,

    restore = interpolate (1 - t_k)(2 v - 1) + t_k eps_k, then E[x_0 | .], back to image units. The denoiser at
    t_k removes noise of image-unit level s_k = t_k / (2 (1 - t_k)), so rho_k = lam / s_k^2 as in PnP-ADMM
    (the z-update plays the prox of (lam / rho_k) R at noise level s_k); the scaled dual is rescaled by
    rho_(k-1) / rho_k when rho changes. Fixed iteration count (the re-noising keeps the iterates moving)."""
    times = flow_times(t_start, t_end, iterations).tolist()
    rho = [lam / flow_noise_level(t) ** 2 for t in times]
    z0 = data.init()
    gen = torch.Generator(device=z0.device).manual_seed(seed)

    def step(s, k):
        u = s["u"] * (rho[k - 1] / rho[k] if k else 1.0)
        x = data.prox(s["z"] - u, 1.0 / rho[k])
        eps = torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)
        z = flow.restore(x + u, times[k], eps)
        return {"z": z, "u": u + x - z}

    return iterate(step, {"z": z0, "u": torch.zeros_like(z0)}, "z", iterations, 0.0, x_true, "flow-admm")


def flow_posterior(data, flow, steps: int, t_max: float, t_min: float, weight: float, seed: int) -> torch.Tensor:
    """One posterior sample by deepinv: ``FlowMatching`` (a_t = 1 - t, b_t = t, our parametrisation, alpha = 0:
    the probability-flow ODE) driven by the flow model as its image-unit denoiser (``minus_one_one``: the state
    lives in flow units), conditioned by ``PosteriorDiffusion`` with ``DPSDataFidelity`` (guidance "annealed":
    weight grad ||A D(x_t) - y||^2 / (2 (sigma_y^2 + sigma_t^2))), Euler steps on ``steps`` times linear from
    t_max to t_min, seeded. deepinv reads sigma_y from the physics' noise model, so the batch's operator gets a
    GaussianNoise of the likelihood's sigma. Returns the sample in [0, 1]."""
    y = data.y
    physics = data.physics
    physics.noise_model = dinv.physics.GaussianNoise(sigma=data.likelihood.sigma)
    gen = torch.Generator(device=y.device)
    sde = dinv.sampling.FlowMatching(T=t_max, alpha=0.0, device=y.device)
    posterior = dinv.sampling.PosteriorDiffusion(
        data_fidelity=dinv.sampling.DPSDataFidelity(weight=weight, guidance="annealed"),
        denoiser=flow, sde=sde, solver=dinv.sampling.EulerSolver(flow_times(t_max, t_min, steps), rng=gen),
        device=y.device, minus_one_one=True)
    return posterior(y, physics, seed=seed).to(y.dtype)
