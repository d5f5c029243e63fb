"""Datasets that behave in xarray and CF: names no xr.Dataset attribute shadows, counts and flags stored as
integers, and claims.nc's per-claim units as an auxiliary coordinate."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from aelpn.claims import ClaimData
from aelpn.claims.definitions import claims
from aelpn.claims.evaluate import run_claims
from aelpn.core.io import NETCDF_ENGINE, read_netcdf, write_netcdf
from sel_keywords import assert_selectable, shadowed


@pytest.mark.parametrize("name", ["shift", "round", "mean", "sizes"])
def test_a_coordinate_named_like_a_dataset_attribute_is_refused(name):
    ds = xr.Dataset({"v": ((name,), [1.0, 2.0])}, coords={name: [0, 1]})
    assert shadowed(ds) == [name]
    with pytest.raises(AssertionError, match="attributes of xr.Dataset"):
        assert_selectable(ds, "probe")


def test_counts_and_flags_are_integers_on_disk_and_nan_where_nothing_ran(tmp_path):
    ds = xr.Dataset({"iterations": ("run", [30.0, np.nan, 7.0]), "diverged": ("run", [0.0, np.nan, 1.0]),
                     "psnr": ("run", [20.5, np.nan, 21.0])})
    path = write_netcdf(ds, tmp_path / "d.nc", integers={"iterations": "int32", "diverged": "int8"})
    with xr.open_dataset(path, engine=NETCDF_ENGINE, mask_and_scale=False) as raw:
        assert raw["iterations"].dtype == np.int32 and raw["diverged"].dtype == np.int8
        assert raw["psnr"].dtype == np.float32
        assert raw["iterations"].values.tolist() == [30, -1, 7] and raw["diverged"].attrs["_FillValue"] == -1
    back = read_netcdf(path)
    np.testing.assert_array_equal(back["iterations"].values, [30.0, np.nan, 7.0])
    np.testing.assert_array_equal(back["diverged"].values, [0.0, np.nan, 1.0])


def test_a_count_that_is_not_whole_is_refused(tmp_path):
    ds = xr.Dataset({"iterations": ("run", [30.0, 2.5])})
    with pytest.raises(ValueError, match="'iterations' is stored as int32 but holds values that are not whole"):
        write_netcdf(ds, tmp_path / "d.nc", integers={"iterations": "int32"})


def test_claims_numbers_carry_cf_units_and_the_per_claim_unit_as_a_coordinate(smoke_config, tmp_path):
    out = tmp_path / "claims.nc"
    run_claims(smoke_config, ClaimData(), str(out))
    ds = read_netcdf(out)
    assert_selectable(ds, out)
    assert "units" in ds.coords and ds["units"].dims == ("claim",)
    assert ds["units"].values.tolist() == [claim.units for claim in claims(smoke_config)]
    with xr.open_dataset(out, engine=NETCDF_ENGINE, decode_coords=False) as raw:
        for name in ("value", "lower", "upper", "ci_low", "ci_high"):
            assert raw[name].attrs["units"] == "1", name
            assert "units" in raw[name].attrs["coordinates"].split(), name
