"""The batched inversion finds f(y) = x, and R matches a known regularizer and the prox optimality."""

from __future__ import annotations

import pytest
import torch
from model_helpers import image_model, model_1d

from aelpn.models.regularizer import regularizer


class SplitNormalProx(torch.nn.Module):
    """Exact MAP denoiser of the split normal SN(0, 1, 2) at noise 1: psi(y) = y^2/4 (y < 0), 2y^2/5 (y >= 0);
    its regularizer is x^2/2 (x < 0), x^2/8 (x >= 0)."""

    def potential(self, y):
        y = y.squeeze(1)
        return torch.where(y < 0, y.square() / 4, 2 * y.square() / 5)

    def forward(self, y, sigma=None):
        return torch.where(y < 0, y / 2, 4 * y / 5)

    def potential_and_gradient(self, y):
        return self.potential(y), self(y)


def test_split_normal_regularizer_exact():
    x = torch.linspace(-8, 8, 81, dtype=torch.float64)[:, None]
    res = regularizer(SplitNormalProx(), x, tol=1e-12)
    true = torch.where(x[:, 0] < 0, x[:, 0].square() / 2, x[:, 0].square() / 8)
    torch.testing.assert_close(res.value, true, rtol=0, atol=1e-10)
    torch.testing.assert_close(SplitNormalProx()(res.y), x, rtol=0, atol=1e-10)
    assert (res.residual <= 1e-12).all()


def _image_case(variant="lpn"):
    model = image_model(variant, channels=1, size=8, depth=2, width=6, alpha=0.05)
    gen = torch.Generator().manual_seed(3)
    y0 = torch.rand(4, 1, 8, 8, dtype=torch.float64, generator=gen)
    with torch.no_grad():
        x = model(y0)
    return model, y0, x


def test_inversion_on_image_model():
    model, y0, x = _image_case()
    res = regularizer(model, x, tol=1e-10, max_iter=300)
    assert (res.residual <= 1e-10).all(), res.residual
    assert (res.iterations > 0).all() and res.value.shape == (4,)
    with torch.no_grad():
        torch.testing.assert_close(model(res.y), x, rtol=0, atol=1e-8)
    # strongly convex inversion: the preimage is unique, so it is the y0 that produced x
    torch.testing.assert_close(res.y, y0, rtol=0, atol=1e-7)


@pytest.mark.parametrize("variant", ["lpn", "scale_sq", "aelpn_sq"])
def test_regularizer_prox_optimality(variant):
    """x = f(y0) = prox_R(y0) minimises z -> ||z - y0||^2/2 + R(z): check against perturbed z."""
    model, y0, x = _image_case(variant)
    gen = torch.Generator().manual_seed(4)
    obj = lambda z: 0.5 * (z - y0).flatten(1).square().sum(1) + regularizer(model, z, tol=1e-11).value  # noqa: E731
    best = obj(x)
    for _ in range(3):
        z = x + 0.05 * torch.randn(x.shape, dtype=torch.float64, generator=gen)
        assert (obj(z) >= best - 1e-9).all()


def test_stops_at_max_iter_and_reports_residual():
    model, _, x = _image_case()
    res = regularizer(model, x, tol=1e-14, max_iter=2)
    assert (res.iterations <= 2).all() and (res.residual > 0).all()


def test_aelpn_regularizer_invariances():
    """psi(x) = phi((I-P)x) + ||Px||^2/2 with phi 2-homogeneous gives R(a x + b 1) = a^2 R(x). psi is only
    piecewise smooth here (leaky ReLU), so the residual may stall at a kink: R comes from the minimum value."""
    model = image_model("aelpn", channels=1, size=4, depth=1, width=6, alpha=0.05)
    x = torch.rand(3, 1, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    base = regularizer(model, x, tol=1e-11)
    for a, b in [(1.0, 0.7), (3.0, 0.0), (0.2, -1.5)]:
        res = regularizer(model, a * x + b, tol=1e-11)
        torch.testing.assert_close(res.value, a**2 * base.value, rtol=1e-8, atol=1e-10)
    lpn = image_model("lpn", channels=1, size=4, depth=1, width=6, alpha=0.05)
    shifted = regularizer(lpn, x + 0.7, tol=1e-11).value - regularizer(lpn, x, tol=1e-11).value
    assert shifted.abs().max() > 1e-3  # the check discriminates: plain LPN's R is not shift-invariant


def test_scale_1d_regularizer_is_2_homogeneous():
    model = model_1d("scale")
    x = torch.linspace(-4, 4, 17, dtype=torch.float64)[:, None]
    base = regularizer(model, x, tol=1e-12)
    torch.testing.assert_close(regularizer(model, 3 * x, tol=1e-12).value, 9 * base.value, rtol=1e-8, atol=1e-10)
