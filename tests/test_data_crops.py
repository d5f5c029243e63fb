"""Crops: seeded random training crops, centre crops for evaluation, the netCDF layout, and a real run of
the data stage on the offline BSDS500 copy through the CLI."""

from __future__ import annotations

import hashlib
import json

import netCDF4
import numpy as np
import pytest
import torch
from fake_bsds import files, write_dir
from PIL import Image

from aelpn.cli import main
from aelpn.core.config import ConfigError, slice_hash
from aelpn.core.io import read_netcdf
from aelpn.data import load_crops, make_crops
from aelpn.data.fetch import fetch
from configs import job_slice

SIZE = 8


@pytest.fixture(scope="module")
def fetched(tmp_path_factory):
    """A fetched directory of 500 random 24x20 / 20x24 JPEGs with ids 1..500."""
    root = tmp_path_factory.mktemp("fake")
    raw = write_dir(root / "raw", files("images", size=(24, 20), seed=3))
    return fetch({"sources": [{"path": str(raw)}]}, root / "BSDS500")


@pytest.fixture
def cfg(smoke_config):
    return job_slice(smoke_config, "data", data={"crop_size": SIZE, "train_crops_per_image": 3,
                                                  "max_images": {"train": 5, "val": 4, "test": None}})["data"]


def _crops(fetched, tmp_path, split, cfg, seed=0, name=None):
    path = make_crops(fetched, split, cfg, seed, tmp_path / (name or f"{split}.nc"))
    return read_netcdf(path)


def _pixels(fetched, split, image_id, mode="RGB"):
    with Image.open(fetched / "images" / split / f"{image_id}.jpg") as im:
        a = np.asarray(im.convert(mode))
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def test_train_crops_are_reproducible_per_seed(fetched, tmp_path, cfg):
    a = _crops(fetched, tmp_path, "train", cfg, seed=0, name="a.nc")
    b = _crops(fetched, tmp_path, "train", cfg, seed=0, name="b.nc")
    c = _crops(fetched, tmp_path, "train", cfg, seed=1, name="c.nc")
    assert np.array_equal(a.crops.values, b.crops.values)
    assert np.array_equal(a.top.values, b.top.values) and np.array_equal(a.left.values, b.left.values)
    corners = lambda ds: np.stack([ds.top.values, ds.left.values])  # noqa: E731
    assert not np.array_equal(corners(a), corners(c))
    assert not np.array_equal(a.crops.values, c.crops.values)


def test_train_crops_are_image_regions_of_the_first_images_by_id(fetched, tmp_path, cfg):
    ds = _crops(fetched, tmp_path, "train", cfg)
    ids = ["1", "2", "3", "4", "5"]  # numeric id order ("1", "10", "100", ... in string order)
    assert list(ds.image.values) == [f"{i}_{k}" for i in ids for k in range(3)]
    assert list(ds.image_id.values) == [i for i in ids for _ in range(3)]
    for crop, image_id, top, left in zip(ds.crops.values, ds.image_id.values, ds.top.values, ds.left.values):
        image = _pixels(fetched, "train", image_id)
        assert 0 <= top <= image.shape[1] - SIZE and 0 <= left <= image.shape[2] - SIZE
        assert np.array_equal(crop, image[:, top : top + SIZE, left : left + SIZE])
    assert len({(t, l) for t, l in zip(ds.top.values, ds.left.values)}) > 1


def test_an_images_crops_do_not_depend_on_max_images(fetched, tmp_path, cfg):
    five = _crops(fetched, tmp_path, "train", cfg, name="five.nc")
    cfg["max_images"]["train"] = 2
    two = _crops(fetched, tmp_path, "train", cfg, name="two.nc")
    assert np.array_equal(two.crops.values, five.crops.values[:6])
    assert list(two.image.values) == list(five.image.values[:6])


def test_evaluation_crops_are_centre_crops(fetched, tmp_path, cfg):
    val = _crops(fetched, tmp_path, "val", cfg)
    test = _crops(fetched, tmp_path, "test", cfg)
    assert list(val.image.values) == ["201", "202", "203", "204"] and test.sizes["image"] == 200
    for ds, split in ((val, "val"), (test, "test")):
        assert list(ds.image.values) == list(ds.image_id.values)
        for crop, image_id, top, left in zip(ds.crops.values, ds.image_id.values, ds.top.values, ds.left.values):
            image = _pixels(fetched, split, image_id)
            assert (top, left) == ((image.shape[1] - SIZE) // 2, (image.shape[2] - SIZE) // 2)
            assert np.array_equal(crop, image[:, top : top + SIZE, left : left + SIZE])
    assert {(int(t), int(l)) for t, l in zip(test.top.values, test.left.values)} == {(8, 6), (6, 8)}


def test_netcdf_layout_types_and_attributes(fetched, tmp_path, cfg):
    path = make_crops(fetched, "val", cfg, 7, tmp_path / "val.nc")
    with netCDF4.Dataset(path) as nc:
        assert nc["crops"].dtype == np.uint8 and nc["crops"].dimensions == ("image", "channel", "y", "x")
        assert nc["crops"].filters()["zlib"]
    ds = read_netcdf(path)
    assert ds.crops.dtype == np.uint8 and ds.crops.shape == (4, 3, SIZE, SIZE)
    assert ds.top.dtype.kind == "i" and ds.left.dtype.kind == "i" and ds.image_id.dims == ("image",)
    for name in ("crops", "image", "image_id", "top", "left"):
        assert ds[name].attrs["long_name"] and "units" in ds[name].attrs
    source = json.loads((fetched / "source.json").read_text())
    assert ds.attrs["config_hash"] == slice_hash({"seed": 7, "data": cfg})
    assert json.loads(ds.attrs["config"]) == {"seed": 7, "data": cfg}
    assert ds.attrs["data_checksum"] == source["checksum"] and ds.attrs["data_source"] == source["location"]
    assert (ds.attrs["seed"], ds.attrs["split"], ds.attrs["crop_size"]) == (7, "val", SIZE)
    assert ds.attrs["crop_kind"] == "centre" and ds.attrs["device"] == "cpu"


def test_grayscale_gives_one_luminance_channel(fetched, tmp_path, cfg):
    cfg["grayscale"] = True
    ds = _crops(fetched, tmp_path, "val", cfg)
    assert ds.crops.shape == (4, 1, SIZE, SIZE)
    top, left = int(ds.top[0]), int(ds.left[0])
    expected = _pixels(fetched, "val", "201", mode="L")[:, top : top + SIZE, left : left + SIZE]
    assert np.array_equal(ds.crops.values[0], expected)


def test_load_crops_gives_unit_range_float32_and_ids(fetched, tmp_path, cfg):
    path = make_crops(fetched, "train", cfg, 0, tmp_path / "train.nc")
    x, ids = load_crops(path)
    raw = read_netcdf(path).crops.values
    assert x.dtype == torch.float32 and x.shape == (15, 3, SIZE, SIZE)
    assert torch.equal(x, torch.from_numpy(raw).float() / 255) and 0 <= x.min() and x.max() <= 1
    assert ids == [f"{i}_{k}" for i in "12345" for k in range(3)] and all(type(i) is str for i in ids)


def test_the_configured_training_split_gets_random_crops(fetched, tmp_path, cfg):
    cfg["splits"] = {"train": "val", "validate": "train", "evaluate": "test"}
    val = _crops(fetched, tmp_path, "val", cfg)
    train = _crops(fetched, tmp_path, "train", cfg)
    assert val.attrs["crop_kind"] == "random" and val.sizes["image"] == 12 and val.image.values[0] == "201_0"
    assert train.attrs["crop_kind"] == "centre" and list(train.image.values) == ["1", "2", "3", "4", "5"]


def test_config_errors_name_the_key(fetched, tmp_path, cfg):
    cfg["max_images"]["val"] = 101
    with pytest.raises(ConfigError, match=r"data.max_images.val.*101 > 100"):
        make_crops(fetched, "val", cfg, 0, tmp_path / "val.nc")
    cfg["max_images"]["val"], cfg["crop_size"] = 4, 21
    with pytest.raises(ConfigError, match=r"data.crop_size.*21 exceeds the 20x24 image"):
        make_crops(fetched, "val", cfg, 0, tmp_path / "val.nc")
    assert list(tmp_path.iterdir()) == []


def test_data_stage_on_offline_bsds500_through_the_cli(repo, shared_bsds, smoke_config, tmp_path, monkeypatch):
    monkeypatch.chdir(repo)  # the configured source is ../shared/data/BSDS500, relative to the project root
    assert smoke_config["data"]["sources"][0] == {"path": "../shared/data/BSDS500"}
    job = json.dumps({"seed": smoke_config["seed"], "data": smoke_config["data"]})
    out = tmp_path / "BSDS500"
    assert main(["data", "fetch", "--config", job, "--out", str(out)]) == 0
    assert {s: len(list((out / "images" / s).glob("*.jpg"))) for s in ("train", "val", "test")} == {
        "train": 200,
        "val": 100,
        "test": 200,
    }
    record = json.loads((out / "source.json").read_text())
    shared_sums = (shared_bsds / "SHA256SUMS").read_bytes()
    assert record["location"] == str(shared_bsds) and record["kind"] == "directory"
    assert record["checksum"] == "sha256:" + hashlib.sha256(shared_sums).hexdigest()

    data = smoke_config["data"]
    for split in sorted(set(data["splits"].values())):
        nc = tmp_path / f"{split}.nc"
        assert main(["data", "crops", "--config", job, "--images", str(out), "--split", split, "--out", str(nc)]) == 0
        ds = read_netcdf(nc)
        per_image = data["train_crops_per_image"] if split == data["splits"]["train"] else 1
        size = data["crop_size"]
        assert ds.crops.shape == (data["max_images"][split] * per_image, 3, size, size)
        assert ds.attrs["data_checksum"] == record["checksum"] and ds.attrs["split"] == split
        first = ds.image_id.values[0]
        with Image.open(out / "images" / split / f"{first}.jpg") as im:
            image = np.asarray(im.convert("RGB")).transpose(2, 0, 1)
        top, left = int(ds.top[0]), int(ds.left[0])
        assert np.array_equal(ds.crops.values[0], image[:, top : top + size, left : left + size])


def test_each_training_image_gets_its_own_crop_offsets(fetched, tmp_path, cfg):
    """Random training crops are drawn per image: two images of the same size are not cut at the same corners."""
    ds = _crops(fetched, tmp_path, cfg["splits"]["train"], cfg)
    corners = {}
    for owner, top, left in zip(ds["image_id"].values, ds["top"].values, ds["left"].values):
        corners.setdefault(str(owner), []).append((int(top), int(left)))
    sets = [tuple(v) for v in corners.values()]
    assert len(sets) >= 2 and len(set(sets)) == len(sets)
