"""A diffusion step as the z-update of PnP-ADMM: scaled ADMM on f + lam R with the noise-conditional denoiser
D(v, sigma) in place of prox_{(lam/rho) R}, the denoiser's level tied to the penalty by sigma_k^2 = lam / rho_k.
One iteration, with rho_k = lam / sigma_k^2:

    x_{k+1} = prox_{f/rho_k}(z_k - u_k)
    v       = x_{k+1} + u_k
    z_{k+1} = D(v + s_k xi_k, sigma'_k),   xi_k ~ N(0, I),  sigma'_k^2 = sigma_k^2 + s_k^2
    u_{k+1} = (rho_k / rho_{k+1}) (u_k + x_{k+1} - z_{k+1})

* s_k = 0 and a constant sigma_k = s: plain PnP-ADMM with D(., s) as the prox (aelpn.solvers.pnp.pnp_admm,
  method ``pnp_fixed``), the fixed-rho member of the family.
* s_k = 0, sigma_k decreasing geometrically (rho_k increasing geometrically): PnP-ADMM with an increasing penalty,
  as in Chan, Wang & Elgendy (2017, IEEE TCI; their rho grows by a factor gamma when the residual does not
  decrease enough, here unconditionally), i.e. the ADMM counterpart of DPIR's HQS continuation (Zhang et al.
  2021). The scaled dual u = y / rho is rescaled when rho changes (Boyd et al. 2011, Sec. 3.4.1), so the unscaled
  multiplier y carries over unchanged.
* s_k = eta sigma_k > 0: the z-update re-noises v before denoising it at the total level sigma'_k. If v is z plus
  noise of level sigma_k (the ADMM reading of the z-update), v + s_k xi is z plus noise of level sigma'_k, and
  D(., sigma'_k) is its MMSE estimate: one stochastic reverse-diffusion step from level sigma'_k, not a
  deterministic denoiser. This is the re-noising of DiffPIR (Zhu et al. 2023), which mixes fresh noise into every
  step of its HQS, moved into ADMM; it is a heuristic, not an exact posterior sampler (the split-Gibbs samplers,
  e.g. PnP-DM of Wu et al. 2024, sample the z-step with a full diffusion chain instead).

Every image runs all iterations (the schedule defines the method; no early stop)."""

from __future__ import annotations

import torch

from aelpn.solvers.pnp import Solution, continuation_schedule, iterate


def sigma_schedule(sigma_start: float, sigma_end: float, iterations: int) -> torch.Tensor:
    """sigma_k geometric from sigma_start to sigma_end (log-linear, DPIR's schedule), shape (iterations,), float64;
    rho_k = lam / sigma_k^2 is then geometric with ratio (sigma_start / sigma_end)^(2 / (iterations - 1))."""
    return continuation_schedule(sigma_start, sigma_end, iterations)


@torch.no_grad()
def admm_diffusion(data, denoiser, lam: float, sigmas: torch.Tensor, renoise: float, generator: torch.Generator,
                   x_true=None) -> Solution:
    """The iteration of the module docstring for len(sigmas) iterations: rho_k = lam / sigmas[k]^2, re-noising
    s_k = renoise * sigmas[k] (0: none, the deterministic denoiser step), noise xi_k drawn from ``generator``
    (on the CPU, so a seed gives the same estimate on every device), started from z_0 = data.init(), u_0 = 0."""
    z0 = data.init()
    sigmas = sigmas.to(torch.float64).cpu()
    rho = lam / sigmas**2
    rho_next = torch.cat([rho[1:], rho[-1:]])

    def step(s, k):
        x = data.prox(s["z"] - s["u"], 1.0 / float(rho[k]))
        v = x + s["u"]
        level = float(sigmas[k])
        if renoise > 0:
            noise = renoise * level
            xi = torch.randn(v.shape, generator=generator, dtype=v.dtype).to(v.device)
            v, level = v + noise * xi, (level**2 + noise**2) ** 0.5
        z = denoiser(v, level)
        return {"z": z, "u": float(rho[k] / rho_next[k]) * (s["u"] + x - z)}

    return iterate(step, {"z": z0, "u": torch.zeros_like(z0)}, "z", len(sigmas), 0.0, x_true, "admm-diffusion")
