"""PnP-ULA posterior sampling (deepinv ULA): x_{k+1} = Pi(x_k - eta grad f(x_k) + eta alpha (D(x_k, s) - x_k)/s^2
+ sqrt(2 eta) n_k), with the posterior mean and per-pixel standard deviation of the thinned chain after burn-in
and its last kept state (one posterior sample).
Pi projects onto the box CLIP (deepinv's default for PnP-ULA). deepinv shows the chain's progress bar (tqdm,
which reads its refresh interval from TQDM_MININTERVAL)."""

from __future__ import annotations

import deepinv as dinv
import torch

CLIP = (-1.0, 2.0)


def step_size(data, alpha: float, sigma: float, fraction: float) -> float:
    """eta = fraction / (L_f + alpha / s^2), below the stability bound 1/(L_f + L_prior) of the Langevin drift."""
    return fraction / (data.lipschitz() + alpha / sigma**2)


def pnp_ula(data, denoiser, ula_cfg: dict, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Posterior mean, per-pixel std and one posterior sample (the last state the thinned chain kept after
    burn-in) by deepinv ULA with the score prior of ``denoiser`` at level ``ula_cfg['sigma']``; deepinv draws from
    the global RNG, so the chain runs in a forked RNG seeded with ``seed``."""
    device = data.y.device
    eta = step_size(data, ula_cfg["alpha"], ula_cfg["sigma"], ula_cfg["step_fraction"])
    sampler = dinv.sampling.sampling_builder(
        "ULA",
        data_fidelity=dinv.optim.data_fidelity.L2(sigma=data.noise_level.view(-1, *([1] * (data.y.dim() - 1)))),
        prior=dinv.optim.ScorePrior(denoiser),
        params_algo={"step_size": eta, "alpha": ula_cfg["alpha"], "sigma": ula_cfg["sigma"]},
        max_iter=ula_cfg["iterations"],
        thinning=ula_cfg["thinning"],
        burnin_ratio=ula_cfg["burnin_ratio"],
        history_size=1,
        verbose=True,
        clip=CLIP,
    )
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        mean, var = sampler.sample(data.y, data.physics, x_init=data.init())
    return mean, var.clamp_min(0).sqrt(), sampler.get_chain()[-1]["x"]
