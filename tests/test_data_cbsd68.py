"""CBSD68: the fixed list resolves to 68 distinct images of the BSDS500 validation split, and no crop of the
training or validation data comes from one of them (on the offline BSDS500 copy)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from aelpn.core.io import read_netcdf
from aelpn.data import make_crops
from aelpn.data.cbsd68 import cbsd68_files, cbsd68_ids, held_out
from aelpn.data.errors import DataError
from aelpn.data.fetch import fetch


@pytest.fixture(scope="module")
def fetched(tmp_path_factory):
    """The offline BSDS500 copy, fetched and verified against its SHA256SUMS as the data stage does."""
    from conftest import SHARED_BSDS

    if not (SHARED_BSDS / "images" / "val").is_dir():
        pytest.fail(f"offline BSDS500 copy not found at {SHARED_BSDS}; see ../shared/data/README.md")
    return fetch({"sources": [{"path": str(SHARED_BSDS)}]}, tmp_path_factory.mktemp("bsds") / "BSDS500")


def test_cbsd68_ids_resolve_to_68_distinct_validation_images(fetched):
    paths = cbsd68_files(fetched)
    assert len(paths) == 68 and len(set(paths)) == 68
    assert all(p.parent == fetched / "images" / "val" for p in paths)
    assert len({hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}) == 68


def test_missing_cbsd68_image_is_named(fetched, tmp_path):
    (tmp_path / "images" / "val").mkdir(parents=True)
    with pytest.raises(DataError, match=cbsd68_ids()[0]):
        cbsd68_files(tmp_path)


def test_held_out_drops_exactly_the_cbsd68_images():
    ids = cbsd68_ids()
    paths = [Path("images/val") / f"{i}.jpg" for i in (*ids[:3], "1", "2")]
    assert [p.stem for p in held_out(paths)] == ["1", "2"]


@pytest.mark.parametrize("split", ["train", "val"])
def test_no_cbsd68_image_in_training_or_validation_crops(fetched, tmp_path, smoke_config, split):
    """Every training and validation crop at any scale comes from an image outside CBSD68 (max_images only
    shortens the list): the validation split keeps the 32 images of BSDS500 val outside CBSD68."""
    data = {**smoke_config["data"], "crop_size": 8, "train_crops_per_image": 1,
            "max_images": {"train": None, "val": None, "test": None}}
    ds = read_netcdf(make_crops(fetched, split, data, 0, tmp_path / f"{split}.nc"))
    owners = {str(i) for i in ds["image_id"].values}
    assert not owners & set(cbsd68_ids())
    assert len(owners) == {"train": 200, "val": 32}[split]
