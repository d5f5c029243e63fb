"""The ProxNet interface shared by every model: f = grad psi, computed with psi by each model's explicit
(hand-written) gradient ``potential_and_gradient``."""

from __future__ import annotations

import abc
import torch
from torch import nn

from aelpn.models.layers import NonNegConv2d, NonNegLinear


def squared_norm(x: torch.Tensor) -> torch.Tensor:
    """||x||^2 per sample, shape (B,)."""
    return x.flatten(1).square().sum(1)


class ProxNet(nn.Module, abc.ABC):
    """A learned proximal operator f: R^n -> R^n on batches (B, ...).

    ``forward(x, sigma=None)`` returns f(x) (sigma is ignored: deepinv's ``denoiser(x, sigma)`` signature);
    ``potential(x)`` returns psi(x) of shape (B,) with f = grad psi when ``gradient_field`` (psi convex, so f is a
    prox, when ``exact_prox``);
    ``potential_and_gradient(x)`` returns (psi(x), grad psi(x)) from one forward and one hand-written reverse pass
    of torch ops: a graph of its own only in grad mode, so a training loss backpropagates through it once and
    ``torch.no_grad()`` inference builds none; ``project_()`` restores
    the non-negativity of the constrained weights (call it after every optimizer step); ``spec`` is the
    JSON-able description that rebuilds the architecture (see ``aelpn.models.build_from_spec``).
    """

    exact_prox: bool = True
    gradient_field: bool = True
    variant: str

    def __init__(self, spec: dict):
        super().__init__()
        self.spec = dict(spec)
        self.variant = spec["variant"]

    @abc.abstractmethod
    def potential(self, x: torch.Tensor) -> torch.Tensor:
        """psi(x), shape (B,)."""

    @abc.abstractmethod
    def potential_and_gradient(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(psi(x) of shape (B,), grad psi(x) of x's shape)."""

    def forward(self, x: torch.Tensor, sigma=None) -> torch.Tensor:
        """f(x) = grad psi(x)."""
        return self.potential_and_gradient(x)[1]

    def project_(self) -> "ProxNet":
        """Clamp every constrained (z-path) weight at 0 in place: the projection onto the convex set W >= 0."""
        for m in self.modules():
            if isinstance(m, (NonNegConv2d, NonNegLinear)):
                m.project_()
        return self
