"""Data stage: fetch and verify BSDS500 (``fetch.fetch``), crop a split into netCDF (``make_crops``), read crops
back as tensors (``load_crops``)."""

from aelpn.core.lazy import lazy_exports

_EXPORTS = {"load_crops": "aelpn.data.crops", "make_crops": "aelpn.data.crops"}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = list(_EXPORTS)
