"""Learned proximal networks: LPN, scale-only, shift-only, normalization-trick and AE-LPN models sharing one
input-convex core (``aelpn.models.icnn``); their files are ``aelpn.modelfile`` files of kind ``proxnet``.
The variant names import without torch; everything else loads on first use."""

import importlib

from aelpn.models.names import VARIANTS, VARIANTS_1D

_LAZY = {
    "ProxNet": "aelpn.models.base",
    "build_from_spec": "aelpn.models.build",
    "build_model": "aelpn.models.build",
    "build_model_1d": "aelpn.models.build",
    "load_model": "aelpn.modelfile",
    "read_model_file": "aelpn.modelfile",
    "save_model": "aelpn.modelfile",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'aelpn.models' has no attribute {name!r}")


__all__ = ["VARIANTS", "VARIANTS_1D", *_LAZY]
