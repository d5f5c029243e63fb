"""Learned proximal networks: LPN, scale-only, shift-only, normalization-trick and AE-LPN models sharing one
input-convex core (``aelpn.models.icnn``), with weights-only checkpoints."""

from aelpn.models.base import ProxNet
from aelpn.models.build import VARIANTS, VARIANTS_1D, build_from_spec, build_model, build_model_1d
from aelpn.models.checkpoint import load_checkpoint, load_model, save_model

__all__ = [
    "VARIANTS",
    "VARIANTS_1D",
    "ProxNet",
    "build_from_spec",
    "build_model",
    "build_model_1d",
    "load_checkpoint",
    "load_model",
    "save_model",
]
