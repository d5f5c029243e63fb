"""Reading the metrics datasets the claims compare: one small function per dataset, the only place that
knows their variable and dimension names. Each takes the opened dataset (``aelpn.claims.definitions.ClaimData``
opens every file once and checks it) and keeps its leading ``seed`` dimension (the training replicates,
``aelpn.core.replicates``); ClaimData selects one replicate.

A variable that is absent raises ``NotMeasured``: the claims that need it are reported as "not measured" with the
reason, the others are still checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from aelpn.core import io
from aelpn.core.replicates import SEED, require_seed
from aelpn.core.titles import TITLES


class NotMeasured(LookupError):
    """The data a claim needs is not in the pipeline's datasets; the message says what is missing."""


# What each metrics dataset holds: a file without the pipeline's title (written elsewhere) must have this variable
# with these dimensions.
CONTENTS = {
    "noise_sweep": ("psnr", ("variant", "sigma", "image")),
    "affine_sweep": ("equivariance_psnr", ("variant", "scale", "image")),
    "jacobian": ("asymmetry", ("variant", "image")),
    "prox1d": ("prox_max_error", ("variant",)),
    "inverse": ("psnr", ("image",)),
    "adaptivity": ("psnr", ("image",)),
    "blind": ("theta_argmin", ("image",)),
}


def identify(path: str | Path, kind: str, ds: xr.Dataset | None = None) -> xr.Dataset:
    """The dataset at ``path``, checked to be the ``kind`` dataset (a key of ``aelpn.core.titles.TITLES``): a file
    with an aelpn title must have that kind's title (a per-job file or crops have another); one without a title must
    hold the kind's variable with its dimensions (``CONTENTS``); either must have the ``seed`` dimension of the
    training replicates. Otherwise a DatasetError naming the file."""
    ds = io.read_netcdf(path) if ds is None else ds
    title = ds.attrs.get("title")
    if title is not None and str(title).startswith("aelpn "):
        if title != TITLES[kind]:
            raise io.DatasetError(f"{path}: holds '{title}', not the {kind}.nc dataset ('{TITLES[kind]}'); pass "
                                  f"results/metrics/{kind}.nc")
        return require_seed(ds, path)
    variable, dims = CONTENTS[kind]
    if variable not in ds or not set(dims) <= set(ds[variable].dims):
        raise io.DatasetError(f"{path}: not the {kind}.nc dataset (no variable '{variable}' over {', '.join(dims)}); "
                              f"pass results/metrics/{kind}.nc")
    return require_seed(ds, path)


def _require(ds: xr.Dataset, variable: str, name: str) -> xr.DataArray:
    if variable not in ds:
        raise NotMeasured(f"{name} has no variable '{variable}'")
    return ds[variable]


def noise_sweep_psnr(ds: xr.Dataset, convention: str) -> xr.DataArray:
    """Denoising PSNR (variant, sigma, image) of noise_sweep.nc: ``psnr`` (estimate clipped to [0, 1]) or
    ``psnr_unclipped``."""
    variable = {"clipped": "psnr", "unclipped": "psnr_unclipped"}[convention]
    return _require(ds, variable, "noise_sweep.nc").transpose(SEED, "variant", "sigma", "image")


def noise_sweep_input_psnr(ds: xr.Dataset, convention: str) -> xr.DataArray:
    """PSNR (sigma, image) of the noisy input in noise_sweep.nc: ``input_psnr`` or ``input_psnr_unclipped``."""
    variable = {"clipped": "input_psnr", "unclipped": "input_psnr_unclipped"}[convention]
    return _require(ds, variable, "noise_sweep.nc").transpose(SEED, "sigma", "image")


def equivariance_psnr(ds: xr.Dataset) -> xr.DataArray:
    """Equivariance PSNR (seed, variant, scale, offset, image) of affine_sweep.nc (capped at the metrics cap)."""
    return _require(ds, "equivariance_psnr", "affine_sweep.nc").transpose(SEED, "variant", "scale", "offset", "image")


def jacobian_asymmetry(ds: xr.Dataset) -> xr.DataArray:
    """Jacobian asymmetry (seed, variant, image) of jacobian.nc, with the ``exact_prox`` (variant) coordinate."""
    return _require(ds, "asymmetry", "jacobian.nc").transpose(SEED, "variant", "image")


def prox_max_error(ds: xr.Dataset) -> xr.Dataset:
    """Max abs prox error (variant) of the 1-D study, prox1d.nc: ``prox_max_error`` of the saved model and
    ``prox_max_error_last_iterate`` of the training's last iterate."""
    return xr.Dataset({name: _require(ds, name, "prox1d.nc")
                       for name in ("prox_max_error", "prox_max_error_last_iterate")})


def inverse(ds: xr.Dataset) -> tuple[xr.Dataset, dict]:
    """inverse.nc with its estimator dimension named ``estimator`` (coords ``algorithm``, ``prior``; an older
    file's ``method`` is renamed), and the problem specs {name: spec} from its ``problems`` attribute."""
    if "estimator" not in ds.dims and "method" in ds.dims:
        ds = ds.rename({"method": "estimator"})
    return ds, json.loads(ds.attrs["problems"])


def adaptivity_psnr(ds: xr.Dataset) -> xr.DataArray:
    """PSNR (seed, pair, image) of unrolled networks evaluated on other problems, coords ``trained_on`` and
    ``problem`` on ``pair``, from adaptivity.nc (whose ``evaluated_on`` is renamed ``problem``). A (trained_on,
    problem, image) layout is stacked into pairs, dropping the combinations not evaluated (all NaN)."""
    psnr = _require(ds, "psnr", "adaptivity.nc")
    if "evaluated_on" in psnr.coords:
        psnr = psnr.rename(evaluated_on="problem")
    if "pair" not in psnr.dims:
        psnr = psnr.stack(pair=("trained_on", "problem")).transpose(SEED, "pair", "image")
        psnr = psnr.isel(pair=np.flatnonzero(psnr.notnull().any((SEED, "image")).values))
        psnr = psnr.reset_index("pair")
    return psnr.transpose(SEED, "pair", "image")


def blind(ds: xr.Dataset) -> xr.Dataset:
    """blind.nc (seed, estimator, prior, theta_grid, image, ...): J(theta) landscape, width estimates and PSNR."""
    for variable in ("theta_argmin", "theta_error", "psnr"):
        _require(ds, variable, "blind.nc")
    return ds
