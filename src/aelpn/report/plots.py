"""Plot pieces the figure notebooks share: image panels, mean ± spread curves of a variant, and the choice of the
best prior of each inverse-problem algorithm. The style (colours, markers, saving) is ``aelpn.report.style``.

Curves of a trained model's metric follow the training replicates (``aelpn.core.replicates``): with one replicate the
mean over images with a band of ± the sample std over images; with several, the mean over the replicates of each
replicate's value with the min-max band across the replicates (``band_text`` says which, for the caption)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from aelpn.core import replicates
from aelpn.core.replicates import SEED
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


def band_text(ds: xr.Dataset | xr.DataArray, over: str = "images") -> str:
    """The caption's words for the band of ``mean_band`` / ``replicate_band`` on ``ds`` and its replicates: '± 1
    sample std over images; 1 replicate (training seed 0)' or 'band: min–max over 3 replicates (training seeds 0, 1,
    2)'. ``over`` names what the one-replicate band is over ('' when there is none)."""
    seeds = replicates.seeds(ds)
    if len(seeds) == 1:
        return f"band: ± 1 sample std over {over}; {replicates.describe(seeds)}" if over else \
            replicates.describe(seeds)
    return f"band: min–max over {replicates.describe(seeds)}, line: their mean"


def first_replicate_text(ds: xr.Dataset) -> str:
    """The title of a figure of examples, which shows the first replicate's estimates: 'training seed 0 (1
    replicate)' or 'training seed 0, the first of 3 replicates (training seeds 0, 1, 2)'."""
    seeds = replicates.seeds(ds)
    if len(seeds) == 1:
        return f"training seed {seeds[0]} (1 replicate)"
    return f"training seed {seeds[0]}, the first of {replicates.describe(seeds)}"


def mean_band(ax, x, da: xr.DataArray, variant: str) -> None:
    """Plot ``da`` (dims (seed, x, image)) against ``x`` in the colour, marker and label of ``variant`` (dashed beyond
    the paper): one replicate, the mean over images with a band of ± the sample std over images
    (``aelpn.report.results.spread``); several, the mean over replicates of each one's mean over images with the
    min-max band across replicates (``aelpn.core.replicates.across``)."""
    if replicates.several(da):
        mean, low, high = (v.values for v in replicates.across(da.mean("image")))
    else:
        one = replicates.first(da)
        mean, std = one.mean("image").values, spread(one).values
        low, high = mean - std, mean + std
    ax.plot(x, mean, marker=style.marker(variant), color=style.color(variant), lw=2, ms=5, mfc="none",
            ls=style.linestyle(variant), label=style.label(variant))
    ax.fill_between(x, low, high, color=style.color(variant), alpha=0.15, lw=0)


def mean_and_range(da: xr.DataArray, digits: int) -> str:
    """A table cell of ``da`` (dims seed, image and any other): the mean over the images (and the other dimensions)
    with one replicate, 'mean (min–max)' with several: the mean over replicates of each one's mean and their min-max;
    '' when the mean is NaN."""
    per_replicate = da.mean([d for d in da.dims if d != SEED])
    mean, low, high = (float(v) for v in replicates.across(per_replicate))
    if np.isnan(mean):
        return ""
    if not replicates.several(da):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ({low:.{digits}f}–{high:.{digits}f})"


def replicate_band(ax, x, da: xr.DataArray, **line) -> None:
    """Plot ``da`` (dims (seed, x)), a quantity without an image axis (a learned curve, a training log), against
    ``x``: its mean over the replicates, with the min-max band across them when there are several; NaN entries
    (steps without a validation) are left out. ``line``: matplotlib's keywords of the line."""
    mean, low, high = (v.values for v in replicates.across(da.transpose(SEED, ...)))
    done = np.isfinite(mean)
    lines = ax.plot(np.asarray(x)[done], mean[done], **line)
    if replicates.several(da):
        ax.fill_between(np.asarray(x)[done], low[done], high[done], color=lines[0].get_color(), alpha=0.15, lw=0)


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
