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
from aelpn.training.log import Field, fields, write_log
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


def test_training_logs_store_each_field_in_its_declared_dtype(tmp_path):
    """Integer fields and rollback records keep their dtype (Field.dtype); float fields follow write_netcdf."""
    spec = fields(phase=Field("training phase", dtype="int8"), gamma=Field("gamma"))
    log = {"loss": [1.0, 0.5], "phase": [0, 1], "gamma": [np.nan, 0.1], "lr": [1e-3, 1e-3], "seconds": [0.1, 0.1]}
    rollback = {"step": 2, "loss": 9.0, "to_step": 1, "lr_scale": 0.5, "lr": 5e-4}
    ds = read_netcdf(write_log(log, spec, tmp_path / "log.nc", "log", {"seed": 0}, "cpu", {}, [rollback]))
    assert ds["phase"].dtype == np.int8 and ds["loss"].dtype == np.float32
    assert ds["rollback_step"].dtype == ds["rollback_to_step"].dtype == np.int64
    assert list(ds["phase"].values) == [0, 1] and int(ds["rollback_to_step"][0]) == 1
