"""Image-model training: schedule in the log, exact resume after an interruption, non-finite loss handling,
outputs (weights loadable weights-only, CF/provenance training log)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import xarray as xr

import aelpn.train as train_mod
from aelpn.checkpoint import checkpoint_path
from aelpn.io import read_netcdf
from aelpn.models import load_model
from aelpn.train import NonFiniteLossError, train
from configs import job_slice


@pytest.fixture
def setup(tmp_path, smoke_config, crops_file):
    cfg = job_slice(smoke_config, "compute", "data", "model", "train",
                    train={"steps_pretrain": 3, "steps_pm": 4, "checkpoint_every": 2, "validate_every": 3,
                           "batch_size": 3, "validate_images": 4})
    train_nc = crops_file(tmp_path / "train.nc", "train", 8, 16)
    val_nc = crops_file(tmp_path / "val.nc", "val", 5, 16)
    return cfg, train_nc, val_nc, tmp_path


def _run(cfg, train_nc, val_nc, out_dir, variant="lpn"):
    out, log = out_dir / "model.pt", out_dir / "train_log.nc"
    train(cfg, variant, train_nc, val_nc, out, log)
    return out, log


class _Interrupt(Exception):
    pass


def _fail_at(monkeypatch, step, make):
    """Make the loss of 1-based ``step`` misbehave (``make(loss)`` raises or returns a bad loss)."""
    calls = {"n": 0}

    def wrap(fn):
        def inner(*args, **kwargs):
            calls["n"] += 1
            loss = fn(*args, **kwargs)
            return make(loss) if calls["n"] == step else loss
        return inner

    monkeypatch.setattr(train_mod, "l1_loss", wrap(train_mod.l1_loss))
    monkeypatch.setattr(train_mod, "proximal_matching_loss", wrap(train_mod.proximal_matching_loss))


def test_log_records_schedule_validation_and_provenance(setup):
    cfg, train_nc, val_nc, tmp = setup
    out, log = _run(cfg, train_nc, val_nc, tmp / "lpn")
    ds = read_netcdf(log)
    assert list(ds["step"].values) == list(range(1, 8))
    assert list(ds["phase"].values) == [0, 0, 0, 1, 1, 1, 1]
    assert ds["phase"].attrs["flag_meanings"] == "l1_pretraining proximal_matching"
    g = cfg["train"]["gamma_min"] * math.sqrt(3 * 16 * 16)
    np.testing.assert_allclose(ds["gamma"].values[3:], [8 * g, 4 * g, 2 * g, g], rtol=1e-6)
    assert np.isnan(ds["gamma"].values[:3]).all()
    np.testing.assert_allclose(ds["lr"].values, [1e-3] * 3 + [1e-4] * 4, rtol=1e-6)
    validated = ~np.isnan(ds["val_psnr"].values)
    assert list(ds["step"].values[validated]) == [3, 6, 7]  # every validate_every steps and at the end
    assert np.isfinite(ds["loss"].values).all() and (ds["sigma"].values == cfg["train"]["sigma"]).all()
    for name in list(ds.data_vars) + ["step"]:
        assert {"long_name", "units"} <= set(ds[name].attrs), name
    assert ds.attrs["Conventions"].startswith("CF") and ds.attrs["variant"] == "lpn" and "git_describe" in ds.attrs
    payload = torch.load(out, weights_only=True)
    assert payload["extra"]["steps"] == 7 and payload["extra"]["variant"] == "lpn"
    assert payload["extra"]["final_val_psnr"] == pytest.approx(float(ds["val_psnr"].values[-1]), rel=1e-6)
    assert not checkpoint_path(out).exists()  # removed after a completed run
    model = load_model(out, device="cpu")
    assert model.variant == "lpn"
    # the constrained weights were projected after every step
    assert all((m.weight >= 0).all() for m in model.modules() if hasattr(m, "project_") and hasattr(m, "weight"))


def test_resume_after_interruption_gives_exactly_the_uninterrupted_weights(setup, monkeypatch):
    cfg, train_nc, val_nc, tmp = setup
    ref_out, ref_log = _run(cfg, train_nc, val_nc, tmp / "ref", variant="aelpn")

    with monkeypatch.context() as m:
        _fail_at(m, 5, lambda loss: (_ for _ in ()).throw(_Interrupt()))  # killed during step 5
        with pytest.raises(_Interrupt):
            _run(cfg, train_nc, val_nc, tmp / "run", variant="aelpn")
    ckpt = checkpoint_path(tmp / "run" / "model.pt")
    assert torch.load(ckpt, weights_only=True)["step"] == 4 and not (tmp / "run" / "model.pt").exists()
    out, log = _run(cfg, train_nc, val_nc, tmp / "run", variant="aelpn")

    ref, got = torch.load(ref_out, weights_only=True)["state_dict"], torch.load(out, weights_only=True)["state_dict"]
    assert ref.keys() == got.keys()
    assert all(torch.equal(ref[k], got[k]) for k in ref)
    xr.testing.assert_equal(*(read_netcdf(p).drop_vars("seconds").drop_attrs() for p in (ref_log, log)))
    assert (read_netcdf(log)["seconds"] > 0).all()


def test_stale_checkpoint_of_another_run_is_not_resumed(setup):
    cfg, train_nc, val_nc, tmp = setup
    ref_out, _ = _run(cfg, train_nc, val_nc, tmp / "ref")
    stale = checkpoint_path(tmp / "run" / "model.pt")
    stale.parent.mkdir()
    torch.save({"format": "aelpn-train-checkpoint-1", "fingerprint": "another-config", "step": 6}, stale)
    out, log = _run(cfg, train_nc, val_nc, tmp / "run")
    ref, got = torch.load(ref_out, weights_only=True)["state_dict"], torch.load(out, weights_only=True)["state_dict"]
    assert all(torch.equal(ref[k], got[k]) for k in ref)
    assert len(read_netcdf(log)["step"]) == 7 and not stale.exists()


def test_non_finite_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(setup, monkeypatch):
    cfg, train_nc, val_nc, tmp = setup
    _fail_at(monkeypatch, 6, lambda loss: loss * float("nan"))
    with pytest.raises(NonFiniteLossError, match=r"step 6 \(pm, variant lpn\).*checkpoint .* \(step 4\)"):
        _run(cfg, train_nc, val_nc, tmp / "run")
    ckpt = torch.load(checkpoint_path(tmp / "run" / "model.pt"), weights_only=True)
    assert ckpt["step"] == 4 and len(ckpt["log"]["loss"]) == 4
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values())
    assert not (tmp / "run" / "model.pt").exists() and not (tmp / "run" / "train_log.nc").exists()
