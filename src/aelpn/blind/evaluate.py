"""The blind experiment on the evaluation crops: seeded measurements y = h(theta) * x + noise with widths
theta ~ U[theta_min, theta_max] (the same for every method), then per exact-prox variant the landscape J(theta)
on the grid, the alternating joint MAP from every initial width and the non-blind PnP-ADMM with the true width;
the blind MMSE network and its HQS with the true width; written by aelpn.blind.dataset as blind.nc."""

from __future__ import annotations

import time

import numpy as np
import torch

from aelpn.core import metrics
from aelpn.blind import kernels
from aelpn.blind.alternating import alternating_map
from aelpn.blind.dataset import Results, write_blind
from aelpn.blind.landscape import landscape
from aelpn.inverse.priors import load_proximal_networks
from aelpn.inverse.methods.registry import get
from aelpn.models.files import load_model
from aelpn.core.seeding import derive_seed


def blind_measurements(cfg: dict, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """True widths (B,) and measurements of the crops ``x``, from a generator seeded by (seed, blind)."""
    bcfg = cfg["blind"]
    gen = torch.Generator().manual_seed(derive_seed(cfg["seed"], "blind", "measurements"))
    theta = kernels.sample_widths(x.shape[0], bcfg["theta_min"], bcfg["theta_max"], gen)
    return theta, kernels.measure(x, theta.to(x.dtype), bcfg["kernel_size"], bcfg["noise_sigma"], gen)


def _scores(res: Results, name: str, x: torch.Tensor, x_true: torch.Tensor, theta, seconds: float) -> None:
    n = x_true.shape[0]
    res.estimate(name, theta=None if theta is None else np.asarray(theta, dtype=float),
                 psnr=metrics.psnr(x, x_true).numpy(), ssim=metrics.ssim(x, x_true).numpy(), seconds=seconds / n,
                 examples=x[: res.examples].numpy())


def run_blind(cfg: dict, crops_path: str, prior_paths: list[str], network_path: str, out: str):
    """Run the blind experiment on the CPU (cfg: seed, train, blind) on the first ``blind.images`` crops with the proximal networks of ``blind.variants``
    (``prior_paths``, in that order) and the blind network, and write ``out`` (blind.nc)."""
    from aelpn.data import load_crops

    bcfg = cfg["blind"]
    x_all, ids = load_crops(crops_path)
    n = bcfg["images"] or len(ids)
    x_all, ids = x_all[:n], list(ids[:n])
    theta_true, y = blind_measurements(cfg, x_all)
    grid = kernels.theta_grid(bcfg["theta_max"], bcfg["grid_points"])
    inits = torch.tensor(bcfg["alternating"]["inits"], dtype=torch.float64)
    priors = load_proximal_networks(prior_paths, bcfg["variants"], "cpu")
    res = Results(cfg, ids, theta_true.numpy(), grid.numpy(), inits.numpy(), y, x_all)
    pnp = get("pnp_admm")
    for prior in priors:
        tic = time.perf_counter()
        land = landscape(prior, y, grid.float(), bcfg, x_true=x_all)
        seconds = time.perf_counter() - tic
        best = land.argmin()
        res.landscape(prior.label, land)
        x_grid = land.x[best, torch.arange(len(ids))]
        _scores(res, f"map_grid[{prior.label}]", x_grid, x_all, grid[best].numpy(), seconds)
        tic, paths = time.perf_counter(), []
        for theta0 in inits:
            paths.append(alternating_map(prior, y, theta0.expand(len(ids)).float(), bcfg))
        seconds = time.perf_counter() - tic
        res.alternating(prior.label, paths)
        end = torch.stack([p.objective[-1] for p in paths]).argmin(dim=0)  # the end point of lowest J
        x_alt = torch.stack([p.x for p in paths])[end, torch.arange(len(ids))]
        theta_alt = torch.stack([p.theta[-1] for p in paths])[end, torch.arange(len(ids))]
        _scores(res, f"map_alternating[{prior.label}]", x_alt, x_all, theta_alt.numpy(), seconds)
        tic = time.perf_counter()
        data = kernels.data_term(theta_true.float(), y, bcfg["kernel_size"], bcfg["noise_sigma"])
        est = pnp.solve(data, prior, bcfg["map"], derive_seed(cfg["seed"], "blind", prior.label), x_all)
        _scores(res, f"pnp_true_theta[{prior.label}]", est.x, x_all, None, time.perf_counter() - tic)
    net = load_model(network_path, device="cpu")
    with torch.no_grad():
        tic = time.perf_counter()
        x_net, theta_net = net(y)
        _scores(res, "blind_mmse", x_net, x_all, theta_net.numpy(), time.perf_counter() - tic)
        tic = time.perf_counter()
        x_oracle = net.reconstruct(y, theta_true.float())
        _scores(res, "unrolled_true_theta", x_oracle, x_all, None, time.perf_counter() - tic)
    return write_blind(res, out, "cpu")
