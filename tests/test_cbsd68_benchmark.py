"""The CBSD68 benchmark (``aelpn evaluate cbsd68``) on the offline BSDS500 copy with small untrained networks:
every method on the same noisy full-size images, the noisy input as a row, sigmas with train.sigma, ids in order."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from model_helpers import image_model
from sel_keywords import assert_selectable

from aelpn.core.io import read_netcdf
from aelpn.data.cbsd68 import cbsd68_ids
from aelpn.data.fetch import fetch
from aelpn.models.denoiser import build_denoiser
from aelpn.models.files import ModelFileError, save_model
from aelpn.sweeps.cbsd68 import evaluate_cbsd68, read_image
from aelpn.sweeps.evaluate import gaussian_noise, noise_seed
from aelpn.core.metrics import psnr


@pytest.fixture(scope="module")
def fetched(tmp_path_factory):
    from conftest import SHARED_BSDS

    if not (SHARED_BSDS / "images" / "val").is_dir():
        pytest.fail(f"offline BSDS500 copy not found at {SHARED_BSDS}; see ../shared/data/README.md")
    return fetch({"sources": [{"path": str(SHARED_BSDS)}]}, tmp_path_factory.mktemp("bsds") / "BSDS500")


@pytest.fixture
def setup(tmp_path, smoke_config):
    cfg = copy.deepcopy(smoke_config)
    cfg["compute"]["device"] = "cpu"
    cfg["train"]["sigma"] = 0.1
    cfg["cbsd68"].update(images=2, sigmas=[0.2, 0.05])
    models = []
    for variant in ("lpn", "aelpn"):
        path = tmp_path / variant / "model.pt"
        path.parent.mkdir()
        save_model(image_model(variant, channels=3, size=16, depth=2, width=4).float(), path, extra={"sigma": 0.1})
        models.append(str(path))
    denoiser = save_model(build_denoiser(3, {"width": 4, "blocks": 1, "pixel_std": 0.25}, seed=0),
                          tmp_path / "denoiser.pt", "denoiser", extra={"steps": 0})
    return cfg, models, str(denoiser)


def test_every_method_on_full_size_cbsd68_images(fetched, setup, tmp_path):
    cfg, models, denoiser = setup
    ds = evaluate_cbsd68(cfg, str(fetched), models, denoiser, str(tmp_path / "cbsd68.nc"))
    assert_selectable(read_netcdf(tmp_path / "cbsd68.nc"), "cbsd68.nc")
    assert list(ds["estimator"].values) == ["noisy", "lpn", "aelpn", "denoiser"]
    assert list(ds["sigma"].values) == [0.05, 0.1, 0.2]
    assert list(ds["image"].values) == list(cbsd68_ids()[:2])
    assert sorted(zip(ds["height"].values.tolist(), ds["width"].values.tolist()))[0] in {(321, 481), (481, 321)}
    assert np.isfinite(ds["psnr"].values).all() and np.isfinite(ds["ssim"].values).all()
    # the noisy row is the PSNR of x + sigma n with the documented per-(image, sigma) noise
    x = read_image(fetched / "images" / "val" / f"{cbsd68_ids()[1]}.jpg")
    n = gaussian_noise((3, *x.shape[1:]), [noise_seed(cfg["seed"], "cbsd68", 1, j) for j in range(3)])
    expected = psnr(x + 0.2 * n[2:3], x).item()
    assert ds["psnr"].sel({"estimator": "noisy", "sigma": 0.2}).values[1] == pytest.approx(expected, abs=1e-4)
    assert read_netcdf(tmp_path / "cbsd68.nc")["psnr"].shape == (4, 3, 2)


def test_a_model_file_in_the_wrong_directory_is_named(fetched, setup, tmp_path):
    cfg, models, denoiser = setup
    wrong = tmp_path / "scale" / "model.pt"
    wrong.parent.mkdir()
    wrong.write_bytes(open(models[0], "rb").read())
    with pytest.raises(ModelFileError, match="holds variant 'lpn'"):
        evaluate_cbsd68(cfg, str(fetched), [str(wrong)], denoiser, str(tmp_path / "x.nc"))
