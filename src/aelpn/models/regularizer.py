"""The regularizer implied by a learned proximal network, by a batched convex inversion in torch.

For f = grad psi with psi convex, f = prox_R with R(x) = <y, x> - ||x||^2 / 2 - psi(y) where f(y) = x
(up to an additive constant), i.e. R(x) = psi*(x) - ||x||^2 / 2 with psi* the convex conjugate. y solves the
convex problem min_y psi(y) - <x, y> (strongly convex when psi has an alpha||y||^2 term), whose gradient is
f(y) - x; it is found by batched L-BFGS with an Armijo backtracking line search and per-sample convergence
masks, started at y0 = x. For a piecewise-linear core (leaky ReLU: the scale and AE-LPN variants) psi is convex
but only piecewise smooth and f jumps across activation kinks, so x may lie in a gap of f's range: the residual
then stalls above ``tol`` while the minimum value, hence R(x), is still accurate; such samples stop when the
objective no longer decreases.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import torch

from aelpn.core.progress import progress_bar


class Regularizer(NamedTuple):
    """value R(x) (B,); y with f(y) ~ x; residual ||f(y) - x|| / ||x|| (B,) (absolute where x = 0);
    iterations (B,) L-BFGS iterations each sample used."""

    value: torch.Tensor
    y: torch.Tensor
    residual: torch.Tensor
    iterations: torch.Tensor


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(1)


def _objective(model, x: torch.Tensor, y: torch.Tensor, shape) -> tuple[torch.Tensor, torch.Tensor]:
    """psi(y) - <x, y> and its gradient f(y) - x, on flattened (b, n) tensors, b <= B (no autograd graph)."""
    with torch.no_grad():
        psi, grad = model.potential_and_gradient(y.reshape(-1, *shape[1:]))
    return psi - _dot(x, y), grad.flatten(1) - x


def regularizer(model, x: torch.Tensor, tol: float = 1e-6, max_iter: int = 500, history: int = 10,
                stall_iters: int = 5, progress: bool = False) -> Regularizer:
    """R(x) = <y, x> - ||x||^2/2 - psi(y) with f(y) = x, for any module with ``potential_and_gradient(y)`` ->
    (psi(y) of shape (B,), grad psi(y) = its prox f(y)). A sample stops when ||f(y) - x|| <= tol ||x||, when its
    line search fails, after ``stall_iters`` consecutive iterations that lower the objective by at most
    16 eps |objective|, or at ``max_iter``."""
    shape = x.shape
    xf = x.detach().flatten(1)
    batch = xf.shape[0]
    scale = xf.norm(dim=1)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    y = xf.clone()
    obj, grad = _objective(model, xf, y, shape)
    iterations = torch.zeros(batch, dtype=torch.long, device=x.device)
    s_hist, g_hist, rho_hist = deque(maxlen=history), deque(maxlen=history), deque(maxlen=history)
    active = grad.norm(dim=1) / scale > tol
    round_off = 8 * torch.finfo(xf.dtype).eps
    stalled = torch.zeros(batch, dtype=torch.long, device=x.device)
    for _ in progress_bar(range(max_iter), desc="regularizer", disable=not progress, leave=False):
        if not active.any():
            break
        # Two-loop recursion, per sample; a pair with rho = 0 (failed curvature check) is a no-op.
        q = grad.clone()
        alphas = []
        for s, g, rho in zip(reversed(s_hist), reversed(g_hist), reversed(rho_hist)):
            a = rho * _dot(s, q)
            q -= a[:, None] * g
            alphas.append(a)
        if s_hist:
            sy, yy = _dot(s_hist[-1], g_hist[-1]), _dot(g_hist[-1], g_hist[-1])
            gamma = torch.where(rho_hist[-1] > 0, sy / yy.clamp_min(torch.finfo(xf.dtype).tiny),
                                torch.ones_like(sy))
            q *= gamma[:, None]
        for s, g, rho, a in zip(s_hist, g_hist, rho_hist, reversed(alphas)):
            b = rho * _dot(g, q)
            q += (a - b)[:, None] * s
        direction = -q
        slope = _dot(grad, direction)
        descent = slope < 0
        direction = torch.where(descent[:, None], direction, -grad)
        slope = torch.where(descent, slope, -_dot(grad, grad))
        # Armijo backtracking, per sample, evaluating only the samples still searching; inactive samples take a
        # zero step.
        step = active.to(xf.dtype)
        pending = active.clone()
        new_obj, new_grad = obj.clone(), grad.clone()
        for _ in range(40):
            idx = pending.nonzero().squeeze(1)
            trial = y[idx] + step[idx, None] * direction[idx]
            t_obj, t_grad = _objective(model, xf[idx], trial, shape)
            ok = t_obj <= obj[idx] + 1e-4 * step[idx] * slope[idx] + round_off * obj[idx].abs()
            new_obj[idx[ok]] = t_obj[ok]
            new_grad[idx[ok]] = t_grad[ok]
            pending[idx[ok]] = False
            if not pending.any():
                break
            step = torch.where(pending, 0.5 * step, step)
        moved = active & ~pending
        step = torch.where(moved, step, torch.zeros_like(step))
        s_new = step[:, None] * direction
        g_new = new_grad - grad
        curvature = _dot(s_new, g_new)
        rho = torch.where(moved & (curvature > 1e-12 * _dot(g_new, g_new).sqrt() * s_new.norm(dim=1)),
                          1.0 / curvature.clamp_min(torch.finfo(xf.dtype).tiny), torch.zeros_like(curvature))
        s_hist.append(s_new)
        g_hist.append(g_new)
        rho_hist.append(rho)
        y = y + s_new
        small = obj - new_obj <= 2 * round_off * obj.abs().clamp_min(1.0)
        stalled = torch.where(moved & small, stalled + 1, torch.zeros_like(stalled))
        obj = torch.where(moved, new_obj, obj)
        grad = torch.where(moved[:, None], new_grad, grad)
        iterations += active.long()
        # A failed line search or a stagnant objective means round-off level (or a kink of psi): stop.
        active = moved & (stalled < stall_iters) & (grad.norm(dim=1) / scale > tol)
    residual = grad.norm(dim=1) / scale
    value = -obj - 0.5 * _dot(xf, xf)  # obj = psi(y) - <x, y> at the final y
    return Regularizer(value, y.reshape(shape), residual, iterations)
