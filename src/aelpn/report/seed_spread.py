"""The seed-to-seed spread table (``aelpn results seed-spread``, results/tables/seed_spread.md, docs/reproducibility.md):
for each headline quantity its value on every training replicate (the ``seed`` dimension of the combined datasets,
``aelpn.core.replicates``), their mean and their spread max - min.

Quantities: the noise sweep's unclipped PSNR (the paper's convention) per variant and test sigma, the inverse
problems' PSNR per estimator and problem it applies to, CBSD68's PSNR per estimator and sigma, and the claims'
per-replicate values (claims.nc ``replicate_value``) of the seed claims; each a mean over the test images of one
replicate. A dataset not given is left out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from aelpn.core import io
from aelpn.core.replicates import SEED, require_seed, seeds

SOURCES = ("noise_sweep", "inverse", "cbsd68", "claims")


def _open(path: str | Path) -> xr.Dataset:
    return require_seed(io.read_netcdf(path), path)


def noise_sweep_rows(ds: xr.Dataset) -> list[tuple[str, np.ndarray]]:
    """(label, value per replicate) of the unclipped PSNR per variant and sigma."""
    mean = ds["psnr_unclipped"].mean("image").transpose("variant", "sigma", SEED)
    return [(f"noise sweep {v}, σ {float(s):g} (unclipped dB)", mean.sel(variant=v, sigma=s).values)
            for v in mean["variant"].values for s in mean["sigma"].values]


def inverse_rows(ds: xr.Dataset) -> list[tuple[str, np.ndarray]]:
    """(label, value per replicate) of the PSNR per estimator and the problems it applies to (on every replicate)."""
    mean = ds["psnr"].mean("image").transpose("estimator", "problem", SEED)
    applies = ds["applicable"]
    applies = applies.all(SEED) if SEED in applies.dims else applies
    return [(f"inverse {e}, {p} (dB)", mean.sel(estimator=e, problem=p).values)
            for e in mean["estimator"].values for p in mean["problem"].values
            if bool(applies.sel(estimator=e, problem=p))]


def cbsd68_rows(ds: xr.Dataset) -> list[tuple[str, np.ndarray]]:
    """(label, value per replicate) of CBSD68's PSNR per estimator and sigma (0-255 scale in the label)."""
    mean = ds["psnr"].mean("image").transpose("estimator", "sigma", SEED)
    return [(f"CBSD68 {e}, σ {255 * float(s):.3g}/255 (dB, {ds.sizes['image']} images)",
             mean.sel(estimator=e, sigma=s).values) for e in mean["estimator"].values for s in mean["sigma"].values]


def claims_rows(ds: xr.Dataset) -> list[tuple[str, np.ndarray]]:
    """(label, value per replicate) of every seed claim measured on every replicate (claims.nc
    ``replicate_value``)."""
    values = ds["replicate_value"].transpose("claim", SEED)
    return [(f"claim {c}: {q} ({u})", values.sel(claim=c).values)
            for c, q, u, k in zip(ds["claim"].values, ds["quantity"].values, ds["units"].values, ds["kind"].values)
            if k == "seed claim" and np.isfinite(values.sel(claim=c).values).all()]


ROWS = {"noise_sweep": noise_sweep_rows, "inverse": inverse_rows, "cbsd68": cbsd68_rows, "claims": claims_rows}


def seed_spread_table(paths: dict[str, str | Path | None]) -> str:
    """The markdown table of the datasets ``paths`` ({source of SOURCES: path or None}): one row per quantity,
    a column per training seed, the mean and the spread max - min over the replicates. Every given dataset must
    hold the same training seeds (else a DatasetError naming two files that differ)."""
    given = {name: (path, _open(path)) for name, path in paths.items() if path is not None}
    if not given:
        raise io.DatasetError("no dataset given: pass at least one of --noise-sweep, --inverse, --cbsd68, --claims")
    first_path, first_ds = next(iter(given.values()))
    for path, ds in given.values():
        if seeds(ds) != seeds(first_ds):
            raise io.DatasetError(f"{path}: training seeds {seeds(ds)}, but {first_path} has {seeds(first_ds)}; "
                                  "tabulate datasets of the same replicates")
    training = seeds(first_ds)
    lines = ["| quantity | " + " | ".join(f"seed {s}" for s in training) + " | mean | spread (max − min) |",
             "|---|" + "---|" * (len(training) + 2)]
    for name, (_, ds) in given.items():
        for label, values in ROWS[name](ds):
            cells = " | ".join(f"{v:.4g}" for v in values)
            lines.append(f"| {label} | {cells} | {np.mean(values):.4g} | {np.ptp(values):.3g} |")
    return "\n".join(lines) + "\n"


def write_seed_spread(paths: dict[str, str | Path | None], out: str | Path) -> Path:
    """``seed_spread_table(paths)`` written to ``out`` (atomic)."""
    return io.write_text(seed_spread_table(paths), out)
