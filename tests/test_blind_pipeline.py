"""Blind deblurring end to end on tiny models: the blind network through the training loop and its
model file, then ``aelpn evaluate blind``: blind.nc has every dimension and variable, values wherever they are
expected (NaN only for the width of the non-blind estimators), and the configured grid, inits and estimators."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

import aelpn
from aelpn.blind.network import BlindUnrolled
from aelpn.blind.training import train_blind
from aelpn.cli import main
from aelpn.models.denoiser import build_denoiser
from aelpn.core.io import read_netcdf
from aelpn.models.files import save_model
from model_helpers import image_model
from sel_keywords import assert_selectable

DIMS = {"objective": ("prior", "theta_grid", "image"), "data_term": ("prior", "theta_grid", "image"),
        "regularizer": ("prior", "theta_grid", "image"), "psnr_grid": ("prior", "theta_grid", "image"),
        "theta_argmin": ("prior", "image"), "alternating_theta": ("prior", "init", "alternation", "image"),
        "alternating_objective": ("prior", "init", "alternation", "image"), "theta_estimate": ("estimator", "image"),
        "theta_error": ("estimator", "image"), "psnr": ("estimator", "image"), "ssim": ("estimator", "image"),
        "seconds": ("estimator", "image"), "reconstruction": ("estimator", "example", "channel", "y", "x"),
        "measurement": ("example", "channel", "y", "x"), "truth": ("example", "channel", "y", "x"),
        "theta_true": ("image",), "box_violation": ("prior", "theta_grid", "image"),
        "map_residual": ("prior", "theta_grid", "image"), "regularizer_truth": ("prior", "image"), "regularizer_truth_residual": ("prior", "image"),
        "regularizer_blurred": ("prior", "image"), "regularizer_blurred_residual": ("prior", "image"),
        "premise_blur_lowers_regularizer": ("prior", "image"), "fixed_point_gap": ("prior", "image"),
        "local_theta": ("prior", "alternation", "image"), "local_theta_drift": ("prior", "image"),
        "regularizer_lower_bound": ("prior", "scale", "image"), "regularizer_min": ("prior",),
        "blindness_penalty": ("estimator", "image"), "theta_error_constant": ("image",)}
# NaN where a value does not apply: the width of a non-blind estimator, R where its inversion was refused.
PARTIAL = ("theta_estimate", "theta_error", "blindness_penalty", "regularizer_truth", "regularizer_blurred",
           "premise_blur_lowers_regularizer")


@pytest.fixture
def blind_cfg(smoke_config):
    cfg = copy.deepcopy(smoke_config)
    cfg["compute"]["device"] = "cpu"
    cfg["blind"]["network"].update(steps=3, checkpoint_every=2)
    return cfg


@pytest.fixture
def trained(tmp_path, blind_cfg, crops_file):
    """Crops, the proximal networks of blind.variants (small random models) and a trained blind network."""
    crops = crops_file(tmp_path / "test.nc", "test", 3, 16)
    denoiser = save_model(build_denoiser(3, blind_cfg["inverse"]["denoiser"], seed=0), tmp_path / "denoiser.pt",
                          "denoiser", extra={"steps": 0, "train_seconds": 0.0, "device": "cpu"})
    priors = []
    for variant in blind_cfg["blind"]["variants"]:
        path = tmp_path / "models" / variant / "model.pt"
        priors.append(str(save_model(image_model(variant, channels=3, size=16).float(), path,
                                     extra={"train_seconds": 1.0, "device": "cpu",
                                            "sigma": blind_cfg["train"]["sigma"]})))
    train_blind(blind_cfg, crops, denoiser, tmp_path / "blind.pt", tmp_path / "blind_log.nc")
    return crops, priors, tmp_path / "blind.pt"


def test_blind_network_model_file_and_log(trained, blind_cfg):
    _, _, network = trained
    net = aelpn.load_model(network, device="cpu")
    assert isinstance(net, BlindUnrolled) and len(net.unrolled.denoisers) == blind_cfg["blind"]["network"]["iterations"]
    y = torch.rand((2, 3, 16, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        x, theta = net(y)
    prior = blind_cfg["blind"]["theta_prior"]
    assert x.shape == y.shape and ((theta >= prior["low"]) & (theta <= prior["high"])).all()
    log = read_netcdf(network.parent / "blind_log.nc")
    assert log.sizes["step"] == 3 and np.isfinite(log["theta_mse"]).all() and np.isfinite(log["image_mse"]).all()


def test_blind_nc_is_complete(trained, blind_cfg, tmp_path):
    crops, priors, network = trained
    bcfg = blind_cfg["blind"]
    cfg = {**{k: blind_cfg[k] for k in ("seed", "train", "blind")}, "seeds": [blind_cfg["seed"]]}
    out = tmp_path / "blind.nc"
    assert main(["evaluate", "blind", "--config", json.dumps(cfg), "--crops", str(crops), "--prior", *priors,
                 "--network", str(network), "--out", str(out)]) == 0
    ds = read_netcdf(out)
    assert_selectable(ds, out)
    assert all(ds[v].dtype == np.float64 for v in ds.data_vars if ds[v].dtype.kind == "f")  # float32=False
    for name, dims in DIMS.items():
        assert ds[name].dims == dims, name
        assert "long_name" in ds[name].attrs and "units" in ds[name].attrs, name
    assert list(ds["prior"].values) == [*bcfg["variants"], "quadratic_gradient"]
    assert list(ds["learned"].values) == [1] * len(bcfg["variants"]) + [0]
    assert ds["proper_prior"].sel(prior=["aelpn", "quadratic_gradient"]).values.tolist() == [0, 0]
    prior = bcfg["theta_prior"]
    assert np.allclose(ds["theta_grid"].values, np.linspace(prior["low"], prior["high"], bcfg["grid_points"]))
    assert np.allclose(ds["init"].values, bcfg["alternating"]["inits"])
    assert ds.sizes["alternation"] == bcfg["alternating"]["rounds"] + 1 and ds.sizes["image"] == bcfg["images"]
    # the local search from the truth starts at theta_true; its drift is where it ends
    truth = ds["theta_true"].values
    assert np.allclose(ds["local_theta"].isel(alternation=0).values, truth[None])
    assert np.allclose(ds["local_theta_drift"].values, np.abs(ds["local_theta"].isel(alternation=-1).values - truth[None]))
    priors = [*bcfg["variants"], "quadratic_gradient"]
    blind = [f"{m}[{v}]" for m in ("map_grid", "map_alternating") for v in priors] + ["blind_mmse"]
    bounds = [f"map_true_theta[{v}]" for v in priors] + ["unrolled_true_theta"]
    assert set(ds["estimator"].values) == set(blind + bounds)
    assert (ds["blind"].sel(estimator=blind) == 1).all() and (ds["blind"].sel(estimator=bounds) == 0).all()
    for name in DIMS:
        if name in PARTIAL:
            continue
        assert np.isfinite(ds[name].values).all(), name
    for name in ("theta_estimate", "theta_error", "blindness_penalty"):
        assert np.isfinite(ds[name].sel(estimator=blind)).all() and ds[name].sel(estimator=bounds).isnull().all()
    refused = ds["regularizer_truth_refused"] == 1
    assert (ds["regularizer_truth"].isnull() == refused).all()
    assert (ds["regularizer_truth_residual"].where(refused) > bcfg["inversion"]["residual_tol"]).sum() == refused.sum()
    assert (ds["regularizer_truth_residual"].sel(prior="quadratic_gradient") == 0).all()
    assert (ds["box_violation"] < 0.05).all()
    assert ((ds["theta_true"] >= bcfg["theta_min"]) & (ds["theta_true"] <= bcfg["theta_max"])).all()
    assert np.isin(ds["theta_argmin"].values, ds["theta_grid"].values).all()
    alt = ds["alternating_objective"].values
    assert (np.diff(alt, axis=2) <= 1e-9 * np.abs(alt[:, :, :-1])).all(), "the alternating MAP raised J"
