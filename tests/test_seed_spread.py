"""The seed-to-seed spread table (``aelpn results seed-spread``): per quantity the value of every training replicate,
their mean and max - min, from the combined datasets' ``seed`` dimension."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from aelpn.cli import main
from aelpn.core.io import DatasetError, write_netcdf
from aelpn.report.seed_spread import seed_spread_table

N = 4


def _noise_sweep(path, levels: list[float]):
    """noise_sweep.nc of len(levels) replicates (seeds 3, 4, ...): lpn's unclipped PSNR at sigma 0.1 is
    levels[r] + a per-image jitter of mean 0; aelpn's is 20 dB."""
    jitter = np.array([-0.3, -0.1, 0.1, 0.3])
    psnr = np.array([[[level + jitter], [20.0 + jitter]] for level in levels])
    ds = xr.Dataset({"psnr_unclipped": (("seed", "variant", "sigma", "image"), psnr)},
                    coords={"seed": np.arange(3, 3 + len(levels), dtype=np.int64), "variant": ["lpn", "aelpn"],
                            "sigma": [0.1], "image": [f"im{i}" for i in range(N)]})
    return write_netcdf(ds, path, float32=False)


def _inverse(path, levels: list[float]):
    psnr = np.array([[[[level] * N, [np.nan] * N]] for level in levels])
    ds = xr.Dataset({"psnr": (("seed", "estimator", "problem", "image"), psnr),
                     "applicable": (("seed", "estimator", "problem"), np.array([[[1, 0]]] * len(levels), np.int8))},
                    coords={"seed": np.arange(3, 3 + len(levels), dtype=np.int64), "estimator": ["unrolled"],
                            "problem": ["blur2", "poisson1"], "image": [f"im{i}" for i in range(N)]})
    return write_netcdf(ds, path, float32=False)


def test_values_per_seed_mean_and_spread(tmp_path):
    noise = _noise_sweep(tmp_path / "noise_sweep.nc", [27.0, 27.5, 26.5])
    inverse = _inverse(tmp_path / "inverse.nc", [25.0, 25.25, 25.5])
    lines = seed_spread_table({"noise_sweep": noise, "inverse": inverse}).splitlines()
    assert lines[0] == "| quantity | seed 3 | seed 4 | seed 5 | mean | spread (max − min) |"
    assert "| noise sweep lpn, σ 0.1 (unclipped dB) | 27 | 27.5 | 26.5 | 27 | 1 |" in lines
    assert "| noise sweep aelpn, σ 0.1 (unclipped dB) | 20 | 20 | 20 | 20 | 0 |" in lines
    assert "| inverse unrolled, blur2 (dB) | 25 | 25.25 | 25.5 | 25.25 | 0.5 |" in lines
    assert not any("poisson1" in line for line in lines)  # not applicable: no row


def test_one_replicate_has_no_spread(tmp_path):
    lines = seed_spread_table({"noise_sweep": _noise_sweep(tmp_path / "n.nc", [27.0])}).splitlines()
    assert lines[2] == "| noise sweep lpn, σ 0.1 (unclipped dB) | 27 | 27 | 0 |"


def test_datasets_of_other_replicates_are_refused(tmp_path):
    noise = _noise_sweep(tmp_path / "noise_sweep.nc", [27.0, 27.5])
    inverse = _inverse(tmp_path / "inverse.nc", [25.0, 25.25, 25.5])
    with pytest.raises(DatasetError, match="training seeds"):
        seed_spread_table({"noise_sweep": noise, "inverse": inverse})


def test_the_command_writes_the_table_and_names_a_file_without_replicates(tmp_path, capsys):
    noise = _noise_sweep(tmp_path / "noise_sweep.nc", [27.0, 27.5])
    out = tmp_path / "tables" / "seed_spread.md"
    assert main(["results", "seed-spread", "--noise-sweep", str(noise), "--out", str(out)]) == 0
    assert out.read_text() == seed_spread_table({"noise_sweep": noise})
    old = tmp_path / "old.nc"
    write_netcdf(xr.open_dataset(noise).load().isel(seed=0), old)
    assert main(["results", "seed-spread", "--noise-sweep", str(old), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{old}: no 'seed' dimension" in err
