"""Image-model training, tied to the config: the loss of each phase, the learning rate of each step, the
noise level of the batches, the projection after every step; the log, exact resume (in process and through a
SIGKILL of the CLI), non-finite and divergent losses, corrupt checkpoints."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
import xarray as xr

from aelpn.core.io import read_netcdf
from aelpn.models import load_model
from aelpn.training import CheckpointError, DivergenceError, NonFiniteLossError, checkpoint_path, losses
from aelpn.training.proxnets import train
from aelpn.training.state import previous_path
from configs import job_slice


@pytest.fixture
def setup(tmp_path, smoke_config, crops_file):
    cfg = job_slice(smoke_config, "seeds", "compute", "data", "model", "train",
                    train={"steps_pretrain": 3, "steps_pm": 4, "checkpoint_every": 2, "validate_every": 3,
                           "batch_size": 3, "validate_images": 4})
    cfg["seeds"] = [cfg["seed"]]  # the replicate of training seed = the master seed
    train_nc = crops_file(tmp_path / "train.nc", "train", 8, 16)
    val_nc = crops_file(tmp_path / "val.nc", "val", 5, 16)
    return cfg, train_nc, val_nc, tmp_path


def _run(cfg, train_nc, val_nc, out_dir, variant="lpn"):
    out, log = out_dir / "model.pt", out_dir / "train_log.nc"
    train(cfg, variant, train_nc, val_nc, out, log)
    return out, log


def _weights(path):
    return torch.load(path, weights_only=True)["state_dict"]


def _assert_same_weights(a, b):
    a, b = _weights(a), _weights(b)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


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

    monkeypatch.setattr(losses, "l1_loss", wrap(losses.l1_loss))
    monkeypatch.setattr(losses, "proximal_matching_loss", wrap(losses.proximal_matching_loss))


def _constrained(model):
    return [m.weight for m in model.modules() if hasattr(m, "project_") and hasattr(m, "weight")]


def test_each_step_uses_its_phase_loss_learning_rate_noise_level_and_projection(setup, monkeypatch):
    cfg, train_nc, val_nc, tmp = setup
    cfg["train"].update(steps_pretrain=3, steps_pm=4, batch_size=8, sigma=0.2,
                        lr_pretrain={**cfg["train"]["lr_pretrain"], "lpn": 0.5},
                        lr_pm={**cfg["train"]["lr_pm"], "lpn": 0.05})
    seen = {"loss": [], "noise_std": [], "lr": [], "negative_before_forward": []}
    real_l1, real_pm = losses.l1_loss, losses.proximal_matching_loss

    def l1(pred, target):
        seen["loss"].append(("l1", None))
        return real_l1(pred, target)

    def pm(pred, target, gamma):
        seen["loss"].append(("pm", gamma))
        return real_pm(pred, target, gamma)

    monkeypatch.setattr(losses, "l1_loss", l1)
    monkeypatch.setattr(losses, "proximal_matching_loss", pm)
    real_adam_step = torch.optim.Adam.step

    def adam_step(self, *args, **kwargs):
        seen["lr"].append(self.param_groups[0]["lr"])
        return real_adam_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", adam_step)
    import aelpn.training.proxnets as train_mod

    real_build, inputs = train_mod.build_model, []

    def build(*args, **kwargs):
        model = real_build(*args, **kwargs)

        def pre_hook(module, args):
            if torch.is_grad_enabled():  # training forward, not validation
                inputs.append(args[0].detach().clone())
                seen["negative_before_forward"].append(any(bool((w < 0).any()) for w in _constrained(module)))
        model.register_forward_pre_hook(pre_hook)
        return model

    monkeypatch.setattr(train_mod, "build_model", build)
    x_all = torch.from_numpy(read_netcdf(train_nc)["crops"].values).float() / 255
    real_draw = train_mod.draw_batch

    def draw(x_train, tcfg, gen):
        idx, sigma, noise = real_draw(x_train, tcfg, gen)
        seen.setdefault("clean", []).append(x_all[idx])
        return idx, sigma, noise

    monkeypatch.setattr(train_mod, "draw_batch", draw)
    out, log = _run(cfg, train_nc, val_nc, tmp / "lpn")

    n = 3 * 16 * 16
    g = cfg["train"]["gamma_min"] * math.sqrt(n)
    assert seen["loss"] == [("l1", None)] * 3 + [("pm", pytest.approx(v)) for v in (8 * g, 4 * g, 2 * g, g)]
    assert seen["lr"] == [0.5] * 3 + [0.05] * 4  # the optimizer's own rate at each step follows the config
    for y, x in zip(inputs, seen["clean"]):  # the model sees y = x + sigma n with sigma = train.sigma
        assert float((y - x).std()) == pytest.approx(0.2, rel=0.05)
    assert not any(seen["negative_before_forward"])  # projected after every step (lr 0.5 would make them < 0)
    assert all(bool((w >= 0).all()) for w in _constrained(load_model(out, device="cpu")))
    np.testing.assert_allclose(read_netcdf(log)["lr"].values, seen["lr"], rtol=1e-6)


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
    assert ds.attrs["train_device"] == "cpu" and ds.attrs["train_seconds"] > 0 and ds.attrs["steps_done"] == 7
    extra = torch.load(out, weights_only=True)["extra"]
    assert extra["steps"] == 7 and extra["variant"] == "lpn" and extra["device"] == "cpu"
    assert extra["sigma"] == cfg["train"]["sigma"]  # the file says which prox it is (aelpn.models.files.proximal_sigma)
    assert extra["final_val_psnr"] == pytest.approx(float(ds["val_psnr"].values[-1]), rel=1e-6)
    assert extra["train_seconds"] == pytest.approx(float(ds["seconds"].sum()), rel=1e-5)
    assert not checkpoint_path(out).exists() and not previous_path(checkpoint_path(out)).exists()


def test_resume_after_interruption_gives_exactly_the_uninterrupted_weights(setup, monkeypatch):
    cfg, train_nc, val_nc, tmp = setup
    ref_out, ref_log = _run(cfg, train_nc, val_nc, tmp / "ref", variant="aelpn")
    with monkeypatch.context() as m:
        _fail_at(m, 5, lambda loss: (_ for _ in ()).throw(_Interrupt()))  # killed during step 5
        with pytest.raises(_Interrupt):
            _run(cfg, train_nc, val_nc, tmp / "run", variant="aelpn")
    ckpt = checkpoint_path(tmp / "run" / "model.pt")
    assert torch.load(ckpt, weights_only=True)["step"] == 4 and not (tmp / "run" / "model.pt").exists()
    assert torch.load(previous_path(ckpt), weights_only=True)["step"] == 2  # the last two are kept
    assert len(read_netcdf(tmp / "run" / "train_log.nc")["step"]) == 4  # the log is written at each checkpoint
    out, log = _run(cfg, train_nc, val_nc, tmp / "run", variant="aelpn")
    _assert_same_weights(ref_out, out)
    xr.testing.assert_equal(*(read_netcdf(p).drop_vars("seconds").drop_attrs() for p in (ref_log, log)))


def test_corrupt_newest_checkpoint_falls_back_to_the_previous_one(setup, monkeypatch, capsys):
    cfg, train_nc, val_nc, tmp = setup
    ref_out, _ = _run(cfg, train_nc, val_nc, tmp / "ref")
    with monkeypatch.context() as m:
        _fail_at(m, 5, lambda loss: (_ for _ in ()).throw(_Interrupt()))
        with pytest.raises(_Interrupt):
            _run(cfg, train_nc, val_nc, tmp / "run")
    ckpt = checkpoint_path(tmp / "run" / "model.pt")
    ckpt.write_bytes(ckpt.read_bytes()[:200])  # truncated
    out, _ = _run(cfg, train_nc, val_nc, tmp / "run")
    assert "previous checkpoint" in capsys.readouterr().out
    _assert_same_weights(ref_out, out)


def test_all_checkpoints_corrupt_is_one_line_naming_them(setup):
    cfg, train_nc, val_nc, tmp = setup
    ckpt = checkpoint_path(tmp / "run" / "model.pt")
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"\0" * 50)
    with pytest.raises(CheckpointError, match=r"model\.checkpoint\.pt: corrupt .* delete them to restart"):
        _run(cfg, train_nc, val_nc, tmp / "run")


def test_stale_checkpoint_of_another_run_is_not_resumed(setup):
    cfg, train_nc, val_nc, tmp = setup
    ref_out, _ = _run(cfg, train_nc, val_nc, tmp / "ref")
    stale = checkpoint_path(tmp / "run" / "model.pt")
    stale.parent.mkdir()
    torch.save({"format": "aelpn-train-checkpoint-2", "fingerprint": "another-config", "step": 6}, stale)
    out, log = _run(cfg, train_nc, val_nc, tmp / "run")
    _assert_same_weights(ref_out, out)
    assert len(read_netcdf(log)["step"]) == 7 and not stale.exists()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(setup, monkeypatch, bad):
    cfg, train_nc, val_nc, tmp = setup
    cfg["train"]["divergence"]["rollbacks"] = 0
    _fail_at(monkeypatch, 6, lambda loss: loss * 0 + bad)
    with pytest.raises(NonFiniteLossError, match=r"train lpn: non-finite .* at step 6 with no rollback allowed; "
                                                 r".*checkpoint .* \(step 4\)"):
        _run(cfg, train_nc, val_nc, tmp / "run")
    ckpt = torch.load(checkpoint_path(tmp / "run" / "model.pt"), weights_only=True)
    assert ckpt["step"] == 4 and len(ckpt["log"]["loss"]) == 4
    assert all(torch.isfinite(v).all() for v in ckpt["objects"]["model"].values())
    assert not (tmp / "run" / "model.pt").exists()


def test_a_finite_but_exploding_loss_stops_naming_the_step(setup):
    cfg, train_nc, val_nc, tmp = setup
    cfg["train"]["lr_pretrain"] = {**cfg["train"]["lr_pretrain"], "lpn": 1e6}
    cfg["train"]["divergence"].update(factor=100.0, warmup=1, rollbacks=0)
    with pytest.raises(DivergenceError, match=r"train lpn: training diverged at step \d+: loss .* > 100 x"):
        _run(cfg, train_nc, val_nc, tmp / "run")
    assert not (tmp / "run" / "model.pt").exists()


def _cli(args, env, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "aelpn.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.mark.slow
def test_sigkill_after_a_checkpoint_then_rerun_gives_the_uninterrupted_weights(setup):
    """A real kill of the ``aelpn train`` process (no clean-up runs), then the same command again."""
    cfg, train_nc, val_nc, tmp = setup
    cfg["train"].update(steps_pretrain=40, steps_pm=40, checkpoint_every=10, validate_every=40)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def args(out_dir):
        return ["train", "proxnet", "--config", json.dumps(cfg), "--variant", "scale", "--train", str(train_nc), "--val",
                str(val_nc), "--out", str(out_dir / "model.pt"), "--train-log", str(out_dir / "train_log.nc")]

    ref = _cli(args(tmp / "ref"), env)
    assert ref.wait(timeout=300) == 0, ref.stderr.read()
    run = _cli(args(tmp / "run"), env)
    for line in run.stdout:
        if line.startswith("checkpoint "):
            run.send_signal(signal.SIGKILL)
            break
    assert run.wait(timeout=60) == -signal.SIGKILL
    assert checkpoint_path(tmp / "run" / "model.pt").exists() and not (tmp / "run" / "model.pt").exists()
    again = _cli(args(tmp / "run"), env)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert "resuming train scale" in out
    _assert_same_weights(tmp / "ref" / "model.pt", tmp / "run" / "model.pt")


@pytest.mark.slow
def test_cli_reports_divergence_and_corrupt_models_in_one_line_with_exit_2(setup):
    cfg, train_nc, val_nc, tmp = setup
    cfg["train"]["lr_pretrain"] = {**cfg["train"]["lr_pretrain"], "lpn": 1e6}
    cfg["train"]["divergence"].update(factor=100.0, warmup=1, rollbacks=0)
    proc = _cli(["train", "proxnet", "--config", json.dumps(cfg), "--variant", "lpn", "--train", str(train_nc), "--val",
                 str(val_nc), "--out", str(tmp / "m" / "model.pt"), "--train-log", str(tmp / "m" / "log.nc")],
                os.environ)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2
    assert err.strip().splitlines()[-1].startswith("aelpn: DivergenceError: train lpn: training diverged at step")
    bad = tmp / "bad.pt"
    bad.write_bytes(b"not a model")
    sweep_cfg = {"seed": 0, "seeds": [0], "compute": cfg["compute"], "noise_sweep": {"sigmas": [0.1], "images": None,
                                                                     "batch_size": 2},
                 "figures": {"example_sigmas": [0.1], "example_images": 1, "dpi": 50}}
    proc = _cli(["evaluate", "noise_sweep", "--config", json.dumps(sweep_cfg), "--variant", "lpn", "--model", str(bad),
                 "--crops", str(val_nc), "--out", str(tmp / "s.nc")], os.environ)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, err
    assert err.strip().splitlines() == [f"aelpn: ModelFileError: {bad}: unreadable model file (UnpicklingError: "
                                        f"truncated or corrupt); delete it and rerun the step that writes it "
                                        f"(snakemake retrains a missing model)"]


def test_a_variant_trains_at_its_own_learning_rates(setup):
    """Per-variant rates (train.lr_pretrain / lr_pm): the AE-LPN run logs AE-LPN's, not LPN's."""
    cfg, train_nc, val_nc, tmp = setup
    cfg["train"].update(lr_pretrain={**cfg["train"]["lr_pretrain"], "lpn": 1e-3, "aelpn": 3e-4},
                        lr_pm={**cfg["train"]["lr_pm"], "lpn": 1e-4, "aelpn": 3e-5})
    _, log = _run(cfg, train_nc, val_nc, tmp, variant="aelpn")
    lr = read_netcdf(log)["lr"].values
    steps_pretrain = cfg["train"]["steps_pretrain"]
    np.testing.assert_allclose(lr[:steps_pretrain], 3e-4)
    np.testing.assert_allclose(lr[steps_pretrain:], 3e-5)


def test_training_noise_is_drawn_independently_per_colour_channel(smoke_config):
    """The noise of R, G and B are separate draws (uncorrelated), not one draw shared by the channels."""
    from aelpn.training.proxnets import draw_batch

    x = torch.rand(16, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    _, _, noise = draw_batch(x, {**smoke_config["train"], "batch_size": 16}, torch.Generator().manual_seed(1))
    channels = noise.transpose(0, 1).reshape(3, -1)
    corr = torch.corrcoef(channels)
    assert (corr - torch.eye(3)).abs().max().item() < 0.1
    assert channels.std(dim=1).sub(1.0).abs().max().item() < 0.1
