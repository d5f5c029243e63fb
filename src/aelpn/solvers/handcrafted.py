"""Hand-crafted regularisers as the z-update of the diffusion-step ADMM (aelpn.solvers.admm_diffusion_step): the
"Total Variation ... or L1-wavelet sparsity" of the neural-proximal-operator notes (seed 000), by deepinv's proxes,
in the ADMM whose z-update is otherwise the conditional denoiser D(v, sigma_k).

That ADMM reads D(., sigma_k) as prox_{(lam/rho_k) R} = prox_{sigma_k^2 R} of the objective f + lam R
(rho_k = lam / sigma_k^2). For the regulariser lam R = weight R0, with R0 = TV or the L1 norm of the wavelet detail
coefficients, the z-update is exactly

    z = prox_{gamma_k R0}(v),   gamma_k = sigma_k^2 weight / lam,

and the ADMM minimises f + weight R0 with f = -log p(y|x): the MAP of the prior p(x) ~ exp(-weight R0(x)), whose
strength ``weight`` does not depend on the noise (for Gaussian noise of level s this is the classical
||Ax - y||^2 / 2 + s^2 weight R0)."""

from __future__ import annotations

from collections.abc import Callable

import torch


def prox_step(prox: Callable, weight: float, lam: float) -> Callable:
    """The z-update D(v, sigma) = prox(v, gamma) of the module docstring, gamma = sigma^2 weight / lam;
    ``prox(v, gamma)`` is prox_{gamma R0}."""
    def denoiser(v: torch.Tensor, sigma: float) -> torch.Tensor:
        return prox(v, float(sigma) ** 2 * weight / lam)

    return denoiser


def tv_prox(iterations: int) -> Callable:
    """prox_{gamma TV}(v) per image (isotropic TV, deepinv.optim.TVPrior: at most ``iterations`` primal-dual steps,
    warm-started from the previous call's solution, so a new prox per solve)."""
    from deepinv.optim import TVPrior

    prior = TVPrior(n_it_max=iterations)
    return lambda v, gamma: prior.prox(v, gamma=gamma)


def wavelet_prox(wavelet: str, level: int) -> Callable:
    """gamma-soft-thresholding of the detail coefficients of a ``level``-level 2-D ``wavelet`` transform (pywt
    name) per image (deepinv.optim.WaveletPrior, p = 1, zero padding): the prox of gamma ||W_detail v||_1 for an
    orthogonal transform, a close approximation at the borders with zero padding."""
    from deepinv.optim import WaveletPrior

    prior = WaveletPrior(level=level, wv=wavelet, p=1)
    return lambda v, gamma: prior.prox(v, gamma=gamma)
