"""Training replicates: the leading dimension ``seed`` of every combined metrics dataset (noise_sweep.nc,
affine_sweep.nc, prox1d.nc, inverse.nc, adaptivity.nc, blind.nc, jacobian.nc, training.nc, cbsd68.nc), one entry
per training seed of the config's ``seeds:``, present even with one replicate. The test images and their noise are
the same in every replicate, so image i of one replicate and image i of another are the same noisy input.

The readers of these datasets (the claims, the figures, the report tables) take the replicates from here: a file
without the dimension is a DatasetError naming it (written before the training seeds were a dimension of the DAG).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from aelpn.core.io import DatasetError

SEED = "seed"


def require_seed(ds: xr.Dataset, path: str | Path) -> xr.Dataset:
    """``ds`` itself when it has the ``seed`` dimension; otherwise a one-line DatasetError naming ``path``."""
    if SEED not in ds.dims:
        raise DatasetError(f"{path}: no '{SEED}' dimension (training replicates); it was written before training "
                           "seeds were a dimension of the workflow: delete it and rerun snakemake")
    return ds


def seeds(ds: xr.Dataset | xr.DataArray) -> list[int]:
    """The training seeds of the replicates, in file order."""
    return [int(s) for s in ds[SEED].values]


def describe(training_seeds: list[int]) -> str:
    """'1 replicate (training seed 0)' or '3 replicates (training seeds 0, 1, 2)': the words of every caption."""
    n = len(training_seeds)
    listed = ", ".join(map(str, training_seeds))
    return f"1 replicate (training seed {listed})" if n == 1 else f"{n} replicates (training seeds {listed})"


def across(da: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """(mean, min, max) over the replicates of ``da`` (a per-replicate quantity, e.g. a mean over images): the
    figures' and tables' one convention for the seed-to-seed spread, the min-max band (every replicate inside it;
    with two or three replicates a standard deviation says less)."""
    return da.mean(SEED), da.min(SEED), da.max(SEED)


def first(ds: xr.Dataset | xr.DataArray) -> xr.Dataset | xr.DataArray:
    """The first replicate (the ``seed`` dimension dropped): the one whose images a figure of examples shows."""
    return ds.isel({SEED: 0})


def shared(da: xr.DataArray) -> xr.DataArray:
    """A quantity the same in every replicate (a test input, its noise, a true prox, a config value): its first
    replicate when it carries the ``seed`` dimension, else itself."""
    return first(da) if SEED in da.dims else da


def several(ds: xr.Dataset | xr.DataArray) -> bool:
    """True when there is more than one replicate."""
    return int(np.size(ds[SEED].values)) > 1
