"""Poisson likelihood for photon-limited imaging: y = Poisson(c (A x + b)) / c with c photons per unit
intensity and a known background b > 0. Its proximal operator is the x-update of PnP-ADMM / HQS."""

from __future__ import annotations

import deepinv as dinv
import torch


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).flatten(1).sum(1).view(-1, *([1] * (a.dim() - 1)))


def conjugate_gradient(apply, rhs: torch.Tensor, iterations: int) -> torch.Tensor:
    """Batched CG for H d = rhs with H symmetric positive definite (one system per image)."""
    d = torch.zeros_like(rhs)
    r = rhs.clone()
    p = r.clone()
    rr = _dot(r, r)
    for _ in range(iterations):
        hp = apply(p)
        alpha = rr / _dot(p, hp).clamp_min(torch.finfo(rhs.dtype).tiny)
        d = d + alpha * p
        r = r - alpha * hp
        rr_new = _dot(r, r)
        p = r + rr_new / rr.clamp_min(torch.finfo(rhs.dtype).tiny) * p
        rr = rr_new
    return d


def backtrack(feasible, objective, current: torch.Tensor, halvings: int = 40) -> torch.Tensor:
    """Per-image step length t of a damped Newton step: from t = 1, halved for each image until ``feasible(t)``
    and ``objective(t) <= current`` (both (B,) functions of the (B,) step lengths); 0 for an image where
    ``halvings`` halvings do not get there."""
    t = torch.ones_like(current)
    for _ in range(halvings):
        better = feasible(t) & (objective(t) <= current)
        if bool(better.all()):
            break
        t = torch.where(better, t, t / 2)
    return torch.where(better, t, torch.zeros_like(t))


class PoissonLikelihood(dinv.optim.DataFidelity):
    """f(x) = c * sum_i [(Ax + b)_i - y_i log (Ax + b)_i], the Poisson negative log-likelihood (up to constants)
    of normalized counts y, with c = ``photons``, as a deepinv data fidelity (fn, grad, prox take x, y and the
    physics)."""

    def __init__(self, photons: float, background: float, newton_iterations: int, cg_iterations: int):
        super().__init__()
        self.photons, self.background = float(photons), float(background)
        self.newton_iterations, self.cg_iterations = newton_iterations, cg_iterations

    @staticmethod
    def _identity(physics) -> bool:
        return type(physics) is dinv.physics.Denoising

    def noise_level(self, y: torch.Tensor) -> torch.Tensor:
        """Gaussian-equivalent noise std of each image, sqrt(mean_i(y_i) / c), shape (B,): the mean over that
        image's measurements only, so the noise-adaptive schedules of an image do not depend on its batch mates."""
        return (y.clamp_min(0).flatten(1).mean(1) / self.photons).sqrt()

    def init(self, y: torch.Tensor, physics) -> torch.Tensor:
        """x0 = A^T (y - b), clipped to [0, 1]."""
        return physics.A_adjoint(y - self.background).clamp(0, 1)

    def fn(self, x: torch.Tensor, y: torch.Tensor, physics, *args, **kwargs) -> torch.Tensor:
        """f(x) per image, shape (B,); +inf where some (Ax + b)_i <= 0."""
        u = physics.A(x) + self.background
        val = self.photons * (u - y * torch.log(u.clamp_min(torch.finfo(u.dtype).tiny))).flatten(1).sum(1)
        return torch.where((u > 0).flatten(1).all(1), val, torch.full_like(val, float("inf")))

    def grad(self, x: torch.Tensor, y: torch.Tensor, physics, *args, **kwargs) -> torch.Tensor:
        """grad f(x) = c A^T (1 - y / (Ax + b))."""
        u = physics.A(x) + self.background
        return self.photons * physics.A_adjoint(1 - y / u)

    def prox(self, x: torch.Tensor, y: torch.Tensor, physics, *args, gamma=1.0, **kwargs) -> torch.Tensor:
        """argmin_u gamma f(u) + ||u - x||^2 / 2. For A = I in closed form (per pixel, the positive root of
        r v^2 + (c - r (x + b)) v - c y = 0 with v = u + b, r = 1/gamma); otherwise damped Newton with CG
        solves of (gamma c A^T diag(y / v^2) A + I) d = -grad, keeping Au + b > 0. Under autograd only the last
        Newton step is differentiated (one-step differentiation at the converged point: the exact gradient as the
        iterations converge, at a fraction of the memory and time)."""
        z = x
        gamma = torch.as_tensor(gamma, dtype=z.dtype, device=z.device)
        if self._identity(physics):
            gamma_b = gamma.view(-1, *([1] * (z.dim() - 1))) if gamma.dim() else gamma
            c, b, r = self.photons, self.background, 1.0 / gamma_b
            q = c - r * (z + b)
            u = (-q + torch.sqrt(q * q + 4 * r * c * y.clamp_min(0))) / (2 * r)
            return u - b
        return self._newton(z, gamma, y, physics)

    def _objective(self, x, z, gamma, y, physics):
        return gamma.flatten() * self.fn(x, y, physics) + 0.5 * (x - z).pow(2).flatten(1).sum(1)

    def _newton(self, z: torch.Tensor, gamma: torch.Tensor, y, physics) -> torch.Tensor:
        gamma_b = gamma.reshape(-1, *([1] * (z.dim() - 1))) if gamma.dim() else gamma
        x = z.clamp_min(0)
        differentiate = torch.is_grad_enabled()
        for i in range(self.newton_iterations):
            with torch.set_grad_enabled(differentiate and i == self.newton_iterations - 1):
                x = self._newton_step(x, z, gamma, gamma_b, y, physics)
        return x

    def _newton_step(self, x, z, gamma, gamma_b, y, physics):
        """One damped Newton step: the CG direction, halved until Ax + b > 0 and the objective does not increase."""
        A, At, c = physics.A, physics.A_adjoint, self.photons
        shape = (-1,) + (1,) * (z.dim() - 1)
        u = A(x) + self.background
        weight = y / u.pow(2)
        g = gamma_b * c * At(1 - y / u) + (x - z)
        step = conjugate_gradient(lambda v: gamma_b * c * At(weight * A(v)) + v, -g, self.cg_iterations)
        with torch.no_grad():
            au, astep, xd, sd = u.detach(), A(step.detach()), x.detach(), step.detach()
            t = backtrack(lambda t: ((au + t.view(shape) * astep) > 0).flatten(1).all(1),
                          lambda t: self._objective(xd + t.view(shape) * sd, z, gamma, y, physics),
                          self._objective(x, z, gamma, y, physics))
        return x + t.view(shape) * step
