"""Plot pieces the figure notebooks share: image panels, mean ± spread curves of a variant, and the choice of the
best prior of each inverse-problem algorithm. The style (colours, markers, saving) is ``aelpn.report.style``."""

from __future__ import annotations

import numpy as np
import xarray as xr

from aelpn.report import style
from aelpn.report.results import spread


def image(a) -> np.ndarray:
    """A (C, H, W) image as matplotlib shows it: (H, W, C) clipped to [0, 1], (H, W) for one channel."""
    img = np.clip(np.moveaxis(np.asarray(a), 0, -1), 0.0, 1.0)
    return img[..., 0] if img.shape[-1] == 1 else img


def bare(ax) -> None:
    """No ticks and no grid: an image panel."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def show_image(ax, img, title: str | None = None, xlabel: str | None = None, fontsize="small") -> None:
    """Show a (C, H, W) image in [0, 1] on ``ax`` (grey scale for one channel), bare, with an optional title and
    x label."""
    ax.imshow(image(img), cmap="gray", vmin=0, vmax=1)
    bare(ax)
    if title:
        ax.set_title(title, fontsize=fontsize)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=fontsize)


def mean_band(ax, x, da: xr.DataArray, variant: str) -> None:
    """Plot the mean over images of ``da`` (dims (x, image)) against ``x`` in the colour, marker and label of
    ``variant`` (dashed beyond the paper), with a band of ± the sample std over images (``aelpn.report.results.spread``)."""
    mean, std = da.mean("image").values, spread(da).values
    ax.plot(x, mean, marker=style.marker(variant), color=style.color(variant), lw=2, ms=5, mfc="none",
            ls=style.linestyle(variant), label=style.label(variant))
    ax.fill_between(x, mean - std, mean + std, color=style.color(variant), alpha=0.15, lw=0)


def best_prior_per_algorithm(ds: xr.Dataset) -> list[str]:
    """For each algorithm of an inverse-problem results file (in order of first appearance), the estimator (its
    run with one prior) of highest mean PSNR over the problems it applies to and the images; the algorithm's
    first estimator when none applies."""
    ok = ds["applicable"] == 1
    best = []
    for algorithm in dict.fromkeys(ds["algorithm"].values):
        candidates = [m for m in ds["estimator"].values if ds["algorithm"].sel(estimator=m) == algorithm]
        scores = [float(ds["psnr"].sel(estimator=m).where(ok.sel(estimator=m)).mean()) for m in candidates]
        best.append(candidates[int(np.nanargmax(scores))] if not np.all(np.isnan(scores)) else candidates[0])
    return best
