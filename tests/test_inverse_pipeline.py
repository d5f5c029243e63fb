"""The inverse-problem stage: library end to end on synthetic crops (fast) and the paper-scale DAG (dry run);
the real smoke run of the whole DAG is checked in test_workflow_smoke.py."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from aelpn.core.combine import CombineError
from aelpn.core.io import read_netcdf, write_netcdf
from aelpn.training.denoiser import train_denoiser
from aelpn.training.flow import train_flow
from aelpn.training.vae import train_vae
from aelpn.inverse.adaptivity import evaluate_adaptivity
from aelpn.inverse.combine import combine_inverse
from aelpn.training.denoiser import train_denoiser
from aelpn.inverse.jobs import adaptivity_pairs, estimators, jobs, map_weight
from aelpn.report.results import by_method
from aelpn.inverse.methods.registry import get
from aelpn.inverse.run import run_job
from aelpn.training.unrolled import train_unrolled
from aelpn.models import build_model, save_model
from configs import shipped_config
from sel_keywords import assert_selectable
from workflow_utils import job_counts, snakemake, write_config


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, crops_file):
    cfg = shipped_config()
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
                 "unrolled": [unrolled[problem]], "flow": [tmp / "flow.pt"], "vae": [tmp / "vae.pt"]}[get(algorithm).prior]
        out = tmp / "runs" / problem / f"{algorithm}.nc"
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
    assert ds["psnr"].dims == ("estimator", "problem", "image") and ds.sizes["image"] == icfg["images"]
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
    cfg, _, outs = pipeline
    copies = []
    for out in outs:
        ds = read_netcdf(out)
        if out.stem == "pnp_admm":
            ds["psnr"].loc[{"prior": "lpn", "image": ds["image"].values[0]}] = np.nan
        copies.append(write_netcdf(ds, tmp_path / out.parent.name / out.name))
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
    full = read_netcdf(tmp / "runs" / problem / f"{algorithm}.nc")
    for v in chosen:
        np.testing.assert_array_equal(run["psnr"].sel(prior=v).values, full["psnr"].sel(prior=v).values)
    with pytest.raises(ValueError, match="one model per variant"):
        run_job(sub, algorithm, problem, test, [tmp / "models" / v / "model.pt" for v in cfg["model"]["variants"]],
                tmp_path / "r2.nc")


def test_paper_dag_has_every_inverse_job(tmp_path, paper_config):
    out = snakemake(tmp_path, write_config(paper_config, tmp_path), "-n", "-F")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    counts = job_counts(out.stdout)
    icfg = paper_config["inverse"]
    # 17 methods x 5 problems, less the Gaussian-only pnp_pgd, dps, ula, pnp_flow, flow_posterior on the Poisson
    # one and the Poisson-only pnp_admm_wls, pnp_admm_anscombe on the four Gaussian ones
    assert counts["inverse_run"] == len(jobs(icfg)) == 17 * 5 - 5 - 2 * 4
    assert counts["inverse_unrolled"] == len(icfg["problems"])
    assert counts["inverse_denoiser"] == counts["inverse_combine"] == counts["inverse_adaptivity"] == 1
    assert counts["inverse_flow"] == counts["inverse_vae"] == 1
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
    np.testing.assert_array_equal(ds["psnr"].isel(pair=0), inverse["psnr"].sel(estimator="unrolled", problem="inpaint50"))


def test_every_dimension_of_the_inverse_datasets_selects_by_keyword(pipeline):
    """``ds.sel(<dim>=<label>)`` drops the dim: no dim or coordinate is named like a keyword of ``sel``."""
    _, tmp, outs = pipeline
    for path in [tmp / "inverse.nc", tmp / "adaptivity.nc", *outs]:
        assert_selectable(read_netcdf(path), path)
