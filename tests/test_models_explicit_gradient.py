"""The hand-written gradient used by every ProxNet.forward equals autograd (the LPN reference's
autograd-through-autograd) in float64: the prox f, the potential psi, and the training gradient
d loss / d theta of a loss of f, for every variant, image and 1-D, softplus in and beyond torch's threshold."""

from __future__ import annotations

import pytest
import torch
from model_helpers import SKIP_RESIZE, image_model, model_1d

from aelpn.models import VARIANTS, VARIANTS_1D
from aelpn.models.autograd import autograd_prox
from aelpn.training.losses import proximal_matching_loss

TOL = dict(rtol=1e-11, atol=1e-13)


def _loss_and_grads(model, prox, y, x):
    model.zero_grad(set_to_none=True)
    f = prox(y)
    loss = proximal_matching_loss(f, x, 0.5) + (f - x).abs().mean()
    loss.backward()
    return f.detach(), [p.grad.clone() for p in model.parameters()]


def _check(model, y, x):
    f_exp, g_exp = _loss_and_grads(model, model, y, x)
    f_ref, g_ref = _loss_and_grads(model, lambda v: autograd_prox(model, v), y, x)
    torch.testing.assert_close(f_exp, f_ref, **TOL)
    assert max(g.abs().max() for g in g_ref) > 1e-6  # the model is not saturated: the check has teeth
    for a, b in zip(g_exp, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12 * max(1.0, b.abs().max().item()))
    if model.gradient_field:
        psi, grad = model.potential_and_gradient(y)
        torch.testing.assert_close(psi, model.potential(y), **TOL)
        torch.testing.assert_close(grad, f_ref, **TOL)


@pytest.mark.parametrize("skip_resize", SKIP_RESIZE)
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("geometry", [dict(channels=3, size=8, depth=2, width=5, head_width=3),
                                      dict(channels=1, size=12, depth=1, width=4, head_width=6)],
                         ids=["3x8x8-d2", "1x12x12-d1"])
def test_image_models_match_autograd(variant, geometry, skip_resize):
    """Both skip resizes; at 8x8, depth 2 the skips read 4x4 and 2x2 maps, where the adjoints of bilinear
    resizing and average pooling differ."""
    c, s = geometry["channels"], geometry["size"]
    model = image_model(variant, channels=c, size=s, depth=geometry["depth"], width=geometry["width"],
                        head_width=geometry["head_width"], alpha=0.05, softplus_beta=10.0,
                        skip_resize=skip_resize)
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(3, c, s, s, dtype=torch.float64, generator=gen)
    y = x + 0.3 * torch.randn(x.shape, dtype=torch.float64, generator=gen)
    y[0] *= 8  # a sample driving softplus past its threshold (beta t > 20)
    _check(model, y, x)


@pytest.mark.parametrize("variant", VARIANTS_1D)
def test_1d_models_match_autograd(variant):
    model = model_1d(variant)
    x = torch.linspace(-6, 6, 25, dtype=torch.float64)[:, None]
    _check(model, x + 0.1, x)


def test_no_graph_under_no_grad():
    model = image_model("aelpn", channels=3, size=8, depth=2)
    with torch.no_grad():
        psi, grad = model.potential_and_gradient(torch.rand(2, 3, 8, 8, dtype=torch.float64))
    assert psi.grad_fn is None and grad.grad_fn is None
