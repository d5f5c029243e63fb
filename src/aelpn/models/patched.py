"""Exact proxes at any image size. A proximal network is trained on S x S crops (its ICNN's head covers the whole
crop); on an H x W image (any H, W, odd or not) it acts through exact patching of its potential:

    Psi(x) = (1 / k) sum_i psi(P_i Z x),    k = (S / s)^2,
    f(x) = grad Psi(x) = (1 / k) Z^T sum_i P_i^T grad psi(P_i Z x),

where Z zero-pads x into a canvas (S - s rows and columns before, enough after) on which the S x S windows P_i
at stride s (s divides S) cover every pixel of x exactly k times, and P_i^T puts a window back (``F.fold`` sums
the overlaps). Psi is a non-negative sum of convex functions of linear maps of x, hence convex, so f is an exact
prox with a symmetric positive semi-definite Jacobian; Z and P_i are linear, so Psi is 2-homogeneous whenever
psi is (f(a x) = a f(x), a > 0), and alpha ||P_i Z x||^2 summed over the windows is k alpha ||x||^2 (uniform
coverage). Only the innermost potential network is patched: the mean split and the normalization trick act
on the whole image (``full_size``), so their shift / affine equivariance holds at every size exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from aelpn.models.base import ProxNet
from aelpn.models.variants import MeanSplit, NormTrick


def window_grid(length: int, size: int, stride: int) -> tuple[int, int, int]:
    """(pad_before, pad_after, windows) along one axis of ``length`` pixels: windows of ``size`` at ``stride``
    starting ``size - stride`` pixels before the first pixel, the fewest that cover every pixel size / stride
    times: (n - 1) stride >= length + size - 2 stride."""
    if stride < 1 or size % stride:
        raise ValueError(f"patch stride {stride} must be >= 1 and divide the model's crop size {size}")
    windows = math.ceil((length + size - 2 * stride) / stride) + 1
    return size - stride, windows * stride - length, windows


class PatchedPotential(ProxNet):
    """The exact patching of a potential network ``inner`` trained on S x S inputs (module docstring): applies to
    (B, C, H, W) for any H, W >= 1; ``chunk`` windows go through ``inner`` at a time (memory)."""

    def __init__(self, inner: ProxNet, stride: int, chunk: int = 16):
        super().__init__({**inner.spec, "patch_stride": int(stride)})
        self.inner, self.stride, self.chunk = inner, int(stride), int(chunk)
        self.exact_prox = inner.exact_prox
        self.size = inner.core.image_size
        self.coverage = (self.size // self.stride) ** 2
        window_grid(self.size, self.size, self.stride)

    def _canvas(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        (top, bottom, _), (left, right, _) = (window_grid(n, self.size, self.stride) for n in x.shape[-2:])
        canvas = F.pad(x, (left, right, top, bottom))
        return canvas, (top, left, canvas.shape[-2:])

    def potential_and_gradient(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(Psi(x), grad Psi(x)) of the module docstring, windows through ``inner`` ``chunk`` at a time."""
        batch, channels, height, width = x.shape
        canvas, (top, left, canvas_hw) = self._canvas(x)
        cols = F.unfold(canvas, self.size, stride=self.stride)  # (B, C S S, L)
        count = cols.shape[-1]
        windows = cols.transpose(1, 2).reshape(batch * count, channels, self.size, self.size)
        psis, grads = [], []
        for part in windows.split(self.chunk):
            psi, grad = self.inner.potential_and_gradient(part)
            psis.append(psi)
            grads.append(grad)
        psi = torch.cat(psis).view(batch, count).sum(1) / self.coverage
        grad_cols = torch.cat(grads).reshape(batch, count, -1).transpose(1, 2)
        grad = F.fold(grad_cols, canvas_hw, self.size, stride=self.stride) / self.coverage
        return psi, grad[..., top : top + height, left : left + width]

    def potential(self, x: torch.Tensor) -> torch.Tensor:
        return self.potential_and_gradient(x)[0]


def full_size(model: ProxNet, stride: int, chunk: int = 16) -> ProxNet:
    """``model`` on images of any size, sharing its weights: its innermost potential network patched
    (``PatchedPotential``), the mean split or normalization trick around it kept on the whole image."""
    if isinstance(model, MeanSplit):
        return MeanSplit(model.spec, PatchedPotential(model.phi, stride, chunk))
    if isinstance(model, NormTrick):
        return NormTrick(model.spec, PatchedPotential(model.inner, stride, chunk))
    return PatchedPotential(model, stride, chunk)
