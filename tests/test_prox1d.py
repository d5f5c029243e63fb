"""1-D split-normal study: analytic prior/prox/potential/regularizer, sampler, training and evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from aelpn.core.io import read_netcdf
from aelpn.core.seeding import derive_seed
from aelpn.models import build_model_1d, load_model
from aelpn.models.layers import NonNegLinear
from aelpn.prox1d.splitnormal import SplitNormal
from aelpn.prox1d.study import INVERSION_TOL, evaluate_1d, max_prox_error, train_1d
from configs import job_slice
from sel_keywords import assert_selectable

PRIORS = [SplitNormal(1.0, 2.0, 1.0), SplitNormal(0.5, 1.5, 0.7)]


def test_default_prior_matches_the_paper_formulas():
    prior = PRIORS[0]
    y = torch.tensor([-3.0, -0.5, 0.0, 0.5, 3.0], dtype=torch.float64)
    torch.testing.assert_close(prior.prox(y), torch.where(y < 0, y / 2, 4 * y / 5))
    torch.testing.assert_close(prior.potential(y), torch.where(y < 0, y**2 / 4, 2 * y**2 / 5))
    torch.testing.assert_close(prior.regularizer(y), torch.where(y < 0, y**2 / 2, y**2 / 8))


@pytest.mark.parametrize("prior", PRIORS)
def test_prox_is_the_derivative_of_the_convex_potential(prior):
    y = torch.linspace(-6, 6, 241, dtype=torch.float64).requires_grad_(True)
    (grad,) = torch.autograd.grad(prior.potential(y).sum(), y)
    torch.testing.assert_close(grad, prior.prox(y.detach()))
    values = prior.potential(y.detach())
    assert (values[:-2] + values[2:] - 2 * values[1:-1] >= -1e-12).all()  # convex (second differences >= 0)


@pytest.mark.parametrize("prior", PRIORS)
def test_prox_minimises_the_map_objective_on_a_grid(prior):
    u = torch.linspace(-10, 10, 200001, dtype=torch.float64)
    for y in (-5.0, -1.3, -0.2, 0.0, 0.4, 2.2, 6.0):
        objective = 0.5 * (u - y) ** 2 + prior.regularizer(u)
        assert u[objective.argmin()].item() == pytest.approx(prior.prox(torch.tensor(y, dtype=torch.float64)).item(),
                                                             abs=2e-4)


@pytest.mark.parametrize("prior", PRIORS)
def test_regularizer_is_noise_variance_times_negative_log_density(prior):
    x = torch.linspace(-5, 5, 101, dtype=torch.float64)
    diff = prior.regularizer(x) + prior.noise_sigma**2 * prior.log_density(x)
    torch.testing.assert_close(diff, torch.full_like(diff, diff[0].item()))
    assert prior.regularizer(torch.zeros(1, dtype=torch.float64)).item() == 0.0
    dense = torch.linspace(-40, 40, 400001, dtype=torch.float64)
    assert torch.trapezoid(prior.log_density(dense).exp(), dense).item() == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("prior", PRIORS)
def test_sampler_moments(prior):
    sl, sr = prior.sigma_left, prior.sigma_right
    x = prior.sample(400_000, torch.Generator().manual_seed(3), dtype=torch.float64)
    assert (x < 0).double().mean().item() == pytest.approx(sl / (sl + sr), abs=3e-3)
    assert x.mean().item() == pytest.approx(math.sqrt(2 / math.pi) * (sr - sl), abs=0.01)
    assert (x**2).mean().item() == pytest.approx((sl**3 + sr**3) / (sl + sr), rel=0.01)
    assert (x[x < 0] ** 2).mean().item() == pytest.approx(sl**2, rel=0.01)
    assert (x[x >= 0] ** 2).mean().item() == pytest.approx(sr**2, rel=0.01)


def _cfg(smoke_config, **prox1d):
    return job_slice(smoke_config, "compute", "prox1d", prox1d=prox1d)


@pytest.mark.parametrize("variant", ["scale", "lpn", "normtrick"])
def test_short_training_reduces_the_prox_error(smoke_config, tmp_path, variant):
    """Scale first: the paper states its target (the exact split-normal prox, to ``target_max_error``). The
    2-homogeneous model (f quadratic in the weight scale) trains at the paper's first rate, 1e-3."""
    cfg = _cfg(smoke_config, steps=[150], lrs=[1e-3 if variant == "scale" else 1e-2], batch_size=256)
    pcfg = cfg["prox1d"]
    prior = SplitNormal.from_config(pcfg)
    before = max_prox_error(build_model_1d(variant, pcfg, seed=derive_seed(cfg["seed"], "prox1d", variant)),
                            prior, pcfg)
    train_1d(cfg, variant, tmp_path / f"{variant}.pt", tmp_path / f"{variant}_log.nc")
    model = load_model(tmp_path / f"{variant}.pt", device="cpu")
    after = max_prox_error(model, prior, pcfg)
    assert after < 0.8 * before
    assert torch.load(tmp_path / f"{variant}.pt", weights_only=True)["extra"]["max_prox_error"] == pytest.approx(after)


def test_saved_model_is_the_mean_of_the_last_average_steps_iterates(smoke_config, tmp_path):
    """Polyak-Ruppert averaging: with average_steps = 2 of steps [2, 2] the saved weights are (theta_3 + theta_4)/2,
    theta_t the weights after step t of the same seeded run (runs of 3 and 4 steps without averaging)."""
    def trained(name, steps, average_steps):
        cfg = _cfg(smoke_config, steps=steps, lrs=[1e-2, 1e-3][:len(steps)], batch_size=64,
                   average_steps=average_steps)
        train_1d(cfg, "scale", tmp_path / f"{name}.pt", tmp_path / f"{name}_log.nc")
        return load_model(tmp_path / f"{name}.pt", device="cpu"), torch.load(tmp_path / f"{name}.pt",
                                                                          weights_only=True)["extra"]
    averaged, extra = trained("averaged", [2, 2], 2)
    theta_3, _ = trained("theta3", [2, 1], 0)
    theta_4, extra_4 = trained("theta4", [2, 2], 0)
    for p, p3, p4 in zip(averaged.parameters(), theta_3.parameters(), theta_4.parameters()):
        torch.testing.assert_close(p, (p3 + p4) / 2)
    assert not torch.equal(next(theta_3.parameters()), next(theta_4.parameters()))
    assert extra["last_iterate_max_prox_error"] == pytest.approx(extra_4["max_prox_error"])
    nonneg = [m.weight for m in averaged.modules() if isinstance(m, NonNegLinear)]
    assert nonneg and min(w.min().item() for w in nonneg) >= 0


def test_evaluate_writes_the_study_with_finite_values(smoke_config, tmp_path):
    cfg = _cfg(smoke_config)
    pcfg = cfg["prox1d"]
    paths = [tmp_path / f"{v}.pt" for v in pcfg["variants"]]
    for v, path in zip(pcfg["variants"], paths):
        train_1d(cfg, v, path, tmp_path / f"{v}_log.nc")
    out = tmp_path / "prox1d.nc"
    evaluate_1d(cfg, list(reversed(paths)), out)
    ds = read_netcdf(out)
    assert_selectable(ds, out)
    assert ds["variant"].attrs == {"long_name": "1-D model variant", "units": "1"}
    assert dict(ds.sizes) == {"variant": 3, "x": pcfg["grid_points"]}
    assert list(ds["variant"].values) == pcfg["variants"]
    np.testing.assert_allclose(ds["x"].values[[0, -1]], [pcfg["grid_min"], pcfg["grid_max"]])
    for name in ("prox", "prox_true", "regularizer_true", "regularizer_residual", "prox_max_error"):
        assert np.isfinite(ds[name].values).all(), name
    np.testing.assert_allclose(ds["prox_max_error"].values,
                               np.abs(ds["prox"] - ds["prox_true"]).max("x").values, rtol=1e-6)
    reg, ok = ds["regularizer"].values, ds["regularizer_residual"].values <= INVERSION_TOL
    assert np.array_equal(np.isfinite(reg), ok)
    assert all(np.nanmin(r) == 0 for r, good in zip(reg, ok) if good.any())
    assert ds["regularizer_true"].min().item() == 0.0
    assert ds.attrs["target_max_error"] == pcfg["target_max_error"]
    for name in list(ds.data_vars) + ["x"]:
        assert {"long_name", "units"} <= set(ds[name].attrs), name
    with pytest.raises(ValueError, match="missing \\['normtrick'\\]"):
        evaluate_1d(cfg, paths[:2], tmp_path / "bad.nc")
