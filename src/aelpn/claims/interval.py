"""Paired bootstrap interval over images.

Every claim's measured value is a statistic T(I) of the per-image values on the image set I (a mean over
images, or the min / max over several cells of such means). The paired bootstrap resamples the image indices
with replacement, the same indices for every cell (the images are shared by every variant, method and
problem, so cell differences keep their pairing), and reports the (1 - c)/2 and (1 + c)/2 quantiles of
T over ``resamples`` resamples: the percentile interval at confidence c.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def bootstrap_interval(statistic: Callable[[np.ndarray], float], images: int, resamples: int, confidence: float,
                       generator: np.random.Generator) -> tuple[float, float]:
    """Percentile interval of ``statistic(indices)`` over ``resamples`` resamples of ``range(images)`` with
    replacement drawn from ``generator``; (NaN, NaN) with fewer than two images."""
    if images < 2:
        return float("nan"), float("nan")
    draws = generator.integers(0, images, size=(resamples, images))
    values = np.array([statistic(idx) for idx in draws])
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)
