"""Combining per-job files: completeness against the config, duplicates, NaN, provenance of the parts."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
import xarray as xr

from aelpn.core import provenance
from aelpn.core.combine import CombineError, combine_replicates, combine_runs
from aelpn.core.io import read_netcdf, write_netcdf
from aelpn.sweeps import evaluate as sweeps
from aelpn.sweeps.combine import combine_sweep
from aelpn.training.proxnets import combine_logs
from configs import job_slice

CPU = torch.device("cpu")


def _cfg(smoke_config, variants=("lpn", "aelpn"), seeds=(0,)):
    cfg = job_slice(smoke_config, "seeds", "compute", "model", "noise_sweep", "affine_sweep", "figures",
                    model={"variants": list(variants)})
    return dict(cfg, seeds=list(seeds))


def _write_variant(tmp_path, kind, cfg, variant, factor, git="v1", seed=0):
    """The sweep file of ``variant`` in the replicate of training seed ``seed``, where the workflow puts it."""
    x = 0.2 + 0.6 * torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    run = sweeps.noise_sweep if kind == "noise_sweep" else sweeps.affine_sweep
    ds = sweeps.per_variant(run(lambda y: factor * y, x, ["a", "b", "c"], cfg, CPU), kind, variant)
    ds.attrs = provenance.attrs("part", dict(cfg, seeds=[seed]), "cpu")
    ds.attrs["git_describe"] = git
    path = tmp_path / kind / f"seed{seed}" / f"{variant}.nc"
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
    assert back[main].dims == ("seed", *dims)  # the replicate dim, even with one replicate
    assert list(back["variant"].values) == ["lpn", "aelpn"]  # not truncated to the first file's string width
    lpn = read_netcdf(paths[1])
    np.testing.assert_array_equal(back[main].sel(seed=0, variant="lpn").values, lpn[main].isel(variant=0).values)
    if kind == "noise_sweep":  # variant-independent inputs are stored once per replicate
        assert "variant" not in back["noisy"].dims and back["noisy"].dims[0] == "seed"
        assert back["denoised"].dims[:2] == ("seed", "variant")
    parts = json.loads(back.attrs["parts"])
    assert [(p["seed"], p["variant"]) for p in parts] == [(0, "lpn"), (0, "aelpn")] and parts[0]["git_describe"] == "v1"
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
    cfg = {"seed": 0, "seeds": [0], "model": dict(smoke_config["model"], variants=["lpn", "scale"]),
           "train": smoke_config["train"]}
    inputs = []
    for v in ["scale", "lpn"]:
        ds = xr.Dataset({"loss": ("step", [1.0, 0.5]), "val_psnr": ("step", [np.nan, 20.0]),
                         "gamma": ("step", [np.nan, 0.1]), "lr": ("step", [1e-3, 1e-3])}, coords={"step": [1, 2]})
        for name in ds.variables:
            ds[name].attrs.update(long_name=name, units="1")
        ds.attrs.update(variant=v, training_seeds="[0]")
        inputs.append(write_netcdf(ds, tmp_path / "seed0" / v / "train_log.nc"))
    ds = combine_logs(cfg, inputs, tmp_path / "training.nc")
    assert list(ds["variant"].values) == ["lpn", "scale"] and ds["loss"].dims == ("seed", "variant", "step")
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
    cfg = {"seed": 0, "seeds": [0], "model": dict(smoke_config["model"], variants=["lpn", "scale"]),
           "train": smoke_config["train"]}
    inputs = []
    for v, coordinate in [("lpn", True), ("scale", False)]:
        ds = xr.Dataset({"loss": ("step", [1.0, 0.5]), "val_psnr": ("step", [np.nan, 20.0]),
                         "gamma": ("step", [np.nan, 0.1]), "lr": ("step", [1e-3, 1e-3]),
                         "rollback_step": ("rollback", np.zeros(0, dtype=np.int64))}, coords={"step": [1, 2]})
        if coordinate:
            ds = ds.assign_coords(rollback=("rollback", np.zeros(0, dtype=np.int64)))
        for name in ds.variables:
            ds[name].attrs.update(long_name=name, units="1")
        ds.attrs.update(variant=v, training_seeds="[0]")
        inputs.append(write_netcdf(ds, tmp_path / "seed0" / v / "train_log.nc"))
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
    cfg = {"seed": 0, "seeds": [0], "model": dict(smoke_config["model"], variants=["lpn", "scale"]),
           "train": smoke_config["train"]}
    inputs = []
    for v, loss in [("lpn", [1.0, 0.5, 0.4]), ("scale", [1.0, np.nan, 0.4])]:
        ds = xr.Dataset({"loss": ("step", loss), "val_psnr": ("step", [np.nan, 20.0, np.nan]),
                         "gamma": ("step", [np.nan, 0.1, 0.05]), "lr": ("step", [1e-3] * 3)},
                        coords={"step": [1, 2, 3]})
        ds.attrs.update(variant=v, training_seeds="[0]")
        inputs.append(write_netcdf(ds, tmp_path / "seed0" / v / "train_log.nc"))
    with pytest.raises(CombineError, match="variable 'loss' holds NaN \\(in variant scale\\)"):
        combine_logs(cfg, inputs, tmp_path / "training.nc")
    ds = read_netcdf(inputs[1])
    ds["loss"][1] = 0.45
    write_netcdf(ds, inputs[1])
    combined = combine_logs(cfg, inputs, tmp_path / "training.nc")
    assert int(combined["val_psnr"].isnull().sum()) == 4 and int(combined["gamma"].isnull().sum()) == 2


def test_replicates_stack_along_a_leading_seed_dim_in_the_config_order(smoke_config, tmp_path):
    """Each replicate's files combine as one replicate; the replicates lie along ``seed`` (int64, the config's order
    of ``seeds``) and each holds its own files' values."""
    cfg = _cfg(smoke_config, seeds=(5, 0))
    paths = [_write_variant(tmp_path, "noise_sweep", cfg, v, f, seed=s)
             for s, scale in [(0, 1.0), (5, 0.5)] for v, f in [("lpn", scale), ("aelpn", 0.9 * scale)]]
    ds = combine_sweep("noise_sweep", cfg, paths, tmp_path / "out.nc")
    back = read_netcdf(tmp_path / "out.nc")
    assert back["psnr"].dims == ("seed", "variant", "sigma", "image")
    assert back["seed"].dtype == np.int64 and list(back["seed"].values) == [5, 0]
    assert back["seed"].attrs["long_name"] == "training seed of the replicate"
    for seed, path in [(0, paths[0]), (5, paths[2])]:
        np.testing.assert_array_equal(back["psnr"].sel(seed=seed, variant="lpn").values,
                                      read_netcdf(path)["psnr"].isel(variant=0).values)
    assert not np.array_equal(ds["denoised"].sel(seed=0).values, ds["denoised"].sel(seed=5).values)
    assert [(p["seed"], p["variant"]) for p in json.loads(back.attrs["parts"])] == [
        (5, "lpn"), (5, "aelpn"), (0, "lpn"), (0, "aelpn")]
    assert json.loads(back.attrs["training_seeds"]) == [5, 0]


def test_a_file_is_known_by_the_replicate_it_records(smoke_config, tmp_path):
    """A replicate's file names its training seed; one copied into another replicate's folder, one without the
    attribute, a missing replicate and a replicate the config does not list are errors naming them."""
    cfg = _cfg(smoke_config, seeds=(0, 5))
    paths = [_write_variant(tmp_path, "noise_sweep", cfg, v, 1.0, seed=s) for s in (0, 5) for v in ("lpn", "aelpn")]
    out = tmp_path / "out.nc"
    with pytest.raises(CombineError, match=r"missing replicate\(s\) of training seed 5 \(expected seeds 0, 5\)"):
        combine_sweep("noise_sweep", cfg, paths[:2], out)
    with pytest.raises(CombineError, match=r"holds the replicate of training seed 5, not one of the config's seeds \[0\]"):
        combine_sweep("noise_sweep", dict(cfg, seeds=[0]), paths, out)
    shutil.copy(paths[0], paths[2])
    with pytest.raises(CombineError, match="holds the replicate of training seed 0, but lies where the replicate of "
                                           "seed 5 belongs"):
        combine_sweep("noise_sweep", cfg, paths, out)
    outside = tmp_path / "lpn.nc"
    shutil.copy(paths[0], outside)
    with pytest.raises(CombineError, match="lies outside a seed{s} folder"):
        combine_sweep("noise_sweep", dict(cfg, seeds=[0]), [outside, paths[1]], out)
    unlabelled = read_netcdf(paths[1])
    del unlabelled.attrs["training_seeds"]
    write_netcdf(unlabelled, paths[1])
    with pytest.raises(CombineError, match="does not say which replicate it holds"):
        combine_sweep("noise_sweep", dict(cfg, seeds=[0]), paths[:2], out)
    assert not out.exists()


def _write_replicate(tmp_path, seed, values, title="aelpn 1-D split-normal study", folder=None):
    ds = xr.Dataset({"error": (("variant", "x"), np.asarray(values, dtype=np.float64))},
                    coords={"variant": ["lpn", "scale"], "x": [0.0, 1.0, 2.0]})
    ds["error"].attrs.update(long_name="error", units="1")
    ds.attrs.update(provenance.attrs(title, {"seed": 0, "seeds": [seed]}, "cpu"), extra="kept")
    return write_netcdf(ds, tmp_path / "prox1d" / f"seed{seed if folder is None else folder}.nc", float32=False)


def test_one_file_per_replicate_combines_along_seed(tmp_path):
    """``aelpn combine replicates``: one whole dataset per replicate, stacked along seed as stored (float64 kept),
    the attributes all replicates agree on kept; a missing or duplicated replicate or files of different datasets
    are errors."""
    a = _write_replicate(tmp_path, 0, [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    b = _write_replicate(tmp_path, 5, [[1.1, 1.2, 1.3], [1.4, 1.5, 1.6]])
    cfg = {"seed": 0, "seeds": [0, 5]}
    out = tmp_path / "prox1d.nc"
    combine_replicates(cfg, [b, a], out)
    back = read_netcdf(out)
    assert back["error"].dims == ("seed", "variant", "x") and back["error"].dtype == np.float64
    assert list(back["seed"].values) == [0, 5] and back["seed"].dtype == np.int64
    np.testing.assert_array_equal(back["error"].sel(seed=5).values, read_netcdf(b)["error"].values)
    assert back.attrs["title"] == "aelpn 1-D split-normal study" and back.attrs["extra"] == "kept"
    assert [p["seed"] for p in json.loads(back.attrs["parts"])] == [0, 5]
    with pytest.raises(CombineError, match=r"missing replicate\(s\) of training seed 5"):
        combine_replicates(cfg, [a], tmp_path / "x.nc")
    copy = tmp_path / "again" / "seed0.nc"
    copy.parent.mkdir()
    shutil.copy(a, copy)
    with pytest.raises(CombineError, match="duplicate replicate of training seed 0"):
        combine_replicates(cfg, [a, b, copy], tmp_path / "x.nc")
    other = _write_replicate(tmp_path, 5, [[1.1, 1.2, 1.3], [1.4, 1.5, 1.6]], title="aelpn Jacobian asymmetry")
    with pytest.raises(CombineError, match="the files hold different datasets"):
        combine_replicates(cfg, [a, other], tmp_path / "x.nc")


def test_a_coordinate_of_the_trained_networks_gets_the_seed_dim_where_the_replicates_differ(tmp_path):
    """A non-index coordinate that the replicates agree on (the config's) stays as it is; one they differ on (a
    property of each trained network) gets the seed dim; differing index coordinates are an error."""
    def write(seed, flag, x=(0.0, 1.0)):
        ds = xr.Dataset({"error": (("variant", "x"), np.full((2, 2), float(seed)))},
                        coords={"variant": ["lpn", "scale"], "x": list(x), "label": ("variant", ["a", "b"]),
                                "proper": ("variant", np.array(flag, dtype=np.int8))})
        ds.attrs.update(provenance.attrs("t", {"seed": 0, "seeds": [seed]}, "cpu"))
        return write_netcdf(ds, tmp_path / f"seed{seed}" / "part.nc")

    cfg = {"seed": 0, "seeds": [0, 5]}
    ds = combine_replicates(cfg, [write(0, [1, 0]), write(5, [1, 1])], tmp_path / "out.nc")
    assert ds["label"].dims == ("variant",) and ds["proper"].dims == ("seed", "variant")
    assert ds["proper"].sel(seed=5).values.tolist() == [1, 1]
    with pytest.raises(CombineError, match="the replicates of training seeds 0, 5 do not align"):
        combine_replicates(cfg, [write(0, [1, 0]), write(5, [1, 0], x=(0.0, 2.0))], tmp_path / "out.nc")
