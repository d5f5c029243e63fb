"""Every learned component trains through ``aelpn.training.fit``: exact resume after an interruption right
after a checkpoint, and a stop naming the step on a NaN or infinite loss (1-D net, conditional denoiser,
unrolled network, blind MMSE network, flow-matching model, VAE; the image networks in test_train.py)."""

from __future__ import annotations

import pytest
import torch
import xarray as xr
from test_inverse_models import DIVERGENCE, ICFG

import aelpn.blind.training as blind_mod
import aelpn.inverse.denoiser as denoiser_mod
import aelpn.inverse.flow as flow_mod
import aelpn.inverse.unrolled as unrolled_mod
import aelpn.inverse.vae as vae_mod
import aelpn.prox1d.study as prox1d_mod
import aelpn.training.crops as crops_mod
from aelpn.core.io import read_netcdf
from aelpn.training import NonFiniteLossError, Step, checkpoint_path, state

DCFG = {"width": 4, "blocks": 1, "pixel_std": 0.25, "sigma_min": 0.002, "sigma_max": 80.0, "log_sigma_mean": -1.89,
        "log_sigma_std": 1.2, "steps": 8,
        "batch_size": 2, "lr": 1e-3, "checkpoint_every": 3, "divergence": DIVERGENCE}
FLOW = {"width": 4, "blocks": 1, "pixel_std": 0.25, "t_min": 0.001, "t_max": 0.999, "steps": 8, "batch_size": 2,
        "lr": 1e-3, "checkpoint_every": 3, "divergence": DIVERGENCE}
VAE = {"width": 4, "latent_channels": 2, "decoder_std": 0.1, "steps": 8, "batch_size": 2, "lr": 1e-3,
       "checkpoint_every": 3, "divergence": DIVERGENCE}


@pytest.fixture
def components(tmp_path, smoke_config, crops_file):
    """name -> (module, train(out_dir)): each writes out_dir/model.pt and out_dir/log.nc."""
    crops = crops_file(tmp_path / "train.nc", "train", 8, 16)
    cfg = {"seed": 0, "compute": {"device": "cpu", "amp": False, "tf32": False}, "prox1d": smoke_config["prox1d"],
           "inverse": {**ICFG, "denoiser": DCFG, "flow": FLOW, "vae": VAE,
                       "continuation": {"sigma_start": 0.19, "lam": 0.23},
                       "unrolled": {"iterations": 2, "steps": 7, "batch_size": 2, "lr": 1e-4, "grad_clip": 1.0,
                                    "checkpoint_every": 3, "divergence": DIVERGENCE}},
           "blind": {**smoke_config["blind"], "network": {**smoke_config["blind"]["network"], "steps": 7,
                                                          "checkpoint_every": 3}}}
    cfg["prox1d"].update(steps=[4, 3], lrs=[1e-2, 1e-3], average_steps=3,
                         checkpoint_every=3)  # the average of steps 5-7 spans the checkpoint at 6
    denoiser = tmp_path / "denoiser.pt"
    denoiser_mod.train_denoiser(cfg, crops, denoiser, tmp_path / "denoiser_log.nc")
    return {
        "prox1d": (prox1d_mod, lambda d: prox1d_mod.train_1d(cfg, "scale", d / "model.pt", d / "log.nc")),
        "denoiser": (crops_mod, lambda d: denoiser_mod.train_denoiser(cfg, crops, d / "model.pt", d / "log.nc")),
        "unrolled": (crops_mod, lambda d: unrolled_mod.train_unrolled(cfg, "inp", crops, denoiser, d / "model.pt",
                                                                         d / "log.nc")),
        "blind": (crops_mod, lambda d: blind_mod.train_blind(cfg, crops, denoiser, d / "model.pt", d / "log.nc")),
        "flow": (crops_mod, lambda d: flow_mod.train_flow(cfg, crops, d / "model.pt", d / "log.nc")),
        "vae": (crops_mod, lambda d: vae_mod.train_vae(cfg, crops, d / "model.pt", d / "log.nc")),
    }


class _Killed(Exception):
    pass


NAMES = ["prox1d", "denoiser", "unrolled", "blind", "flow", "vae"]


@pytest.mark.parametrize("name", NAMES)
def test_resume_after_an_interruption_gives_the_uninterrupted_weights(components, tmp_path, monkeypatch, name):
    _, run = components[name]
    run(tmp_path / "ref")
    real_save = state.save

    def save_then_die(path, **kwargs):  # dies right after its second checkpoint, mid-epoch (4 batches per epoch)
        real_save(path, **kwargs)
        if kwargs["step"] == 6:
            raise _Killed()

    with monkeypatch.context() as m:
        m.setattr(state, "save", save_then_die)
        with pytest.raises(_Killed):
            run(tmp_path / "run")
    assert not (tmp_path / "run" / "model.pt").exists() and checkpoint_path(tmp_path / "run" / "model.pt").exists()
    assert len(read_netcdf(tmp_path / "run" / "log.nc")["step"]) == 3  # log of the checkpoint before
    run(tmp_path / "run")
    ref = torch.load(tmp_path / "ref" / "model.pt", weights_only=True)
    got = torch.load(tmp_path / "run" / "model.pt", weights_only=True)
    assert ref["kind"] == got["kind"] and ref["spec"] == got["spec"]
    assert all(torch.equal(ref["state_dict"][k], got["state_dict"][k]) for k in ref["state_dict"])
    xr.testing.assert_equal(*(read_netcdf(d / "log.nc").drop_vars("seconds").drop_attrs()
                              for d in (tmp_path / "ref", tmp_path / "run")))
    assert got["extra"]["train_seconds"] > 0 and got["extra"]["device"] == "cpu"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("name", NAMES)
def test_a_non_finite_loss_stops_naming_the_step(components, tmp_path, monkeypatch, name, bad):
    module, run = components[name]
    real_fit = module.fit

    def fit(run_, model, optimizer, lr_at, batch_loss, **kwargs):
        def poisoned(step):
            out = batch_loss(step)
            return Step(out.loss * 0 + bad, out.log, out.stage) if step == 3 else out
        return real_fit(run_, model, optimizer, lr_at, poisoned, **kwargs)

    monkeypatch.setattr(module, "fit", fit)
    with pytest.raises(NonFiniteLossError, match=r"non-finite training loss \((nan|inf|-inf)\) at step 4; kept .*"
                                                 r"\(step 3\)"):
        run(tmp_path / "run")
    assert not (tmp_path / "run" / "model.pt").exists()
