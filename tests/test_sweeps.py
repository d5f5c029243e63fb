"""Sweep metrics on known answers: identity, exactly equivariant and non-equivariant maps; seeded noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import xarray as xr

from aelpn.core import metrics
from aelpn.core.config import ConfigError
from aelpn.core.io import read_netcdf
from aelpn.sweeps import evaluate as sweeps
from configs import job_slice
from sel_keywords import assert_selectable

CPU = torch.device("cpu")


def _images(n=3, c=3, size=16, seed=1, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (0.2 + 0.6 * torch.rand(n, c, size, size, generator=g)).to(dtype)


def _identity(y):
    return y.clone()


def _mean_shrink(y, c=0.5):
    """f(y) = m(y) + c (y - m(y)), m the per-image mean: exactly affine equivariant, f(a y + b) = a f(y) + b."""
    m = y.mean(dim=(1, 2, 3), keepdim=True)
    return m + c * (y - m)


def _cfg(smoke_config, **sweep):
    cfg = job_slice(smoke_config, "compute", "noise_sweep", "affine_sweep", "figures",
                    noise_sweep={"sigmas": [0.05, 0.1, 0.3], "batch_size": 2},
                    affine_sweep={"scales": [0.25, 1.0, 4.0], "shifts": [-0.5, 0.0, 0.5], "batch_size": 2},
                    figures={"example_sigmas": [0.1, 0.3], "example_images": 2})
    cfg.update(sweep)
    return cfg


# --- metrics: the stated formulas ------------------------------------------------------------------------


def test_psnr_known_mse_and_clipping():
    x = _images(dtype=torch.float64)
    assert torch.allclose(metrics.psnr(x + 0.1, x), torch.full((3,), 20.0, dtype=torch.float64), atol=1e-5)
    # clipped to [0, 1]: x + 5 becomes the all-ones image
    expected = -10 * torch.log10((1.0 - x).square().flatten(1).mean(1))
    assert torch.allclose(metrics.psnr(x + 5.0, x), expected, atol=1e-5)
    assert torch.allclose(metrics.ssim(x, x), torch.ones(3, dtype=torch.float64))
    assert (metrics.ssim(x + 0.2 * torch.randn_like(x), x) < 0.9).all()


def test_unclipped_psnr_formula_and_order():
    """10 log10(1 / MSE) with data range 1 and no clipping; never above the clipped PSNR for x in [0, 1]."""
    x = _images(dtype=torch.float64)
    torch.testing.assert_close(metrics.psnr_unclipped(x + 0.1, x), torch.full((3,), 20.0, dtype=torch.float64))
    torch.testing.assert_close(metrics.psnr_unclipped(x + 5.0, x),
                               torch.full((3,), -10 * math.log10(25.0), dtype=torch.float64))
    y = x + 0.3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert (metrics.psnr_unclipped(y, x) < metrics.psnr(y, x) - 0.1).all()
    inside = x + 0.01
    torch.testing.assert_close(metrics.psnr_unclipped(inside, x), metrics.psnr(inside, x), rtol=0, atol=1e-3)


def test_affine_psnr_uses_the_transformed_range_as_peak():
    x = _images(dtype=torch.float64)
    a, b = 4.0, -0.5
    estimate = a * x + b + 0.1  # error 0.1 on a range of a = 4: 10 log10(16 / 0.01)
    assert torch.allclose(metrics.affine_psnr(estimate, x, a, b), torch.full((3,), 10 * math.log10(1600.0),
                                                                              dtype=torch.float64), atol=1e-5)


def test_equivariance_psnr_formula_and_cap():
    x = _images(dtype=torch.float64)
    assert (metrics.equivariance_psnr(x, x.clone(), 2.0) == metrics.EQUIVARIANCE_CAP_DB).all()
    value = metrics.equivariance_psnr(x + 0.01, x, 0.5)
    assert torch.allclose(value, torch.full((3,), 10 * math.log10(0.25 / 1e-4), dtype=torch.float64))


def test_exactly_equivariant_map_reaches_the_cap_in_float64():
    y = _images(dtype=torch.float64)
    for a, b in [(0.25, -0.5), (4.0, 0.5), (1.5, 0.0)]:
        eq = metrics.equivariance_psnr(_mean_shrink(a * y + b), a * _mean_shrink(y) + b, a)
        assert (eq == metrics.EQUIVARIANCE_CAP_DB).all()


# --- the sweeps on fake denoisers ----------------------------------------------------------------------------


def test_identity_denoiser_gives_the_input_psnr(smoke_config):
    cfg = _cfg(smoke_config)
    x = _images()
    ds = sweeps.noise_sweep(_identity, x, ["a", "b", "c"], cfg, CPU)
    assert ds["psnr"].dims == ds["psnr_unclipped"].dims == ("sigma", "image")
    np.testing.assert_array_equal(ds["psnr"].values, ds["input_psnr"].values)
    np.testing.assert_array_equal(ds["psnr_unclipped"].values, ds["input_psnr_unclipped"].values)
    # the known answer for the noise actually drawn: 10 log10(1 / MSE(clip(x + sigma n), x))
    for j, sigma in enumerate(cfg["noise_sweep"]["sigmas"]):
        seeds = [sweeps.noise_seed(cfg["seed"], "noise_sweep", i, j) for i in range(3)]
        noise = sigma * sweeps.gaussian_noise(x.shape, seeds).double()
        y = (x.double() + noise).clamp(0, 1)
        expected = -10 * np.log10((y - x.double()).square().flatten(1).mean(1).numpy())
        np.testing.assert_allclose(ds["psnr"].sel(sigma=sigma).values, expected, atol=1e-3)
        unclipped = -10 * np.log10(noise.float().double().square().flatten(1).mean(1).numpy())
        np.testing.assert_allclose(ds["psnr_unclipped"].sel(sigma=sigma).values, unclipped, atol=1e-4)
        assert (ds["psnr_unclipped"].sel(sigma=sigma) <= ds["psnr"].sel(sigma=sigma) + 1e-3).all()
    assert (ds["psnr_unclipped"].sel(sigma=0.3) < ds["psnr"].sel(sigma=0.3) - 0.1).all()  # clipping helps
    # higher noise, lower PSNR; roughly -20 log10(sigma) for small sigma (little clipping)
    means = ds["psnr"].mean("image").values
    assert means[0] > means[1] > means[2]
    assert abs(means[0] - (-20 * math.log10(0.05))) < 0.5
    np.testing.assert_array_equal(ds["denoised"].values, ds["noisy"].values)
    np.testing.assert_array_equal(ds["clean"].values, x[:2].numpy())
    assert list(ds["example_sigma"].values) == [0.1, 0.3]


def test_noise_is_seeded_per_image_and_sigma_not_per_variant(smoke_config):
    cfg = _cfg(smoke_config)
    x = _images()
    first = sweeps.noise_sweep(_identity, x, ["a", "b", "c"], cfg, CPU)
    second = sweeps.noise_sweep(lambda y: 0.5 * y, x, ["a", "b", "c"], cfg, CPU)
    xr.testing.assert_identical(first["noisy"], second["noisy"])
    assert not np.array_equal(first["psnr"].values, second["psnr"].values)
    # the noise of an image does not depend on how many images are evaluated
    fewer = sweeps.noise_sweep(_identity, x, ["a", "b", "c"],
                               _cfg(smoke_config, noise_sweep=dict(cfg["noise_sweep"], images=2)), CPU)
    np.testing.assert_array_equal(fewer["psnr"].values, first["psnr"].values[:, :2])
    n = sweeps.gaussian_noise((2, 1, 4, 4), [sweeps.noise_seed(0, "noise_sweep", 0, 0),
                                             sweeps.noise_seed(0, "noise_sweep", 0, 1)])
    assert not torch.equal(n[0], n[1])


def test_example_sigmas_must_be_swept(smoke_config):
    cfg = _cfg(smoke_config, figures=dict(smoke_config["figures"], example_sigmas=[0.2]))
    with pytest.raises(ConfigError, match="figures.example_sigmas"):
        sweeps.noise_sweep(_identity, _images(), ["a", "b", "c"], cfg, CPU)


def test_affine_sweep_of_an_exactly_equivariant_map(smoke_config):
    cfg = _cfg(smoke_config)
    ds = sweeps.affine_sweep(_mean_shrink, _images(), ["a", "b", "c"], cfg, CPU)
    assert ds["equivariance_psnr"].dims == ("scale", "offset", "image")
    # float32 round-off only: exactly the documented cap (see aelpn.core.metrics)
    assert (ds["equivariance_psnr"] == metrics.EQUIVARIANCE_CAP_DB).all()
    # an affine-equivariant map has the same denoising PSNR (peak a) at every (a, b)
    spread = ds["denoising_psnr"].max(("scale", "offset")) - ds["denoising_psnr"].min(("scale", "offset"))
    assert float(spread.max()) < 1e-3


def test_affine_sweep_of_a_non_equivariant_map(smoke_config):
    """f(y) = y + c: f(a y + b) - (a f(y) + b) = c (1 - a), so PSNR = 10 log10(a^2 / (c^2 (1 - a)^2))."""
    c = 0.05
    cfg = _cfg(smoke_config)
    ds = sweeps.affine_sweep(lambda y: y + c, _images(), ["a", "b", "c"], cfg, CPU)
    for a in cfg["affine_sweep"]["scales"]:
        got = ds["equivariance_psnr"].sel(scale=a).values
        if a == 1.0:
            assert (got > 80.0).all()
        else:
            np.testing.assert_allclose(got, 10 * math.log10(a**2 / (c**2 * (1 - a) ** 2)), atol=0.05)
    equivariant = sweeps.affine_sweep(_mean_shrink, _images(), ["a", "b", "c"], cfg, CPU)
    assert float(ds["equivariance_psnr"].sel(scale=4.0).max()) < float(equivariant["equivariance_psnr"].min())


def test_paper_affine_protocol_of_an_exactly_equivariant_map(smoke_config):
    """Paper Fig. 4 protocol, t = a x + b + sigma n: for an affine-equivariant f the PSNR of f(t) against a x + b
    does not depend on b, and equals the unclipped PSNR of f(x + (sigma / a) n) against x minus 20 log10 a."""
    cfg = _cfg(smoke_config)
    x, sigma = _images(), cfg["affine_sweep"]["sigma"]
    ds = sweeps.affine_sweep(_mean_shrink, x, ["a", "b", "c"], cfg, CPU)
    assert ds["brightness_psnr"].dims == ("scale", "brightness", "image")
    assert list(ds["brightness"].values) == ["darken", "brighten"]
    np.testing.assert_allclose(ds["brightness_shift"].sel(brightness="brighten").values, 1 - ds["scale"].values)
    assert (ds["brightness_shift"].sel(brightness="darken") == 0).all()
    seeds = [sweeps.noise_seed(cfg["seed"], "affine_sweep", i) for i in range(3)]
    n = sweeps.gaussian_noise(x.shape, seeds)
    for a in cfg["affine_sweep"]["scales"]:
        got = ds["brightness_psnr"].sel(scale=a)
        np.testing.assert_allclose(got.sel(brightness="darken"), got.sel(brightness="brighten"), atol=1e-3)
        at_lower_noise = metrics.psnr_unclipped(_mean_shrink(x + (sigma / a) * n), x).numpy()
        np.testing.assert_allclose(got.sel(brightness="darken"), at_lower_noise - 20 * math.log10(a), atol=1e-3)


def test_paper_affine_protocol_of_a_non_equivariant_map(smoke_config):
    """f(y) = y / 2 (scale- but not shift-equivariant): the error -(a x + b) / 2 + sigma n / 2 depends on b."""
    cfg = _cfg(smoke_config)
    x, sigma = _images(), cfg["affine_sweep"]["sigma"]
    ds = sweeps.affine_sweep(lambda y: 0.5 * y, x, ["a", "b", "c"], cfg, CPU)
    n = sweeps.gaussian_noise(x.shape, [sweeps.noise_seed(cfg["seed"], "affine_sweep", i) for i in range(3)])
    for a in cfg["affine_sweep"]["scales"]:
        for brightness in sweeps.BRIGHTNESS:
            clean = a * x.double() + sweeps.brightness_shift(brightness, a)
            expected = metrics.psnr_unclipped(0.5 * (clean + sigma * n.double()), clean).numpy()
            np.testing.assert_allclose(ds["brightness_psnr"].sel(scale=a, brightness=brightness), expected, atol=1e-3)
    darken, brighten = (ds["brightness_psnr"].sel(scale=0.25, brightness=k) for k in sweeps.BRIGHTNESS)
    assert (brighten < darken - 1.0).all()


@pytest.mark.parametrize("kind", sweeps.KINDS)
def test_run_sweep_writes_one_variant_file(smoke_config, tmp_path, kind, crops_file):
    from aelpn.models import build_model, save_model

    cfg = _cfg(smoke_config)
    model_path = tmp_path / "model.pt"
    save_model(build_model("aelpn", smoke_config["model"], 3, 16), model_path)
    crops = crops_file(tmp_path / "crops.nc", "test", 3, 16)
    out = tmp_path / f"{kind}.nc"
    sweeps.run_sweep(kind, cfg, "aelpn", str(model_path), str(crops), str(out))
    ds = read_netcdf(out)
    assert_selectable(ds, out)
    main = "psnr" if kind == "noise_sweep" else "denoising_psnr"
    assert ds[main].dims[0] == "variant" and list(ds["variant"].values) == ["aelpn"]
    assert list(ds["image"].values) == list(read_netcdf(crops)["image"].values)
    assert ds.attrs["config_hash"] and ds.attrs["git_describe"] and ds.attrs["device"] == "cpu"
    for name, var in ds.variables.items():
        if name not in ("image",):
            assert {"long_name", "units"} <= set(var.attrs), name
        if var.dtype.kind == "f":
            assert np.isfinite(var.values).all(), name
    if kind == "affine_sweep":  # AE-LPN is affine equivariant by construction: at the documented cap; LPN is not
        assert (ds["equivariance_psnr"] == metrics.EQUIVARIANCE_CAP_DB).all()
        lpn = sweeps.affine_sweep(build_model("lpn", smoke_config["model"], 3, 16), _images(), ["a", "b", "c"],
                                  cfg, CPU)
        assert float(lpn["equivariance_psnr"].sel(scale=4.0, offset=0.5).max()) < metrics.EQUIVARIANCE_CAP_DB - 20
    with pytest.raises(ValueError, match="holds variant 'aelpn'"):
        sweeps.run_sweep(kind, cfg, "lpn", str(model_path), str(crops), str(tmp_path / "other.nc"))


def test_equivariance_is_measured_in_float64(smoke_config):
    """A module that is affine equivariant by construction but whose float32 round-off is amplified (weights scaled
    by adding and subtracting 1e4) reaches the cap only because both sides are evaluated in float64."""

    class RoundOffAmplifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.big = torch.nn.Parameter(torch.tensor(1.0e4))

        def forward(self, y):
            m = y.mean(dim=(1, 2, 3), keepdim=True)
            return m + 0.5 * (((y - m) + self.big) - self.big)

    cfg = _cfg(smoke_config)
    module = RoundOffAmplifier()
    with torch.no_grad():
        in_float32 = metrics.equivariance_psnr(module(4.0 * _images() + 0.5), 4.0 * module(_images()) + 0.5, 4.0)
    assert float(in_float32.max()) < metrics.EQUIVARIANCE_CAP_DB - 1.0
    ds = sweeps.affine_sweep(module, _images(), ["a", "b", "c"], cfg, CPU)
    assert (ds["equivariance_psnr"] == metrics.EQUIVARIANCE_CAP_DB).all()
    assert module.big.dtype == torch.float32  # the sweep's float64 copy leaves the model alone


def test_ssim_scores_the_estimate_clipped_to_the_image_range():
    """SSIM, like PSNR, sees clip(x_hat, 0, 1): an estimate with values outside [0, 1] scores as its clipped self."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 16, 16, generator=gen)
    x_hat = x + 0.6 * torch.randn(x.shape, generator=gen)
    assert bool((x_hat < 0).any() and (x_hat > 1).any())
    torch.testing.assert_close(metrics.ssim(x_hat, x), metrics.ssim(x_hat.clamp(0, 1), x))
    assert not torch.allclose(metrics.ssim(x_hat, x), metrics._SSIM(x_hat, x))


def test_ssim_is_computed_a_chunk_of_images_at_a_time(monkeypatch):
    """The SSIM of many images is the per-image SSIM, computed at most ``SSIM_CHUNK`` images per call (its
    unfolded-window buffer grows with the batch)."""
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(2 * metrics.SSIM_CHUNK + 3, 1, 16, 16, generator=gen, dtype=torch.float64)
    x_hat = x + 0.2 * torch.randn(x.shape, generator=gen, dtype=torch.float64)
    one_by_one = torch.cat([metrics._SSIM(x_hat[i : i + 1].clamp(0, 1), x[i : i + 1]) for i in range(len(x))])
    batches = []
    whole = metrics._SSIM
    monkeypatch.setattr(metrics, "_SSIM", lambda a, b: batches.append(len(a)) or whole(a, b))
    torch.testing.assert_close(metrics.ssim(x_hat, x), one_by_one, rtol=0, atol=1e-12)
    assert batches == [metrics.SSIM_CHUNK, metrics.SSIM_CHUNK, 3]
