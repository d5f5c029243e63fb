"""Every learned component trains through ``aelpn.training.fit``: exact resume after an interruption right
after a checkpoint, spike recovery (an injected spike rolls back to the last checkpoint, the run completes with
a lower learning rate and records the event; a kill across the rollback resumes bit-identically), and a stop
naming the step once the rollbacks are spent (1-D net, conditional denoiser, unrolled network, blind MMSE
network, flow-matching model, VAE; the image networks in test_train.py). The recipe's warm-up and clipping are
tested on a tiny model."""

from __future__ import annotations

import pytest
import torch
import xarray as xr
from test_inverse_models import RECIPE, ICFG

import aelpn.blind.training as blind_mod
import aelpn.training.denoiser as denoiser_mod
import aelpn.training.flow as flow_mod
import aelpn.training.unrolled as unrolled_mod
import aelpn.training.vae as vae_mod
import aelpn.prox1d.study as prox1d_mod
import aelpn.training.crops as crops_mod
from aelpn.core.io import read_netcdf
from aelpn.training import (Divergence, DivergenceError, NonFiniteLossError, Recipe, Run, Step, checkpoint_path,
                            fields, fit, state)

DCFG = {"width": 4, "blocks": 1, "pixel_std": 0.25, "sigma_min": 0.002, "sigma_max": 80.0, "log_sigma_mean": -1.89,
        "log_sigma_std": 1.2, "steps": 8,
        "batch_size": 2, "lr": 1e-3, "checkpoint_every": 3, **RECIPE}
FLOW = {"width": 4, "blocks": 1, "pixel_std": 0.25, "t_min": 0.001, "t_max": 0.999, "steps": 8, "batch_size": 2,
        "lr": 1e-3, "checkpoint_every": 3, **RECIPE}
VAE = {"width": 4, "latent_channels": 2, "decoder_std": 0.1, "steps": 8, "batch_size": 2, "lr": 1e-3,
       "checkpoint_every": 3, **RECIPE}


@pytest.fixture
def components(tmp_path, smoke_config, crops_file):
    """name -> (module, train(out_dir)): each writes out_dir/model.pt and out_dir/log.nc."""
    crops = crops_file(tmp_path / "train.nc", "train", 8, 16)
    cfg = {"seed": 0, "compute": {"device": "cpu", "amp": False, "tf32": False}, "prox1d": smoke_config["prox1d"],
           "inverse": {**ICFG, "denoiser": DCFG, "flow": FLOW, "vae": VAE,
                       "unrolled": {"iterations": 2, "sigma_start": 0.19, "lam": 0.23, "steps": 7, "batch_size": 2,
                                    "lr": 1e-4, "checkpoint_every": 3, **RECIPE}},
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
    with pytest.raises(NonFiniteLossError, match=r"non-finite training loss \((nan|inf|-inf)\) at step 4 after 3 "
                                                 r"rollback\(s\).* kept .*\(step 3\)"):
        run(tmp_path / "run")
    assert not (tmp_path / "run" / "model.pt").exists()


def _spike_once(monkeypatch, module, at: int):
    """Make the loss of 0-based step ``at`` a finite spike (2.0**40) while the run still trains at its configured
    learning rate, i.e. until a rollback lowers it: deterministic, so a resumed run sees what an uninterrupted
    one saw."""
    real_fit = module.fit

    def fit(run_, model, optimizer, lr_at, batch_loss, **kwargs):
        def spiky(step):
            out = batch_loss(step)
            unscaled = optimizer.param_groups[0]["lr"] == lr_at(step) * run_.recipe.warmup_factor(step)
            return Step(out.loss * 0 + 2.0**40, out.log, out.stage) if step == at and unscaled else out
        return real_fit(run_, model, optimizer, lr_at, spiky, **kwargs)

    monkeypatch.setattr(module, "fit", fit)


@pytest.mark.parametrize("name", NAMES)
def test_a_spike_rolls_back_lowers_the_lr_records_it_and_completes(components, tmp_path, monkeypatch, name):
    module, run = components[name]
    _spike_once(monkeypatch, module, 4)  # the weights after 4 steps spike: back to the checkpoint at step 3
    run(tmp_path / "run")
    model = torch.load(tmp_path / "run" / "model.pt", weights_only=True)
    (event,) = model["extra"]["rollbacks"]
    assert event["step"] == 5 and event["loss"] == 2.0**40 and event["to_step"] == 3 and event["lr_scale"] == 0.5
    log = read_netcdf(tmp_path / "run" / "log.nc")
    assert log.attrs["rollbacks"] == 1 and log["rollback_step"].values.tolist() == [5]
    assert log["rollback_to_step"].values.tolist() == [3] and log["rollback_loss"].values.tolist() == [2.0**40]
    assert log["step"].values.tolist() == list(range(1, len(log["step"]) + 1))  # one value per step, no replay
    lr = log["lr"].values
    assert lr[3] == pytest.approx(0.5 * lr[2]) and event["lr"] == pytest.approx(lr[4])  # the rate lr_at(3) = lr[2]
    assert log.attrs["max_rollbacks"] == 3 and log.attrs["rollback_lr_factor"] == 0.5


@pytest.mark.parametrize("kill_step", [3, 6])
@pytest.mark.parametrize("name", NAMES)
def test_a_kill_across_a_rollback_resumes_bit_identically(components, tmp_path, monkeypatch, name, kill_step):
    """Killed right after the rollback's own checkpoint (step 3) or at the next regular one (step 6): the rerun
    ends with the weights, log and rollback record of an uninterrupted run with the same spike."""
    module, run = components[name]
    _spike_once(monkeypatch, module, 4)
    run(tmp_path / "ref")
    real_save = state.save

    def save_then_die(path, **kwargs):
        real_save(path, **kwargs)
        if kwargs["step"] == kill_step and kwargs["recovery"]["rollbacks"]:
            raise _Killed()

    with monkeypatch.context() as m:
        m.setattr(state, "save", save_then_die)
        with pytest.raises(_Killed):
            run(tmp_path / "run")
    run(tmp_path / "run")
    ref = torch.load(tmp_path / "ref" / "model.pt", weights_only=True)
    got = torch.load(tmp_path / "run" / "model.pt", weights_only=True)
    assert all(torch.equal(ref["state_dict"][k], got["state_dict"][k]) for k in ref["state_dict"])
    assert ref["extra"]["rollbacks"] == got["extra"]["rollbacks"] and len(got["extra"]["rollbacks"]) == 1
    xr.testing.assert_equal(*(read_netcdf(d / "log.nc").drop_vars("seconds").drop_attrs()
                              for d in (tmp_path / "ref", tmp_path / "run")))


def _tiny_fit(tmp_path, lr_warmup, grad_clip, steps=6, spike_at=None):
    """A 3-weight least-squares model trained by ``fit`` with the given recipe (one rollback allowed; the loss of
    0-based step ``spike_at`` is a spike until the learning rate is lowered); returns (record, gradient norms the
    optimizer stepped with)."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1, bias=False).double()
    norms = []

    class Recording(torch.optim.Adam):
        def step(self, closure=None):
            norms.append(float(torch.cat([p.grad.flatten() for p in model.parameters()]).norm()))
            return super().step(closure)

    x, y = torch.randn(16, 3, dtype=torch.float64), 100.0 * torch.randn(16, 1, dtype=torch.float64)
    recipe = Recipe(lr_warmup, grad_clip, Divergence(1000.0, 0, 1, 0.5))
    run = Run(label="tiny", section="tiny", steps=steps, checkpoint_every=3, recipe=recipe, out=tmp_path / "m.pt",
              log_out=tmp_path / "log.nc", fingerprint="tiny", fields=fields(), title="tiny", cfg={}, device="cpu")
    optimizer = Recording(model.parameters())

    def loss(step):
        value = (model(x) - y).pow(2).mean()
        spiking = step == spike_at and optimizer.param_groups[0]["lr"] >= 0.1 * recipe.warmup_factor(step)
        return Step(value * 0 + 2.0**60 if spiking else value)

    return fit(run, model, optimizer, lambda step: 0.1, loss, resumables={}), norms


def test_the_lr_warmup_is_linear_then_constant(tmp_path):
    record, _ = _tiny_fit(tmp_path, lr_warmup=4, grad_clip=None)
    assert record.log["lr"] == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1, 0.1])
    assert _tiny_fit(tmp_path / "none", lr_warmup=0, grad_clip=None)[0].log["lr"] == pytest.approx([0.1] * 6)


def test_grad_clip_bounds_the_gradient_norm_the_optimizer_steps_with(tmp_path):
    _, free = _tiny_fit(tmp_path, lr_warmup=0, grad_clip=None)
    _, clipped = _tiny_fit(tmp_path / "clip", lr_warmup=0, grad_clip=1.0)
    assert min(free) > 10.0  # the loss's gradient is large; clipping must act
    assert max(clipped) == pytest.approx(1.0, rel=1e-6)


def test_a_spike_right_after_a_checkpoint_rolls_back_to_the_one_before(tmp_path):
    """The checkpoint at step 3 holds the weights whose loss spiked at step 4: the run returns to step 0."""
    record, _ = _tiny_fit(tmp_path, lr_warmup=0, grad_clip=None, spike_at=3)
    (event,) = record.rollbacks
    assert (event.step, event.to_step, event.lr_scale) == (4, 0, 0.5)
    assert record.log["lr"] == pytest.approx([0.05] * 6) and len(record.log["loss"]) == 6


def test_a_spike_after_the_last_rollback_stops_naming_the_step_and_the_rollbacks(tmp_path):
    """Step 5's loss spikes whatever the learning rate: one rollback, then the stop."""
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)
    run = Run(label="tiny", section="tiny", steps=6, checkpoint_every=3,
              recipe=Recipe(0, None, Divergence(1000.0, 0, 1, 0.5)), out=tmp_path / "m.pt", log_out=tmp_path / "l.nc",
              fingerprint="tiny", fields=fields(), title="tiny", cfg={}, device="cpu")
    x = torch.ones(2, 1)
    with pytest.raises(DivergenceError, match=r"tiny: training diverged at step 5: .* after 1 rollback\(s\), each "
                                              r"multiplying the learning rate by 0.5; .*tiny.divergence.rollbacks"):
        fit(run, model, torch.optim.Adam(model.parameters()), lambda step: 0.1,
            lambda step: Step(model(x).pow(2).mean() * 0 + (2.0**60 if step == 4 else 1.0)), resumables={})
