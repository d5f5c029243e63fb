"""The CBSD68 benchmark table (``results/metrics/cbsd68.nc``, docs/cbsd68.md): per estimator and noise level the
mean PSNR and SSIM with their bootstrap interval, and the paired differences that price exactness at equal capacity,
unconstrained - lpn and unconstrained - aelpn_sq, per noise level with their intervals.

Every cell is a mean over the training replicates of a mean over the images, and its interval the claims' two-level
paired bootstrap (``aelpn.claims.interval``): replicates resampled, then images within each drawn replicate, the
same image indices for both arms of a difference (every method sees the same noisy image). With one replicate it is
the paired bootstrap over images. One numpy generator per cell, seeded by (seed, "cbsd68", metric, row, sigma):
a cell's interval does not depend on which other cells the table holds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from aelpn.claims.interval import bootstrap_interval, replicate_mean
from aelpn.core.replicates import SEED, require_seed, seeds
from aelpn.core.seeding import derive_seed

METRICS = ("psnr", "ssim")
# (minuend, subtrahend): the price of exactness at equal capacity (the unconstrained network has LPN's skeleton)
DIFFERENCES = (("unconstrained", "lpn"), ("unconstrained", "aelpn_sq"))
ESTIMATES, DIFFERENCE = "estimate", "difference"


def _cell(values: np.ndarray, resamples: int, confidence: float, generator: np.random.Generator):
    """(mean, ci_low, ci_high) of values (replicates, images): the mean over replicates of the mean over images and
    its two-level paired-bootstrap interval."""
    statistic = replicate_mean([lambda idx, v=v: float(v[idx].mean()) for v in values])
    low, high = bootstrap_interval(statistic, values.shape[0], values.shape[1], resamples, confidence, generator)
    return float(values.mean(axis=1).mean()), low, high


def cbsd68_table(ds: xr.Dataset, resamples: int, confidence: float, seed: int, path: str = "cbsd68.nc"
                 ) -> pd.DataFrame:
    """The table of cbsd68.nc (``psnr`` and ``ssim`` over (seed, estimator, sigma, image)): one row per (block,
    row, metric, sigma) with columns mean, ci_low, ci_high, replicates and images. Block ``estimate``: every
    estimator; block ``difference``: each pair of DIFFERENCES whose two estimators are in the file, row
    'a - b'. ``path`` names the file in the error for a dataset without the ``seed`` dimension."""
    require_seed(ds, path)
    rows = []
    cells = [(ESTIMATES, str(e), lambda da, e=e: da.sel(estimator=e)) for e in ds["estimator"].values]
    present = set(ds["estimator"].values.astype(str))
    cells += [(DIFFERENCE, f"{a} - {b}", lambda da, a=a, b=b: da.sel(estimator=a) - da.sel(estimator=b))
              for a, b in DIFFERENCES if {a, b} <= present]
    for block, row, pick in cells:
        for metric in METRICS:
            values = pick(ds[metric]).transpose(SEED, "sigma", "image")
            for j, sigma in enumerate(ds["sigma"].values):
                generator = np.random.default_rng(derive_seed(seed, "cbsd68", metric, row, j))
                mean, low, high = _cell(values.isel(sigma=j).values.astype(np.float64), resamples, confidence,
                                        generator)
                rows.append({"block": block, "row": row, "metric": metric, "sigma": float(sigma), "mean": mean,
                             "ci_low": low, "ci_high": high, "replicates": ds.sizes[SEED],
                             "images": ds.sizes["image"]})
    table = pd.DataFrame(rows)
    table.attrs["training_seeds"] = seeds(ds)
    return table
