"""Shared fixtures: repository paths, the configs, the offline BSDS500 copy, crops files as the data stage writes
them, the process-wide denormal flush reset around every test, the smoke run of the whole DAG."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import torch

from configs import REPO, shipped_config
from crops_files import fetched_stand_in, write_crops

SHARED_BSDS = (REPO / ".." / "shared" / "data" / "BSDS500").resolve()

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _denormals_kept():
    """``aelpn.core.device.configure`` flushes denormals process-wide; every test starts with them kept (torch's
    default) and a test that needs the flush sets it, so no result depends on which tests ran before."""
    torch.set_flush_denormal(False)
    yield
    torch.set_flush_denormal(False)


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def paper_config() -> dict:
    return shipped_config("config.yaml")


@pytest.fixture
def quick_config() -> dict:
    return shipped_config("quick.yaml")


@pytest.fixture
def smoke_config() -> dict:
    return shipped_config("smoke.yaml")


@pytest.fixture
def shared_bsds() -> Path:
    """The offline BSDS500 copy beside the repository (CI and these machines have it)."""
    if not (SHARED_BSDS / "images" / "train").is_dir():
        pytest.fail(f"offline BSDS500 copy not found at {SHARED_BSDS}; see ../shared/data/README.md")
    return SHARED_BSDS


@pytest.fixture(scope="session")
def crops_file(tmp_path_factory):
    """``crops_file(path, split, n, size, seed=0)``: a crops file written by ``aelpn.data.make_crops`` from a
    fetched stand-in for BSDS500 (smooth colour patterns), the one layout every test reads."""
    fetched = fetched_stand_in(tmp_path_factory.mktemp("bsds_stand_in"))
    return functools.partial(write_crops, fetched, shipped_config()["data"])


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """The whole DAG (every figure) run once from nothing on the smoke config, shared by the end-to-end tests:
    returns (config, workdir, configfile)."""
    from workflow_utils import snakemake, write_config

    cfg = shipped_config()
    workdir = tmp_path_factory.mktemp("smoke")
    configfile = write_config(cfg, workdir)
    out = snakemake(workdir, configfile, "--cores", "2", "--show-failed-logs")
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]
    return cfg, workdir, configfile
