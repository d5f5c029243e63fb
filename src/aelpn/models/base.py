"""The ProxNet interface shared by every model, and f = grad psi by autograd."""

from __future__ import annotations

import abc
from typing import Callable

import torch
from torch import nn

from aelpn.models.layers import NonNegConv2d, NonNegLinear


def potential_gradient(potential: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """f(x) = grad psi(x) by autograd. Builds a differentiable graph (create_graph) only when grad mode is on,
    so it serves both training (double backward) and inference under ``torch.no_grad()``."""
    create_graph = torch.is_grad_enabled()
    with torch.enable_grad():
        leaf = x if (create_graph and x.requires_grad) else x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(potential(leaf).sum(), leaf, create_graph=create_graph)
    return grad


def squared_norm(x: torch.Tensor) -> torch.Tensor:
    """||x||^2 per sample, shape (B,)."""
    return x.flatten(1).square().sum(1)


class ProxNet(nn.Module, abc.ABC):
    """A learned proximal operator f: R^n -> R^n on batches (B, ...).

    ``forward(x, sigma=None)`` returns f(x) (sigma is ignored: deepinv's ``denoiser(x, sigma)`` signature);
    ``potential(x)`` returns psi(x) of shape (B,) with f = grad psi when ``exact_prox``; ``project_()`` restores
    the non-negativity of the constrained weights (call it after every optimizer step); ``spec`` is the
    JSON-able description that rebuilds the architecture (see ``aelpn.models.build_from_spec``).
    """

    exact_prox: bool = True
    variant: str

    def __init__(self, spec: dict):
        super().__init__()
        self.spec = dict(spec)
        self.variant = spec["variant"]

    @abc.abstractmethod
    def potential(self, x: torch.Tensor) -> torch.Tensor:
        """psi(x), shape (B,)."""

    def forward(self, x: torch.Tensor, sigma=None) -> torch.Tensor:
        return potential_gradient(self.potential, x)

    def project_(self) -> "ProxNet":
        """Clamp every constrained (z-path) weight at 0 in place: the projection onto the convex set W >= 0."""
        for m in self.modules():
            if isinstance(m, (NonNegConv2d, NonNegLinear)):
                m.project_()
        return self
