"""Build any model variant from the config (``model`` / ``prox1d`` sections) or from a saved ``spec``."""

from __future__ import annotations

import torch

from aelpn.models.base import ProxNet
from aelpn.models.icnn import ConvICNN, DenseICNN
from aelpn.models.names import BEYOND_PAPER_VARIANTS, VARIANTS, VARIANTS_1D
from aelpn.models.layers import NonNegLinear, init_parameters_
from aelpn.models.variants import (LPN, MeanSplit, NormTrick, NormTrick1d, ScaleLPN, SquaredFeatureLPN,
                                   UnconstrainedLPN)

# Variants whose potential is 2-homogeneous: bias-free leaky-ReLU core, psi = h^2/2 or the squared features.
HOMOGENEOUS = {"scale", "aelpn", "scale_sq", "aelpn_sq"}
SQUARED_FEATURES = set(BEYOND_PAPER_VARIANTS)
ARCH_KEYS = ("width", "depth", "head_width", "softplus_beta", "leaky_slope", "alpha", "skip_resize")
# Model files written before ``model.skip_resize`` existed used average pooling.
LEGACY_SKIP_RESIZE = "avgpool"
# Model files written before ``model.nonneg_init`` existed used the reference LPN init of the constrained weights.
LEGACY_NONNEG_INIT = "exp"
ARCH_KEYS_1D = ("width", "depth", "softplus_beta", "leaky_slope")


def _potential_net(spec: dict, homogeneous: bool, generator: torch.Generator, squared: bool = False) -> ProxNet:
    """LPN (psi = h + alpha||x||^2), ScaleLPN (psi = h^2/2 + alpha||x||^2) or, with ``squared``, the
    squared-feature potential on the spec's core; also the inner network of the shift, AE-LPN and
    normalization-trick wrappers."""
    act = "leaky" if homogeneous else "softplus"
    if spec["kind"] == "image":
        core = ConvICNN(spec["channels"], spec["image_size"], spec["width"], spec["depth"], spec["head_width"],
                        act, spec["softplus_beta"], spec["leaky_slope"], homogeneous, generator,
                        spec.get("skip_resize", LEGACY_SKIP_RESIZE), spec.get("nonneg_init", LEGACY_NONNEG_INIT))
    else:
        core = DenseICNN(spec["width"], spec["depth"], act, spec["softplus_beta"], spec["leaky_slope"],
                         homogeneous, generator)
    if squared:
        readouts = torch.nn.ModuleList(NonNegLinear(spec["width"], 1, bias=False, device="meta")
                                       for _ in range(len(core.lins) + 1)).to_empty(device="cpu")
        init_parameters_(readouts, generator, spec["nonneg_init"])
        net = SquaredFeatureLPN({**spec, "variant": "scale_sq"}, core, readouts, spec["alpha"])
    else:
        cls = ScaleLPN if homogeneous else LPN
        net = cls({**spec, "variant": "scale" if homogeneous else "lpn"}, core, spec["alpha"])
    if spec["kind"] == "image" and spec.get("nonneg_init") == "unit_gain":
        unit_gain_(net, generator)
    return net


@torch.no_grad()
def unit_gain_(net: ProxNet, generator: torch.Generator) -> None:
    """Rescale the non-negative output weights (``net.output_layers()``) so that the prox starts with unit gain
    on a seeded probe: ||grad psi(u) - 2 alpha u|| = ||u|| for u ~ U[0, 1]^n centred to mean 0 (the mean-free
    part every wrapper passes on). grad psi - 2 alpha x is homogeneous of degree ``net.output_degree`` in those
    weights (1: LPN, squared features; 2: ScaleLPN's h grad h), so one pass gives the factor
    s = (||u|| / ||grad psi(u) - 2 alpha u||)^(1 / degree)."""
    core = net.core
    u = torch.rand((1, core.channels, core.image_size, core.image_size), generator=generator, dtype=torch.float64)
    layers = net.output_layers()
    u = (u - u.mean()).to(layers[0].weight.dtype)
    gain = (net(u) - 2 * net.alpha * u).norm() / u.norm()
    for layer in layers:
        layer.weight.mul_(float(gain) ** (-1.0 / net.output_degree))


def build_from_spec(spec: dict) -> ProxNet:
    """Rebuild a model (fresh seeded weights) from its ``spec`` dict."""
    variant, kind = spec["variant"], spec["kind"]
    allowed = VARIANTS if kind == "image" else VARIANTS_1D
    if variant not in allowed:
        raise ValueError(f"unknown {kind} model variant {variant!r}; expected one of {', '.join(allowed)}")
    generator = torch.Generator().manual_seed(int(spec["seed"]))
    homogeneous, squared = variant in HOMOGENEOUS, variant in SQUARED_FEATURES
    if variant in ("lpn", "scale", "scale_sq"):
        return _potential_net(spec, homogeneous, generator, squared)
    if variant == "unconstrained":
        return UnconstrainedLPN(spec, _potential_net(spec, False, generator).core, spec["alpha"])
    if variant in ("shift", "aelpn", "aelpn_sq"):
        return MeanSplit(spec, _potential_net(spec, homogeneous, generator, squared))
    inner = _potential_net(spec, False, generator)
    return NormTrick(spec, inner) if kind == "image" else NormTrick1d(spec, inner)


def _require(cfg: dict, keys, section: str) -> None:
    missing = [k for k in keys if k not in cfg]
    if missing:
        raise KeyError(f"config section '{section}' lacks key(s) {', '.join(missing)}")


def build_model(variant: str, model_cfg: dict, channels: int, image_size: int, seed: int = 0) -> ProxNet:
    """Image model ``variant`` (lpn|scale|shift|normtrick|aelpn, beyond the paper scale_sq|aelpn_sq, or the
    unconstrained baseline) for
    (B, channels, image_size, image_size) inputs from the config's ``model`` section; weights drawn from ``torch.Generator().manual_seed(seed)``, the
    constrained ones by the variant's ``model.nonneg_init`` (``aelpn.models.layers.init_parameters_``)."""
    _require(model_cfg, (*ARCH_KEYS, "nonneg_init"), "model")
    if variant not in VARIANTS:
        raise ValueError(f"unknown image model variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    spec = {"kind": "image", "variant": variant, "channels": int(channels), "image_size": int(image_size),
            "seed": int(seed), "nonneg_init": model_cfg["nonneg_init"][variant], **{k: model_cfg[k] for k in ARCH_KEYS}}
    return build_from_spec(spec)


def build_model_1d(variant: str, prox1d_cfg: dict, seed: int = 0) -> ProxNet:
    """1-D model ``variant`` (lpn|scale|normtrick) on (B, 1) inputs from the config's ``prox1d`` section.
    As in the reference 1-D LPN there is no alpha||x||^2 term (alpha = 0)."""
    _require(prox1d_cfg, ARCH_KEYS_1D, "prox1d")
    spec = {"kind": "1d", "variant": variant, "seed": int(seed), "alpha": 0.0,
            **{k: prox1d_cfg[k] for k in ARCH_KEYS_1D}}
    return build_from_spec(spec)
