"""Mathematical properties of the models (float64): exact proxes have a symmetric PSD Jacobian and a convex
potential, the equivariant variants are equivariant (and LPN is not), the normalization trick is finite on
constant inputs, and the architecture handles sizes, grad modes and seeds as promised."""

from __future__ import annotations

import pytest
import torch
from model_helpers import EXACT_VARIANTS, SKIP_RESIZE, image_model, model_1d, randomize_, small_cfg

from aelpn.models import VARIANTS, build_model, build_model_1d
from aelpn.models.layers import NonNegConv2d, NonNegLinear
from aelpn.models.names import BASELINE_VARIANTS

SHAPES = [dict(channels=1, size=8, depth=2, width=4), dict(channels=3, size=4, depth=1, width=6)]


def _rand(shape, seed, lo=0.0, hi=1.0):
    gen = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(shape, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("skip_resize", SKIP_RESIZE)
@pytest.mark.parametrize("variant", EXACT_VARIANTS)
@pytest.mark.parametrize("shape", SHAPES, ids=["1x8x8-d2", "3x4x4-d1"])
def test_jacobian_symmetric_psd(variant, shape, skip_resize):
    """f = grad psi with psi convex: its Jacobian is the Hessian of psi, symmetric positive semi-definite
    (alpha = 0, so the check is on the network alone)."""
    c, s = shape["channels"], shape["size"]
    model = image_model(variant, channels=c, size=s, depth=shape["depth"], width=shape["width"],
                        skip_resize=skip_resize)
    jacs = []
    for seed in (1, 2):
        x = _rand((1, c, s, s), seed=seed, lo=-1, hi=2)
        jac = torch.autograd.functional.jacobian(lambda v: model(v.view(1, c, s, s)).flatten(), x.flatten())
        scale = jac.abs().max()
        assert (jac - jac.T).abs().max() <= 1e-10 * scale
        eig = torch.linalg.eigvalsh(0.5 * (jac + jac.T))
        assert eig.min() >= -1e-10 * scale
        assert eig.max() > 0
        jacs.append(jac)
    # the network is genuinely non-linear (the Jacobian changes), so the check is not about a constant matrix
    assert (jacs[0] - jacs[1]).abs().max() > 1e-3 * jacs[0].abs().max()


def _max_convexity_gap(model, shape, seed, segments=8, ts=21):
    """max over random segments [a, b] and t of psi(t a + (1-t) b) - t psi(a) - (1-t) psi(b)."""
    a, b = _rand((segments, *shape), seed, -1, 2), _rand((segments, *shape), seed + 1, -1, 2)
    gaps = []
    with torch.no_grad():
        pa, pb = model.potential(a), model.potential(b)
        for t in torch.linspace(0, 1, ts, dtype=torch.float64):
            gaps.append(model.potential(t * a + (1 - t) * b) - t * pa - (1 - t) * pb)
    return torch.stack(gaps).max().item(), max(pa.abs().max().item(), pb.abs().max().item())


@pytest.mark.parametrize("skip_resize", SKIP_RESIZE)
@pytest.mark.parametrize("variant", EXACT_VARIANTS)
def test_potential_convex_along_segments(variant, skip_resize):
    model = image_model(variant, channels=3, size=8, depth=2, width=6, skip_resize=skip_resize).project_()
    gap, scale = _max_convexity_gap(model, (3, 8, 8), seed=2)
    assert gap <= 1e-12 * max(scale, 1.0)


@pytest.mark.parametrize("variant", ["lpn", "scale"])
def test_potential_convex_1d(variant):
    model = model_1d(variant).project_()
    gap, scale = _max_convexity_gap(model, (1,), seed=3, segments=64)
    assert gap <= 1e-12 * max(scale, 1.0)


def test_convexity_check_has_teeth():
    """Negative z-path weights (no projection) make psi non-convex; project_() restores convexity."""
    model = randomize_(image_model("lpn", channels=1, size=8, depth=2, width=6, softplus_beta=2.0), 7,
                       signed=True)
    gap, _ = _max_convexity_gap(model, (1, 8, 8), seed=4, segments=16)
    assert gap > 1e-6
    model.project_()
    gap, scale = _max_convexity_gap(model, (1, 8, 8), seed=4, segments=16)
    assert gap <= 1e-12 * max(scale, 1.0)


def test_project_clamps_every_constrained_weight():
    for variant in set(VARIANTS) - set(BASELINE_VARIANTS):
        model = randomize_(image_model(variant, channels=3, size=8, depth=2), 5, signed=True)
        constrained = [m.weight for m in model.modules() if isinstance(m, (NonNegConv2d, NonNegLinear))]
        assert constrained and any((w < 0).any() for w in constrained)
        model.project_()
        assert all((w >= 0).all() for w in constrained)


def _rel(a, b):
    return ((a - b).norm() / torch.maximum(a.norm(), b.norm())).item()


SCALES = [1e-3, 1e-2, 0.3, 3.0, 1e2, 1e3]
SHIFTS = [-5.0, -0.4, 0.7, 3.0]


@pytest.mark.parametrize("skip_resize", SKIP_RESIZE)
@pytest.mark.parametrize("variant", ["scale", "aelpn", "normtrick", "scale_sq", "aelpn_sq"])
def test_scale_equivariance(variant, skip_resize):
    model = image_model(variant, channels=3, size=8, depth=2, alpha=1e-2, skip_resize=skip_resize)
    x = _rand((2, 3, 8, 8), seed=6)
    with torch.no_grad():
        fx = model(x)
        for a in SCALES:
            assert _rel(model(a * x), a * fx) <= 1e-6, a


@pytest.mark.parametrize("skip_resize", SKIP_RESIZE)
@pytest.mark.parametrize("variant", ["shift", "aelpn", "normtrick", "aelpn_sq"])
def test_shift_equivariance(variant, skip_resize):
    model = image_model(variant, channels=3, size=8, depth=2, alpha=1e-2, skip_resize=skip_resize)
    x = _rand((2, 3, 8, 8), seed=7)
    with torch.no_grad():
        fx = model(x)
        for b in SHIFTS:
            assert _rel(model(x + b), fx + b) <= 1e-6, b


@pytest.mark.parametrize("skip_resize", SKIP_RESIZE)
@pytest.mark.parametrize("variant", ["aelpn", "normtrick", "aelpn_sq"])
def test_affine_equivariance(variant, skip_resize):
    model = image_model(variant, channels=3, size=8, depth=2, alpha=1e-2, skip_resize=skip_resize)
    x = _rand((2, 3, 8, 8), seed=8)
    with torch.no_grad():
        fx = model(x)
        for a in SCALES:
            for b in SHIFTS:
                assert _rel(model(a * x + b), a * fx + b) <= 1e-6, (a, b)


@pytest.mark.parametrize("skip_resize", SKIP_RESIZE)
@pytest.mark.parametrize("variant", ["lpn", "scale", "shift"])
def test_equivariance_check_discriminates(variant, skip_resize):
    """The checks above fail where the construction promises nothing: LPN (scale and shift), scale-only
    (shift), shift-only (scale)."""
    model = image_model(variant, channels=3, size=8, depth=2, alpha=1e-2, skip_resize=skip_resize)
    x = _rand((2, 3, 8, 8), seed=9)
    with torch.no_grad():
        fx = model(x)
        if variant != "scale":
            assert max(_rel(model(a * x), a * fx) for a in SCALES) > 1e-3
        if variant != "shift":
            assert max(_rel(model(x + b), fx + b) for b in SHIFTS) > 1e-3


@pytest.mark.parametrize("variant", ["scale", "normtrick"])
def test_scale_equivariance_1d(variant):
    model = model_1d(variant)
    x = torch.linspace(-3, 3, 13, dtype=torch.float64)[:, None]
    with torch.no_grad():
        fx = model(x)
        for a in SCALES:
            assert _rel(model(a * x), a * fx) <= 1e-6, a
    lpn = model_1d("lpn")
    with torch.no_grad():
        assert max(_rel(lpn(a * x), a * lpn(x)) for a in SCALES) > 1e-3


def test_normtrick_constant_images():
    model = image_model("normtrick", channels=3, size=8, depth=2)
    for c in [0.0, 0.3, -2.0, 1e3]:
        x = torch.full((2, 3, 8, 8), c, dtype=torch.float64)
        with torch.no_grad():
            assert torch.equal(model(x), x)
    # one constant channel inside a textured image; gradients stay finite in training mode
    x = _rand((2, 3, 8, 8), seed=10)
    x[:, 1] = 0.5
    x.requires_grad_(True)
    out = model(x)
    assert torch.isfinite(out).all() and torch.equal(out[:, 1].detach(), x[:, 1].detach())
    out.square().sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_normtrick_1d_at_zero():
    model = model_1d("normtrick")
    x = torch.tensor([[0.0], [1.5], [-2.0]], dtype=torch.float64, requires_grad=True)
    out = model(x)
    assert out[0, 0].item() == 0.0 and torch.isfinite(out).all()
    out.sum().backward()
    assert torch.isfinite(x.grad).all()
    assert model.exact_prox is False


def test_normtrick_1d_potential_is_antiderivative():
    """psi(x) = x f(x) / 2 has derivative f (f is 1-homogeneous)."""
    model = model_1d("normtrick")
    x = torch.linspace(-3, 3, 12, dtype=torch.float64)[:, None].requires_grad_(True)
    (grad,) = torch.autograd.grad(model.potential(x).sum(), x)
    torch.testing.assert_close(grad, model(x).detach(), rtol=1e-12, atol=1e-12)


def test_homogeneous_core_nonnegative_and_homogeneous():
    for variant in ("scale", "aelpn"):
        model = image_model(variant, channels=3, size=8, depth=2)
        core = model.core if variant == "scale" else model.phi.core
        x = _rand((16, 3, 8, 8), seed=11, lo=-2, hi=2)
        with torch.no_grad():
            h = core(x)
            assert (h >= 0).all() and (h > 0).any()
            for a in SCALES:
                torch.testing.assert_close(core(a * x), a * h, rtol=1e-10, atol=0)


@pytest.mark.parametrize("size", [4, 8, 12, 20])
def test_any_multiple_of_2_pow_depth(size):
    for variant in VARIANTS:
        model = build_model(variant, small_cfg(depth=2), 3, size)
        assert model(torch.rand(2, 3, size, size)).shape == (2, 3, size, size)


@pytest.mark.parametrize("size", [6, 10, 18])
def test_other_sizes_rejected(size):
    with pytest.raises(ValueError, match="multiple of 2\\*\\*model.depth"):
        build_model("lpn", small_cfg(depth=2), 3, size)


def test_wrong_input_shape_rejected():
    model = build_model("aelpn", small_cfg(depth=2), 3, 8)
    with pytest.raises(ValueError, match="expects inputs of shape"):
        model(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match=r"\(B, 1\)"):
        build_model_1d("lpn", {"width": 4, "depth": 2, "softplus_beta": 5.0, "leaky_slope": 0.1})(torch.rand(3, 2))


@pytest.mark.parametrize("variant", ["lpn", "scale", "normtrick"])
def test_1d_models_on_b1(variant):
    model = build_model_1d(variant, {"width": 8, "depth": 4, "softplus_beta": 10.0, "leaky_slope": 0.1})
    x = torch.randn(5, 1, generator=torch.Generator().manual_seed(0))
    assert model(x).shape == (5, 1) and model.potential(x).shape == (5,)


@pytest.mark.parametrize("variant", VARIANTS)
def test_grad_modes(variant):
    """No graph under no_grad; a double-backward graph to the weights in grad mode."""
    model = build_model(variant, small_cfg(depth=2), 3, 8)
    x = torch.rand(2, 3, 8, 8)
    with torch.no_grad():
        out = model(x)
    assert out.grad_fn is None
    loss = (model(x) - x).abs().mean()
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    assert model.exact_prox is (variant not in ("normtrick", *BASELINE_VARIANTS)) and model.variant == variant


def test_seeded_init_and_global_rng_untouched():
    state = torch.get_rng_state()
    a = build_model("aelpn", small_cfg(), 3, 8, seed=1)
    b = build_model("aelpn", small_cfg(), 3, 8, seed=1)
    c = build_model("aelpn", small_cfg(), 3, 8, seed=2)
    assert torch.equal(torch.get_rng_state(), state)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)
    constrained = [m.weight for m in a.modules() if isinstance(m, (NonNegConv2d, NonNegLinear))]
    assert all(((w > 0) & (w < 1e-4)).all() for w in constrained)  # exp(N(-10, 0.1^2)) ~ 4.5e-5


def test_reference_parameter_count(paper_config):
    """Paper config at 128x128 RGB reproduces lpn_128 (7,235,713 parameters) less its output bias."""
    model = build_model("lpn", paper_config["model"], 3, 128)
    assert sum(p.numel() for p in model.parameters()) == 7_235_713 - 1


def test_shipped_configs_build(smoke_config, quick_config):
    for cfg in (smoke_config, quick_config):
        size = cfg["data"]["crop_size"]
        channels = 1 if cfg["data"]["grayscale"] else 3
        for variant in cfg["model"]["variants"]:
            model = build_model(variant, cfg["model"], channels, size)
            assert model(torch.rand(1, channels, size, size)).shape == (1, channels, size, size)
        for variant in cfg["prox1d"]["variants"]:
            assert build_model_1d(variant, cfg["prox1d"])(torch.zeros(2, 1)).shape == (2, 1)


def test_clear_config_errors():
    with pytest.raises(ValueError, match="unknown image model variant 'ae'"):
        build_model("ae", small_cfg(), 3, 8)
    with pytest.raises(ValueError, match="unknown 1d model variant 'shift'"):
        build_model_1d("shift", {"width": 4, "depth": 2, "softplus_beta": 5.0, "leaky_slope": 0.1})
    cfg = small_cfg()
    del cfg["head_width"]
    with pytest.raises(KeyError, match="'model' lacks key\\(s\\) head_width"):
        build_model("lpn", cfg, 3, 8)
    with pytest.raises(ValueError, match="leaky_slope must lie in \\[0, 1\\]"):
        build_model("scale", small_cfg(leaky_slope=1.5), 3, 8)
    with pytest.raises(TypeError, match="no potential"):
        build_model("normtrick", small_cfg(), 3, 8).potential(torch.rand(1, 3, 8, 8))


def test_symmetry_check_discriminates():
    """The normalization trick is not a gradient field: its Jacobian is not symmetric."""
    model = image_model("normtrick", channels=1, size=8, depth=2, width=4)
    x = _rand((1, 1, 8, 8), seed=12)
    jac = torch.autograd.functional.jacobian(lambda v: model(v.view(1, 1, 8, 8)).flatten(), x.flatten())
    assert (jac - jac.T).abs().max() > 1e-3 * jac.abs().max()
