"""Shared fixtures: repository paths, the configs, the offline BSDS500 copy."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_BSDS = (REPO / ".." / "shared" / "data" / "BSDS500").resolve()

torch.set_num_threads(1)


def _load(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text())


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def paper_config() -> dict:
    return copy.deepcopy(_load("config.yaml"))


@pytest.fixture
def quick_config() -> dict:
    return copy.deepcopy(_load("quick.yaml"))


@pytest.fixture
def smoke_config() -> dict:
    return copy.deepcopy(_load("smoke.yaml"))


@pytest.fixture
def shared_bsds() -> Path:
    """The offline BSDS500 copy beside the repository (CI and these machines have it)."""
    if not (SHARED_BSDS / "images" / "train").is_dir():
        pytest.fail(f"offline BSDS500 copy not found at {SHARED_BSDS}; see ../shared/data/README.md")
    return SHARED_BSDS


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """The whole DAG (every figure) run once from nothing on the smoke config, shared by the end-to-end tests:
    returns (config, workdir, configfile)."""
    from workflow_utils import snakemake, write_config

    cfg = _load("smoke.yaml")
    workdir = tmp_path_factory.mktemp("smoke")
    configfile = write_config(cfg, workdir)
    out = snakemake(workdir, configfile, "--cores", "2", "--show-failed-logs")
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]
    return cfg, workdir, configfile
