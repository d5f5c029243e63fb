"""The workflow on a real (throwaway, single-node) SLURM with the slurm-local profile.

A private SLURM (tests/slurm_cluster.py) runs a subset of the smoke DAG covering every resource class: a CPU
rule (crops) goes to the cpu partition, GPU rules (train, prox1d_train) to the gpu partition with one (fake)
GPU, local rules (fetch, evaluation, the notebook figure) stay on the submitting host. The outputs must match
a local run. A training job cancelled after its first checkpoint (with Snakemake killed too, as when the
login node dies) resumes from that checkpoint on the next `snakemake --rerun-incomplete`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

from configs import shipped_config
from slurm_cluster import Cluster, running
from workflow_utils import REPO, snakemake, write_config

pytestmark = pytest.mark.slurm

PROFILE = str(REPO / "workflow" / "profiles" / "slurm-local")
CPU_TARGETS = ["results/data/crops/train.nc"]
GPU_TARGETS = ["results/models/seed0/lpn/model.pt", "results/models/seed0/lpn/train_log.nc"]
LOCAL_TARGETS = ["results/metrics/prox1d.nc", "results/figures/prox1d.png"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, request):
    """A private SLURM for this module; stopped by pid at teardown (also when starting it fails)."""
    instance = Cluster(tmp_path_factory.mktemp("slurm"))
    request.addfinalizer(lambda: _stop_and_check(instance))
    return instance.start()


def _stop_and_check(instance: Cluster) -> None:
    pids = [p.pid for p in instance.daemons.values()]
    instance.stop()
    alive = [pid for pid in pids if _alive(pid)]
    left = running(("slurmctld", "slurmd", "slurmstepd"))
    assert not alive and not left, f"SLURM processes left running after the test: pids {alive}, {left}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _smoke(workdir: Path, **train) -> Path:
    """The smoke config with one variant per study and one replicate (fewer jobs, same resource classes) and
    ``train`` overrides."""
    cfg = shipped_config()
    cfg["seeds"] = [cfg["seed"]]
    cfg["model"]["variants"] = ["lpn"]
    cfg["prox1d"]["variants"] = ["lpn"]
    cfg["blind"]["variants"] = ["lpn"]  # must be a subset of model.variants (config validation)
    cfg["train"].update(train)
    cfg["compute"]["device"] = "cpu"  # the test cluster's GPU is a fake one that torch cannot see
    return write_config(cfg, workdir)


def _open(path: Path) -> xr.Dataset:
    with xr.open_dataset(path, engine="netcdf4") as ds:
        return ds.load()


def _measured(ds: xr.Dataset) -> xr.Dataset:
    """Values only: wall-clock timings (units 's') and provenance attrs differ between runs."""
    timings = [name for name, var in ds.data_vars.items() if var.attrs.get("units") == "s"]
    return ds.drop_vars(timings).drop_attrs()


def _by_rule(jobs: dict[str, dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """SLURM jobs grouped by the Snakemake rule named in their comment (rule_<name>[_wildcards_...])."""
    grouped: dict[str, list[dict[str, str]]] = {}
    for job in jobs.values():
        rule = re.match(r"rule_(.+?)(_wildcards_.*)?$", job.get("Comment", ""))
        grouped.setdefault(rule.group(1) if rule else "?", []).append(job)
    return grouped


def test_smoke_subset_runs_through_sbatch_with_gpus_where_asked(cluster, tmp_path):
    targets = CPU_TARGETS + GPU_TARGETS + LOCAL_TARGETS
    slurm_dir, local_dir = tmp_path / "slurm", tmp_path / "local"
    before = set(cluster.jobs())
    # The reference local run goes on meanwhile (the SLURM run mostly waits on polling).
    local = _start_snakemake(local_dir, _smoke(local_dir), "--cores", "2", *targets)
    try:
        started = time.monotonic()
        out = snakemake(slurm_dir, _smoke(slurm_dir), "--profile", PROFILE, *targets, timeout=600)
        took = time.monotonic() - started
        local.wait(timeout=600)
    finally:
        _kill(local)
    log = out.stdout + out.stderr
    assert out.returncode == 0, f"SLURM run failed:\n{log[-6000:]}\n{cluster.logs()}"
    assert local.returncode == 0, (local_dir / "driver.log").read_text()[-6000:]

    submitted = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log))
    jobs = {i: j for i, j in cluster.jobs().items() if i not in before}
    assert sorted(submitted.values()) == sorted(jobs), (submitted, sorted(jobs))
    rules = _by_rule(jobs)
    assert sorted(rules) == ["crops", "prox1d_train", "train"], rules
    for job in jobs.values():
        assert job["JobState"] == "COMPLETED", job
        assert Path(job["StdOut"]).is_file() and Path(job["StdOut"]).is_relative_to(slurm_dir / "logs" / "slurm")
    for rule in ("train", "prox1d_train"):
        for job in rules[rule]:
            assert job["Partition"] == "gpu", job
            assert "gpu:1" in job.get("TresPerJob", "") + job.get("TresPerNode", ""), job
    for job in rules["crops"]:
        assert job["Partition"] == "cpu", job
        assert "gpu" not in job.get("TresPerJob", "") + job.get("TresPerNode", ""), job
    assert [job["NumCPUs"] for job in rules["train"]] == ["2"], "set-threads train: 2 -> --cpus-per-task=2"

    produced = sorted(p.relative_to(slurm_dir) for p in (slurm_dir / "results").rglob("*.nc"))
    assert {str(p) for p in produced} >= {t for t in targets if t.endswith(".nc")}
    for rel in produced:
        xr.testing.assert_allclose(_measured(_open(slurm_dir / rel)), _measured(_open(local_dir / rel)))
    for target in targets:
        assert (slurm_dir / target).stat().st_size > 0, target
    print(f"SLURM subset run: {took:.0f} s, {len(jobs)} SLURM jobs")


def test_cancelled_training_resumes_from_its_checkpoint(cluster, tmp_path):
    configfile = _smoke(tmp_path, steps_pretrain=30, steps_pm=30, checkpoint_every=2, validate_every=10)
    checkpoint = tmp_path / "results" / "models" / "seed0" / "lpn" / "model.checkpoint.pt"
    train_log = tmp_path / "logs" / "train" / "seed0" / "lpn.log"
    before = set(cluster.jobs())
    driver = _start_snakemake(tmp_path, configfile, "--profile", PROFILE, GPU_TARGETS[0])
    try:
        # training writes a checkpoint at step 0, then one every 2 steps, each announced in its log
        _wait_for(lambda: train_log.is_file() and re.search(r"checkpoint \S+ at step \d+/", train_log.read_text()),
                  driver, "the first training checkpoint after step 0", timeout=300)
    finally:
        # The login node dies (Snakemake killed without cleanup) and the compute node with it (scancel).
        _kill(driver)
    train_jobs = [i for i, job in cluster.jobs().items() if i not in before and job["Comment"].startswith("rule_train")]
    assert len(train_jobs) == 1, cluster.jobs()
    assert cluster.run("scancel", train_jobs[0]).returncode == 0
    _wait_for(lambda: cluster.jobs()[train_jobs[0]]["JobState"] == "CANCELLED", None, "the cancellation", timeout=60)
    assert not (tmp_path / GPU_TARGETS[0]).exists()

    locked = snakemake(tmp_path, configfile, "--profile", PROFILE, GPU_TARGETS[0])
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr, "a killed run leaves a lock"
    assert snakemake(tmp_path, configfile, "--unlock").returncode == 0
    rerun = snakemake(tmp_path, configfile, "--profile", PROFILE, "--rerun-incomplete", GPU_TARGETS[0], timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-6000:] + rerun.stderr[-6000:]

    resumed = re.search(r"resuming train lpn from \S+ at step (\d+)/(\d+)", train_log.read_text())
    assert resumed, f"training did not resume from its checkpoint:\n{train_log.read_text()[-3000:]}"
    step, total = int(resumed.group(1)), int(resumed.group(2))
    assert 2 <= step < total == 60
    assert (tmp_path / GPU_TARGETS[0]).is_file() and not checkpoint.exists()
    assert _open(tmp_path / GPU_TARGETS[1]).sizes["step"] == total


def _start_snakemake(workdir: Path, configfile: Path, *args: str) -> subprocess.Popen:
    """Snakemake in the background, in its own session (so the test can kill it with its children)."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(configfile), "--replace-workflow-config", *args]
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    log = open(workdir / "driver.log", "w")
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    log.close()
    return proc


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL a background Snakemake and everything in its session (no-op once it has exited)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _wait_for(ready, driver: subprocess.Popen | None, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if driver is not None and driver.poll() is not None:
            log = Path(driver.args[driver.args.index("--directory") + 1]) / "driver.log"
            pytest.fail(f"snakemake exited ({driver.returncode}) before {what}:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.5)
