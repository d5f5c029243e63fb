"""Shared helpers of the model tests: small float64 models whose constrained weights are redrawn far from
the tiny reference init, so the networks are genuinely non-linear."""

from __future__ import annotations

import torch

from aelpn.models import VARIANTS, build_model, build_model_1d
from aelpn.models.layers import NonNegConv2d, NonNegLinear

EXACT_VARIANTS = ("lpn", "scale", "shift", "aelpn", "scale_sq", "aelpn_sq")


SKIP_RESIZE = ("bilinear", "avgpool")


def small_cfg(width=4, depth=1, head_width=4, alpha=0.0, softplus_beta=5.0, leaky_slope=0.2,
              skip_resize="bilinear") -> dict:
    return {"variants": ["lpn"], "width": width, "depth": depth, "head_width": head_width,
            "softplus_beta": softplus_beta, "leaky_slope": leaky_slope, "alpha": alpha, "skip_resize": skip_resize,
            "nonneg_init": dict.fromkeys(VARIANTS, "exp")}


def randomize_(model: torch.nn.Module, seed: int, signed: bool = False) -> torch.nn.Module:
    """Redraw the z-path weights ~ U(0, 2/fan_in) (or, with ``signed``, ~ U(-2/fan_in, 2/fan_in): a network
    that violates the W >= 0 constraint)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (NonNegConv2d, NonNegLinear)):
                fan_in = m.weight[0].numel()
                w = torch.rand(m.weight.shape, generator=gen, dtype=torch.float64) * (2.0 / fan_in)
                if signed:
                    w = 2 * w - 2.0 / fan_in
                m.weight.copy_(w)
    return model


def image_model(variant, channels=1, size=8, seed=0, **cfg) -> torch.nn.Module:
    """A small float64 image model with randomized non-negative z-path weights."""
    model = build_model(variant, small_cfg(**cfg), channels, size, seed=seed).double()
    return randomize_(model, seed + 100)


def model_1d(variant, seed=0, width=8, depth=3) -> torch.nn.Module:
    cfg = {"width": width, "depth": depth, "softplus_beta": 5.0, "leaky_slope": 0.2}
    return randomize_(build_model_1d(variant, cfg, seed=seed).double(), seed + 100)
