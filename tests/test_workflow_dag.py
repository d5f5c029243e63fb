"""The Snakemake DAG: complete at paper scale, and reduced configs really reduce (no deep merge)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from aelpn.inverse.jobs import jobs as inverse_jobs
from workflow_utils import REPO, job_counts, snakemake, write_config


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
        "jacobian": 1,
        "blind_train": 1,
        "blind_run": 1,
        "claims": 1,
        "figure_claims": 1,
        "all": 1,
    }


def _dry_run(tmp_path, cfg, *args):
    out = snakemake(tmp_path, write_config(cfg, tmp_path), "-n", "-F", *args)
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


@pytest.mark.parametrize("flags", [(), ("--replace-workflow-config",)], ids=["configfile-alone", "with-replace-flag"])
def test_configfile_replaces_paper_config_with_or_without_flag(tmp_path, smoke_config, flags):
    """--configfile alone must not deep-merge into config/config.yaml (whose five problems would survive)."""
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config" / "config.yaml", tmp_path / "config")  # the workdir, like the repository root
    smoke_config["inverse"]["problems"] = dict(list(smoke_config["inverse"]["problems"].items())[:1])
    smoke_config["inverse"]["adaptivity"] = []  # a pair needs two problems
    counts = _dry_run(tmp_path, smoke_config, *flags)
    assert counts["inverse_run"] == len(inverse_jobs(smoke_config["inverse"]))
    assert counts["train"] == len(smoke_config["model"]["variants"])


def test_plain_dry_run_uses_workflow_profile():
    """`snakemake -n` from the repository root, no flags: the workflow profile (rerun-incomplete, ...) applies."""
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n"], cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Using workflow specific profile profiles/default" in out.stderr


def test_weights_from_elsewhere_are_not_retrained(tmp_path, smoke_config):
    """model.pt files dropped into results/models/ (no train_log.nc of a run here) are used as they are."""
    variants = smoke_config["model"]["variants"]
    for variant in variants[:2]:
        (tmp_path / "results" / "models" / variant).mkdir(parents=True)
        (tmp_path / "results" / "models" / variant / "model.pt").write_bytes(b"weights trained elsewhere")
    out = snakemake(tmp_path, write_config(smoke_config, tmp_path), "-n")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    counts = job_counts(out.stdout)
    assert counts["train"] == len(variants) - 2
    assert counts["sweep"] == 2 * len(variants) and counts["training_logs"] == 1
