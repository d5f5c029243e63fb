"""Combine the per-replicate, per-variant sweep files into ``results/metrics/{noise_sweep,affine_sweep}.nc``, checked against
the config's variants and sweep grid."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import xarray as xr

from aelpn.core.combine import combine_variants
from aelpn.core.titles import TITLES
from aelpn.sweeps.evaluate import KINDS, SHARED

def _sweep_coords(kind: str, cfg: dict) -> dict:
    if kind == "noise_sweep":
        return {"sigma": cfg["noise_sweep"]["sigmas"]}
    return {"scale": cfg["affine_sweep"]["scales"], "offset": cfg["affine_sweep"]["shifts"]}


def combine_sweep(kind: str, cfg: dict, inputs: Sequence[str | Path], out: str | Path) -> xr.Dataset:
    """Combine the files of sweep ``kind`` (noise_sweep|affine_sweep), one per replicate and variant, into ``out``
    with dims (seed, variant, ...), checking them against ``cfg`` (seeds, model.variants and the sweep grid); the
    variant-independent inputs (``SHARED``) are stored once per replicate."""
    if kind not in KINDS:
        raise ValueError(f"unknown sweep kind '{kind}'; expected one of {list(KINDS)}")
    return combine_variants(inputs, cfg, TITLES[kind], out, coords=_sweep_coords(kind, cfg), shared=SHARED[kind])
