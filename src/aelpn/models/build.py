"""Build any model variant from the config (``model`` / ``prox1d`` sections) or from a saved ``spec``."""

from __future__ import annotations

import torch

from aelpn.models.base import ProxNet
from aelpn.models.icnn import ConvICNN, DenseICNN
from aelpn.models.names import VARIANTS, VARIANTS_1D
from aelpn.models.variants import LPN, MeanSplit, NormTrick, NormTrick1d, ScaleLPN

# Variants whose potential is 2-homogeneous: bias-free leaky-ReLU core, psi = h^2/2.
HOMOGENEOUS = {"scale", "aelpn"}
ARCH_KEYS = ("width", "depth", "head_width", "softplus_beta", "leaky_slope", "alpha", "skip_resize")
# Model files written before ``model.skip_resize`` existed used average pooling.
LEGACY_SKIP_RESIZE = "avgpool"
# Model files written before ``model.nonneg_init`` existed used the reference LPN init of the constrained weights.
LEGACY_NONNEG_INIT = "exp"
ARCH_KEYS_1D = ("width", "depth", "softplus_beta", "leaky_slope")


def _potential_net(spec: dict, homogeneous: bool, generator: torch.Generator) -> ProxNet:
    """LPN (psi = h + alpha||x||^2) or ScaleLPN (psi = h^2/2 + alpha||x||^2) on the spec's core; also the
    inner network of the shift, AE-LPN and normalization-trick wrappers."""
    act = "leaky" if homogeneous else "softplus"
    if spec["kind"] == "image":
        core = ConvICNN(spec["channels"], spec["image_size"], spec["width"], spec["depth"], spec["head_width"],
                        act, spec["softplus_beta"], spec["leaky_slope"], homogeneous, generator,
                        spec.get("skip_resize", LEGACY_SKIP_RESIZE), spec.get("nonneg_init", LEGACY_NONNEG_INIT))
    else:
        core = DenseICNN(spec["width"], spec["depth"], act, spec["softplus_beta"], spec["leaky_slope"],
                         homogeneous, generator)
    cls = ScaleLPN if homogeneous else LPN
    return cls({**spec, "variant": "scale" if homogeneous else "lpn"}, core, spec["alpha"])


def build_from_spec(spec: dict) -> ProxNet:
    """Rebuild a model (fresh seeded weights) from its ``spec`` dict."""
    variant, kind = spec["variant"], spec["kind"]
    allowed = VARIANTS if kind == "image" else VARIANTS_1D
    if variant not in allowed:
        raise ValueError(f"unknown {kind} model variant {variant!r}; expected one of {', '.join(allowed)}")
    generator = torch.Generator().manual_seed(int(spec["seed"]))
    if variant in ("lpn", "scale"):
        return _potential_net(spec, variant in HOMOGENEOUS, generator)
    if variant in ("shift", "aelpn"):
        return MeanSplit(spec, _potential_net(spec, variant in HOMOGENEOUS, generator))
    inner = _potential_net(spec, False, generator)
    return NormTrick(spec, inner) if kind == "image" else NormTrick1d(spec, inner)


def _require(cfg: dict, keys, section: str) -> None:
    missing = [k for k in keys if k not in cfg]
    if missing:
        raise KeyError(f"config section '{section}' lacks key(s) {', '.join(missing)}")


def build_model(variant: str, model_cfg: dict, channels: int, image_size: int, seed: int = 0) -> ProxNet:
    """Image model ``variant`` (lpn|scale|shift|normtrick|aelpn) for (B, channels, image_size, image_size)
    inputs from the config's ``model`` section; weights drawn from ``torch.Generator().manual_seed(seed)``, the
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
