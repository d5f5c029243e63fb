"""Combining per-job files: completeness against the config, duplicates, NaN, provenance of the parts."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
import xarray as xr

from aelpn.core import provenance
from aelpn.core.combine import CombineError, combine_runs
from aelpn.core.io import read_netcdf, write_netcdf
from aelpn.sweeps import evaluate as sweeps
from aelpn.sweeps.combine import combine_sweep
from aelpn.training.proxnets import combine_logs
from configs import job_slice

CPU = torch.device("cpu")


def _cfg(smoke_config, variants=("lpn", "aelpn")):
    return job_slice(smoke_config, "compute", "model", "noise_sweep", "affine_sweep", "figures",
                     model={"variants": list(variants)})


def _write_variant(tmp_path, kind, cfg, variant, factor, git="v1"):
    x = 0.2 + 0.6 * torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    run = sweeps.noise_sweep if kind == "noise_sweep" else sweeps.affine_sweep
    ds = sweeps.per_variant(run(lambda y: factor * y, x, ["a", "b", "c"], cfg, CPU), kind, variant)
    ds.attrs = provenance.attrs("part", cfg, "cpu")
    ds.attrs["git_describe"] = git
    path = tmp_path / kind / f"{variant}.nc"
    write_netcdf(ds, path)
    return path


@pytest.mark.parametrize("kind", ["noise_sweep", "affine_sweep"])
def test_combine_orders_variants_as_the_config(smoke_config, tmp_path, kind):
    cfg = _cfg(smoke_config)
    paths = [_write_variant(tmp_path, kind, cfg, v, f) for v, f in [("aelpn", 0.9), ("lpn", 1.0)]]
    out = tmp_path / f"{kind}.nc"
    ds = combine_sweep(kind, cfg, [str(p) for p in paths], out)
    assert list(ds["variant"].values) == ["lpn", "aelpn"]
    back = read_netcdf(out)
    main = "psnr" if kind == "noise_sweep" else "denoising_psnr"
    dims = ("variant", "sigma", "image") if kind == "noise_sweep" else ("variant", "scale", "offset", "image")
    assert back[main].dims == dims
    assert list(back["variant"].values) == ["lpn", "aelpn"]  # not truncated to the first file's string width
    lpn = read_netcdf(paths[1])
    np.testing.assert_array_equal(back[main].sel(variant="lpn").values, lpn[main].isel(variant=0).values)
    if kind == "noise_sweep":  # variant-independent inputs are stored once
        assert "variant" not in back["noisy"].dims and back["denoised"].dims[0] == "variant"
    parts = json.loads(back.attrs["parts"])
    assert [p["variant"] for p in parts] == ["lpn", "aelpn"] and parts[0]["git_describe"] == "v1"
    assert back.attrs["config_hash"] == provenance.attrs("", cfg, "cpu")["config_hash"]


def test_missing_variant_is_an_error_naming_it(smoke_config, tmp_path):
    cfg = _cfg(smoke_config, variants=("lpn", "shift", "aelpn"))
    paths = [_write_variant(tmp_path, "noise_sweep", cfg, v, 1.0) for v in ("lpn", "aelpn")]
    with pytest.raises(CombineError, match=r"missing variant run\(s\): shift"):
        combine_sweep("noise_sweep", cfg, paths, tmp_path / "out.nc")
    assert not (tmp_path / "out.nc").exists()


def test_duplicate_and_unexpected_runs_are_errors(smoke_config, tmp_path):
    cfg = _cfg(smoke_config)
    lpn = _write_variant(tmp_path, "noise_sweep", cfg, "lpn", 1.0)
    aelpn = _write_variant(tmp_path, "noise_sweep", cfg, "aelpn", 1.0)
    copy = tmp_path / "copy.nc"
    copy.write_bytes(lpn.read_bytes())
    with pytest.raises(CombineError, match="duplicate variant 'lpn'"):
        combine_runs([lpn, aelpn, copy], "variant", ["lpn", "aelpn"])
    with pytest.raises(CombineError, match="unexpected variant run\\(s\\) not in the config: aelpn"):
        combine_runs([lpn, aelpn], "variant", ["lpn"])


def test_grid_must_match_the_config(smoke_config, tmp_path):
    cfg = _cfg(smoke_config)
    paths = [_write_variant(tmp_path, "noise_sweep", cfg, v, 1.0) for v in ("lpn", "aelpn")]
    wider = dict(cfg, noise_sweep=dict(cfg["noise_sweep"], sigmas=[0.1, 0.3, 0.5]))
    with pytest.raises(CombineError, match="'sigma' is \\[0.1, 0.3\\], the config expects \\[0.1, 0.3, 0.5\\]"):
        combine_sweep("noise_sweep", wider, paths, tmp_path / "out.nc")


def test_nan_is_an_error_unless_allowed(tmp_path):
    paths = []
    for i, v in enumerate(["a", "b"]):
        ds = xr.Dataset({"loss": ("step", [1.0, np.nan if i else 2.0])}, coords={"step": [1, 2]})
        paths.append(write_netcdf(ds, tmp_path / f"{v}.nc"))
    with pytest.raises(CombineError, match="variable 'loss' holds NaN \\(in run b\\)"):
        combine_runs(paths, "run", ["a", "b"], labels=["a", "b"])
    ds = combine_runs(paths, "run", ["a", "b"], labels=["a", "b"], nan_ok=["loss"])
    assert ds["loss"].dims == ("run", "step") and list(ds["run"].values) == ["a", "b"]


def test_misaligned_runs_and_mislabelled_files_are_errors(tmp_path):
    a = write_netcdf(xr.Dataset({"loss": ("step", [1.0, 2.0])}, coords={"step": [1, 2]}), tmp_path / "a.nc")
    b = write_netcdf(xr.Dataset({"loss": ("step", [1.0, 2.0])}, coords={"step": [1, 3]}), tmp_path / "b.nc")
    with pytest.raises(CombineError, match="'step' coordinate differs"):
        combine_runs([a, b], "run", ["a", "b"], labels=["a", "b"])
    c = write_netcdf(xr.Dataset({"loss": (("run", "step"), [[1.0, 2.0]])}, coords={"run": ["x"], "step": [1, 2]}),
                     tmp_path / "c.nc")
    with pytest.raises(CombineError, match="holds run 'x' but was given as the file of run 'a'"):
        combine_runs([c], "run", ["a"], labels=["a"])
    with pytest.raises(CombineError, match="missing.nc: file not found"):
        combine_runs([tmp_path / "missing.nc"], "run", ["a"], labels=["a"])


def test_training_logs_are_known_by_the_variant_they_record(smoke_config, tmp_path):
    """Each log is labelled by its own ``variant`` attribute; one that disagrees with its place, or has none, is
    refused (an LPN log copied over the scale-only one is not combined as scale-only)."""
    cfg = {"seed": 0, "model": dict(smoke_config["model"], variants=["lpn", "scale"]), "train": smoke_config["train"]}
    inputs = []
    for v in ["scale", "lpn"]:
        ds = xr.Dataset({"loss": ("step", [1.0, 0.5]), "val_psnr": ("step", [np.nan, 20.0]),
                         "gamma": ("step", [np.nan, 0.1]), "lr": ("step", [1e-3, 1e-3])}, coords={"step": [1, 2]})
        for name in ds.variables:
            ds[name].attrs.update(long_name=name, units="1")
        ds.attrs["variant"] = v
        inputs.append(write_netcdf(ds, tmp_path / v / "train_log.nc"))
    ds = combine_logs(cfg, inputs, tmp_path / "training.nc")
    assert list(ds["variant"].values) == ["lpn", "scale"] and ds["loss"].dims == ("variant", "step")
    shutil.copy(inputs[1], inputs[0])
    with pytest.raises(CombineError, match="holds variant 'lpn', but lies where the log of 'scale' belongs"):
        combine_logs(cfg, inputs, tmp_path / "training.nc")
    unlabelled = read_netcdf(inputs[1])
    del unlabelled.attrs["variant"]
    write_netcdf(unlabelled, inputs[0])
    with pytest.raises(CombineError, match="does not say which variant it holds"):
        combine_logs(cfg, inputs, tmp_path / "training.nc")


def test_training_logs_with_and_without_a_rollback_coordinate_combine(smoke_config, tmp_path):
    """A log written before the rollback dim had a coordinate combines with a newer one (a rerun that retrains
    only some variants mixes them)."""
    cfg = {"seed": 0, "model": dict(smoke_config["model"], variants=["lpn", "scale"]), "train": smoke_config["train"]}
    inputs = []
    for v, coordinate in [("lpn", True), ("scale", False)]:
        ds = xr.Dataset({"loss": ("step", [1.0, 0.5]), "val_psnr": ("step", [np.nan, 20.0]),
                         "gamma": ("step", [np.nan, 0.1]), "lr": ("step", [1e-3, 1e-3]),
                         "rollback_step": ("rollback", np.zeros(0, dtype=np.int64))}, coords={"step": [1, 2]})
        if coordinate:
            ds = ds.assign_coords(rollback=("rollback", np.zeros(0, dtype=np.int64)))
        for name in ds.variables:
            ds[name].attrs.update(long_name=name, units="1")
        ds.attrs["variant"] = v
        inputs.append(write_netcdf(ds, tmp_path / v / "train_log.nc"))
    ds = combine_logs(cfg, inputs, tmp_path / "training.nc")
    assert "rollback" not in ds.dims and list(ds["variant"].values) == ["lpn", "scale"]


@pytest.mark.parametrize("kind, name", [("noise_sweep", "psnr"), ("affine_sweep", "denoising_psnr")])
def test_sweep_combine_refuses_nan_on_one_image_of_a_variant(smoke_config, tmp_path, kind, name):
    """Every variant runs on every image: one NaN image (not only an all-NaN variant) is refused."""
    cfg = _cfg(smoke_config)
    paths = [_write_variant(tmp_path, kind, cfg, v, f) for v, f in [("lpn", 1.0), ("aelpn", 0.9)]]
    ds = read_netcdf(paths[1])
    ds[name][..., 0] = np.nan
    assert not bool(ds[name].isnull().all())
    write_netcdf(ds, paths[1])
    with pytest.raises(CombineError, match=f"variable '{name}' holds NaN \\(in variant aelpn\\)"):
        combine_sweep(kind, cfg, [str(p) for p in paths], tmp_path / "out.nc")


def test_training_log_combine_refuses_one_nan_loss_and_keeps_the_unvalidated_steps_nan(smoke_config, tmp_path):
    """A training log's loss is finite at every step; val_psnr and gamma are NaN by design on the steps without
    validation and during pre-training (LOG_NAN_OK)."""
    cfg = {"seed": 0, "model": dict(smoke_config["model"], variants=["lpn", "scale"]), "train": smoke_config["train"]}
    inputs = []
    for v, loss in [("lpn", [1.0, 0.5, 0.4]), ("scale", [1.0, np.nan, 0.4])]:
        ds = xr.Dataset({"loss": ("step", loss), "val_psnr": ("step", [np.nan, 20.0, np.nan]),
                         "gamma": ("step", [np.nan, 0.1, 0.05]), "lr": ("step", [1e-3] * 3)},
                        coords={"step": [1, 2, 3]})
        ds.attrs["variant"] = v
        inputs.append(write_netcdf(ds, tmp_path / v / "train_log.nc"))
    with pytest.raises(CombineError, match="variable 'loss' holds NaN \\(in variant scale\\)"):
        combine_logs(cfg, inputs, tmp_path / "training.nc")
    ds = read_netcdf(inputs[1])
    ds["loss"][1] = 0.45
    write_netcdf(ds, inputs[1])
    combined = combine_logs(cfg, inputs, tmp_path / "training.nc")
    assert int(combined["val_psnr"].isnull().sum()) == 4 and int(combined["gamma"].isnull().sum()) == 2
