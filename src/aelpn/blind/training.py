"""Training of the blind MMSE network (aelpn.blind.network) with the one training loop (aelpn.training):
batches of crops blurred with widths theta ~ U[theta_min, theta_max] plus noise, loss
mean ||x_hat - x||^2 + theta_weight mean (theta_hat - theta)^2; the HQS denoisers start from the conditional
denoiser."""

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


def build_network(cfg: dict, channels: int, denoiser) -> BlindUnrolled:
    """The untrained blind network of the config section ``blind`` around ``denoiser``; the head is initialised
    inside a forked RNG seeded by (seed, blind, head)."""
    bcfg, ncfg = cfg["blind"], cfg["blind"]["network"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(cfg["seed"], "blind", "head"))
        return BlindUnrolled(denoiser, channels, ncfg["head_width"], ncfg["iterations"], ncfg["sigma_start"],
                             ncfg["lam"], bcfg["theta_max"], bcfg["kernel_size"], bcfg["noise_sigma"])


def train_blind(cfg: dict, crops_path: str, denoiser_path: str, out: str, log_out: str) -> Path:
    """Train the blind network (recipe of ``blind.network``: warm-up, gradient clipping) on fresh seeded blurred
    crops of ``crops_path`` by ``aelpn.training.crops.train_on_crops``; writes the model file (kind blind) and the
    training log (loss, image_mse, theta_mse). cfg: seed, compute, blind."""
    bcfg, ncfg = cfg["blind"], cfg["blind"]["network"]

    def loss(model, xb, gen, device) -> Step:
        theta = kernels.sample_widths(xb.shape[0], bcfg["theta_min"], bcfg["theta_max"], gen).float()
        y = kernels.measure(xb, theta, bcfg["kernel_size"], bcfg["noise_sigma"], gen)
        with autocast(cfg["compute"], device):
            x_hat, theta_hat = model(y.to(device))
            image = (x_hat - xb.to(device)).pow(2).mean()
            width = (theta_hat - theta.to(device)).pow(2).mean()
            return Step(image + ncfg["theta_weight"] * width, {"image_mse": image.item(), "theta_mse": width.item()})

    return train_on_crops(cfg, "blind.network", "blind", "blind network", "blind MMSE network training log",
                          crops_path, out, log_out,
                          lambda x: build_network(cfg, x.shape[1], load_model(denoiser_path, device="cpu")), loss,
                          derive_seed(cfg["seed"], "blind", "batches"),
                          fields(loss=Field("image MSE + blind.network.theta_weight x width MSE"),
                                 image_mse=Field("mean squared error of x_hat"),
                                 theta_mse=Field("mean squared error of theta_hat", "pixel2")),
                          depends_on=(denoiser_path,))
