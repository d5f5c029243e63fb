"""Wall time of the whole quick pipeline (every figure) in a scratch directory, of a no-op rerun of its DAG,
and the peak resident memory of the jobs."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import yaml


def _absolute_sources(configfile: Path, repo: Path, scratch: Path) -> Path:
    """A copy of the config whose relative data source paths point into ``repo`` (they are relative to the
    project root, not to the scratch working directory)."""
    cfg = yaml.safe_load(configfile.read_text())
    for source in cfg["data"]["sources"]:
        if "path" in source and not Path(source["path"]).is_absolute():
            source["path"] = str((repo / source["path"]).resolve())
    out = scratch / "bench_config.yaml"
    out.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return out


def _snakemake(repo: Path, scratch: Path, config: Path, log) -> float:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"), "--directory", str(scratch),
           "--cores", "all", "--configfile", str(config), "--replace-workflow-config"]
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"snakemake failed (exit {done.returncode}) in {scratch}; see {log.name}")
    return elapsed


def workflow_times(repo: str | Path, configfile: str | Path, scratch: str | Path) -> dict:
    """Run the workflow of ``repo`` with ``configfile`` in the empty directory ``scratch``, then again (nothing
    to do); wall seconds of both and the largest peak RSS (MiB) of any job (ru_maxrss of the children)."""
    repo, scratch = Path(repo).resolve(), Path(scratch).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    if any(p.name != "bench_config.yaml" for p in scratch.iterdir()):
        raise FileExistsError(f"{scratch}: the workflow benchmark needs an empty scratch directory")
    config = _absolute_sources(Path(configfile).resolve(), repo, scratch)
    with open(scratch / "bench_snakemake.log", "w") as log:
        full = _snakemake(repo, scratch, config, log)
        noop = _snakemake(repo, scratch, config, log)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"full_s": full, "noop_s": noop, "peak_job_rss_mib": peak}
