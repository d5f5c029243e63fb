"""Conditional denoiser, unrolled network, diffusion and Langevin solvers on tiny images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

import aelpn
from aelpn.solvers import diffusion, langevin
from aelpn.models.denoiser import ConditionalDenoiser, build_denoiser, load_denoiser
from aelpn.training.denoiser import sample_sigma, train_denoiser
from aelpn.physics.problems import build_problem
from aelpn.models.unrolled import UnrolledHQS, load_unrolled
from aelpn.training.unrolled import train_unrolled

DIVERGENCE = {"factor": 1000.0, "warmup": 2, "rollbacks": 3, "lr_factor": 0.5}
RECIPE = {"lr_warmup": 0, "grad_clip": None, "divergence": DIVERGENCE}  # the training keys of every learned component
DCFG = {"width": 4, "blocks": 1, "pixel_std": 0.25, "sigma_min": 0.002, "sigma_max": 80.0, "log_sigma_mean": -1.89,
        "log_sigma_std": 1.2, "steps": 4,
        "batch_size": 4, "lr": 1e-3, "checkpoint_every": 2, **RECIPE}
PROBLEMS = {"inp": {"operator": "inpainting", "keep": 0.5, "noise": {"kind": "gaussian", "sigma": 0.02}},
            "pb": {"operator": "blur", "blur_sigma": 1.0,
                   "noise": {"kind": "poisson", "photons": 50.0, "background": 0.01}}}
ICFG = {"problems": PROBLEMS, "poisson": {"newton_iterations": 2, "cg_iterations": 3}}


def measured(name, n=2, size=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    prob = build_problem(name, ICFG, (3, size, size))
    x = torch.rand((n, 3, size, size), generator=gen)
    params = prob.sample_params(n, gen)
    return prob.data_term(prob.physics(params), prob.measure(x, params, gen)), x


@pytest.fixture(scope="module")
def denoiser():
    return build_denoiser(3, DCFG, seed=0).eval()


def test_denoiser_is_identity_at_zero_noise_and_seeded(denoiser):
    x = torch.rand((2, 3, 16, 16), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(denoiser(x, 1e-7), x, atol=1e-5)
        out = denoiser(x, torch.tensor([0.1, 5.0]))
    assert out.shape == x.shape and torch.isfinite(out).all()
    again = build_denoiser(3, DCFG, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(denoiser.state_dict().values(), again.state_dict().values()))


def test_training_sigma_is_lognormal_clamped_and_seeded():
    """ln sigma ~ N(log_sigma_mean, log_sigma_std^2) clamped to [sigma_min, sigma_max]: moments of ln sigma away from
    the clamp, the clamp itself, and the same draws from the same generator."""
    cfg = {**DCFG, "sigma_min": 1e-6, "sigma_max": 1e6}
    log_sigma = sample_sigma(200_000, cfg, torch.Generator().manual_seed(0)).double().log()
    assert abs(float(log_sigma.mean()) - cfg["log_sigma_mean"]) < 0.01
    assert abs(float(log_sigma.std()) - cfg["log_sigma_std"]) < 0.01
    clamped = sample_sigma(10_000, {**DCFG, "sigma_min": 0.05, "sigma_max": 0.5}, torch.Generator().manual_seed(0))
    assert float(clamped.min()) == pytest.approx(0.05) and float(clamped.max()) == pytest.approx(0.5)
    assert torch.equal(sample_sigma(8, DCFG, torch.Generator().manual_seed(3)),
                       sample_sigma(8, DCFG, torch.Generator().manual_seed(3)))


def test_training_writes_models_with_cost_and_is_reproducible(tmp_path, crops_file):
    crops = crops_file(tmp_path / "train.nc", "train", 8, 16)
    cfg = {"seed": 0, "compute": {"device": "cpu", "amp": False, "tf32": False},
           "inverse": {**ICFG, "denoiser": DCFG,
                       "unrolled": {"iterations": 2, "sigma_start": 0.19, "lam": 0.23, "steps": 2, "batch_size": 2,
                                    "lr": 1e-4, "checkpoint_every": 1, **RECIPE}}}
    train_denoiser(cfg, crops, tmp_path / "d.pt", tmp_path / "d_log.nc")
    train_denoiser(cfg, crops, tmp_path / "d2.pt", tmp_path / "d2_log.nc")
    a, meta = load_denoiser(tmp_path / "d.pt")
    b, _ = load_denoiser(tmp_path / "d2.pt")
    assert meta["steps"] == 4 and meta["train_seconds"] > 0 and meta["train_device"] == "cpu"
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    log = xr.open_dataset(tmp_path / "d_log.nc").load()
    assert log.sizes["step"] == 4 and np.isfinite(log["loss"]).all()
    assert not (tmp_path / "d.checkpoint.pt").exists()
    train_unrolled(cfg, "inp", crops, tmp_path / "d.pt", tmp_path / "u.pt", tmp_path / "u_log.nc")
    model, umeta = load_unrolled(tmp_path / "u.pt")
    assert umeta["problem"] == "inp" and umeta["steps"] == 2 and len(model.denoisers) == 2
    assert isinstance(aelpn.load_model(tmp_path / "u.pt", device="cpu"), UnrolledHQS)  # one loader, kind dispatch
    assert isinstance(aelpn.load_model(tmp_path / "d.pt", device="cpu"), ConditionalDenoiser)


@pytest.mark.parametrize("name", ["inp", "pb"])
def test_unrolled_forward_and_backward_reach_every_parameter(denoiser, name):
    data, x = measured(name)
    model = UnrolledHQS(denoiser, iterations=3, sigma_start=0.19, lam=0.23)
    loss = (model(data) - x).pow(2).mean()
    loss.backward()
    assert torch.isfinite(loss)
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
    assert float(model.log_weight_offset.grad.abs().sum()) > 0
    assert model.denoisers[0] is not model.denoisers[1]


@pytest.mark.parametrize("name", ["inp", "pb"])
def test_diffpir_runs_seeded_without_touching_the_global_rng(denoiser, name):
    data, _ = measured(name)
    state = torch.get_rng_state()
    a = diffusion.diffpir(data, denoiser, steps=4, lam=7.0, zeta=0.3, seed=3)
    b = diffusion.diffpir(data, denoiser, steps=4, lam=7.0, zeta=0.3, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    assert a.shape == data.y.shape and torch.isfinite(a).all() and torch.equal(a, b)


def test_dps_runs_a_few_steps_seeded(denoiser):
    data, _ = measured("inp")
    a = diffusion.dps(data, denoiser, steps=4, zeta=0.25, seed=5)
    b = diffusion.dps(data, denoiser, steps=4, zeta=0.25, seed=5)
    assert a.shape == data.y.shape and torch.isfinite(a).all() and torch.equal(a, b)


def test_ula_returns_posterior_mean_and_positive_std(denoiser):
    data, _ = measured("inp")
    cfg = {"iterations": 20, "step_fraction": 0.9, "sigma": 0.05, "alpha": 1.0, "thinning": 1, "burnin_ratio": 0.2}
    mean, std, sample = langevin.pnp_ula(data, denoiser, cfg, seed=0)
    mean2, _, sample2 = langevin.pnp_ula(data, denoiser, cfg, seed=0)
    assert mean.shape == std.shape == sample.shape == data.y.shape
    assert torch.equal(mean, mean2) and torch.equal(sample, sample2) and bool((std > 0).all())
    # the sample is one kept chain state: it deviates from the chain's mean by about one posterior std per pixel
    assert 0.3 < float(((sample - mean) / std).pow(2).mean()) < 3
    assert langevin.step_size(data, 1.0, 0.05, 0.9) < 1 / data.lipschitz()
