"""The inverse-problem stage: library end to end on synthetic crops (fast) and the paper-scale DAG (dry run);
the real smoke run of the whole DAG is checked in test_workflow_smoke.py."""

from __future__ import annotations

import numpy as np
import pytest

from aelpn.combine import CombineError
from aelpn.inverse.denoiser import train_denoiser
from aelpn.inverse.evaluate import combine_inverse, run_job
from aelpn.inverse.jobs import PRIOR_ALGORITHMS, jobs, methods
from aelpn.inverse.unrolled import train_unrolled
from aelpn.io import read_netcdf
from aelpn.models import build_model, save_model
from configs import shipped_config
from workflow_utils import job_counts, snakemake, write_config


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, crops_file):
    cfg = shipped_config()
    tmp = tmp_path_factory.mktemp("inverse")
    size = cfg["data"]["crop_size"]
    train, test = crops_file(tmp / "train.nc", "train", 8, size), crops_file(tmp / "test.nc", "test", 3, size)
    train_denoiser(cfg, train, tmp / "denoiser.pt", tmp / "denoiser_log.nc")
    models = []
    for i, variant in enumerate(cfg["model"]["variants"]):
        path = tmp / "models" / variant / "model.pt"
        model = build_model(variant, cfg["model"], 3, size, seed=i)
        save_model(model, path, extra={"train_seconds": 2.0, "device": "cpu"})
        models.append(str(path))
    outs = []
    for algorithm, problem in jobs(cfg["inverse"]):
        unrolled = None
        if algorithm == "unrolled":
            unrolled = tmp / f"unrolled_{problem}.pt"
            train_unrolled(cfg, problem, train, tmp / "denoiser.pt", unrolled, tmp / f"unrolled_{problem}_log.nc")
        out = tmp / "runs" / problem / f"{algorithm}.nc"
        run_job(cfg, algorithm, problem, test, out, models if algorithm in PRIOR_ALGORITHMS else [],
                tmp / "denoiser.pt", unrolled)
        outs.append(out)
    combine_inverse(cfg, outs, tmp / "inverse.nc")
    return cfg, tmp, outs


def test_combined_results_have_every_method_and_problem(pipeline):
    cfg, tmp, _ = pipeline
    ds = read_netcdf(tmp / "inverse.nc")
    icfg = cfg["inverse"]
    assert list(ds["method"].values) == [m for m, _, _ in methods(icfg, cfg["model"]["variants"])]
    assert list(ds["problem"].values) == list(icfg["problems"])
    assert ds["psnr"].dims == ("method", "problem", "image") and ds.sizes["image"] == icfg["images"]
    ran = ds["applicable"].values.astype(bool)
    assert ran.sum() == sum(len([m for m in methods(icfg, cfg["model"]["variants"]) if m[1] == a])
                            for a, _ in jobs(icfg))
    for name in ("psnr", "ssim", "seconds", "iterations", "train_seconds"):
        values = ds[name].values.reshape(*ran.shape, -1)
        assert np.isfinite(values[ran]).all() and np.isnan(values[~ran]).all(), name
    assert bool((ds["ssim"].values[ran] <= 1).all())
    ula = ds["posterior_std"].sel({"method": "ula"})
    assert bool((ula.sel(problem="inpaint50") > 0).all())
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


def test_paper_dag_has_every_inverse_job(tmp_path, paper_config):
    out = snakemake(tmp_path, write_config(paper_config, tmp_path), "-n", "-F")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    counts = job_counts(out.stdout)
    icfg = paper_config["inverse"]
    assert counts["inverse_run"] == len(jobs(icfg)) == 36
    assert counts["inverse_unrolled"] == len(icfg["problems"])
    assert counts["inverse_denoiser"] == counts["inverse_combine"] == 1
    for figure in ("table", "grid", "iterations", "uncertainty"):
        assert counts[f"figure_inverse_{figure}"] == 1
