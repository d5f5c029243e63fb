"""Two Gaussian approximations of the Poisson likelihood of y = Poisson(c (A x + b)) / c (aelpn.physics.poisson),
as deepinv data fidelities whose prox is the x-update of PnP-ADMM; they answer the PnP/ADMM notes' closing
question (what the x-update becomes under Poisson noise) against the exact likelihood:

* weighted least squares: Var(y_i) = (Ax + b)_i / c, estimated from the data by (y_i + b) / c (y_i is the plug-in
  for (Ax + b)_i, the background b keeps the variance positive where no photon was counted), so
  f_WLS(x) = (c/2) sum_i (Ax + b - y)_i^2 / (y_i + b), the second-order expansion of the Poisson negative
  log-likelihood around Ax + b = y with the variance held at the data;
* Anscombe's variance-stabilising transform (Anscombe 1948): the counts k = c y become t = 2 sqrt(k + 3/8), whose
  noise is nearly Gaussian with unit variance and mean E[t] ~ 2 sqrt(mu + 1/8) for mu = c (Ax + b) photons
  (asymptotically in mu), so f_VST(x) = (1/2) ||t - 2 sqrt(c (Ax + b) + 1/8)||^2, a Gaussian likelihood in the
  transformed domain with the operator inside the transform (as in Dupe, Fadili & Starck 2009, there with 3/8 in
  place of 1/8). The inverse used (for the starting point) is the asymptotically unbiased one,
  mu = (t/2)^2 - 1/8, the inverse of that mean; the exact unbiased inverse of Makitalo & Foi (2011), which matters
  below a few photons, is not implemented."""

from __future__ import annotations

import deepinv as dinv
import torch

from aelpn.physics.poisson import PoissonLikelihood, backtrack, conjugate_gradient


def anscombe(counts: torch.Tensor) -> torch.Tensor:
    """Anscombe's transform t = 2 sqrt(k + 3/8) of photon counts k >= 0."""
    return 2.0 * torch.sqrt(counts + 3.0 / 8.0)


def anscombe_mean(mu: torch.Tensor) -> torch.Tensor:
    """E[anscombe(k)] for k ~ Poisson(mu) to first order in 1/mu: 2 sqrt(mu + 1/8)."""
    return 2.0 * torch.sqrt(mu + 1.0 / 8.0)


def inverse_anscombe(t: torch.Tensor) -> torch.Tensor:
    """The asymptotically unbiased inverse of Anscombe's transform, mu = (t/2)^2 - 1/8 (the inverse of
    ``anscombe_mean``)."""
    return (t / 2.0) ** 2 - 1.0 / 8.0


class PoissonWLS(dinv.optim.DataFidelity):
    """f_WLS(x) = (c/2) sum_i w_i (Ax + b - y)_i^2 with w_i = 1 / (y_i + b) (module docstring), c = ``photons``;
    its prox is one linear solve by ``cg_iterations`` steps of conjugate gradients."""

    def __init__(self, photons: float, background: float, cg_iterations: int):
        super().__init__()
        self.photons, self.background, self.cg_iterations = float(photons), float(background), cg_iterations

    def weight(self, y: torch.Tensor) -> torch.Tensor:
        """c / (y + b): the inverse of the approximate variance (y + b) / c of each measurement."""
        return self.photons / (y.clamp_min(0) + self.background)

    def fn(self, x: torch.Tensor, y: torch.Tensor, physics, *args, **kwargs) -> torch.Tensor:
        """f_WLS(x) per image, shape (B,)."""
        r = physics.A(x) + self.background - y
        return 0.5 * (self.weight(y) * r * r).flatten(1).sum(1)

    def grad(self, x: torch.Tensor, y: torch.Tensor, physics, *args, **kwargs) -> torch.Tensor:
        """grad f_WLS(x) = A^T W (Ax + b - y), W = diag(c / (y + b))."""
        return physics.A_adjoint(self.weight(y) * (physics.A(x) + self.background - y))

    def prox(self, x: torch.Tensor, y: torch.Tensor, physics, *args, gamma=1.0, **kwargs) -> torch.Tensor:
        """argmin_u gamma f_WLS(u) + ||u - x||^2 / 2 = x + d with (gamma A^T W A + I) d = -gamma grad f_WLS(x),
        the normal equations, solved by conjugate gradients from d = 0."""
        gamma = torch.as_tensor(gamma, dtype=x.dtype, device=x.device)
        gamma = gamma.view(-1, *([1] * (x.dim() - 1))) if gamma.dim() else gamma
        w = self.weight(y)
        d = conjugate_gradient(lambda v: gamma * physics.A_adjoint(w * physics.A(v)) + v,
                               -gamma * self.grad(x, y, physics), self.cg_iterations)
        return x + d

    def init(self, y: torch.Tensor, physics) -> torch.Tensor:
        """x0 = A^T (y - b), clipped to [0, 1] (as for the exact likelihood)."""
        return physics.A_adjoint(y - self.background).clamp(0, 1)


class PoissonAnscombe(dinv.optim.DataFidelity):
    """f_VST(x) = (1/2) ||t - anscombe_mean(c (Ax + b))||^2 with t = anscombe(c y) (module docstring); its prox by
    damped Gauss-Newton (``newton_iterations`` steps, each a CG solve of ``cg_iterations`` steps)."""

    def __init__(self, photons: float, background: float, newton_iterations: int, cg_iterations: int):
        super().__init__()
        self.photons, self.background = float(photons), float(background)
        self.newton_iterations, self.cg_iterations = newton_iterations, cg_iterations

    def _mu(self, x, physics):
        return self.photons * (physics.A(x) + self.background)

    def fn(self, x: torch.Tensor, y: torch.Tensor, physics, *args, **kwargs) -> torch.Tensor:
        """f_VST(x) per image, shape (B,); +inf where some c (Ax + b)_i + 1/8 <= 0."""
        mu = self._mu(x, physics)
        r = anscombe(self.photons * y.clamp_min(0)) - anscombe_mean(mu.clamp_min(-1.0 / 8.0))
        val = 0.5 * (r * r).flatten(1).sum(1)
        return torch.where((mu > -1.0 / 8.0).flatten(1).all(1), val, torch.full_like(val, float("inf")))

    def grad(self, x: torch.Tensor, y: torch.Tensor, physics, *args, **kwargs) -> torch.Tensor:
        """grad f_VST(x) = A^T [c (m - t) / sqrt(mu + 1/8)], m = anscombe_mean(mu), mu = c (Ax + b)."""
        mu = self._mu(x, physics)
        t = anscombe(self.photons * y.clamp_min(0))
        return physics.A_adjoint(self.photons * (anscombe_mean(mu) - t) / torch.sqrt(mu + 1.0 / 8.0))

    def prox(self, x: torch.Tensor, y: torch.Tensor, physics, *args, gamma=1.0, **kwargs) -> torch.Tensor:
        """argmin_u gamma f_VST(u) + ||u - x||^2 / 2 by damped Gauss-Newton from u = max(x, 0): each step solves
        (gamma A^T diag(c^2 / (mu + 1/8)) A + I) d = -(gamma grad f_VST(u) + u - x) by CG (the Gauss-Newton matrix:
        the Hessian without the term in the residual, positive definite), then halves the step until
        c (Au + b) + 1/8 > 0 and the objective does not increase."""
        gamma = torch.as_tensor(gamma, dtype=x.dtype, device=x.device)
        gamma_b = gamma.view(-1, *([1] * (x.dim() - 1))) if gamma.dim() else gamma
        shape = (-1,) + (1,) * (x.dim() - 1)
        c, A = self.photons, physics.A

        def objective(u):
            return gamma.flatten() * self.fn(u, y, physics) + 0.5 * (u - x).pow(2).flatten(1).sum(1)

        u = x.clamp_min(0)
        for _ in range(self.newton_iterations):
            curvature = c * c / (self._mu(u, physics) + 1.0 / 8.0)
            g = gamma_b * self.grad(u, y, physics) + (u - x)
            step = conjugate_gradient(lambda v: gamma_b * physics.A_adjoint(curvature * A(v)) + v, -g,
                                      self.cg_iterations)
            mu, dmu = self._mu(u, physics), c * A(step)
            t = backtrack(lambda t: (mu + t.view(shape) * dmu > -1.0 / 8.0).flatten(1).all(1),
                          lambda t: objective(u + t.view(shape) * step), objective(u))
            u = u + t.view(shape) * step
        return u

    def init(self, y: torch.Tensor, physics) -> torch.Tensor:
        """x0 = A^T (inverse_anscombe(t) / c - b), t = anscombe(c y): the back-projection of the intensities whose
        transformed mean is the data, clipped to [0, 1]."""
        t = anscombe(self.photons * y.clamp_min(0))
        return physics.A_adjoint(inverse_anscombe(t) / self.photons - self.background).clamp(0, 1)


def approximation(kind: str, data, section: dict):
    """The data term of a Poisson problem ``data`` (a problems.DataTerm with a PoissonLikelihood) with its
    likelihood replaced by the Gaussian approximation ``kind`` (``wls`` or ``anscombe``), settings from the
    method's config ``section`` (cg_iterations; newton_iterations for anscombe)."""
    from aelpn.physics.problems import DataTerm

    exact = data.likelihood
    if not isinstance(exact, PoissonLikelihood):
        raise TypeError(f"the {kind} approximation needs a Poisson problem, got {type(exact).__name__}")
    if kind == "wls":
        likelihood = PoissonWLS(exact.photons, exact.background, section["cg_iterations"])
    else:
        likelihood = PoissonAnscombe(exact.photons, exact.background, section["newton_iterations"],
                                     section["cg_iterations"])
    return DataTerm(likelihood, data.physics, data.y, data.operator)
