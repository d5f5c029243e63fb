"""Helpers to run the Snakemake workflow from tests in a scratch working directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_BSDS = (REPO / ".." / "shared" / "data" / "BSDS500").resolve()


def write_config(cfg: dict, workdir: Path) -> Path:
    """Write ``cfg`` into ``workdir`` with local data paths made absolute (so --directory can move)."""
    cfg = dict(cfg)
    cfg["data"] = dict(cfg["data"])
    cfg["data"]["sources"] = [
        {"path": str((REPO / s["path"]).resolve())} if "path" in s else s for s in cfg["data"]["sources"]
    ]
    path = workdir / "config.yaml"
    workdir.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def snakemake(workdir: Path, configfile: Path, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    """Run snakemake on the repository's Snakefile in ``workdir`` with ``configfile`` (which replaces the default
    config without --replace-workflow-config) and the workflow profile that applies from the repository root."""
    return snakemake_args(workdir, "--configfile", str(configfile), *args, timeout=timeout)


def snakemake_args(workdir: Path, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    """Run snakemake on the repository's Snakefile in ``workdir`` with ``args`` as given, from the repository root
    (relative paths in ``args`` are the repository's)."""
    cmd = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir),
        *args,
    ]
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)


def job_counts(dry_run_output: str) -> dict[str, int]:
    """Parse the 'Job stats' table of a dry run into {rule: count}."""
    block = dry_run_output.split("Job stats:", 1)[1]
    counts = {}
    for line in block.splitlines()[3:]:
        m = re.match(r"^(\S+)\s+(\d+)$", line.strip())
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    return counts
