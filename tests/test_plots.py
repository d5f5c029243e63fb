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
    values = np.array([[1.0, 3.0, 5.0], [2.0, 2.0, 8.0]])  # (sigma, image)
    da = xr.DataArray(values, dims=("sigma", "image"))
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
