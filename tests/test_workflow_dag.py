"""The Snakemake DAG: complete at paper scale, and reduced configs really reduce (no deep merge)."""

from __future__ import annotations

import pytest

from workflow_utils import job_counts, snakemake, write_config


def _expected(cfg: dict) -> dict[str, int]:
    n_var = len(cfg["model"]["variants"])
    return {
        "fetch_bsds500": 1,
        "crops": len(set(cfg["data"]["splits"].values())),
        "train": n_var,
        "prox1d_train": len(cfg["prox1d"]["variants"]),
        "prox1d_evaluate": 1,
        "sweep": 2 * n_var,
        "combine_sweep": 2,
        "all": 1,
    }


def _dry_run(tmp_path, cfg):
    out = snakemake(tmp_path, write_config(cfg, tmp_path), "-n", "-F")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return job_counts(out.stdout)


@pytest.mark.parametrize("scale", ["paper_config", "quick_config", "smoke_config"])
def test_full_dag_dry_run(tmp_path, request, scale):
    cfg = request.getfixturevalue(scale)
    counts = _dry_run(tmp_path, cfg)
    for rule, n in _expected(cfg).items():
        assert counts.get(rule) == n, (rule, counts)


def test_reduced_config_really_reduces(tmp_path, smoke_config):
    smoke_config["model"]["variants"] = ["lpn", "aelpn"]
    smoke_config["prox1d"]["variants"] = ["scale"]
    counts = _dry_run(tmp_path, smoke_config)
    assert counts["train"] == 2
    assert counts["sweep"] == 4
    assert counts["prox1d_train"] == 1


def test_invalid_config_stops_before_any_job(tmp_path, smoke_config):
    smoke_config["train"]["steps_pm"] = -1
    smoke_config["data"]["crop_size"] = 15  # a cross-key constraint (vs 2**model.depth), also caught by -n
    smoke_config["model"]["depth"] = 1
    out = snakemake(tmp_path, write_config(smoke_config, tmp_path), "-n")
    assert out.returncode != 0
    assert "'train.steps_pm'" in out.stdout + out.stderr
    smoke_config["train"]["steps_pm"] = 4
    out = snakemake(tmp_path, write_config(smoke_config, tmp_path), "-n")
    assert out.returncode != 0
    assert "'data.crop_size': 15 is not a multiple of 2**model.depth" in out.stdout + out.stderr
