"""The inverse-problem stage: library end to end on synthetic crops (fast) and the paper-scale DAG (dry run);
the real smoke run of the whole DAG is checked in test_workflow_smoke.py."""

from __future__ import annotations

import copy
import json
import shutil

import numpy as np
import pytest
import xarray as xr

from aelpn.core.combine import CombineError
from aelpn.cli import main
from aelpn.core.config import select
from aelpn.core.io import read_netcdf, write_netcdf
from aelpn.core.slices import sections
from aelpn.models.files import ModelFileError
from aelpn.training.denoiser import train_denoiser
from aelpn.training.flow import train_flow
from aelpn.training.vae import train_vae
from aelpn.inverse.adaptivity import evaluate_adaptivity
from aelpn.inverse.combine import combine_inverse
from aelpn.training.denoiser import train_denoiser
from aelpn.inverse.jobs import adaptivity_pairs, estimators, jobs, map_weight
from aelpn.report.results import by_method
from aelpn.inverse.methods.registry import get
from aelpn.inverse.run import INTEGERS, run_job
from aelpn.training.unrolled import train_unrolled
from aelpn.models import build_model, save_model
from configs import shipped_config
from sel_keywords import assert_selectable
from workflow_utils import job_counts, snakemake, write_config


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, crops_file):
    cfg = shipped_config()
    cfg["seeds"] = [cfg["seed"]]  # one replicate, trained with the master seed: its files lie in runs/seed0
    tmp = tmp_path_factory.mktemp("inverse")
    size = cfg["data"]["crop_size"]
    train, test = crops_file(tmp / "train.nc", "train", 8, size), crops_file(tmp / "test.nc", "test", 3, size)
    train_denoiser(cfg, train, tmp / "denoiser.pt", tmp / "denoiser_log.nc")
    train_flow(cfg, train, tmp / "flow.pt", tmp / "flow_log.nc")
    train_vae(cfg, train, tmp / "vae.pt", tmp / "vae_log.nc")
    models = []
    for i, variant in enumerate(cfg["model"]["variants"]):
        path = tmp / "models" / variant / "model.pt"
        model = build_model(variant, cfg["model"], 3, size, seed=i)
        save_model(model, path, extra={"train_seconds": 2.0, "device": "cpu", "sigma": cfg["train"]["sigma"]})
        models.append(str(path))
    unrolled = {}
    for problem in cfg["inverse"]["problems"]:
        unrolled[problem] = tmp / "unrolled" / f"{problem}.pt"
        train_unrolled(cfg, problem, train, tmp / "denoiser.pt", unrolled[problem], tmp / "unrolled" / f"{problem}_log.nc")
    outs = []
    for algorithm, problem in jobs(cfg["inverse"]):
        prior = {"proximal_network": models, "denoiser": [tmp / "denoiser.pt"],
                 "unrolled": [unrolled[problem]], "flow": [tmp / "flow.pt"], "vae": [tmp / "vae.pt"],
                 "handcrafted": []}[get(algorithm).prior]
        out = tmp / "runs" / "seed0" / problem / f"{algorithm}.nc"
        run_job(cfg, algorithm, problem, test, prior, out)
        outs.append(out)
    combine_inverse(cfg, outs, tmp / "inverse.nc")
    evaluate_adaptivity(cfg, test, list(unrolled.values()), tmp / "adaptivity.nc")
    return cfg, tmp, outs


def test_combined_results_have_every_method_and_problem(pipeline):
    cfg, tmp, _ = pipeline
    ds = read_netcdf(tmp / "inverse.nc")
    icfg = cfg["inverse"]
    assert list(ds["estimator"].values) == [e for e, _, _ in estimators(icfg, cfg["model"]["variants"])]
    assert list(ds["problem"].values) == list(icfg["problems"])
    assert ds["psnr"].dims == ("seed", "estimator", "problem", "image") and ds.sizes["image"] == icfg["images"]
    for estimator, algorithm in zip(ds["estimator"].values, ds["algorithm"].values):  # the lam each job wrote
        np.testing.assert_equal(ds["lam"].sel(estimator=estimator).item(), map_weight(icfg, str(algorithm)))
    assert list(ds["channel"].values) == ["R", "G", "B"]
    by = by_method(ds)
    np.testing.assert_array_equal(by["psnr"].sel(algorithm="pnp_admm", prior="lpn").values,
                                  ds["psnr"].sel(estimator="pnp_admm[lpn]").values)
    ran = ds["applicable"].values.astype(bool)
    assert ran.sum() == sum(len([e for e in estimators(icfg, cfg["model"]["variants"]) if e[1] == a])
                            for a, _ in jobs(icfg))
    for name in ("psnr", "ssim", "seconds", "iterations", "train_seconds"):
        values = ds[name].values.reshape(*ran.shape, -1)
        assert np.isfinite(values[ran]).all() and np.isnan(values[~ran]).all(), name
    assert bool((ds["ssim"].values[ran] <= 1).all())
    ula = ds["posterior_std"].sel(estimator="ula")
    assert bool((ula.sel(problem="inpaint50") > 0).all())
    sampled = ds["psnr_sample"].sel(estimator="ula", problem="inpaint50")
    assert np.isfinite(sampled).all() and not np.array_equal(sampled, ds["psnr"].sel(estimator="ula", problem="inpaint50"))
    flow = ds.sel(estimator="flow_posterior", problem="inpaint50")  # its estimate is its one posterior sample
    assert np.isfinite(flow["psnr_sample"]).all() and np.array_equal(flow["psnr_sample"], flow["psnr"])
    assert ds["psnr_sample"].drop_sel(estimator=["ula", "flow_posterior"]).isnull().all()
    for var in ds.data_vars.values():
        assert "long_name" in var.attrs and "units" in var.attrs


def test_every_method_of_a_problem_sees_the_same_measurements(pipeline):
    cfg, tmp, outs = pipeline
    by_problem = {}
    for out in outs:
        ds = read_netcdf(out)
        by_problem.setdefault(ds.attrs["problem"], []).append(ds["measurement"].values)
    for problem, ys in by_problem.items():
        assert all(np.array_equal(ys[0], y) for y in ys[1:]), problem


def test_combine_refuses_a_missing_job(pipeline, tmp_path):
    cfg, _, outs = pipeline
    with pytest.raises(CombineError, match="missing job"):
        combine_inverse(cfg, outs[:-1], tmp_path / "inverse.nc")


def test_combine_refuses_nan_on_one_image_of_an_estimator_that_ran(pipeline, tmp_path):
    """A NaN PSNR on one image of one prior of a job that ran is refused, not only an all-NaN estimator; the
    estimators that did not run stay NaN (``applicable`` 0)."""
    cfg, tmp, outs = pipeline
    copies = []
    for out in outs:
        ds = read_netcdf(out)
        if out.stem == "pnp_admm":
            ds["psnr"].loc[{"prior": "lpn", "image": ds["image"].values[0]}] = np.nan
        copies.append(write_netcdf(ds, tmp_path / out.relative_to(tmp)))
    with pytest.raises(CombineError, match="'psnr' holds NaN for estimator pnp_admm\\[lpn\\] on problem"):
        combine_inverse(cfg, copies, tmp_path / "inverse.nc")


def test_inverse_variants_choose_the_proximal_networks_of_the_pnp_methods(pipeline, tmp_path):
    """inverse.variants = [aelpn, lpn]: a proximal-network job runs those two, in that order, with the results of
    the run over every variant, and refuses the models of every variant."""
    cfg, tmp, outs = pipeline
    algorithm, problem = next((a, p) for a, p in jobs(cfg["inverse"]) if get(a).prior == "proximal_network")
    chosen = ["aelpn", "lpn"]
    sub = copy.deepcopy(cfg)
    sub["inverse"]["variants"] = chosen
    test = tmp / "test.nc"
    run = run_job(sub, algorithm, problem, test, [tmp / "models" / v / "model.pt" for v in chosen], tmp_path / "r.nc")
    assert list(run["prior"].values) == chosen + ["denoiser"]
    full = read_netcdf(tmp / "runs" / "seed0" / problem / f"{algorithm}.nc")
    for v in chosen:
        np.testing.assert_array_equal(run["psnr"].sel(prior=v).values, full["psnr"].sel(prior=v).values)
    with pytest.raises(ValueError, match="one model per variant"):
        run_job(sub, algorithm, problem, test, [tmp / "models" / v / "model.pt" for v in cfg["model"]["variants"]],
                tmp_path / "r2.nc")


def test_a_proximal_network_is_known_by_the_variant_its_file_holds(pipeline, tmp_path, capsys):
    """An LPN file at .../aelpn/model.pt is refused for the AE-LPN prior (one line, exit 2); the AE-LPN file at any
    other path is the AE-LPN prior."""
    cfg, tmp, _ = pipeline
    algorithm, problem = next((a, p) for a, p in jobs(cfg["inverse"]) if get(a).prior == "proximal_network")
    sub = copy.deepcopy(cfg)
    sub["inverse"]["variants"] = ["aelpn"]
    misplaced = tmp_path / "aelpn" / "model.pt"
    misplaced.parent.mkdir()
    shutil.copy(tmp / "models" / "lpn" / "model.pt", misplaced)
    with pytest.raises(ModelFileError, match="holds variant 'lpn', expected 'aelpn'"):
        run_job(sub, algorithm, problem, tmp / "test.nc", [misplaced], tmp_path / "r.nc")
    config = json.dumps(select(sub, *sections("evaluate inverse")))
    assert main(["evaluate", "inverse", "--config", config, "--algorithm", algorithm, "--problem", problem,
                 "--crops", str(tmp / "test.nc"), "--prior", str(misplaced), "--out", str(tmp_path / "r.nc")]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and str(misplaced) in errors[0] and "holds variant 'lpn'" in errors[0], errors
    elsewhere = tmp_path / "downloaded" / "weights.pt"
    elsewhere.parent.mkdir()
    shutil.copy(tmp / "models" / "aelpn" / "model.pt", elsewhere)
    run = run_job(sub, algorithm, problem, tmp / "test.nc", [elsewhere], tmp_path / "r.nc")
    full = read_netcdf(tmp / "runs" / "seed0" / problem / f"{algorithm}.nc")
    np.testing.assert_array_equal(run["psnr"].sel(prior="aelpn").values, full["psnr"].sel(prior="aelpn").values)


def test_combine_knows_a_file_by_the_job_it_holds(pipeline, tmp_path, capsys):
    """A DiffPIR result copied over the DPS file is refused, not combined as DPS (one line, exit 2, on the command
    line); so is a file that does not say which job it holds."""
    cfg, tmp, outs = pipeline
    problem = next(p for a, p in jobs(cfg["inverse"]) if a == "dps")
    copied = []
    for out in outs:
        target = tmp_path / out.relative_to(tmp)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(out, target)
        copied.append(target)
    dps = tmp_path / "runs" / "seed0" / problem / "dps.nc"
    shutil.copy(tmp_path / "runs" / "seed0" / problem / "diffpir.nc", dps)
    with pytest.raises(CombineError, match=f"{dps}: holds algorithm 'diffpir' on problem '{problem}'"):
        combine_inverse(cfg, copied, tmp_path / "inverse.nc")
    config = json.dumps(select(cfg, *sections("combine inverse")))
    capsys.readouterr()
    assert main(["combine", "inverse", "--config", config, "--out", str(tmp_path / "inverse.nc"),
                 *map(str, copied)]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and f"{dps}: holds algorithm 'diffpir'" in errors[0], errors
    ds = read_netcdf(tmp / "runs" / "seed0" / problem / "dps.nc")
    del ds.attrs["algorithm"]
    write_netcdf(ds, dps)
    with pytest.raises(CombineError, match="does not say which algorithm and problem it holds"):
        combine_inverse(cfg, copied, tmp_path / "inverse.nc")


def test_iteration_counts_and_divergence_flags_are_integers_on_disk(pipeline):
    """iterations int32 and diverged int8 in every per-job file and in inverse.nc, NaN (the fill value) where an
    estimator did not run and whole numbers where it did."""
    _, tmp, outs = pipeline
    for path in [tmp / "inverse.nc", *outs]:
        with xr.open_dataset(path, mask_and_scale=False) as raw:
            assert raw["iterations"].dtype == np.int32 and raw["diverged"].dtype == np.int8, path
        ds = read_netcdf(path)
        ran = np.isfinite(ds["psnr"].values)
        for name in INTEGERS:
            values = ds[name].values
            assert np.array_equal(np.isfinite(values), ran), (path, name)
            assert np.array_equal(values[ran], np.round(values[ran])), (path, name)
        assert set(np.unique(ds["diverged"].values[ran])) <= {0.0, 1.0}


def test_paper_dag_has_every_inverse_job(tmp_path, paper_config):
    out = snakemake(tmp_path, write_config(paper_config, tmp_path), "-n", "-F")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    counts = job_counts(out.stdout)
    icfg, replicates = paper_config["inverse"], len(paper_config["seeds"])
    # 20 methods x 5 problems, less the Gaussian-only pnp_pgd, dps, ula, pnp_flow, flow_posterior on the Poisson
    # one and the Poisson-only pnp_admm_wls, pnp_admm_anscombe on the four Gaussian ones, in each replicate
    assert replicates == 3 and len(jobs(icfg)) == 20 * 5 - 5 - 2 * 4
    assert counts["inverse_run"] == replicates * len(jobs(icfg))
    assert counts["inverse_unrolled"] == replicates * len(icfg["problems"])
    assert counts["inverse_denoiser"] == counts["inverse_adaptivity"] == replicates and counts["inverse_combine"] == 1
    assert counts["inverse_flow"] == counts["inverse_vae"] == replicates
    for figure in ("table", "grid", "iterations", "uncertainty"):
        assert counts[f"figure_inverse_{figure}"] == 1


def test_adaptivity_evaluates_each_pair_on_the_measurements_of_inverse_nc(pipeline):
    """A pair's network, evaluated on its own problem's measurements, would reproduce inverse.nc's unrolled row;
    here each configured pair has finite metrics, and the rows keep the pair's names."""
    cfg, tmp, _ = pipeline
    ds = read_netcdf(tmp / "adaptivity.nc")
    pairs = adaptivity_pairs(cfg["inverse"])
    assert ds["psnr"].dims == ("pair", "image") and ds.sizes["pair"] == len(pairs)
    assert [(a, b) for a, b in zip(ds["trained_on"].values, ds["evaluated_on"].values)] == pairs
    for name in ("psnr", "ssim", "seconds"):
        assert np.isfinite(ds[name]).all(), name


def test_adaptivity_of_a_network_on_its_own_problem_is_its_inverse_row(pipeline, tmp_path):
    cfg, tmp, _ = pipeline
    own = dict(cfg, inverse=dict(cfg["inverse"], adaptivity=[{"trained_on": "inpaint50", "evaluated_on": "inpaint50"}]))
    ds = evaluate_adaptivity(own, tmp / "test.nc", [tmp / "unrolled" / "inpaint50.pt"], tmp_path / "own.nc")
    inverse = read_netcdf(tmp / "inverse.nc")
    np.testing.assert_array_equal(ds["psnr"].isel(pair=0),
                                  inverse["psnr"].sel(seed=0, estimator="unrolled", problem="inpaint50"))


def test_every_dimension_of_the_inverse_datasets_selects_by_keyword(pipeline):
    """``ds.sel(<dim>=<label>)`` drops the dim: no dim or coordinate is named like a keyword of ``sel``."""
    _, tmp, outs = pipeline
    for path in [tmp / "inverse.nc", tmp / "adaptivity.nc", *outs]:
        assert_selectable(read_netcdf(path), path)
