"""Exact proxes at any image size (float64): the patched potential of every proximal network applies to an odd,
non-square image and keeps its guarantees there: a symmetric positive semi-definite Jacobian, and the scale /
shift / affine equivariance each variant promises (LPN's absence of both still shows)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from model_helpers import EXACT_VARIANTS, image_model

from aelpn.models.patched import full_size, window_grid

C, S, STRIDE = 3, 8, 4
H, W = 13, 9  # odd, non-square, not a multiple of the crop size
SCALES = [1e-2, 0.3, 3.0, 1e2]
SHIFTS = [-5.0, -0.4, 0.7, 3.0]


def _rand(shape, seed, lo=0.0, hi=1.0):
    gen = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(shape, generator=gen, dtype=torch.float64)


def _model(variant, alpha=1e-2):
    return full_size(image_model(variant, channels=C, size=S, depth=2, width=4, alpha=alpha), STRIDE)


def _rel(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("length", [1, 5, 8, 13, 321, 481])
@pytest.mark.parametrize("size,stride", [(8, 4), (8, 2), (64, 32), (8, 8)])
def test_windows_cover_every_pixel_equally(length, size, stride):
    """Z then the windows at ``stride``: every pixel of x lies in exactly (size / stride) windows per axis."""
    before, after, windows = window_grid(length, size, stride)
    canvas = torch.ones(1, 1, before + length + after, 1, dtype=torch.float64)
    assert (canvas.shape[2] - size) % stride == 0 and (canvas.shape[2] - size) // stride + 1 == windows
    cols = F.unfold(canvas, (size, 1), stride=(stride, 1))
    count = F.fold(cols, canvas.shape[-2:], (size, 1), stride=(stride, 1))[0, 0, before : before + length, 0]
    assert torch.equal(count, torch.full((length,), size // stride, dtype=torch.float64))


@pytest.mark.parametrize("variant", EXACT_VARIANTS)
def test_jacobian_symmetric_psd_at_an_odd_non_square_size(variant):
    model = _model(variant, alpha=0.0)
    x = _rand((1, C, H, W), seed=1, lo=-1, hi=2)
    jac = torch.autograd.functional.jacobian(lambda v: model(v.view(1, C, H, W)).flatten(), x.flatten())
    scale = jac.abs().max()
    assert scale > 0
    assert (jac - jac.T).abs().max() <= 1e-10 * scale
    assert torch.linalg.eigvalsh(0.5 * (jac + jac.T)).min() >= -1e-10 * scale


@pytest.mark.parametrize("variant", EXACT_VARIANTS)
def test_gradient_is_that_of_the_patched_potential(variant):
    """f = grad Psi at H x W: the hand-written patched gradient equals autograd's gradient of Psi."""
    model = _model(variant)
    x = _rand((2, C, H, W), seed=2, lo=-1, hi=2).requires_grad_(True)
    psi, f = model.potential_and_gradient(x)
    (auto,) = torch.autograd.grad(psi.sum(), x)
    assert _rel(f.detach(), auto) <= 1e-10


@pytest.mark.parametrize("variant", ["scale", "aelpn", "normtrick", "scale_sq", "aelpn_sq"])
def test_scale_equivariance_at_an_odd_non_square_size(variant):
    model = _model(variant)
    x = _rand((2, C, H, W), seed=6)
    with torch.no_grad():
        fx = model(x)
        for a in SCALES:
            assert _rel(model(a * x), a * fx) <= 1e-6, a


@pytest.mark.parametrize("variant", ["shift", "aelpn", "normtrick", "aelpn_sq"])
def test_shift_equivariance_at_an_odd_non_square_size(variant):
    model = _model(variant)
    x = _rand((2, C, W, H), seed=7)
    with torch.no_grad():
        fx = model(x)
        for b in SHIFTS:
            assert _rel(model(x + b), fx + b) <= 1e-6, b


def test_lpn_is_neither_scale_nor_shift_equivariant_at_that_size():
    """The checks above have teeth at this size: LPN promises neither."""
    model = _model("lpn")
    x = _rand((2, C, H, W), seed=9)
    with torch.no_grad():
        fx = model(x)
        assert max(_rel(model(a * x), a * fx) for a in SCALES) > 1e-3
        assert max(_rel(model(x + b), fx + b) for b in SHIFTS) > 1e-3


@pytest.mark.parametrize("shape", [(321, 481), (481, 321)])
def test_a_full_bsds_image_in_both_orientations(shape):
    model = full_size(image_model("aelpn", channels=C, size=16, depth=2, width=4).float(), stride=8)
    x = torch.rand((1, C, *shape), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_stride_must_divide_the_crop_size():
    with pytest.raises(ValueError, match="divide"):
        full_size(image_model("lpn", channels=C, size=S, depth=2, width=4), stride=3)
