"""The five model constructions. Each docstring states psi, why it is convex, and the equivariance it has."""

from __future__ import annotations

import torch
from torch import nn

from aelpn.models.base import ProxNet, squared_norm


class LPN(ProxNet):
    """LPN: psi(x) = h(x) + alpha ||x||^2, f = grad psi.

    Convex: h is an ICNN (W >= 0 on the z-path, softplus convex non-decreasing) and alpha >= 0.
    """

    output_degree = 1

    def __init__(self, spec: dict, core: nn.Module, alpha: float):
        super().__init__(spec)
        self.core, self.alpha = core, float(alpha)

    def output_layers(self) -> list[nn.Module]:
        """The non-negative output weights w of h = w^T z_L: f - 2 alpha x = grad h is linear in them."""
        return [self.core.out]

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        return self.core(x) + self.alpha * squared_norm(x)

    def potential_and_gradient(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """grad psi = grad h + 2 alpha x."""
        h, grad = self.core.value_and_grad(x)
        return h + self.alpha * squared_norm(x), grad + (2 * self.alpha) * x


class UnconstrainedLPN(LPN):
    """The price-of-exactness baseline: LPN's skeleton and parameter count, psi(x) = h(x) + alpha ||x||^2 and
    f = grad psi, with the z-path weights W free (signed init, never projected).

    Not convex: with signed W, h is any smooth network, so f is the gradient of a non-convex function, which is
    not a proximal operator (Gribonval & Nikolova: f is a prox iff f is a (sub)gradient of a convex function); its
    Jacobian is symmetric but indefinite. Softplus with biases: neither scale- nor shift-equivariant.
    """

    exact_prox = False

    def project_(self) -> "UnconstrainedLPN":
        """No constraint to restore: the z-path weights stay signed."""
        return self


class ScaleLPN(ProxNet):
    """Scale-equivariant LPN: psi(x) = h(x)^2 / 2 + alpha ||x||^2, f(a x) = a f(x) for a > 0.

    h is a bias-free leaky-ReLU ICNN (convex, h(a x) = a h(x)) whose last features are ReLU combined with
    w >= 0, so h >= 0; t -> t^2/2 is convex non-decreasing on [0, inf), so h^2/2 is convex; psi is
    2-homogeneous, hence its gradient is 1-homogeneous.
    """

    output_degree = 2

    def __init__(self, spec: dict, core: nn.Module, alpha: float):
        super().__init__(spec)
        self.core, self.alpha = core, float(alpha)

    def output_layers(self) -> list[nn.Module]:
        """The non-negative output weights w of h = w^T z_L: f - 2 alpha x = h grad h is quadratic in them."""
        return [self.core.out]

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * self.core(x).square() + self.alpha * squared_norm(x)

    def potential_and_gradient(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """grad psi = h grad h + 2 alpha x."""
        h, grad = self.core.value_and_grad(x)
        scale = h.view(-1, *([1] * (x.dim() - 1)))
        return 0.5 * h.square() + self.alpha * squared_norm(x), scale * grad + (2 * self.alpha) * x


class SquaredFeatureLPN(ProxNet):
    """Beyond the paper: a 2-homogeneous potential whose Jacobian rank grows with the network,
    psi(x) = 1/2 sum_k sum_{c,i,j} a_{k,c} relu(t_k(x)[c,i,j])^2 + alpha ||x||^2, a >= 0,

    over the pre-activations t_k of every layer of a bias-free leaky-ReLU ICNN (``ConvICNN.pre_activations``:
    t_0 = W_0 x, the hidden t_1..t_L and the head's t_head, whose weights a are the core's output weights).

    Convex: every t_k is convex in x (ICNN: W >= 0 on the z-path, leaky ReLU convex non-decreasing); relu(.)^2 is
    convex and non-decreasing, so relu(t_k)^2 is convex; a non-negative sum of convex functions plus alpha||x||^2
    is convex. 2-homogeneous: without biases t_k(a x) = a t_k(x) for a > 0, so psi(a x) = a^2 psi(x) and
    f = grad psi is 1-homogeneous, f(a x) = a f(x), as ``ScaleLPN``. Rank: t_k is piecewise linear, so almost
    everywhere J_f = sum a_{k,c} 1{t_k > 0} grad t_k grad t_k^T + 2 alpha I, one PSD rank-one term per active
    feature (thousands), where ScaleLPN's h^2/2 gives J_f = grad h grad h^T + 2 alpha I: rank one.
    """

    output_degree = 1

    def __init__(self, spec: dict, core: nn.Module, readouts: nn.ModuleList, alpha: float):
        super().__init__(spec)
        self.core, self.readouts, self.alpha = core, readouts, float(alpha)

    def output_layers(self) -> list[nn.Module]:
        """The non-negative weights a that psi is linear in: one read-out per layer, then the head's."""
        return [*self.readouts, self.core.out]

    def _terms(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], dict]:
        """psi(x) and d psi / d t_k = a_k * relu(t_k) for every pre-activation (with ``reverse``'s cache)."""
        ts, cache = self.core.pre_activations(x)
        psi = self.alpha * squared_norm(x)
        direct = []
        for t, layer in zip(ts, self.output_layers()):
            r = t.clamp(min=0)
            a = layer.weight.view(-1, *([1] * (t.dim() - 2)))
            psi = psi + 0.5 * (a * r.square()).flatten(1).sum(1)
            direct.append(a * r)
        return psi, direct, cache

    def potential_and_gradient(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """grad psi = sum_k J_{t_k}^T (a_k * relu(t_k)) + 2 alpha x (``ConvICNN.reverse``)."""
        psi, direct, cache = self._terms(x)
        return psi, self.core.reverse(direct, cache) + (2 * self.alpha) * x

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        return self._terms(x)[0]


class MeanSplit(ProxNet):
    """Shift equivariance by mean projection: psi(x) = phi((I - P) x) + ||P x||^2 / 2, P x = mean(x) 1 over all
    C*H*W entries; f = grad psi = (I - P) grad phi((I - P) x) + P x, so f(x + b 1) = f(x) + b 1.

    Convex: phi convex composed with the linear map I - P, plus a convex quadratic. With a 2-homogeneous phi
    (``ScaleLPN``) psi is 2-homogeneous too, so f(a x + b 1) = a f(x) + b 1 for a > 0 (AE-LPN).
    """

    def __init__(self, spec: dict, phi: ProxNet):
        super().__init__(spec)
        self.phi = phi

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(1, x.dim()))
        mean = x.mean(dims, keepdim=True)
        return self.phi.potential(x - mean) + 0.5 * x[0].numel() * mean.flatten().square()

    def potential_and_gradient(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dims = tuple(range(1, x.dim()))
        mean = x.mean(dims, keepdim=True)
        phi, grad = self.phi.potential_and_gradient(x - mean)
        psi = phi + 0.5 * x[0].numel() * mean.flatten().square()
        return psi, grad - grad.mean(dims, keepdim=True) + mean


class NormTrick(ProxNet):
    """Normalization trick: f(x) = s_x g((x - m_x) / s_x) + m_x, with g an LPN prox and m_x, s_x the mean and
    (population) std of each image and channel over H x W.

    Affine-equivariant by construction, f(a x + b) = a f(x) + b, but NOT an exact prox (f is not shown to be the
    gradient of a convex function), hence no potential. A (near-)constant channel, s_x <= 64 eps max|x|, is
    returned unchanged: the equivariant answer f(c 1) = c 1, finite, with no division by zero.
    """

    exact_prox = False
    gradient_field = False

    def __init__(self, spec: dict, inner: ProxNet):
        super().__init__(spec)
        self.inner = inner

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        raise TypeError("the normalization-trick model is not a gradient field: it has no potential psi")

    def potential_and_gradient(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise TypeError("the normalization-trick model is not a gradient field: it has no potential psi")

    def forward(self, x: torch.Tensor, sigma=None) -> torch.Tensor:
        mean = x.mean((-2, -1), keepdim=True)
        centred = x - mean
        var = centred.square().mean((-2, -1), keepdim=True)
        tol = 64 * torch.finfo(x.dtype).eps * x.abs().amax((-2, -1), keepdim=True)
        degenerate = var <= tol.square()
        std = torch.where(degenerate, torch.ones_like(var), var).sqrt()
        out = std * self.inner(centred / std) + mean
        return torch.where(degenerate, x, out)


class NormTrick1d(ProxNet):
    """1-D normalization trick: f(x) = |x| g(x / |x|) = |x| g(sign x), f(0) = 0 (finite, no division).

    f(a x) = a f(x) for a > 0. In 1-D f is the derivative of psi(x) = x f(x) / 2 (Euler, f 1-homogeneous), which
    is convex only if g(-1) <= 0 <= g(1): not guaranteed, so ``exact_prox`` is False.
    """

    exact_prox = False
    gradient_field = False

    def __init__(self, spec: dict, inner: ProxNet):
        super().__init__(spec)
        self.inner = inner

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x * self.forward(x)).squeeze(1)

    def potential_and_gradient(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(x f(x) / 2, f(x)): f is its derivative wherever x f(x) / 2 is differentiable (Euler)."""
        f = self.forward(x)
        return 0.5 * (x * f).squeeze(1), f

    def forward(self, x: torch.Tensor, sigma=None) -> torch.Tensor:
        return x.abs() * self.inner(torch.sign(x))


__all__ = ["LPN", "UnconstrainedLPN", "ScaleLPN", "SquaredFeatureLPN", "MeanSplit", "NormTrick", "NormTrick1d"]
