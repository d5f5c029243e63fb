"""Combine per-job netCDF files into one file per experiment, checking completeness against the config.

``xr.combine_by_coords`` silently fills a missing run with NaN and accepts duplicates; ``combine_runs``
instead concatenates along the run dimension in the expected order and raises ``CombineError`` naming the
missing, duplicated, unexpected or misaligned run, or the variable holding NaN.

Replicates: every file of a replicate records its training seed (``training_seeds``, aelpn.core.provenance) and
lies in that replicate's folder ``seed{s}``; ``by_seed`` groups the files by the seed each holds, ``stack_seeds``
puts the replicates' datasets along a leading dim ``seed`` (int64 coordinate, in the order of the config's
``seeds``) that every data variable of a combined dataset has, even with one replicate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from aelpn.core import io, provenance

PART_ATTRS = ("git_describe", "config_hash", "aelpn_version", "torch_version", "deepinv_version", "device", "history",
              "rollbacks")


SEED_ATTRS = {"long_name": "training seed of the replicate", "units": "1"}
_SEED_FOLDER = re.compile(r"seed(\d+)")


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



def held_seed(path: str | Path) -> int:
    """The training seed of the replicate a file holds, by its own ``training_seeds`` attribute (a list of one
    seed); a file without it, with several, or that does not lie in the folder ``seed{s}`` of its seed (the
    nearest path component of that form, the file's own name included) is a CombineError."""
    path = Path(path)
    held = io.read_netcdf(path).attrs.get("training_seeds")
    if held is None:
        raise CombineError(f"{path}: does not say which replicate it holds (no training_seeds attribute: not a file "
                           "of one replicate's job)")
    seeds = json.loads(held)
    if len(seeds) != 1:
        raise CombineError(f"{path}: holds the training seeds {seeds}; expected the one seed of a replicate")
    placed = [int(m.group(1)) for part in path.with_suffix("").parts if (m := _SEED_FOLDER.fullmatch(part))]
    if not placed:
        raise CombineError(f"{path}: holds the replicate of training seed {seeds[0]} but lies outside a seed{{s}} "
                           f"folder (e.g. .../seed{seeds[0]}/...)")
    if placed[-1] != seeds[0]:
        raise CombineError(f"{path}: holds the replicate of training seed {seeds[0]}, but lies where the replicate "
                           f"of seed {placed[-1]} belongs (.../seed{placed[-1]}/...)")
    return seeds[0]


def by_seed(paths: Sequence[str | Path], seeds: Sequence[int]) -> dict[int, list[Path]]:
    """The files grouped by the training seed each holds (``held_seed``), in the order of ``seeds`` (the config's
    replicates); a seed no file holds, or a file of a seed not in ``seeds``, is a CombineError."""
    groups: dict[int, list[Path]] = {int(s): [] for s in seeds}
    for path in map(Path, paths):
        seed = held_seed(path)
        if seed not in groups:
            raise CombineError(f"{path}: holds the replicate of training seed {seed}, not one of the config's seeds "
                               f"{list(seeds)}")
        groups[seed].append(path)
    missing = [s for s, files in groups.items() if not files]
    if missing:
        raise CombineError(f"missing replicate(s) of training seed {_describe(missing)} (expected seeds "
                           f"{_describe(seeds)})")
    return groups


def stack_seeds(parts: Mapping[int, xr.Dataset]) -> xr.Dataset:
    """The replicates' datasets (training seed -> dataset, in order) along a new leading dim ``seed``, an int64
    coordinate, which every data variable gets; a non-index coordinate gets it too where the replicates' values
    differ (e.g. blind's ``proper_prior``, a property of each trained prior), and stays as it is where they agree
    (the config's: ``algorithm``, ``lam``, ...). The dims' index coordinates must be the same in every replicate
    (CombineError otherwise). The global attrs are those all replicates agree on, plus ``parts``: the replicates'
    ``parts`` lists joined, each entry with its ``seed``."""
    listed, stacked = [], []
    for seed, ds in parts.items():
        listed += [{"seed": int(seed), **p} for p in json.loads(ds.attrs.get("parts", "[]"))]
        part = ds.copy()
        part.attrs = {k: v for k, v in ds.attrs.items() if k != "parts"}
        stacked.append(part.expand_dims({"seed": [int(seed)]}))
    try:
        combined = xr.concat(stacked, dim="seed", data_vars="all", coords="different", compat="equals",
                             join="exact", combine_attrs="drop_conflicts")
    except ValueError as err:
        raise CombineError(f"the replicates of training seeds {_describe(parts)} do not align: "
                           f"{str(err).splitlines()[0]}") from None
    for var in combined.variables.values():
        var.encoding = {}
    combined = combined.assign_coords(seed=np.asarray(list(parts), dtype=np.int64))
    combined["seed"].attrs.update(SEED_ATTRS)
    combined.attrs["parts"] = json.dumps(listed)
    return combined


def attach_provenance(ds: xr.Dataset, cfg: dict, title: str) -> xr.Dataset:
    """``ds`` with the provenance of ``cfg`` titled ``title``, the devices of its parts and the ``parts`` list."""
    parts = ds.attrs.pop("parts")
    devices = sorted({p.get("device", "unknown") for p in json.loads(parts)})
    ds.attrs.update(provenance.attrs(title, cfg, ", ".join(devices)))
    ds.attrs["parts"] = parts
    return ds


def combine_variants(inputs: Sequence[str | Path], cfg: dict, title: str, out: str | Path,
                     label: Callable[[Path], str] | None = None, **checks) -> xr.Dataset:
    """Combine one file per (replicate, model variant) into ``out`` with dims (seed, variant, ...): each
    replicate's files (``by_seed``) in the order of ``cfg["model"]["variants"]`` (``combine_runs`` with
    ``checks``; ``label`` names the variant a file holds, else its ``variant`` coordinate does), the replicates in
    the order of ``cfg["seeds"]`` (``stack_seeds``); its attrs the provenance of ``cfg`` titled ``title``, the
    devices of the parts and their ``parts`` list."""
    ds = stack_seeds({seed: combine_runs(paths, "variant", cfg["model"]["variants"],
                                         labels=None if label is None else [label(p) for p in paths], **checks)
                      for seed, paths in by_seed(inputs, cfg["seeds"]).items()})
    ds["variant"].attrs.update(long_name="model variant", units="1")
    io.write_netcdf(attach_provenance(ds, cfg, title), out)
    return ds


def combine_replicates(cfg: dict, inputs: Sequence[str | Path], out: str | Path) -> xr.Dataset:
    """Combine one file per replicate of one dataset (the jobs that write a whole dataset per replicate: the 1-D
    study, adaptivity, blind, Jacobian, CBSD68) into ``out`` with the leading dim ``seed`` (``stack_seeds``), in
    the order of ``cfg["seeds"]``, stored as the replicates were (no float32 narrowing). Raises CombineError for a
    missing, duplicated or unexpected replicate, a file out of its ``seed{s}`` folder, or files that hold different
    datasets (their ``title`` attributes differ)."""
    parts = {}
    for seed, paths in by_seed(inputs, cfg["seeds"]).items():
        if len(paths) > 1:
            raise CombineError(f"duplicate replicate of training seed {seed}: in {_describe(paths)}")
        ds = io.read_netcdf(paths[0])
        ds.attrs["parts"] = json.dumps([{"file": str(paths[0]),
                                         **{k: _plain(ds.attrs[k]) for k in PART_ATTRS if k in ds.attrs}}])
        parts[seed] = ds
    titles = {seed: ds.attrs.get("title") for seed, ds in parts.items()}
    if len(set(titles.values())) != 1:
        raise CombineError("the files hold different datasets: " + "; ".join(
            f"seed {seed}: '{title}'" for seed, title in titles.items()))
    ds = attach_provenance(stack_seeds(parts), cfg, next(iter(titles.values())))
    io.write_netcdf(ds, out, float32=False)
    return ds
