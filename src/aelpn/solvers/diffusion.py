"""Diffusion posterior solvers driven by our conditional denoiser, written from the papers: DiffPIR (Zhu et al.
2023, Alg. 1: denoise, data prox, re-noise) and DPS (Chung et al. 2023, Alg. 1: DDPM ancestral step plus the
gradient of the measurement residual). Both use the DDPM schedule of those papers (linear beta in [1e-4, 0.02],
T = 1000) in its own units, images in [-1, 1]: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps. By Tweedie the
posterior mean of x_0 is our denoiser at the level sbar_t = sqrt((1 - abar_t) / abar_t), rescaled to [0, 1].
Everything runs in the dtype of the measurements (float32 in the pipeline) with noise from an explicit
torch.Generator; the data terms f = -log p(y|x) come from aelpn.physics.problems / poisson."""

from __future__ import annotations

import torch

from aelpn.core.config import per_operator
from aelpn.core.progress import progress_bar

TIMESTEPS = 1000
BETA_START, BETA_END = 1e-4, 0.02


def alpha_bar() -> torch.Tensor:
    """abar_t = prod_{s <= t} (1 - beta_s), t = 0 .. T-1, with beta linear in [1e-4, 0.02] (float64)."""
    betas = torch.linspace(BETA_START, BETA_END, TIMESTEPS, dtype=torch.float64)
    return torch.cumprod(1 - betas, dim=0)


def x0_estimate(denoiser, x: torch.Tensor, abar_t: float) -> torch.Tensor:
    """Tweedie's estimate of x_0 in [-1, 1]: 2 D(x / (2 sqrt(abar_t)) + 1/2, sbar_t / 2) - 1, clipped to [-1, 1]
    (x / sqrt(abar_t) = x_0 + sbar_t n in [-1, 1] units is x_0 + (sbar_t / 2) n in [0, 1] units)."""
    sbar = ((1 - abar_t) / abar_t) ** 0.5
    return (2 * denoiser(x / (2 * abar_t**0.5) + 0.5, sbar / 2) - 1).clamp(-1, 1)


def diffpir_settings(diffpir_cfg: dict, operator: str) -> dict:
    """DiffPIR's (lam, zeta) for problems with this operator (``inverse.diffpir.per_operator``)."""
    return per_operator(diffpir_cfg, operator, "diffpir")


def dps_settings(dps_cfg: dict, operator: str) -> dict:
    """DPS's zeta' for problems with this operator (``inverse.dps.per_operator``)."""
    return per_operator(dps_cfg, operator, "dps")


def diffpir_timesteps(steps: int) -> list[int]:
    """DiffPIR's "quad" skipping: t_i = T - 1 - floor(sqrt(linspace(0, T^2, steps))_i) (the last one 0), dense at
    low noise."""
    seq = torch.sqrt(torch.linspace(0, TIMESTEPS**2, steps, dtype=torch.float64)).floor().long()
    seq[-1] = TIMESTEPS - 1
    return [TIMESTEPS - 1 - int(s) for s in seq]


def diffpir_data_step(data, x0: torch.Tensor, abar_t: float, lam: float) -> torch.Tensor:
    """DiffPIR's data subproblem (Zhu et al. 2023, eq. 13), x0 in [0, 1]:
    argmin_x ||y - A x||^2 + rho_t ||x - x0||^2 with rho_t = lam sigma_n^2 / sbar_t^2,
    i.e. prox_{gamma f}(x0) with gamma = sigma_n^2 / rho_t = sbar_t^2 / lam for f = ||A x - y||^2 / (2 sigma_n^2).
    As in the released code, sigma_n is in [0, 1] units and sbar_t in the [-1, 1] units of the schedule. The
    weight does not involve sigma_n, and for Poisson noise the same prox of f = -log p(y|x) is used."""
    return data.prox(x0, (1 - abar_t) / abar_t / lam)


@torch.no_grad()
def diffpir(data, denoiser, steps: int, lam: float, zeta: float, seed: int) -> torch.Tensor:
    """DiffPIR with ``steps`` denoiser evaluations (Zhu et al. 2023, Alg. 1): from
    x_T = sqrt(abar_T) (2 x_init - 1) + sqrt(1 - abar_T) eps, at each t_i: x0 = Tweedie estimate; x0 <- data step
    (all but the last step); eps_hat = (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t);
    x_{t_(i+1)} = sqrt(abar') x0 + sqrt(1 - abar') (sqrt(1 - zeta) eps_hat + sqrt(zeta) eps). Returns the last x0 in
    [0, 1]; the noise comes from a generator seeded with ``seed``."""
    y = data.y
    gen = torch.Generator(device=y.device).manual_seed(seed)
    abar = alpha_bar().tolist()
    ts = diffpir_timesteps(steps)
    init = data.init()

    def noise():
        return torch.randn(init.shape, generator=gen, device=y.device, dtype=y.dtype)

    x = abar[ts[0]] ** 0.5 * (2 * init - 1) + (1 - abar[ts[0]]) ** 0.5 * noise()
    for i in progress_bar(range(len(ts)), desc="diffpir", mininterval=5, leave=False):
        t = ts[i]
        x0 = x0_estimate(denoiser, x, abar[t])
        if i == len(ts) - 1:
            break
        x0 = 2 * diffpir_data_step(data, (x0 + 1) / 2, abar[t], lam) - 1
        eps_hat = (x - abar[t] ** 0.5 * x0) / (1 - abar[t]) ** 0.5
        nxt = abar[ts[i + 1]]
        x = nxt**0.5 * x0 + (1 - nxt) ** 0.5 * ((1 - zeta) ** 0.5 * eps_hat + zeta**0.5 * noise())
    return (x0 + 1) / 2


def dps_timesteps(steps: int) -> list[int]:
    """``steps`` DDPM timesteps evenly respaced from T - 1 down to 0 (all T for steps = T)."""
    return torch.linspace(TIMESTEPS - 1, 0, steps, dtype=torch.float64).round().long().tolist()


def dps_guidance(data, denoiser, x: torch.Tensor, abar_t: float, zeta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """DPS's likelihood step (Chung et al. 2023, Alg. 1 and Sec. C.4), per image, in [-1, 1] units:
    zeta_t grad_{x_t} ||y - A x0_hat(x_t)||^2 with zeta_t = zeta' / ||y - A x0_hat(x_t)|| (held constant in the
    gradient), i.e. 2 zeta' grad_{x_t} ||y - A x0_hat(x_t)||; the released code's ``scale`` is 2 zeta'.
    Returns (step, x0_hat)."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        x0 = x0_estimate(denoiser, xg, abar_t)
        residual = 2 * (data.physics.A((x0 + 1) / 2) - data.y)
        sq = residual.pow(2).flatten(1).sum(1)
        (grad,) = torch.autograd.grad(sq.sum(), xg)
    scale = zeta / sq.detach().sqrt().clamp_min(torch.finfo(sq.dtype).tiny)
    return scale.view(-1, *([1] * (x.dim() - 1))) * grad, x0.detach()


def dps(data, denoiser, steps: int, zeta: float, seed: int) -> torch.Tensor:
    """DPS as published (Chung et al. 2023, Alg. 1) on ``steps`` respaced DDPM steps: from x_T ~ N(0, I),
    x0 = Tweedie estimate; x' = sqrt(abar') beta / (1 - abar) x0 + sqrt(1 - beta) (1 - abar') / (1 - abar) x_t
    + sqrt(beta (1 - abar') / (1 - abar)) z with beta = 1 - abar / abar' (abar' of the next timestep, 1 after the
    last); x_{t'} = x' - ``dps_guidance``. Returns x_0 in [0, 1]; noise from a generator seeded with ``seed``."""
    y = data.y
    gen = torch.Generator(device=y.device).manual_seed(seed)
    abar = alpha_bar().tolist()
    ts = dps_timesteps(steps)
    shape = data.init().shape
    x = torch.randn(shape, generator=gen, device=y.device, dtype=y.dtype)
    for i in progress_bar(range(len(ts)), desc="dps", mininterval=5, leave=False):
        a, a_next = abar[ts[i]], (abar[ts[i + 1]] if i + 1 < len(ts) else 1.0)
        step, x0 = dps_guidance(data, denoiser, x, a, zeta)
        beta = 1 - a / a_next
        mean = a_next**0.5 * beta / (1 - a) * x0 + (1 - beta) ** 0.5 * (1 - a_next) / (1 - a) * x
        var = beta * (1 - a_next) / (1 - a)
        z = torch.randn(shape, generator=gen, device=y.device, dtype=y.dtype)
        x = (mean + var**0.5 * z - step).detach()
    return ((x.clamp(-1, 1) + 1) / 2).detach()
