"""Building blocks of the input-convex networks: layers whose weight is kept non-negative by projection,
seeded initialisation, and the convex non-decreasing activations."""

from __future__ import annotations

import math
import torch
import torch.nn.functional as F
from torch import nn

# Reference LPN init of the constrained (z-path) weights: w = exp(N(-10, 0.1^2)) ~ 4.5e-5.
NONNEG_INIT_MEAN = -10.0
NONNEG_INIT_STD = 0.1


class NonNegConv2d(nn.Conv2d):
    """Convolution on the hidden z-path; its weight must be >= 0 (restored in place by ``project_``)."""

    def project_(self) -> None:
        self.weight.data.clamp_(min=0)


class NonNegLinear(nn.Linear):
    """Linear layer on the hidden z-path; its weight must be >= 0 (restored in place by ``project_``)."""

    def project_(self) -> None:
        self.weight.data.clamp_(min=0)


NONNEG_INITS = ("exp", "uniform", "unit_gain", "signed")


def init_parameters_(module: nn.Module, generator: torch.Generator, nonneg_init: str = "exp") -> None:
    """Seeded init of every conv/linear layer of ``module``, without touching the global RNG.

    Constrained layers: ``exp``: w = exp(N(-10, 0.1^2)) (reference LPN image networks); ``uniform``:
    w = max(U(-1/sqrt(fan_in), 1/sqrt(fan_in)), 0), the projection onto W >= 0 of PyTorch's default init, which
    the reference 1-D networks keep (their exp-init is never called; they clamp after the first step);
    ``unit_gain``: w = exp(N(-log fan_in, 0.1^2)), mean ~ 1 / fan_in, so each constrained layer averages its
    inputs (gain ~ 1 through any depth); ``aelpn.models.build`` then rescales the output layer to unit prox gain;
    ``signed``: PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) not projected (the unconstrained baseline,
    whose z-path weights are never projected either). Free layers: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's default bound). A constrained bias
    is free.
    """
    if nonneg_init not in NONNEG_INITS:
        raise ValueError(f"unknown init {nonneg_init!r} of the constrained weights; expected one of {NONNEG_INITS}")
    with torch.no_grad():
        for layer in module.modules():
            if not isinstance(layer, (nn.Conv2d, nn.Linear)):
                continue
            fan_in = layer.weight[0].numel()
            bound = 1.0 / math.sqrt(fan_in)
            w = torch.empty(layer.weight.shape, dtype=torch.float64)
            if isinstance(layer, (NonNegConv2d, NonNegLinear)) and nonneg_init == "exp":
                w.normal_(NONNEG_INIT_MEAN, NONNEG_INIT_STD, generator=generator).exp_()
            elif isinstance(layer, (NonNegConv2d, NonNegLinear)) and nonneg_init == "unit_gain":
                w.normal_(-math.log(fan_in), NONNEG_INIT_STD, generator=generator).exp_()
            elif isinstance(layer, (NonNegConv2d, NonNegLinear)) and nonneg_init == "uniform":
                w.uniform_(-bound, bound, generator=generator).clamp_(min=0)
            else:
                w.uniform_(-bound, bound, generator=generator)
            layer.weight.copy_(w)
            if layer.bias is not None:
                b = torch.empty(layer.bias.shape, dtype=torch.float64).uniform_(-bound, bound, generator=generator)
                layer.bias.copy_(b)


class Softplus:
    """s(t) = log(1 + e^{beta t}) / beta, taken as t where beta t > 20 (torch's threshold); s'(t) = sigmoid(beta t),
    exactly 1 where beta t > 20 (the derivative of the function computed)."""

    threshold = 20.0

    def __init__(self, beta: float):
        self.beta = float(beta)

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        return F.softplus(t, beta=self.beta, threshold=self.threshold)

    def derivative(self, t: torch.Tensor) -> torch.Tensor:
        bt = self.beta * t
        return torch.sigmoid(bt).masked_fill(bt > self.threshold, 1.0)


class LeakyReLU:
    """s(t) = max(t, a t) with a in [0, 1] (a = 0: ReLU); s'(t) = 1 for t > 0, a otherwise (torch's convention at 0)."""

    def __init__(self, slope: float):
        self.slope = float(slope)

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(t, negative_slope=self.slope) if self.slope else F.relu(t)

    def derivative(self, t: torch.Tensor) -> torch.Tensor:
        return torch.full_like(t, self.slope).masked_fill_(t > 0, 1.0)


def activation(kind: str, softplus_beta: float, leaky_slope: float):
    """Convex, non-decreasing activation with its derivative: softplus log(1 + e^{beta t})/beta, or leaky ReLU
    max(t, s t) with s in [0, 1] (also positively 1-homogeneous)."""
    if kind == "softplus":
        return Softplus(softplus_beta)
    if kind == "leaky":
        if not 0.0 <= leaky_slope <= 1.0:
            raise ValueError(f"model.leaky_slope must lie in [0, 1] to keep the network convex, got {leaky_slope}")
        return LeakyReLU(leaky_slope)
    raise ValueError(f"unknown activation {kind!r} (expected softplus or leaky)")
