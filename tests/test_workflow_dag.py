"""The Snakemake DAG: complete at paper scale, and reduced configs really reduce (no deep merge)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from aelpn.inverse.jobs import jobs as inverse_jobs
from workflow_utils import REPO, job_counts, snakemake, write_config


def _expected(cfg: dict) -> dict[str, int]:
    """Jobs per rule: the data stage once, every training and evaluation once per replicate, one combination."""
    n_var, n_seeds = len(cfg["model"]["variants"]), len(cfg["seeds"])
    return {
        "fetch_bsds500": 1,
        "crops": len(set(cfg["data"]["splits"].values())),
        "train": n_seeds * n_var,
        "prox1d_train": n_seeds * len(cfg["prox1d"]["variants"]),
        "prox1d_evaluate": n_seeds,
        "sweep": n_seeds * 2 * n_var,
        "combine_sweep": 2,
        "jacobian": n_seeds,
        "cbsd68": n_seeds,
        "blind_train": n_seeds,
        "blind_run": n_seeds,
        "inverse_denoiser": n_seeds,
        "inverse_combine": 1,
        "combine_replicates": 4 + bool(cfg["inverse"]["adaptivity"]),  # prox1d, jacobian, cbsd68, blind, adaptivity
        "training_logs": 1,
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
    smoke_config["seeds"] = [7]
    counts = _dry_run(tmp_path, smoke_config)
    assert counts["train"] == 2
    assert counts["sweep"] == 4
    assert counts["prox1d_train"] == 1 and counts["inverse_denoiser"] == 1


def test_every_replicate_has_its_own_jobs_and_the_data_stage_is_shared(tmp_path, smoke_config):
    """Three training seeds: each trained network and each evaluation of one is a job per replicate, under
    seed{s}; the crops are made once; `rule all` asks for the combinations, which read every replicate."""
    smoke_config["seeds"] = [0, 5, 9]
    out = snakemake(tmp_path, write_config(smoke_config, tmp_path), "-n", "-F")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    counts = job_counts(out.stdout)
    assert counts["crops"] == 3 and counts["fetch_bsds500"] == 1
    assert counts["train"] == 3 * len(smoke_config["model"]["variants"]) and counts["training_logs"] == 1
    for seed in (0, 5, 9):
        assert f"results/models/seed{seed}/lpn/model.pt" in out.stdout
        assert f"results/runs/inverse/seed{seed}/" in out.stdout and f"results/runs/cbsd68/seed{seed}.nc" in out.stdout
        assert f"results/models/seed{seed}/inverse/denoiser.pt" in out.stdout
    assert "results/models/lpn/model.pt" not in out.stdout and "seed1/" not in out.stdout


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
    replicates = len(smoke_config["seeds"])  # 2, not the paper's 3
    assert counts["inverse_run"] == replicates * len(inverse_jobs(smoke_config["inverse"]))
    assert counts["train"] == replicates * len(smoke_config["model"]["variants"])


def test_plain_dry_run_uses_workflow_profile():
    """`snakemake -n` from the repository root, no flags: the workflow profile (rerun-incomplete, ...) applies."""
    out = subprocess.run([sys.executable, "-m", "snakemake", "-n"], cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Using workflow specific profile profiles/default" in out.stderr


def test_weights_from_elsewhere_are_not_retrained(tmp_path, smoke_config):
    """model.pt files dropped into results/models/seed{s}/ (no train_log.nc of a run here) are used as they are, in
    every replicate; a replicate without them is a missing input, not a training job."""
    variants, seeds = smoke_config["model"]["variants"], smoke_config["seeds"]
    for seed in seeds:
        for variant in variants[:2]:
            (tmp_path / "results" / "models" / f"seed{seed}" / variant).mkdir(parents=True)
            (tmp_path / "results" / "models" / f"seed{seed}" / variant / "model.pt").write_bytes(b"weights")
    out = snakemake(tmp_path, write_config(smoke_config, tmp_path), "-n")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    counts = job_counts(out.stdout)
    assert counts["train"] == len(seeds) * (len(variants) - 2)
    assert counts["sweep"] == len(seeds) * 2 * len(variants) and counts["training_logs"] == 1
    (tmp_path / "results" / "models" / f"seed{seeds[-1]}" / variants[0] / "model.pt").unlink()
    out = snakemake(tmp_path, write_config(smoke_config, tmp_path), "-n")
    assert out.returncode != 0
    assert f"results/models/seed{seeds[-1]}/{variants[0]}/model.pt" in out.stdout + out.stderr


# Every rule that trains a network or runs networks over the test set: GPU partition and one GPU on a cluster.
GPU_RULES = {"train", "prox1d_train", "sweep", "cbsd68", "jacobian", "inverse_denoiser", "inverse_unrolled", "inverse_flow",
             "inverse_vae", "inverse_run", "inverse_adaptivity", "blind_train", "blind_run"}


def _resources(dry_run_stdout: str) -> dict[str, dict[str, str]]:
    """rule -> its job's resources, read from a dry run's job listing."""
    out, rule = {}, None
    for line in dry_run_stdout.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("resources:") and rule:
            out[rule] = dict(kv.split("=", 1) for kv in line.split(":", 1)[1].strip().split(", ") if "=" in kv)
    return out


@pytest.mark.parametrize("profile", ["slurm", "slurm-local"])
def test_the_slurm_profiles_send_every_network_rule_to_a_gpu(tmp_path, paper_config, profile):
    out = snakemake(tmp_path, write_config(paper_config, tmp_path), "-n", "-F", "--profile",
                    str(REPO / "workflow" / "profiles" / profile))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    resources = _resources(out.stdout)
    assert GPU_RULES <= set(resources), GPU_RULES - set(resources)
    lacking = {r for r in GPU_RULES if resources[r].get("slurm_partition") != "gpu" or resources[r].get("gpu") != "1"}
    assert not lacking, f"rules without the GPU partition and one GPU: {sorted(lacking)}"
    cpu_only = {r for r, res in resources.items() if r not in GPU_RULES and "gpu" in res}
    assert not cpu_only, f"rules given a GPU they do not use: {sorted(cpu_only)}"


def test_locally_the_network_rules_declare_one_gpu(tmp_path, smoke_config):
    """`--resources gpu=N` bounds how many of them share a machine's GPUs."""
    out = snakemake(tmp_path, write_config(smoke_config, tmp_path), "-n", "-F")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    declared = {r for r, res in _resources(out.stdout).items() if res.get("gpu") == "1"}
    assert declared == GPU_RULES


@pytest.mark.slow
def test_a_failed_job_does_not_stop_the_independent_ones_and_is_named_at_the_end(tmp_path, smoke_config):
    """keep-going (workflow profile): LPN's training diverges with no rollback allowed, the scale model's training
    beside it still completes, and the closing summary names the failed job and its log."""
    smoke_config["train"]["lr_pretrain"]["lpn"] = 1e6
    smoke_config["train"]["divergence"].update(factor=100.0, warmup=1, rollbacks=0)
    out = snakemake(tmp_path, write_config(smoke_config, tmp_path), "--cores", "2",
                    "results/models/seed0/lpn/model.pt", "results/models/seed0/scale/model.pt", timeout=900)
    assert out.returncode != 0
    assert (tmp_path / "results" / "models" / "seed0" / "scale" / "model.pt").is_file()
    assert not (tmp_path / "results" / "models" / "seed0" / "lpn" / "model.pt").exists()
    assert "aelpn: 1 failed job(s); every independent job ran (keep-going):" in out.stderr
    assert "  train (results/models/seed0/lpn/model.pt): log logs/train/seed0/lpn.log" in out.stderr
