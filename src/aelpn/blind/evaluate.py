"""The blind experiment on the evaluation crops, in float64: seeded measurements y = h(theta) * x + noise with
widths theta ~ U[theta_min, theta_max] (the same for every method), then per prior (the exact-prox variants of
``blind.variants`` and the classical control of aelpn.blind.control, ``blind.control.beta``):

* the landscape J(theta) on ``blind.grid_points`` widths of the theta prior's support, with the exact R;
* the alternating joint MAP from every initial width, and the MAP with the true width (the non-blind bound);
* the local search from the truth: the alternating joint MAP started at (theta_true, x), its width drift;
* the theorem's premises on the truths and the properness of the prior (aelpn.blind.premises);

then the blind MMSE network and its HQS with the true width, each blind estimator's blindness penalty (PSNR with
the true width minus blind PSNR) and the best constant width predictor; written by aelpn.blind.dataset as
blind.nc."""

from __future__ import annotations

import time

import numpy as np
import torch

from aelpn.core import metrics
from aelpn.blind import kernels, premises
from aelpn.blind.alternating import alternating_map
from aelpn.blind.control import LABEL as CONTROL, QuadraticGradientProx
from aelpn.blind.dataset import Results, write_blind
from aelpn.blind.landscape import landscape, map_estimate
from aelpn.core.seeding import derive_seed
from aelpn.inverse.priors import LearnedPrior, load_proximal_networks
from aelpn.models.files import load_model


def blind_measurements(cfg: dict, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """True widths (B,) and measurements of the crops ``x``, from a generator seeded by (seed, blind)."""
    bcfg = cfg["blind"]
    gen = torch.Generator().manual_seed(derive_seed(cfg["seed"], "blind", "measurements"))
    theta = kernels.sample_widths(x.shape[0], bcfg["theta_min"], bcfg["theta_max"], gen)
    return theta, kernels.measure(x, theta.to(x.dtype), bcfg["kernel_size"], bcfg["noise_sigma"], gen)


def _scores(res: Results, name: str, x: torch.Tensor, x_true: torch.Tensor, theta, seconds: float,
            oracle: str | None = None) -> None:
    n = x_true.shape[0]
    res.estimate(name, theta=None if theta is None else np.asarray(theta, dtype=float),
                 psnr=metrics.psnr(x, x_true).numpy(), ssim=metrics.ssim(x, x_true).numpy(), seconds=seconds / n,
                 examples=x[: res.examples].numpy(), oracle=oracle)


def _priors(cfg: dict, prior_paths: list[str]) -> list[LearnedPrior]:
    """The proximal networks of ``blind.variants`` and the classical control, in float64."""
    priors = load_proximal_networks(prior_paths, cfg["blind"]["variants"], "cpu")  # each at the sigma of its file
    control = LearnedPrior(CONTROL, QuadraticGradientProx(cfg["blind"]["control"]["beta"]), cfg["train"]["sigma"],
                           0.0, "cpu")
    for prior in priors:
        prior.network.double()
    return [*priors, control]


def _map_prior(res: Results, prior, y, x_all, theta_true, grid, inits, bcfg: dict) -> None:
    """Landscape, joint MAP, non-blind MAP, local search from the truth, premises and properness of one prior into
    ``res``."""
    n = x_all.shape[0]
    tic = time.perf_counter()
    land = landscape(prior, y, grid, bcfg, x_true=x_all)
    seconds = time.perf_counter() - tic
    best = land.argmin()
    res.landscape(prior.label, land)
    _scores(res, f"map_grid[{prior.label}]", land.x[best, torch.arange(n)], x_all, grid[best].numpy(), seconds,
            oracle=f"map_true_theta[{prior.label}]")
    tic, paths = time.perf_counter(), []
    for theta0 in inits:
        paths.append(alternating_map(prior, y, theta0.expand(n).to(y.dtype), bcfg))
    seconds = time.perf_counter() - tic
    res.alternating(prior.label, paths)
    end = torch.stack([p.objective[-1] for p in paths]).argmin(dim=0)  # the end point of lowest J
    x_alt = torch.stack([p.x for p in paths])[end, torch.arange(n)]
    theta_alt = torch.stack([p.theta[-1] for p in paths])[end, torch.arange(n)]
    _scores(res, f"map_alternating[{prior.label}]", x_alt, x_all, theta_alt.numpy(), seconds,
            oracle=f"map_true_theta[{prior.label}]")
    tic = time.perf_counter()
    data = kernels.data_term(theta_true.to(y.dtype), y, bcfg["kernel_size"], bcfg["noise_sigma"])
    est = map_estimate(data, prior, bcfg["map"])
    _scores(res, f"map_true_theta[{prior.label}]", est.x, x_all, None, time.perf_counter() - tic)
    res.local_search(prior.label, alternating_map(prior, y, theta_true.to(y.dtype), bcfg, x0=x_all))
    prem = premises.premises(prior, x_all, theta_true, bcfg)
    bound = premises.regularizer_lower_bound(prior, x_all, bcfg["properness"]["scales"])
    proper, reason = premises.properness(prior.label, bound, float(land.regularizer.min()))
    res.premises(prior.label, prem, bound, proper, reason, learned=prior.label != CONTROL)


def run_blind(cfg: dict, crops_path: str, prior_paths: list[str], network_path: str, out: str):
    """Run the blind experiment on the CPU (cfg: seed, train, blind) on the first ``blind.images`` crops with the
    proximal networks of ``blind.variants`` (``prior_paths``, in that order), the classical control and the blind
    network, and write ``out`` (blind.nc)."""
    from aelpn.data import load_crops

    bcfg = cfg["blind"]
    x_all, ids = load_crops(crops_path)
    n = bcfg["images"] or len(ids)
    x_all, ids = x_all[:n].double(), list(ids[:n])
    theta_true, y = blind_measurements(cfg, x_all)
    grid = kernels.theta_grid(bcfg["theta_prior"], bcfg["grid_points"])
    inits = torch.tensor(bcfg["alternating"]["inits"], dtype=torch.float64)
    res = Results(cfg, ids, theta_true.numpy(), grid.numpy(), inits.numpy(), y, x_all)
    for prior in _priors(cfg, prior_paths):
        _map_prior(res, prior, y, x_all, theta_true, grid, inits, bcfg)
    net = load_model(network_path, device="cpu", kind="blind")
    with torch.no_grad():
        tic = time.perf_counter()
        x_net, theta_net = net(y.float())
        _scores(res, "blind_mmse", x_net.double(), x_all, theta_net.double().numpy(), time.perf_counter() - tic,
                oracle="unrolled_true_theta")
        tic = time.perf_counter()
        x_oracle = net.reconstruct(y.float(), theta_true.float())
        _scores(res, "unrolled_true_theta", x_oracle.double(), x_all, None, time.perf_counter() - tic)
    return write_blind(res, out, "cpu")
