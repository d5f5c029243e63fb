"""The reference prox of every proximal network: f = grad psi by autograd through autograd, as in the LPN
reference code. The gradient tests check the models' explicit gradients against it, and the training benchmark
times it as the baseline; the pipeline never uses it."""

from __future__ import annotations

import contextlib

import torch

from aelpn.models.base import ProxNet


def autograd_gradient(potential, x: torch.Tensor) -> torch.Tensor:
    """grad psi(x) = torch.autograd.grad(psi(x).sum(), x, create_graph=True) in grad mode (so a loss of it
    backpropagates by double backward), without a graph under ``torch.no_grad()``."""
    create_graph = torch.is_grad_enabled()
    with torch.enable_grad():
        leaf = x if (create_graph and x.requires_grad) else x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(potential(leaf).sum(), leaf, create_graph=create_graph)
    return grad


@contextlib.contextmanager
def _autograd_inner(model: ProxNet):
    """Within the block, the normalization trick's inner prox g is computed by autograd of its potential."""
    inner = model.inner
    inner.forward = lambda x, sigma=None: autograd_gradient(inner.potential, x)
    try:
        yield
    finally:
        del inner.forward


def autograd_prox(model: ProxNet, x: torch.Tensor) -> torch.Tensor:
    """f(x) of ``model`` with every grad psi taken by autograd (the reference implementation)."""
    if model.gradient_field:
        return autograd_gradient(model.potential, x)
    with _autograd_inner(model):
        return model(x)
