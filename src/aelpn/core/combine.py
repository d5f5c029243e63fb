"""Combine per-job netCDF files into one file per experiment, checking completeness against the config.

``xr.combine_by_coords`` silently fills a missing run with NaN and accepts duplicates; ``combine_runs``
instead concatenates along the run dimension in the expected order and raises ``CombineError`` naming the
missing, duplicated, unexpected or misaligned run, or the variable holding NaN.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from aelpn.core import io, provenance

PART_ATTRS = ("git_describe", "config_hash", "aelpn_version", "torch_version", "deepinv_version", "device", "history",
              "rollbacks")


class CombineError(ValueError):
    """The per-job files do not form exactly the set of runs the config expects."""


def _same_values(actual: np.ndarray, expected: Sequence) -> bool:
    expected = np.asarray(expected)
    if actual.shape != expected.shape:
        return False
    if actual.dtype.kind in "fc" or expected.dtype.kind in "fc":
        return bool(np.allclose(actual.astype(float), expected.astype(float), rtol=1e-6, atol=1e-9))
    return bool((actual.astype(str) == expected.astype(str)).all())


def _describe(values: Iterable) -> str:
    return ", ".join(str(v) for v in values)


def _plain(value):
    """A netCDF attribute as a JSON value (numpy scalars, as read back, become Python numbers)."""
    return value.item() if isinstance(value, np.generic) else value


def _label(ds: xr.Dataset, dim: str, path: Path, label) -> object:
    if dim not in ds.dims:
        if label is None:
            raise CombineError(f"{path}: has no '{dim}' dimension and no label was given for it")
        return label
    values = ds[dim].values
    if values.size != 1:
        raise CombineError(
            f"{path}: '{dim}' has {values.size} entries ({_describe(values)}); expected one run per file"
        )
    value = values.item()
    if label is not None and str(value) != str(label):
        raise CombineError(f"{path}: holds {dim} '{value}' but was given as the file of {dim} '{label}'")
    return value


def combine_runs(
    paths: Sequence[str | Path],
    dim: str,
    expected: Sequence,
    *,
    labels: Sequence | None = None,
    coords: Mapping[str, Sequence] | None = None,
    shared: Iterable[str] = (),
    nan_ok: Iterable[str] = (),
    drop: Iterable[str] = (),
) -> xr.Dataset:
    """Concatenate one file per run along ``dim``, ordered as ``expected`` (the runs the config asks for).

    Each file holds one run: a length-1 ``dim`` coordinate, or no ``dim`` and its run name in ``labels``.
    ``coords`` maps other dimensions to the coordinate values every file must have (e.g. the config's
    sigmas). Variables in ``shared`` do not depend on the run: they must be identical in every file and are
    stored once. Raises CombineError for a missing, duplicated or unexpected run, a file whose coordinates
    differ from ``coords`` or from the first file, or NaN in a variable not in ``nan_ok``. The global attrs
    are those all parts agree on, plus ``parts``: a JSON list of each part's file, run and provenance. Variables
    in ``drop`` are left out (e.g. per-run event lists whose lengths differ between runs).
    """
    paths = [Path(p) for p in paths]
    if labels is not None and len(labels) != len(paths):
        raise CombineError(f"{len(labels)} labels for {len(paths)} files")
    shared, nan_ok = list(shared), set(nan_ok)
    by_run: dict[str, tuple[Path, xr.Dataset]] = {}
    for i, path in enumerate(paths):
        if not path.is_file():
            raise CombineError(f"{path}: file not found")
        ds = io.read_netcdf(path).drop_vars(list(drop), errors="ignore")
        ds.encoding.pop("unlimited_dims", None)  # a file's empty (hence unlimited) dims may be among those dropped
        run = _label(ds, dim, path, None if labels is None else labels[i])
        if str(run) in by_run:
            raise CombineError(f"duplicate {dim} '{run}': in {by_run[str(run)][0]} and {path}")
        if dim not in ds.dims:
            ds = ds.drop_vars(shared).expand_dims({dim: [run]}).assign({v: ds[v] for v in shared})
        by_run[str(run)] = (path, ds)

    expected_keys = [str(e) for e in expected]
    missing = [e for e in expected_keys if e not in by_run]
    unexpected = [r for r in by_run if r not in expected_keys]
    if missing:
        raise CombineError(f"missing {dim} run(s): {_describe(missing)} (expected {_describe(expected_keys)}; got "
                           f"{_describe(by_run) or 'none'})")
    if unexpected:
        raise CombineError(f"unexpected {dim} run(s) not in the config: {_describe(unexpected)} "
                           f"(from {_describe(str(by_run[r][0]) for r in unexpected)})")

    parts = [by_run[e] for e in expected_keys]
    first_path, first = parts[0]
    for path, ds in parts:
        for name, values in (coords or {}).items():
            if name not in ds.coords:
                raise CombineError(f"{path}: has no '{name}' coordinate")
            if not _same_values(ds[name].values, values):
                raise CombineError(f"{path}: '{name}' is [{_describe(ds[name].values)}], the config expects "
                                   f"[{_describe(values)}]")
        for name in first.dims:
            if name != dim and (name not in ds.coords) != (name not in first.coords):
                raise CombineError(f"{path}: '{name}' coordinate present in only one of {path} and {first_path}")
            if name != dim and name in first.coords and not _same_values(ds[name].values, first[name].values):
                raise CombineError(f"{path}: '{name}' coordinate differs from {first_path}")
        if set(ds.data_vars) != set(first.data_vars):
            raise CombineError(f"{path}: variables {sorted(ds.data_vars)} differ from {first_path}: "
                               f"{sorted(first.data_vars)}")
        for name in shared:
            if not ds[name].equals(first[name]):
                raise CombineError(f"{path}: '{name}' should be identical in every run but differs from {first_path}")

    combined = xr.concat(
        [ds.drop_vars(shared) for _, ds in parts], dim=dim, join="exact", combine_attrs="drop_conflicts"
    ).assign({name: first[name] for name in shared})
    for var in combined.variables.values():
        var.encoding = {}  # the first part's on-disk encoding (e.g. a fixed string width) would truncate the rest
    for name, var in combined.data_vars.items():
        if name not in nan_ok and var.dtype.kind in "fc" and bool(var.isnull().any()):
            where = [str(r) for r, (_, ds) in zip(expected_keys, parts) if bool(ds[name].isnull().any())]
            raise CombineError(f"variable '{name}' holds NaN (in {dim} {_describe(where)})")
    combined.attrs["parts"] = json.dumps(
        [{dim: r, "file": str(p), **{k: _plain(ds.attrs[k]) for k in PART_ATTRS if k in ds.attrs}}
         for r, (p, ds) in zip(expected_keys, parts)]
    )
    return combined



def combine_variants(inputs: Sequence[str | Path], cfg: dict, title: str, out: str | Path, **checks) -> xr.Dataset:
    """Combine one file per model variant into ``out`` with dims (variant, ...), in the order of
    ``cfg["model"]["variants"]`` (``combine_runs`` with ``checks``), its attrs the provenance of ``cfg`` titled
    ``title``, the devices of the parts and their ``parts`` list."""
    ds = combine_runs(inputs, "variant", cfg["model"]["variants"], **checks)
    ds["variant"].attrs.update(long_name="model variant", units="1")
    parts = ds.attrs.pop("parts")
    devices = sorted({p.get("device", "unknown") for p in json.loads(parts)})
    ds.attrs.update(provenance.attrs(title, cfg, ", ".join(devices)))
    ds.attrs["parts"] = parts
    io.write_netcdf(ds, out)
    return ds
