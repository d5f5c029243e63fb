"""Training of the blind MMSE network (aelpn.blind.network): crops blurred with widths theta drawn from the theta
prior ``blind.theta_prior`` (uniform on [low, high], the one the joint MAP searches) plus noise.

1. The kernel head alone, for ``blind.network.head_steps`` Adam steps on mean (theta_hat - theta)^2 (cheap: no HQS).
2. The whole network end to end with the one training loop (aelpn.training), loss
   mean ||x_hat - x||^2 + theta_weight mean (theta_hat - theta)^2; the HQS denoisers start from the conditional
   denoiser. The kernel reaches the HQS without gradient, so the head learns only from the width loss and
   theta_weight scales the head's gradient against the HQS's (both under one gradient clip)."""

from __future__ import annotations

from pathlib import Path

import torch

from aelpn.blind import kernels
from aelpn.blind.network import BlindUnrolled
from aelpn.core.device import autocast
from aelpn.core.seeding import derive_seed
from aelpn.models.files import load_model
from aelpn.training import Field, Step, fields
from aelpn.training.crops import train_on_crops


def blurred_batch(x: torch.Tensor, bcfg: dict, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Widths theta ~ theta prior (B,) and measurements y = h(theta) * x + noise of the crops ``x``."""
    prior = bcfg["theta_prior"]
    theta = kernels.sample_widths(x.shape[0], prior["low"], prior["high"], gen).to(x.dtype)
    return theta, kernels.measure(x, theta, bcfg["kernel_size"], bcfg["noise_sigma"], gen)


def fit_head(net: BlindUnrolled, crops: torch.Tensor, bcfg: dict, seed: int) -> None:
    """Fit the kernel head alone: ``blind.network.head_steps`` Adam steps (lr ``blind.network.lr``) on
    mean (theta_hat - theta)^2 over batches of ``batch_size`` crops drawn with replacement, on the CPU."""
    ncfg = bcfg["network"]
    gen = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(net.head.parameters(), lr=ncfg["lr"])
    for _ in range(ncfg["head_steps"]):
        idx = torch.randint(crops.shape[0], (ncfg["batch_size"],), generator=gen)
        theta, y = blurred_batch(crops[idx], bcfg, gen)
        loss = (net.head(y) - theta).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def build_network(cfg: dict, channels: int, denoiser) -> BlindUnrolled:
    """The untrained blind network of the config section ``blind`` around ``denoiser``; the head is initialised
    inside a forked RNG seeded by (seed, blind, head)."""
    bcfg, ncfg = cfg["blind"], cfg["blind"]["network"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(cfg["seed"], "blind", "head"))
        return BlindUnrolled(denoiser, channels, ncfg["head_width"], ncfg["head_bins"], ncfg["iterations"],
                             ncfg["sigma_start"], ncfg["lam"], bcfg["theta_prior"]["low"], bcfg["theta_prior"]["high"],
                             bcfg["kernel_size"], bcfg["noise_sigma"])


def _built(cfg: dict, crops: torch.Tensor, denoiser_path: str) -> BlindUnrolled:
    net = build_network(cfg, crops.shape[1], load_model(denoiser_path, device="cpu", kind="denoiser"))
    fit_head(net, crops, cfg["blind"], derive_seed(cfg["seed"], "blind", "head_fit"))
    return net


def train_blind(cfg: dict, crops_path: str, denoiser_path: str, out: str, log_out: str) -> Path:
    """Train the blind network (the head first, ``fit_head``; then end to end with the recipe of
    ``blind.network``: warm-up, gradient clipping) on fresh seeded blurred crops of ``crops_path`` by
    ``aelpn.training.crops.train_on_crops``; writes the model file (kind blind) and the training log
    (loss, image_mse, theta_mse). cfg: seed, compute, blind."""
    bcfg, ncfg = cfg["blind"], cfg["blind"]["network"]

    def loss(model, xb, gen, device) -> Step:
        theta, y = blurred_batch(xb, bcfg, gen)
        with autocast(cfg["compute"], device):
            x_hat, theta_hat = model(y.to(device))
            image = (x_hat - xb.to(device)).pow(2).mean()
            width = (theta_hat - theta.to(device)).pow(2).mean()
            return Step(image + ncfg["theta_weight"] * width, {"image_mse": image.item(), "theta_mse": width.item()})

    return train_on_crops(cfg, "blind.network", "blind", "blind network", "blind MMSE network training log",
                          crops_path, out, log_out, lambda x: _built(cfg, x, denoiser_path), loss,
                          derive_seed(cfg["seed"], "blind", "batches"),
                          fields(loss=Field("image MSE + blind.network.theta_weight x width MSE"),
                                 image_mse=Field("mean squared error of x_hat"),
                                 theta_mse=Field("mean squared error of theta_hat", "pixel2")),
                          depends_on=(denoiser_path,))
