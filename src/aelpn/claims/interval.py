"""Two-level paired bootstrap interval over training replicates and test images.

A measured value is T = (1/R) sum_r T_r(I), the mean over the R training replicates of the statistic T_r of the
per-image values of replicate r on the image set I (a mean over images, or the min / max over several cells of such
means, a ratio of means, a share of cells). One bootstrap draw

1. resamples the replicates with replacement: r_1, ..., r_R drawn uniformly from {1, ..., R};
2. resamples the images within each drawn replicate: I_k, n indices drawn uniformly from {1, ..., n} with
   replacement, the same indices for every cell of replicate r_k (the images are shared by every variant, method
   and problem, so cell differences keep their pairing);

and computes T* = (1/R) sum_k T_{r_k}(I_k). The interval at confidence c is the (1 - c)/2 and (1 + c)/2 quantiles of
T* over ``resamples`` draws (percentile interval). Its width carries both the image variance and the training
variance: two replicates that disagree widen it even when each alone is precise.

Draw order: the image indices of every draw first (``generator.integers(0, n, (resamples, R, n))``), then, only
when R > 1, the replicate indices; with one replicate the draws are therefore exactly those of the one-level
paired bootstrap over images (``integers(0, n, (resamples, n))`` fills the same numbers in the same order). A
quantity without an image axis has n = 1: the interval is then over the replicates alone. Nothing to resample
(R = 1 and n < 2): (NaN, NaN).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Statistic = Callable[[np.ndarray, np.ndarray], float]


def bootstrap_draws(statistic: Statistic, replicates: int, images: int, resamples: int,
                    generator: np.random.Generator) -> np.ndarray:
    """T* of ``resamples`` draws: ``statistic(drawn_replicates, drawn_images)`` with drawn_replicates (R,) replicate
    indices and drawn_images (R, n) image indices, row k for drawn replicate k."""
    image_draws = generator.integers(0, images, size=(resamples, replicates, images))
    if replicates > 1:
        replicate_draws = generator.integers(0, replicates, size=(resamples, replicates))
    else:
        replicate_draws = np.zeros((resamples, 1), dtype=np.int64)
    return np.array([statistic(r, i) for r, i in zip(replicate_draws, image_draws)])


def bootstrap_interval(statistic: Statistic, replicates: int, images: int, resamples: int, confidence: float,
                       generator: np.random.Generator) -> tuple[float, float]:
    """Percentile interval at ``confidence`` of the two-level bootstrap (``bootstrap_draws``); (NaN, NaN) with one
    replicate and fewer than two images."""
    if replicates < 2 and images < 2:
        return float("nan"), float("nan")
    values = bootstrap_draws(statistic, replicates, images, resamples, generator)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)


def replicate_mean(per_replicate: list[Callable[[np.ndarray], float]]) -> Statistic:
    """The statistic of the module docstring from one per-image statistic per replicate, ``T_r(image_indices)``:
    (drawn_replicates, drawn_images) -> the mean over k of T_{r_k}(drawn_images[k])."""
    def statistic(drawn: np.ndarray, images: np.ndarray) -> float:
        return float(np.mean([per_replicate[r](idx) for r, idx in zip(drawn, images)]))
    return statistic

