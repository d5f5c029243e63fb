"""Readable text summaries of any netCDF file the pipeline writes (``aelpn results show PATH``).

* A variable with an ``image`` dimension: mean ± sample std (``spread``) over the images for each remaining
  coordinate.
* Image data (``y`` and ``x`` dimensions): shape and value range only.
* Any other numeric variable: its values when small (at most 60 values, no dimension over 20), else for each coordinate of the other dimensions the
  first, last finite, min and max along its longest dimension (e.g. ``step`` of a training log).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from aelpn import io

MAX_CELLS = 60  # a variable is printed in full when it has at most this many values ...
MAX_LENGTH = 20  # ... and no dimension longer than this
_ATTRS = ("title", "history", "git_describe", "config_hash", "device", "aelpn_version", "torch_version",
          "deepinv_version")


def _heading(name: str, var: xr.DataArray) -> str:
    long_name, units = var.attrs.get("long_name", ""), var.attrs.get("units", "")
    dims = ", ".join(f"{d}={n}" for d, n in var.sizes.items())
    return f"{name} ({dims}) [{units}]" + (f": {long_name}" if long_name else "")


def _frame(da: xr.DataArray) -> pd.DataFrame:
    """A 2-D table: the last dimension as columns, the others as (multi-)index rows."""
    if da.ndim == 0:
        return pd.DataFrame({da.name: [da.item()]})
    if da.ndim == 1:
        return da.to_dataframe()[[da.name]]
    return da.to_series().unstack(da.dims[-1])


def spread(da: xr.DataArray, dim: str = "image") -> xr.DataArray:
    """The pipeline's one spread convention (tables, figures, ``aelpn results show``): the sample standard
    deviation over ``dim``, sqrt(sum (v - mean)^2 / (n - 1)) (ddof 1); 0 when ``dim`` has a single value."""
    return da.std(dim, ddof=1 if da.sizes[dim] > 1 else 0)


def _over_images(da: xr.DataArray) -> str:
    mean = da.mean("image")
    std = spread(da)
    cells = xr.apply_ufunc(np.vectorize(lambda m, s: f"{m:.3f} ± {s:.3f}", otypes=[object]), mean, std)
    table = _frame(cells.rename(da.name)).to_string()
    return f"mean ± std over {da.sizes['image']} images\n{table}"


def _last_finite(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else float("nan")


def _along(da: xr.DataArray) -> str:
    dim = max(da.dims, key=lambda d: da.sizes[d])
    rest = [d for d in da.dims if d != dim]
    finite = da.where(np.isfinite(da))
    stats = {
        f"first {dim}": da.isel({dim: 0}),
        "last finite": xr.apply_ufunc(_last_finite, da, input_core_dims=[[dim]], vectorize=True),
        "min": finite.min(dim),
        "max": finite.max(dim),
    }
    if rest:
        table = pd.concat({k: v.to_series() for k, v in stats.items()}, axis=1).to_string()
    else:
        table = pd.Series({k: v.item() for k, v in stats.items()}).to_string()
    return f"along {dim} ({da.sizes[dim]} values)\n{table}"


def _summary(name: str, da: xr.DataArray) -> str:
    if da.dtype.kind not in "iufcb":
        return f"values: {', '.join(map(str, np.ravel(da.values)[:MAX_CELLS]))}"
    if {"y", "x"} <= set(da.dims):
        return f"image data, values in [{float(da.min()):.3f}, {float(da.max()):.3f}]"
    if "image" in da.dims:
        return _over_images(da.rename(name))
    if da.size <= MAX_CELLS and max(da.sizes.values(), default=1) <= MAX_LENGTH:
        return _frame(da.rename(name)).to_string()
    return _along(da)


def show(path: str | Path) -> str:
    """A readable summary of a results netCDF file: dimensions, provenance, and every data variable."""
    ds = io.read_netcdf(path)
    lines = [f"{path}", "dimensions: " + ", ".join(f"{d}={n}" for d, n in ds.sizes.items())]
    for name in ds.dims:
        if name in ds.coords and ds.sizes[name] <= MAX_LENGTH:
            lines.append(f"  {name}: {', '.join(map(str, ds[name].values))}")
    lines += [f"{key}: {ds.attrs[key]}" for key in _ATTRS if key in ds.attrs]
    for name, var in ds.data_vars.items():
        lines += ["", _heading(name, var), _summary(name, var)]
    return "\n".join(lines)
