"""Training of the convolutional VAE (``aelpn.models.vae``): the negative ELBO per pixel,
(||x - Dec(w)||^2 / (2 s_d^2) + KL(q(w|x) || N(0, I))) / (C H W), w = mu + exp(logvar/2) e (reparametrisation,
e from a seeded generator)."""

from __future__ import annotations

from pathlib import Path

import torch

from aelpn.core.device import autocast
from aelpn.core.seeding import derive_seed
from aelpn.models.vae import ConvVAE, build_vae
from aelpn.training.crops import train_on_crops
from aelpn.training.log import Field, fields
from aelpn.training.loop import Step


def negative_elbo(vae: ConvVAE, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Batch mean of (||x - Dec(w)||^2 / (2 s_d^2) + KL(N(mu, e^logvar) || N(0, I))) / (C H W), w = mu + e^(logvar/2)
    ``noise``."""
    mu, logvar = vae.encode(x)
    w = mu + (0.5 * logvar).exp() * noise
    rec = (x - vae.decode(w)).pow(2).flatten(1).sum(1) / (2 * vae.decoder_std**2)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).flatten(1).sum(1)
    return ((rec + kl) / x[0].numel()).mean()


def train_vae(cfg: dict, crops_path: str, out: str, log_out: str) -> Path:
    """Train the VAE on ``crops_path`` with the negative ELBO (cfg: seed, compute, inverse.vae) by
    ``aelpn.training.crops.train_on_crops``; writes the model file (kind vae) and the log (loss, lr, seconds)."""
    vcfg = cfg["inverse"]["vae"]

    def loss(model, xb, gen, device) -> Step:
        noise = torch.randn((xb.shape[0], vcfg["latent_channels"], xb.shape[2] // 4, xb.shape[3] // 4), generator=gen)
        with autocast(cfg["compute"], device):
            return Step(negative_elbo(model, xb.to(device), noise.to(device)))

    return train_on_crops(cfg, "inverse.vae", "vae", "vae", "VAE training log", crops_path, out, log_out,
                          lambda x: build_vae(x.shape[1], vcfg, derive_seed(cfg["seed"], "inverse", "vae", "init")),
                          loss, derive_seed(cfg["seed"], "inverse", "vae", "batches"),
                          fields(loss=Field("negative ELBO per pixel")))

