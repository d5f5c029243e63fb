"""The unconstrained baseline (float64): LPN's skeleton and parameter count with free, signed z-path weights that
projection leaves alone; a potential that is not convex (an indefinite Jacobian), hence no prox; neither scale- nor
shift-equivariant, at crop size and on a full image. Each check would fail if the baseline were constrained."""

from __future__ import annotations

import pytest
import torch
from model_helpers import randomize_, small_cfg

from aelpn.models import build_model, load_model
from aelpn.models.layers import NonNegConv2d, NonNegLinear
from aelpn.models.patched import full_size
from aelpn.training.proxnets import train
from configs import job_slice

C, S = 3, 8


def _cfg(**kw):
    cfg = small_cfg(depth=2, width=4, alpha=1e-2, **kw)
    cfg["nonneg_init"]["unconstrained"] = "signed"
    return cfg


def _baseline(seed=0):
    """Signed random z-path weights, then the projection every training step applies (a no-op here)."""
    model = build_model("unconstrained", _cfg(), C, S, seed=seed).double()
    return randomize_(model, seed + 100, signed=True).project_()


def _rand(shape, seed, lo=0.0, hi=1.0):
    gen = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(shape, generator=gen, dtype=torch.float64)


def _rel(a, b):
    return ((a - b).norm() / b.norm()).item()


def _zpath(model):
    layers = [m for m in model.modules() if isinstance(m, (NonNegConv2d, NonNegLinear))]
    return torch.cat([m.weight.detach().flatten() for m in layers])


def test_same_parameter_count_as_lpn():
    count = lambda v: sum(p.numel() for p in build_model(v, _cfg(), C, S).parameters())  # noqa: E731
    assert count("unconstrained") == count("lpn")


def test_weights_start_signed_and_projection_keeps_them():
    model = build_model("unconstrained", _cfg(), C, S, seed=0)
    assert not model.exact_prox
    assert (_zpath(model) < 0).any()
    before = _zpath(model).clone()
    model.project_()
    assert torch.equal(_zpath(model), before)


def test_potential_is_not_convex():
    """The Jacobian of f = grad psi (the Hessian of psi) has a clearly negative eigenvalue at some input: psi is not
    convex, so f is no prox. A constrained (LPN) network's Jacobian is PSD everywhere."""
    model = _baseline()
    lowest = []
    for seed in (1, 2, 3):
        x = _rand((1, C, S, S), seed, -1, 2)
        jac = torch.autograd.functional.jacobian(lambda v: model(v.view(1, C, S, S)).flatten(), x.flatten())
        assert (jac - jac.T).abs().max() <= 1e-10 * jac.abs().max()
        eig = torch.linalg.eigvalsh(0.5 * (jac + jac.T))
        lowest.append((eig.min() / eig.abs().max()).item())
    assert min(lowest) < -1e-3


@pytest.mark.parametrize("size", [(S, S), (13, 9)])
def test_not_equivariant(size):
    model = _baseline()
    if size != (S, S):
        model = full_size(model, stride=S // 2)
    x = _rand((2, C, *size), seed=9)
    with torch.no_grad():
        fx = model(x)
        assert max(_rel(model(a * x), a * fx) for a in (1e-2, 0.3, 3.0, 1e2)) > 1e-3
        assert max(_rel(model(x + b), fx + b) for b in (-5.0, -0.4, 0.7, 3.0)) > 1e-3


def test_trained_by_the_shared_loop_without_projection(tmp_path, smoke_config, crops_file):
    """``aelpn train proxnet --variant unconstrained``: the proximal networks' loop, crops and loss; the saved
    weights stay signed."""
    cfg = job_slice(smoke_config, "compute", "data", "model", "train",
                    train={"steps_pretrain": 2, "steps_pm": 4, "checkpoint_every": 2, "validate_every": 3,
                           "batch_size": 3, "validate_images": 4})
    out = tmp_path / "model.pt"
    train(cfg, "unconstrained", crops_file(tmp_path / "train.nc", "train", 8, 16),
          crops_file(tmp_path / "val.nc", "val", 5, 16), out, tmp_path / "log.nc")
    model = load_model(out)
    assert model.variant == "unconstrained" and not model.exact_prox
    assert (_zpath(model) < 0).any()
