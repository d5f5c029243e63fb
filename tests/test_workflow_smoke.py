"""End-to-end: the whole DAG on the smoke config from nothing (the session fixture ``smoke_run``: two replicates,
training seeds 0 = the master seed and 5), then every metrics file once more from nothing for replicate 5 alone:
identical metrics on CPU (wall-clock timings excluded); replicate 0 is the single-seed computation bit for bit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sel_keywords import assert_selectable
from workflow_utils import snakemake, write_config

pytestmark = pytest.mark.slow

METRICS = ["noise_sweep", "affine_sweep", "prox1d", "training", "inverse", "adaptivity", "blind", "cbsd68"]
REPLICATED = [*METRICS, "jacobian"]  # every combined dataset: a leading dim seed
NOTEBOOKS = Path(__file__).resolve().parents[1] / "workflow" / "notebooks"


def _open(path: Path) -> xr.Dataset:
    with xr.open_dataset(path, engine="netcdf4") as ds:
        return ds.load()


def test_every_output_exists_and_nothing_is_left_to_do(smoke_run):
    cfg, workdir, configfile = smoke_run
    out = snakemake(workdir, configfile, "-n")
    assert out.returncode == 0
    assert "Nothing to be done" in out.stdout + out.stderr
    expected = _dag_figures(workdir, configfile)
    assert {Path(f).stem for f in expected} == {nb.stem for nb in NOTEBOOKS.glob("*.ipynb")}, \
        "every figure notebook is rendered by the DAG"
    rendered = {str(p.relative_to(workdir)) for p in (workdir / "results" / "figures").iterdir()}
    assert rendered == {f for f in expected if f.startswith("results/figures/")}
    for name in {Path(f).stem for f in expected}:
        assert (workdir / "results" / "figures" / f"{name}.pdf").stat().st_size > 1000, name
        assert (workdir / "results" / "figures" / f"{name}.png").stat().st_size > 1000, name
        assert (workdir / "results" / "notebooks" / f"{name}.ipynb").is_file(), name


def _dag_figures(workdir: Path, configfile: Path) -> set[str]:
    """The figure PDFs and PNGs and the executed notebooks the DAG of ``configfile`` produces (its summary)."""
    out = snakemake(workdir, configfile, "--summary")
    assert out.returncode == 0, out.stderr[-3000:]
    files = {line.split("\t")[0] for line in out.stdout.splitlines()[1:]}
    figures = {f for f in files if f.startswith(("results/figures/", "results/notebooks/"))}
    assert figures, out.stdout[-3000:]
    return figures


def test_metric_files_have_expected_dims_and_finite_values(smoke_run):
    cfg, workdir, _ = smoke_run
    variants = cfg["model"]["variants"]
    noise = _open(workdir / "results/metrics/noise_sweep.nc")
    assert list(noise["variant"].values) == variants
    assert np.allclose(noise["sigma"].values, cfg["noise_sweep"]["sigmas"])
    assert noise["psnr"].dims == ("seed", "variant", "sigma", "image")
    affine = _open(workdir / "results/metrics/affine_sweep.nc")
    assert affine["denoising_psnr"].dims == ("seed", "variant", "scale", "offset", "image")
    assert np.allclose(affine["scale"].values, cfg["affine_sweep"]["scales"])
    assert np.allclose(affine["offset"].values, cfg["affine_sweep"]["shifts"])
    prox1d = _open(workdir / "results/metrics/prox1d.nc")
    assert list(prox1d["variant"].values) == cfg["prox1d"]["variants"]
    cbsd68 = _open(workdir / "results/metrics/cbsd68.nc")
    assert list(cbsd68["estimator"].values) == ["noisy", *variants, "denoiser"]
    assert cbsd68["psnr"].dims == ("seed", "estimator", "sigma", "image")
    assert cbsd68.sizes["image"] == cfg["cbsd68"]["images"]
    for name in METRICS:
        ds = _open(workdir / f"results/metrics/{name}.nc")
        assert ds.attrs["Conventions"].startswith("CF-")
        for var in ds.data_vars.values():
            assert "long_name" in var.attrs and "units" in var.attrs, var.name
            if var.dtype.kind == "f" and name not in ("training", "inverse", "blind") and var.name != "regularizer":
                assert np.isfinite(var.values).all(), (name, var.name)
    # f(0) = 0 for the homogeneous model, so its regularizer can be inverted at least around 0; the smoke-trained
    # 1-D LPN may have a range that misses the grid (NaN where the inversion fails, as documented).
    assert np.isfinite(prox1d["regularizer"].sel(variant="scale")).any("x").all(), "1-D regularizer inversion failed"
    inverse = _open(workdir / "results/metrics/inverse.nc")
    assert inverse["psnr"].dims == ("seed", "estimator", "problem", "image")
    ran = inverse["applicable"] == 1
    assert ran.any()
    for metric in ("psnr", "ssim", "seconds"):
        assert np.isfinite(inverse[metric].where(ran, 0.0)).all(), metric
        assert inverse[metric].where(~ran).isnull().all(), metric
    blind = _open(workdir / "results/metrics/blind.nc")
    assert list(blind["prior"].values) == [*cfg["blind"]["variants"], "quadratic_gradient"]
    assert blind["objective"].dims == ("seed", "prior", "theta_grid", "image")
    estimated = blind["blind"] == 1
    for name in ("objective", "theta_argmin", "alternating_objective", "psnr", "ssim", "theta_true"):
        assert np.isfinite(blind[name]).all(), name
    assert np.isfinite(blind["theta_estimate"].where(estimated, 0.0)).all()
    assert blind["theta_estimate"].where(~estimated).isnull().all()


def test_every_dataset_selects_each_dimension_by_keyword(smoke_run):
    """Every netCDF the pipeline writes (crops, training logs, per-job files, metrics): ``ds.sel(<dim>=<label>)``
    drops the dim, i.e. no dimension or coordinate is named like a keyword of ``sel`` (method, tolerance, ...)."""
    _, workdir, _ = smoke_run
    paths = sorted((workdir / "results").rglob("*.nc"))
    assert {p.stem for p in paths} >= set(METRICS)
    for path in paths:
        assert_selectable(_open(path), path.relative_to(workdir))


def test_claims_table_has_one_row_per_claim(smoke_run):
    """The claims rule ran on the smoke metrics: one row per claim of the config, each with a verdict and a kind
    (failing is a finding)."""
    from aelpn.claims.definitions import KINDS, claims as rows
    from aelpn.claims.evaluate import VERDICTS

    cfg, workdir, _ = smoke_run
    claims = _open(workdir / "results/metrics/claims.nc")
    assert list(claims["claim"].values) == [c.id for c in rows(cfg)]
    assert set(claims["kind"].values) <= set(KINDS)
    assert set(claims["verdict"].values) <= set(VERDICTS)
    jacobian = _open(workdir / "results/metrics/jacobian.nc")
    assert jacobian["asymmetry"].dims == ("seed", "variant", "image")
    measured = claims["verdict"] != "not measured"
    assert measured.sel(claim=["4a", "5a", "5b", "6a", "6b"]).all(), claims["note"].values
    assert (workdir / "results/figures/claims.png").is_file()


def test_a_second_run_of_one_replicate_gives_identical_metrics(smoke_run, tmp_path):
    """A second run from nothing of every metrics file (data, training, 1-D study, sweeps, inverse problems,
    adaptivity, blind deblurring) for the replicate of training seed 5 alone matches that replicate in the first
    run, which had both: a run is deterministic, and a replicate does not depend on the others."""
    cfg, first, _ = smoke_run
    assert cfg["seeds"] == [0, 5]
    configfile = write_config(dict(cfg, seeds=[5]), tmp_path)
    targets = [f"results/metrics/{name}.nc" for name in METRICS]
    out = snakemake(tmp_path, configfile, "--cores", "2", *targets)
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]
    for target in targets:
        a, b = _measured(_open(first / target).sel(seed=[5])), _measured(_open(tmp_path / target))
        xr.testing.assert_identical(a, b)


def test_every_combined_dataset_has_both_replicates_along_a_leading_seed_dim(smoke_run):
    cfg, workdir, _ = smoke_run
    for name in REPLICATED:
        ds = _open(workdir / f"results/metrics/{name}.nc")
        assert ds["seed"].dtype == np.int64 and list(ds["seed"].values) == cfg["seeds"], name
        assert ds["seed"].attrs["long_name"] == "training seed of the replicate", name
        for var in ds.data_vars.values():
            assert var.dims[0] == "seed", (name, var.name)


def test_the_replicates_train_different_networks(smoke_run):
    """Every kind of trained network differs between training seeds 0 and 5 (each records its seed)."""
    import torch

    _, workdir, _ = smoke_run
    models = workdir / "results" / "models"
    names = ["lpn/model.pt", "prox1d/scale.pt", "inverse/denoiser.pt", "inverse/flow.pt", "inverse/vae.pt",
             "inverse/unrolled/inpaint50.pt", "blind/network.pt"]
    for name in names:
        a, b = (torch.load(models / f"seed{s}" / name, weights_only=True)["state_dict"] for s in (0, 5))
        assert a.keys() == b.keys() and not all(torch.equal(a[k], b[k]) for k in a), name
    for seed in (0, 5):
        assert _open(models / f"seed{seed}" / "lpn" / "train_log.nc").attrs["training_seeds"] == f"[{seed}]"
    training = _open(workdir / "results/metrics/training.nc")
    assert not np.array_equal(training["loss"].sel(seed=0).values, training["loss"].sel(seed=5).values)


def test_the_replicate_of_the_master_seed_is_the_single_seed_computation_bit_for_bit(smoke_run, tmp_path):
    """`aelpn train proxnet` and `aelpn evaluate noise_sweep`, run as before replicates existed (the slices
    without ``seeds``: the master seed trains) in a fresh process on one thread like the jobs, give replicate 0's
    weights and its noise-sweep values exactly."""
    cfg, workdir, _ = smoke_run
    assert cfg["seed"] == 0
    script = f"""
import json, sys, torch
torch.set_num_threads(1)
from aelpn.core.config import select
from aelpn.sweeps.evaluate import run_sweep
from aelpn.training.proxnets import train
cfg = json.loads(sys.argv[1])
train(select(cfg, "compute", "data", "model", "train"), "lpn", "{workdir}/results/data/crops/train.nc",
      "{workdir}/results/data/crops/val.nc", "{tmp_path}/model.pt", "{tmp_path}/train_log.nc")
run_sweep("noise_sweep", select(cfg, "compute", "noise_sweep", "figures"), "lpn", "{tmp_path}/model.pt",
          "{workdir}/results/data/crops/test.nc", "{tmp_path}/noise_sweep.nc")
"""
    single = {k: v for k, v in cfg.items() if k != "seeds"}
    out = subprocess.run([sys.executable, "-c", script, json.dumps(single)], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    import torch

    a = torch.load(tmp_path / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(workdir / "results/models/seed0/lpn/model.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    mine, replicate = _open(tmp_path / "noise_sweep.nc"), _open(workdir / "results/runs/noise_sweep/seed0/lpn.nc")
    xr.testing.assert_identical(_measured(mine), _measured(replicate))
    combined = _open(workdir / "results/metrics/noise_sweep.nc").sel(seed=0, variant="lpn")
    np.testing.assert_array_equal(combined["psnr"].values, mine["psnr"].isel(variant=0).values)


def _measured(ds: xr.Dataset) -> xr.Dataset:
    """Metric values only: drop wall-clock timings (units 's') and provenance attrs, which differ per run."""
    timings = [name for name, var in ds.data_vars.items() if var.attrs.get("units") == "s"]
    return ds.drop_vars(timings).drop_attrs()
