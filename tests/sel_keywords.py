"""The check that every dimension of a dataset can be selected the xarray way, ``ds.sel(<dim>=<label>)``, and that
no dimension or coordinate is shadowed by an attribute of ``xr.Dataset`` (``ds.shift`` is a method, not the
coordinate ``shift``)."""

from __future__ import annotations

import inspect

import xarray as xr

# sel's own keywords (method, tolerance, drop, indexers): a dim of that name cannot be selected by keyword.
SEL_KEYWORDS = frozenset(inspect.signature(xr.Dataset.sel).parameters) - {"self", "indexers_kwargs"}


def shadowed(ds: xr.Dataset) -> list[str]:
    """The dims and coordinates of ``ds`` that ``ds.<name>`` does not reach: methods and properties of xr.Dataset."""
    return sorted(name for name in set(ds.dims) | set(ds.coords) if hasattr(xr.Dataset, str(name)))


def assert_selectable(ds: xr.Dataset, name) -> None:
    """Every dim and coordinate name avoids sel's keywords and the attributes of xr.Dataset, and selecting the
    first label of each dim by keyword drops that dim."""
    clashes = (set(ds.dims) | set(ds.coords)) & SEL_KEYWORDS
    assert not clashes, f"{name}: names {sorted(clashes)} are keywords of Dataset.sel"
    assert not shadowed(ds), f"{name}: names {shadowed(ds)} are attributes of xr.Dataset (ds.<name> is not them)"
    for dim in ds.dims:
        if ds.sizes[dim] == 0:  # e.g. a training log's rollbacks when none happened: nothing to select
            continue
        label = ds[dim].values[0]
        assert dim not in ds.sel(**{dim: label}).dims, f"{name}: ds.sel({dim}={label!r}) kept the dim"
