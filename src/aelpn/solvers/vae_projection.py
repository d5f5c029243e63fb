"""The projection onto a VAE's range and the ADMM that uses it as its z-update; ``vae`` is a VAE with ``encode`` and
``decode`` (``aelpn.models.vae.ConvVAE``).

Projection (MAP in latent space): P(v) = Dec(w*) with w* = argmin_w J(w), J(w) = ||Dec(w) - v||^2 + beta ||w||^2,
by ``steps`` gradient steps from w_0 = mu(v) with a per-image adaptive step (doubled after a step that does not
increase J, halved and the step refused otherwise), so J never increases."""

from __future__ import annotations

import torch

from aelpn.solvers.pnp import Solution, iterate


def projection_objective(vae: torch.nn.Module, w: torch.Tensor, v: torch.Tensor, beta: float) -> torch.Tensor:
    """J(w) = ||Dec(w) - v||^2 + beta ||w||^2 per image, shape (B,)."""
    return (vae.decode(w) - v).pow(2).flatten(1).sum(1) + beta * w.pow(2).flatten(1).sum(1)


def latent_map(vae: torch.nn.Module, v: torch.Tensor, beta: float, steps: int, step_size: float) -> torch.Tensor:
    """w* ~ argmin_w J(w) by ``steps`` gradient steps from w_0 = mu(v), eta starting at ``step_size``: each image
    tries w - eta grad J and keeps it when J does not increase (then doubles its eta), else stays and halves its eta
    (adaptive backtracking: J never increases)."""
    with torch.enable_grad():
        w = vae.encode(v)[0].detach()
        eta = torch.full((w.shape[0],), float(step_size), dtype=w.dtype, device=w.device)
        shape = (-1,) + (1,) * (w.dim() - 1)
        wg = w.requires_grad_(True)
        value = projection_objective(vae, wg, v, beta)
        (grad,) = torch.autograd.grad(value.sum(), wg)
        w, value = w.detach(), value.detach()
        for _ in range(steps):
            trial = (w - eta.view(shape) * grad).requires_grad_(True)
            trial_value = projection_objective(vae, trial, v, beta)
            better = trial_value.detach() <= value
            (trial_grad,) = torch.autograd.grad(trial_value.sum(), trial)
            w = torch.where(better.view(shape), trial.detach(), w)
            grad = torch.where(better.view(shape), trial_grad, grad)
            value = torch.where(better, trial_value.detach(), value)
            eta = torch.where(better, 2 * eta, eta / 2)
    return w


def project(vae: torch.nn.Module, v: torch.Tensor, beta: float, steps: int, step_size: float) -> torch.Tensor:
    """The projection onto the VAE's range, P(v) = Dec(argmin_w ||Dec(w) - v||^2 + beta ||w||^2)."""
    with torch.no_grad():
        return vae.decode(latent_map(vae, v, beta, steps, step_size))


@torch.no_grad()
def vae_admm(data, vae: torch.nn.Module, lam: float, rho: float, iterations: int, steps: int, step_size: float,
             tol: float, x_true=None) -> Solution:
    """Scaled ADMM on f + lam R with R(z) = min {||w||^2 / 2 : Dec(w) = z} (the latent prior on the decoder's range):
    x = prox_{f/rho}(z - u); z = argmin_z lam R(z) + rho ||z - (x + u)||^2 / 2 = P(x + u) with beta = lam / rho;
    u = u + x - z."""
    beta = lam / rho
    z0 = data.init()

    def step(s, k):
        x = data.prox(s["z"] - s["u"], 1.0 / rho)
        z = project(vae, x + s["u"], beta, steps, step_size)
        return {"z": z, "u": s["u"] + x - z}

    return iterate(step, {"z": z0, "u": torch.zeros_like(z0)}, "z", iterations, tol, x_true, "vae-admm")

