"""The initialisation of the constrained weights: Adam's first update of a parameter is lr g / (|g| + eps) with
eps = 1e-8, so a parameter whose first gradient is far below eps barely moves (at the
reference LPN init exp(N(-10, 0.1^2)) the hidden layers' gradients are 1e-13 to 1e-19). ``unit_gain`` must start
every variant where Adam moves it, and must give the prox the unit gain its docstring promises; the variants beyond
the paper start from it in every config. The paper's five keep the reference init: at the paper's learning rates it
trains shift and AE-LPN as well as or better than unit_gain, its free layers carrying the early progress (README,
measured)."""

from __future__ import annotations

import math

import pytest
import torch

from aelpn.models import VARIANTS, build_model
from aelpn.models.names import BEYOND_PAPER_VARIANTS
from aelpn.models.build import unit_gain_
from aelpn.models.layers import NonNegConv2d, NonNegLinear
from aelpn.training.losses import l1_loss
from configs import SHIPPED, shipped_config

ADAM_EPS = 1e-8
SIZE = 64  # the reference crop size; the paper config's networks (width 256) at a size a CPU test affords


def smooth_images(batch: int, size: int, seed: int) -> torch.Tensor:
    """(batch, 3, size, size) images in [0.1, 0.9]: per channel 0.5 + 0.4 sin(a x + b y), a, b seeded."""
    gen = torch.Generator().manual_seed(seed)
    freq = 6 * torch.rand(batch, 3, 2, generator=gen)
    grid = torch.linspace(0, 1, size)
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")
    return 0.5 + 0.4 * torch.sin(freq[..., 0, None, None] * xx + 2 * freq[..., 1, None, None] * yy)


def first_gradients(variant: str, cfg: dict) -> dict[str, torch.Tensor]:
    """|g| of every constrained weight at the first step of the pretraining loss (L1 at the training sigma)."""
    model = build_model(variant, cfg["model"], 3, SIZE, seed=1)
    x = smooth_images(2, SIZE, seed=0)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    l1_loss(model(x + cfg["train"]["sigma"] * noise), x).backward()
    return {name: module.weight.grad.abs() for name, module in model.named_modules()
            if isinstance(module, (NonNegConv2d, NonNegLinear))}


def swamped(grads: dict[str, torch.Tensor]) -> list[str]:
    """The constrained layers most of whose weights take a first Adam step below half the learning rate."""
    return [name for name, g in grads.items() if float(g.median()) < ADAM_EPS]


@pytest.mark.parametrize("variant", VARIANTS)
def test_unit_gain_first_update_not_swamped_by_eps(variant):
    """At the paper config's width, unit_gain starts every variant where Adam moves its constrained weights."""
    cfg = shipped_config("config.yaml")
    cfg["model"]["nonneg_init"][variant] = "unit_gain"
    assert swamped(first_gradients(variant, cfg)) == []


@pytest.mark.parametrize("config", SHIPPED)
def test_shipped_configs_start_the_variants_beyond_the_paper_unswamped(config):
    cfg = shipped_config(config)
    for variant in BEYOND_PAPER_VARIANTS:
        assert cfg["model"]["nonneg_init"][variant] == "unit_gain"
    cfg["model"].update(shipped_config("config.yaml")["model"], nonneg_init=cfg["model"]["nonneg_init"])
    assert swamped(first_gradients("aelpn_sq", cfg)) == []


@pytest.mark.parametrize("variant", ["scale", "aelpn"])
def test_reference_init_is_swamped(variant):
    """The check itself: it flags the reference LPN init, whose hidden gradients on the homogeneous cores are
    1e-13 to 1e-19 (only the output layer's, ~1e-8, reach eps)."""
    cfg = shipped_config("config.yaml")
    cfg["model"]["nonneg_init"][variant] = "exp"
    grads = first_gradients(variant, cfg)
    assert set(swamped(grads)) >= set(grads) - {"core.out", "phi.core.out"}


@pytest.mark.parametrize("variant", ["lpn", "scale"])
def test_unit_gain_gives_unit_gain_on_its_probe(variant):
    """From the reference init (gain ~1e-6), ||grad psi(u) - 2 alpha u|| = ||u|| on the seeded, centred probe u
    after the rescaling, in float64: the degree (1 for LPN, 2 for the scale model) is right."""
    cfg = shipped_config("reference.yaml")
    cfg["model"].update(width=8, head_width=8, alpha=1e-3)
    model = build_model(variant, cfg["model"], 3, 16, seed=4).double()
    u = torch.rand((1, 3, 16, 16), generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    u = u - u.mean()

    @torch.no_grad()
    def gain() -> float:
        return float((model(u) - 2 * model.alpha * u).norm() / u.norm())

    assert gain() < 1e-3
    unit_gain_(model, torch.Generator().manual_seed(9))
    assert gain() == pytest.approx(1.0, rel=1e-9)


def test_unit_gain_layers_average_their_inputs():
    """w = exp(N(-log fan_in, 0.1^2)): every hidden constrained layer's weights sum to ~1 per output."""
    cfg = shipped_config("reference.yaml")
    cfg["model"]["nonneg_init"]["lpn"] = "unit_gain"
    model = build_model("lpn", cfg["model"], 3, SIZE, seed=2)
    for layer in model.core.lins:
        sums = layer.weight.detach().sum(dim=(1, 2, 3))
        assert float(sums.mean()) == pytest.approx(math.exp(0.1**2 / 2), rel=0.02)
