"""The plot pieces the figure notebooks share (``aelpn.report.plots``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from aelpn.report import plots, style


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_image_is_channels_last_clipped_and_grey_for_one_channel():
    a = np.array([[[-0.5, 0.25], [1.5, 0.75]], [[0.1, 0.2], [0.3, 0.4]], [[2.0, 0.0], [0.5, 0.5]]])
    img = plots.image(a)
    assert img.shape == (2, 2, 3)
    np.testing.assert_array_equal(img[..., 0], [[0.0, 0.25], [1.0, 0.75]])
    np.testing.assert_array_equal(img[..., 2], [[1.0, 0.0], [0.5, 0.5]])
    assert plots.image(a[:1]).shape == (2, 2)


def test_show_image_draws_the_clipped_image_on_a_bare_panel(ax):
    a = np.linspace(-1, 2, 12).reshape(1, 3, 4)
    plots.show_image(ax, a, title="t", xlabel="x dB", fontsize=7)
    (shown,) = ax.get_images()
    np.testing.assert_array_equal(shown.get_array(), np.clip(a[0], 0, 1))
    assert shown.get_clim() == (0, 1) and shown.get_cmap().name == "gray"
    assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []
    assert not any(line.get_visible() for line in ax.get_xgridlines() + ax.get_ygridlines())
    assert ax.get_title() == "t" and ax.get_xlabel() == "x dB" and ax.title.get_fontsize() == 7


def test_mean_band_is_the_mean_over_images_plus_minus_the_sample_std(ax):
    """One training replicate: the figure of before replicates (band over images)."""
    values = np.array([[1.0, 3.0, 5.0], [2.0, 2.0, 8.0]])  # (sigma, image)
    da = xr.DataArray(values[None], dims=("seed", "sigma", "image"), coords={"seed": [0]})
    plots.mean_band(ax, [0.1, 0.2], da, "aelpn")
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), [3.0, 4.0])
    assert line.get_label() == style.label("aelpn") and line.get_marker() == style.marker("aelpn")
    (band,) = ax.collections
    ys = band.get_paths()[0].vertices[:, 1]
    std = values.std(axis=1, ddof=1)
    np.testing.assert_allclose([ys.min(), ys.max()], [min(3 - std[0], 4 - std[1]), max(3 + std[0], 4 + std[1])])


def test_best_prior_per_algorithm_ignores_problems_it_does_not_apply_to():
    estimators = ["pnp_admm_lpn", "pnp_admm_aelpn", "unrolled", "dps"]
    psnr = np.array([
        [[20.0, 20.0], [20.0, 20.0]],
        [[19.0, 19.0], [99.0, 99.0]],  # its best problem is not applicable: counts as missing
        [[25.0, 25.0], [25.0, 25.0]],
        [[np.nan, np.nan], [np.nan, np.nan]],
    ])
    applicable = np.array([[1, 1], [1, 0], [1, 1], [0, 0]])
    ds = xr.Dataset(
        {"psnr": (("estimator", "problem", "image"), psnr), "applicable": (("estimator", "problem"), applicable),
         "algorithm": ("estimator", ["pnp_admm", "pnp_admm", "unrolled", "dps"])},
        coords={"estimator": estimators},
    )
    assert plots.best_prior_per_algorithm(ds) == ["pnp_admm_lpn", "unrolled", "dps"]
    ds["psnr"][1, 0] = 21.0
    assert plots.best_prior_per_algorithm(ds) == ["pnp_admm_aelpn", "unrolled", "dps"]


def test_mean_band_of_several_replicates_is_their_mean_with_the_min_max_band(ax):
    """Two replicates whose means over images are (3, 4) and (5, 10): the line is (4, 7), the band spans the
    replicates' means, 3 to 10 (not the images' spread)."""
    values = np.array([[[1.0, 3.0, 5.0], [2.0, 2.0, 8.0]], [[5.0, 5.0, 5.0], [0.0, 10.0, 20.0]]])
    da = xr.DataArray(values, dims=("seed", "sigma", "image"), coords={"seed": [0, 1]})
    plots.mean_band(ax, [0.1, 0.2], da, "lpn")
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), [4.0, 7.0])
    (band,) = ax.collections
    ys = band.get_paths()[0].vertices[:, 1]
    np.testing.assert_allclose([ys.min(), ys.max()], [3.0, 10.0])


def test_replicate_band_skips_missing_steps_and_draws_a_band_only_for_several(ax):
    steps = np.array([1, 2, 3])
    one = xr.DataArray([[1.0, np.nan, 3.0]], dims=("seed", "step"), coords={"seed": [4]})
    plots.replicate_band(ax, steps, one, color="k")
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_xdata(), [1, 3])
    assert not ax.collections
    two = xr.DataArray([[1.0, np.nan, 3.0], [3.0, np.nan, 5.0]], dims=("seed", "step"), coords={"seed": [4, 5]})
    plots.replicate_band(ax, steps, two, color="k")
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [2.0, 4.0])
    ys = ax.collections[0].get_paths()[0].vertices[:, 1]
    np.testing.assert_allclose([ys.min(), ys.max()], [1.0, 5.0])


def test_band_text_names_the_band_and_the_replicates():
    one = xr.DataArray([1.0], dims="seed", coords={"seed": [7]})
    two = xr.DataArray([1.0, 2.0], dims="seed", coords={"seed": [7, 9]})
    assert plots.band_text(one) == "band: ± 1 sample std over images; 1 replicate (training seed 7)"
    assert plots.band_text(one, over="") == "1 replicate (training seed 7)"
    assert plots.band_text(two) == "band: min–max over 2 replicates (training seeds 7, 9), line: their mean"
