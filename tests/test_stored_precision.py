"""Every flag that sets a stored dtype is honoured on disk: each file is written and read back. The netCDF writer's
``float32`` flag (float variables stored as float32 unless False; integers never touched) and the model files,
whose weights come back in the dtype they were saved in."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from aelpn.core.io import read_netcdf, write_netcdf
from aelpn.models import load_model, save_model
from model_helpers import image_model

# 1 + 2^-40 is not a float32: storing it as float32 rounds it to 1
FINE = 1.0 + 2.0**-40


def _dataset() -> xr.Dataset:
    return xr.Dataset({"value": ("image", np.array([FINE, 0.5])), "count": ("image", np.array([3, 4], dtype=np.int16))},
                      coords={"image": ["a", "b"]})


@pytest.mark.parametrize("float32, dtype", [(True, np.float32), (False, np.float64)])
def test_write_netcdf_stores_floats_in_the_requested_precision(tmp_path, float32, dtype):
    ds = read_netcdf(write_netcdf(_dataset(), tmp_path / "x.nc", float32=float32))
    assert ds["value"].dtype == dtype and ds["count"].dtype == np.int16
    assert (float(ds["value"][0]) == FINE) == (not float32)


def test_write_netcdf_defaults_to_float32(tmp_path):
    assert read_netcdf(write_netcdf(_dataset(), tmp_path / "x.nc"))["value"].dtype == np.float32


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_model_files_keep_the_dtype_of_their_weights(tmp_path, dtype):
    model = image_model("aelpn", channels=1, size=8, seed=2).to(dtype)
    loaded = load_model(save_model(model, tmp_path / "model.pt"), device="cpu")
    assert {p.dtype for p in loaded.parameters()} == {dtype}
    x = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0), dtype=dtype)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
