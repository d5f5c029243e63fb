"""Readable text summaries of any netCDF file the pipeline writes (``aelpn results show PATH``).

* A variable with an ``image`` dimension: mean ± sample std (``spread``) over the images for each remaining
  coordinate.
* Image data (``y`` and ``x`` dimensions): shape and value range only.
* Any other numeric variable: its values when small (at most 60 values, no dimension over 20), else for each coordinate of the other dimensions the
  first, last finite, min and max along its longest dimension (e.g. ``step`` of a training log).

Float coordinates are shown (and selected) rounded to 6 significant digits (``sigma=0.1``, not 0.10000000149).
``variables`` picks data variables, ``selection`` ({dim: label}) picks coordinates, and :func:`table` gives the
same mean ± std over images as a tidy table (one row per remaining coordinate) for ``--csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from aelpn.core import io

MAX_CELLS = 60  # a variable is printed in full when it has at most this many values ...
MAX_LENGTH = 20  # ... and no dimension longer than this
SIGNIFICANT = 6  # digits of float coordinates
_ATTRS = ("title", "history", "git_describe", "config_hash", "device", "aelpn_version", "torch_version",
          "deepinv_version")


class ResultsError(ValueError):
    """A results file that cannot be read, or a variable or coordinate it does not have; the message names it."""


def open_results(path: str | Path) -> xr.Dataset:
    """The dataset of a results file with float coordinates rounded; a missing, truncated or non-netCDF file is
    a ResultsError naming it."""
    path = Path(path)
    try:
        ds = io.read_netcdf(path)
    except io.DatasetError as err:
        raise ResultsError(str(err)) from None
    if not ds.data_vars:
        raise ResultsError(f"{path}: holds no data variables; it is not a results file (or was cut short): "
                           "delete it and rerun snakemake to rewrite it")
    rounded = {name: np.array([float(f"{v:.{SIGNIFICANT}g}") for v in c.values])
               for name, c in ds.coords.items() if c.dtype.kind == "f" and c.ndim == 1}
    return ds.assign_coords({name: (ds[name].dims, v, ds[name].attrs) for name, v in rounded.items()})


def by_method(ds: xr.Dataset) -> xr.Dataset:
    """inverse.nc indexed by its estimators' (algorithm, prior) pairs: the ``estimator`` dimension
    becomes a multi-index, so ``by_method(ds).sel(algorithm="pnp_admm", prior="aelpn")`` selects one estimator and
    ``.sel(algorithm="pnp_admm")`` every prior of a method. netCDF cannot store a multi-index; the file keeps the
    estimator labels (``pnp_admm[aelpn]``) with ``algorithm`` and ``prior`` as coordinates."""
    return ds.drop_indexes("estimator").set_xindex(["algorithm", "prior"])


def parse_selection(items: list[str]) -> dict[str, str]:
    """``["sigma=0.1", "problem=blur1"]`` -> {"sigma": "0.1", "problem": "blur1"}."""
    pairs = [item.partition("=") for item in items]
    bad = [item for item, (key, eq, value) in zip(items, pairs) if not (key and eq and value)]
    if bad:
        raise ResultsError(f"--sel {bad[0]}: expected KEY=VALUE, e.g. --sel sigma=0.1")
    return {key: value for key, _, value in pairs}


def select(ds: xr.Dataset, variables: list[str] | None = None, selection: dict[str, str] | None = None,
           path: str | Path = "") -> xr.Dataset:
    """The chosen data variables at the chosen coordinate labels (numeric labels matched after rounding)."""
    if variables:
        unknown = [v for v in variables if v not in ds.data_vars]
        if unknown:
            raise ResultsError(f"{path}: no variable '{unknown[0]}'; variables: {', '.join(ds.data_vars)}")
        ds = ds[list(variables)]
    for key, label in (selection or {}).items():
        if key not in ds.coords or ds[key].ndim != 1:
            names = ", ".join(n for n, c in ds.coords.items() if c.ndim == 1)
            raise ResultsError(f"{path}: --sel {key}: not a coordinate; coordinates: {names}")
        coord = ds[key]
        if coord.dtype.kind in "iuf":
            try:
                target = float(f"{float(label):.{SIGNIFICANT}g}") if coord.dtype.kind == "f" else int(label)
            except ValueError:
                kind = "number" if coord.dtype.kind == "f" else "whole number"
                raise ResultsError(f"{path}: --sel {key}={label}: not a {kind}") from None
            hits = coord.values == target
        else:
            hits = coord.values.astype(str) == label
        if not hits.any():
            choices = ", ".join(map(str, coord.values))
            raise ResultsError(f"{path}: --sel {key}={label}: no such label; {key} is one of {choices}")
        # a dimension coordinate drops its dimension; a non-index coordinate (algorithm on estimator) keeps its matches
        ds = ds.isel({coord.dims[0]: int(np.flatnonzero(hits)[0]) if key in ds.dims else np.flatnonzero(hits)})
    return ds


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


def table(path: str | Path, variables: list[str] | None = None, selection: dict[str, str] | None = None
          ) -> pd.DataFrame:
    """A tidy table of the variables with an ``image`` dimension (or ``variables``): one row per coordinate of
    the other dimensions, columns ``<var>_mean`` and ``<var>_std`` over images (others: ``<var>``)."""
    ds = select(open_results(path), variables, selection, path)
    names = list(variables or [n for n, v in ds.data_vars.items() if "image" in v.dims and v.dtype.kind in "iuf"])
    if not names:
        raise ResultsError(f"{path}: no variable with an image dimension; pick variables with --var")
    columns, dims = {}, None
    for name in names:
        var = ds[name]
        if var.dtype.kind not in "iufb":
            raise ResultsError(f"{path}: variable '{name}' is not numeric; pick others with --var")
        if "image" in var.dims:
            stats = {f"{name}_mean": var.mean("image"),
                     f"{name}_std": var.std("image", ddof=1 if var.sizes["image"] > 1 else 0)}
        else:
            stats = {name: var}
        for column, da in stats.items():
            if dims is None:
                dims = da.dims
            if set(da.dims) != set(dims):
                raise ResultsError(f"{path}: variables {names[0]} ({', '.join(dims)}) and {name} "
                                   f"({', '.join(da.dims)}) do not share dimensions; pick them with --var")
            columns[column] = da.transpose(*dims).to_series() if dims else pd.Series([da.item()])
    return pd.DataFrame(columns).reset_index(drop=not dims)


def show(path: str | Path, variables: list[str] | None = None, selection: dict[str, str] | None = None) -> str:
    """A readable summary of a results netCDF file: dimensions, provenance, and every (chosen) data variable."""
    ds = select(open_results(path), variables, selection, path)
    lines = [f"{path}", "dimensions: " + ", ".join(f"{d}={n}" for d, n in ds.sizes.items())]
    for name in ds.dims:
        if name in ds.coords and ds.sizes[name] <= MAX_LENGTH:
            lines.append(f"  {name}: {', '.join(map(str, ds[name].values))}")
    lines += [f"{key}: {ds.attrs[key]}" for key in _ATTRS if key in ds.attrs]
    for name, var in ds.data_vars.items():
        lines += ["", _heading(name, var), _summary(name, var)]
    return "\n".join(lines)
