"""Replicates (config key seeds): a training job draws with its replicate's training seed where it drew with the
master seed, so the replicate of training seed = the master seed gives the single-seed weights bit for bit and
another gives other weights; evaluation draws with the master seed in every replicate; each file records its
training seed."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from aelpn.core.config import select
from aelpn.core.io import read_netcdf
from aelpn.core.slices import REPLICATE_JOBS, SLICES, replicate, sections
from aelpn.sweeps.evaluate import run_sweep
from aelpn.training.proxnets import train
from configs import job_slice

TRAIN_SECTIONS = ("compute", "data", "model", "train")


def test_a_replicate_narrows_seeds_and_a_training_job_takes_its_training_seed(smoke_config):
    """Every training and evaluation job is a job of one replicate; its slice holds seeds = [s], and a training
    job's seed is s, an evaluation's stays the master seed. The data stage reads no training seed."""
    assert set(REPLICATE_JOBS) == {c for c in SLICES if c.startswith(("train ", "evaluate "))}
    assert all("seeds" not in sections(c) for c in ("data fetch", "data crops"))
    assert all("seeds" in sections(c) for c in SLICES if c.startswith(("train ", "evaluate ", "combine ")))
    for command in REPLICATE_JOBS:
        cfg = replicate(select(smoke_config, *sections(command)), command, 5)
        assert cfg["seeds"] == [5]
        assert cfg["seed"] == (5 if command.startswith("train ") else smoke_config["seed"]), command
    with pytest.raises(ValueError, match="not a job of one replicate"):
        replicate(select(smoke_config, *sections("combine inverse")), "combine inverse", 5)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, crops_file):
    """The LPN trained on the single-seed slice (no seeds: the code path before replicates), on the replicate
    slice of training seed 0 = the master seed, and on that of training seed 5."""
    from configs import shipped_config

    smoke = shipped_config()
    tmp = tmp_path_factory.mktemp("replicates")
    train_nc, val_nc = crops_file(tmp / "train.nc", "train", 8, 16), crops_file(tmp / "val.nc", "val", 5, 16)
    single = job_slice(smoke, *TRAIN_SECTIONS)
    runs = {"single": single, 0: replicate(dict(single, seeds=smoke["seeds"]), "train proxnet", 0),
            5: replicate(dict(single, seeds=smoke["seeds"]), "train proxnet", 5)}
    assert smoke["seed"] == 0 and 5 in smoke["seeds"]
    out = {}
    for name, cfg in runs.items():
        path = tmp / str(name)
        train(cfg, "lpn", train_nc, val_nc, path / "model.pt", path / "train_log.nc")
        out[name] = path
    return smoke, out, tmp


def _weights(path):
    return torch.load(path / "model.pt", weights_only=True)["state_dict"]


def test_the_replicate_of_the_master_seed_trains_the_single_seed_network_bit_for_bit(trained):
    _, runs, _ = trained
    single, same = _weights(runs["single"]), _weights(runs[0])
    assert single.keys() == same.keys() and all(torch.equal(single[k], same[k]) for k in single)
    a, b = read_netcdf(runs["single"] / "train_log.nc"), read_netcdf(runs[0] / "train_log.nc")
    for name in ("loss", "val_psnr", "lr", "gamma"):
        np.testing.assert_array_equal(a[name].values, b[name].values)
    assert json.loads(b.attrs["training_seeds"]) == [0] and "training_seeds" not in a.attrs


def test_another_training_seed_trains_another_network_and_records_its_seed(trained):
    _, runs, _ = trained
    base, other = _weights(runs[0]), _weights(runs[5])
    assert not all(torch.equal(base[k], other[k]) for k in base)
    log = read_netcdf(runs[5] / "train_log.nc")
    assert json.loads(log.attrs["training_seeds"]) == [5]
    assert not np.array_equal(log["loss"].values, read_netcdf(runs[0] / "train_log.nc")["loss"].values)


def test_an_evaluation_draws_with_the_master_seed_in_every_replicate(trained, crops_file):
    """The noise sweep of one network in the replicate slice of seed 5 adds the very noise of the single-seed
    slice (the master seed's): same PSNR values; only the recorded training seed differs."""
    smoke, runs, tmp = trained
    test_nc = crops_file(tmp / "test.nc", "test", 3, 16)
    single = job_slice(smoke, "compute", "noise_sweep", "figures")
    out = {}
    for name, cfg in {"single": single,
                      5: replicate(dict(single, seeds=smoke["seeds"]), "evaluate noise_sweep", 5)}.items():
        out[name] = run_sweep("noise_sweep", cfg, "lpn", runs[0] / "model.pt", test_nc, tmp / f"sweep_{name}.nc")
    for name in ("psnr", "ssim", "noisy", "denoised"):
        np.testing.assert_array_equal(out["single"][name].values, out[5][name].values)
    assert json.loads(read_netcdf(tmp / "sweep_5.nc").attrs["training_seeds"]) == [5]
