"""Training of the blind MMSE network (aelpn.blind.network) with the one training loop (aelpn.training):
batches of crops blurred with widths theta ~ U[theta_min, theta_max] plus noise, loss
mean ||x_hat - x||^2 + theta_weight mean (theta_hat - theta)^2; the HQS denoisers start from the conditional
denoiser."""

from __future__ import annotations

from pathlib import Path

import torch

from aelpn.blind import kernels
from aelpn.blind.network import BlindUnrolled
from aelpn.core.config import slice_hash
from aelpn.core.device import autocast, configure, describe
from aelpn.inverse.denoiser import ShuffledBatches
from aelpn.core.io import file_digest
from aelpn.modelfile import load_model, save_model
from aelpn.core.seeding import derive_seed
from aelpn.training import Divergence, Field, Run, Step, fields, fit


def build_network(cfg: dict, channels: int, denoiser) -> BlindUnrolled:
    """The untrained blind network of the config section ``blind`` around ``denoiser``; the head is initialised
    inside a forked RNG seeded by (seed, blind, head)."""
    bcfg, ncfg = cfg["blind"], cfg["blind"]["network"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(cfg["seed"], "blind", "head"))
        return BlindUnrolled(denoiser, channels, ncfg["head_width"], ncfg["iterations"], ncfg["sigma_start"],
                             ncfg["lam"], bcfg["theta_max"], bcfg["kernel_size"], bcfg["noise_sigma"])


def train_blind(cfg: dict, crops_path: str, denoiser_path: str, out: str, log_out: str) -> Path:
    """Train the blind network (Adam, gradient norm clipped to ``blind.network.grad_clip``) on fresh seeded
    blurred crops of ``crops_path``; writes the model file (kind blind) and the training log (loss, image_mse,
    theta_mse). cfg: seed, compute, blind."""
    from aelpn.data import load_crops

    bcfg, ncfg = cfg["blind"], cfg["blind"]["network"]
    device = configure(cfg["compute"])
    x_all, _ = load_crops(crops_path)
    model = build_network(cfg, x_all.shape[1], load_model(denoiser_path, device="cpu")).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=ncfg["lr"])
    gen = torch.Generator().manual_seed(derive_seed(cfg["seed"], "blind", "batches"))
    stream = ShuffledBatches(x_all, ncfg["batch_size"], gen)

    def batch_loss(step: int) -> Step:
        xb = stream.next()
        theta = kernels.sample_widths(xb.shape[0], bcfg["theta_min"], bcfg["theta_max"], gen).float()
        y = kernels.measure(xb, theta, bcfg["kernel_size"], bcfg["noise_sigma"], gen)
        with autocast(cfg["compute"], device):
            x_hat, theta_hat = model(y.to(device))
            image = (x_hat - xb.to(device)).pow(2).mean()
            width = (theta_hat - theta.to(device)).pow(2).mean()
            return Step(image + ncfg["theta_weight"] * width, {"image_mse": image.item(), "theta_mse": width.item()})

    run = Run(label="blind network", section="blind.network", steps=ncfg["steps"],
              checkpoint_every=ncfg["checkpoint_every"], divergence=Divergence.from_config(ncfg), out=Path(out),
              log_out=Path(log_out),
              fingerprint=f"blind-{slice_hash(cfg)}-{file_digest(crops_path)}-{file_digest(denoiser_path)}",
              fields=fields(loss=Field("image MSE + blind.network.theta_weight x width MSE"),
                            image_mse=Field("mean squared error of x_hat"),
                            theta_mse=Field("mean squared error of theta_hat", "pixel2")),
              title="blind MMSE network training log", cfg=cfg, device=describe(device))
    record = fit(run, model, opt, lambda step: ncfg["lr"], batch_loss, resumables={"generator": gen, "batches": stream},
                 grad_clip=ncfg["grad_clip"])
    model.eval()
    return save_model(model, out, "blind", extra=record.extra())
