"""Data stage: fetch and verify BSDS500 (``fetch``), crop a split into netCDF (``make_crops``), read crops
back as tensors (``load_crops``)."""

from aelpn.data.crops import load_crops, make_crops
from aelpn.data.fetch import fetch

__all__ = ["fetch", "load_crops", "make_crops"]
