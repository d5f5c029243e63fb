"""Plug-and-play solvers for min_x f(x) + lam R(x) with f = -log p(y|x) (a problems.DataTerm) and a
prior given by a denoiser. A learned proximal network is D = prox_{s^2 R} with s = sigma_train (the noise
level it was trained at), so every parameter below is tied to s explicitly:

* PnP-ADMM: penalty rho = lam / s^2, so that the z-update prox_{(lam/rho) R} is exactly D;
* PnP-PGD: x <- D(x - tau grad f(x)) with tau = s^2 / lam, i.e. proximal gradient on f + lam R (D = prox_{tau lam R}):
  the objective of PnP-ADMM with the same lam, stable when tau <= 1/L, i.e. lam >= s^2 L;
* RED: the fixed-point iteration of Romano et al. (2017), x <- prox_{(s^2/lam) f}(D(x)), whose fixed points solve
  grad f(x) + lam (x - D(x)) / s^2 = 0 (RED's stationarity condition, grad R(x) ~ (x - D(x)) / s^2 by Tweedie);
* continuation (DPIR): HQS with the conditional denoiser D(., sigma_k), sigma_k decreasing log-linearly to the
  noise level of each image; ``hqs_fixed``: the same HQS with sigma_k fixed at that last level (one factor, the
  schedule, changed).

Each solver stops an image when ||x_k - x_{k-1}|| / ||x_{k-1}|| < tol (that image is then frozen) or after
max_iter, and returns the estimate, the per-image iteration count and the PSNR of every iterate. An image whose
iterate becomes non-finite (the iteration diverged, e.g. RED with a prior whose residual is not contractive) is
stopped at its last finite iterate and flagged ``diverged``: the method's failure shows in its PSNR and in that
flag, not as a NaN that would stop the whole comparison."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from aelpn.core.config import ConfigError
from aelpn.core.progress import progress_bar
from aelpn.core.metrics import psnr


@dataclass
class Solution:
    """x: estimate (B, C, H, W); iterations: (B,) iterations used; psnr_trace: (B, max_iter) PSNR of the
    estimate clipped to [0, 1] after each iteration (constant once an image stopped; NaN after the last
    iteration run, or everywhere when no ground truth was given); diverged: (B,) bool, True where an iterate
    became non-finite and the image was stopped at its last finite iterate; state: the final value of every
    variable of the iteration (``iterate``'s state dict; ``x`` is state[key])."""

    x: torch.Tensor
    iterations: torch.Tensor
    psnr_trace: torch.Tensor
    diverged: torch.Tensor
    state: dict | None = None


def iterate(step, state: dict, key: str, max_iter: int, tol: float, x_true=None, desc="pnp") -> Solution:
    """Run ``state = step(state, k)`` until every image's relative change of ``state[key]`` is below ``tol``
    (images that stopped are frozen) or ``max_iter`` iterations; an image whose new state is non-finite is
    frozen at its last finite state, with ``iterations`` the finite iterations run and ``diverged`` set."""
    ref = state[key]
    b = ref.shape[0]
    active = torch.ones(b, dtype=torch.bool, device=ref.device)
    diverged = torch.zeros(b, dtype=torch.bool, device=ref.device)
    iterations = torch.full((b,), max_iter, dtype=torch.long)
    trace = torch.full((b, max_iter), float("nan"), dtype=torch.float64)
    for k in progress_bar(range(max_iter), desc=desc, mininterval=5, leave=False):
        new = step(state, k)
        finite = torch.stack([torch.isfinite(v).flatten(1).all(1) for v in new.values()]).all(0)
        blown = active & ~finite
        diverged |= blown
        iterations[blown.cpu()] = k
        active = active & finite
        mask = active.view(-1, *([1] * (ref.dim() - 1)))
        state = {name: torch.where(mask, new[name], state[name]) for name in state}
        prev, cur = ref, state[key]
        change = (cur - prev).flatten(1).norm(dim=1) / prev.flatten(1).norm(dim=1).clamp_min(1e-12)
        if x_true is not None:
            trace[:, k] = psnr(cur, x_true).double().cpu()
        stopped = active & (change < tol)
        iterations[stopped.cpu()] = k + 1
        active = active & ~stopped
        ref = cur
        if not bool(active.any()):
            break
    return Solution(state[key], iterations, trace, diverged.cpu(), state)


@torch.no_grad()
def pnp_admm(data, prox, sigma_train: float, lam: float, max_iter: int, tol: float, x_true=None,
             z0: torch.Tensor | None = None) -> Solution:
    """Scaled ADMM with rho = lam / sigma_train^2: x = prox_{f/rho}(z - u); z = D(x + u); u = u + x - z, from
    z = ``z0`` (a warm start, e.g. the solution of a neighbouring problem; default ``data.init()``) and u = 0."""
    rho = lam / sigma_train**2
    z0 = data.init() if z0 is None else z0

    def step(s, k):
        x = data.prox(s["z"] - s["u"], 1.0 / rho)
        z = prox(x + s["u"])
        return {"z": z, "u": s["u"] + x - z}

    return iterate(step, {"z": z0, "u": torch.zeros_like(z0)}, "z", max_iter, tol, x_true, "pnp-admm")


def pgd_step(sigma_train: float, lam: float, lipschitz: float) -> float:
    """PnP-PGD's step tau = sigma_train^2 / lam, the one for which D = prox_{sigma_train^2 R} is prox_{tau lam R};
    raises ConfigError (the CLI exits 2) when it exceeds the stable step 1/L."""
    tau = sigma_train**2 / lam
    if tau * lipschitz > 1.0 + 1e-9:  # round-off of sigma_train^2 / lam against sigma_y^2
        raise ConfigError(f"config key 'inverse.pnp_pgd.lam': PnP-PGD needs the step train.sigma^2/lam = {tau:.3g} <= 1/L = "
                         f"{1 / lipschitz:.3g} (L: Lipschitz constant of grad f); "
                         f"set lam >= {sigma_train**2 * lipschitz:.4g}")
    return tau


@torch.no_grad()
def pnp_pgd(data, prox, sigma_train: float, lam: float, max_iter: int, tol: float, x_true=None) -> Solution:
    """x = D(x - tau grad f(x)) with tau = sigma_train^2 / lam (``pgd_step``): proximal gradient on f + lam R,
    whose fixed points are those of PnP-ADMM with the same lam."""
    tau = pgd_step(sigma_train, lam, data.lipschitz())
    return iterate(lambda s, k: {"x": prox(s["x"] - tau * data.grad(s["x"]))}, {"x": data.init()}, "x",
                   max_iter, tol, x_true, "pnp-pgd")


@torch.no_grad()
def red(data, prox, sigma_train: float, lam: float, max_iter: int, tol: float, x_true=None) -> Solution:
    """RED by its fixed-point iteration (Romano, Elad & Milanfar 2017, Sec. 5.2):
    x_{k+1} = argmin_x f(x) + lam ||x - D(x_k)||^2 / (2 sigma_train^2) = prox_{(sigma_train^2/lam) f}(D(x_k)).
    A fixed point solves grad f(x) + lam (x - D(x)) / sigma_train^2 = 0, the stationarity condition of RED's
    objective f + lam rho with grad rho(x) = (x - D(x)) / sigma_train^2; unlike gradient descent, whose step is
    limited by 1/L, every iteration moves the unobserved pixels all the way to D(x_k)."""
    gamma = sigma_train**2 / lam
    return iterate(lambda s, k: {"x": data.prox(prox(s["x"]), gamma)}, {"x": data.init()}, "x",
                   max_iter, tol, x_true, "red")


def continuation_schedule(sigma_start: float, sigma_end, iterations: int) -> torch.Tensor:
    """DPIR's denoiser levels sigma_k, log-linear from sigma_start to sigma_end: shape (iterations,) for a float
    sigma_end, (iterations, B) for one end level per image (a (B,) tensor); float64, on the CPU."""
    end = torch.as_tensor(sigma_end, dtype=torch.float64).cpu()
    frac = torch.linspace(0, 1, iterations, dtype=torch.float64).view(-1, *([1] * end.dim()))
    return torch.exp((1 - frac) * math.log(sigma_start) + frac * end.log())


def fixed_schedule(level, iterations: int) -> torch.Tensor:
    """The constant schedule sigma_k = ``level`` for every k: shape (iterations,) for a float level, (iterations, B)
    for one level per image (a (B,) tensor); float64, on the CPU (``continuation_schedule``'s layout)."""
    level = torch.as_tensor(level, dtype=torch.float64).cpu()
    return level.expand(iterations, *level.shape).clone()


@torch.no_grad()
def hqs(data, denoiser, sigmas: torch.Tensor, lam: float, x_true=None, desc: str = "hqs") -> Solution:
    """HQS with the conditional denoiser on the schedule ``sigmas`` ((iterations,) or (iterations, B)):
    x = prox_{(sigma_k^2/lam) f}(z); z = D(x, sigma_k), for len(sigmas) iterations (no early stop), from DPIR's
    z = A^T y (``data.back_projection``: zero where nothing is observed)."""
    z0 = data.back_projection()
    sigmas = sigmas.to(z0.device, z0.dtype)

    def step(s, k):
        x = data.prox(s["z"], sigmas[k] ** 2 / lam)
        return {"z": denoiser(x, sigmas[k])}

    return iterate(step, {"z": z0}, "z", len(sigmas), 0.0, x_true, desc)


def pnp_continuation(data, denoiser, sigma_start: float, lam: float, iterations: int, x_true=None) -> Solution:
    """HQS with continuation (DPIR): ``hqs`` on sigma_k from sigma_start down to the (Gaussian-equivalent) noise
    level of each image (``continuation_schedule``); lam = 0.23 in DPIR."""
    sigmas = continuation_schedule(sigma_start, data.noise_level, iterations)
    return hqs(data, denoiser, sigmas, lam, x_true, "continuation")


def hqs_fixed(data, denoiser, lam: float, iterations: int, x_true=None) -> Solution:
    """``hqs`` at one fixed level, the last of ``pnp_continuation``'s schedule: sigma_k = the noise level of each
    image for every k (``fixed_schedule``), i.e. continuation without the continuation."""
    return hqs(data, denoiser, fixed_schedule(data.noise_level, iterations), lam, x_true, "hqs-fixed")
