"""The noise-conditional denoiser D(x, sigma) shared by continuation PnP, the unrolled networks, the
diffusion solvers and Langevin sampling (by Tweedie, (D(x, sigma) - x) / sigma^2 is the score of the
noisy prior), and its MSE training on the crops, sigma drawn from EDM's log-normal distribution."""

from __future__ import annotations

from pathlib import Path

import deepinv as dinv
import torch

from aelpn.core.device import autocast
from aelpn.core.seeding import derive_seed
from aelpn.modelfile import load_model, read_model_file
from aelpn.training import Field, Step, fields
from aelpn.training.crops import train_on_crops


class ConditionalDenoiser(dinv.models.Denoiser):
    """D(x, s) = m + c_skip (x - m) + c_out F(c_in (x - m), log(s)/4) with m = 1/2, c_skip = p^2/(s^2 + p^2),
    c_out = s p / sqrt(s^2 + p^2), c_in = 1/sqrt(s^2 + p^2) (EDM preconditioning, p = ``pixel_std``) and F an
    untrained deepinv DRUNet with widths (w, 2w, 4w, 8w); D(x, 0) = x and D tends to a learned mean as s grows.
    A deepinv Denoiser: forward(x, sigma) with sigma a float or a (B,) tensor."""

    def __init__(self, channels: int, width: int, blocks: int, pixel_std: float):
        super().__init__()
        self.spec = {"channels": channels, "width": width, "blocks": blocks, "pixel_std": pixel_std}
        self.pixel_std = pixel_std
        self.net = dinv.models.DRUNet(
            in_channels=channels,
            out_channels=channels,
            nc=(width, 2 * width, 4 * width, 8 * width),
            nb=blocks,
            pretrained=None,
            device="cpu",
        )

    def forward(self, x: torch.Tensor, sigma) -> torch.Tensor:
        s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).flatten()
        s = (s.expand(x.shape[0]) if s.numel() == 1 else s).clamp_min(1e-6).view(-1, 1, 1, 1)
        p2 = self.pixel_std**2
        c_skip, c_out, c_in = p2 / (s * s + p2), s * self.pixel_std / (s * s + p2).sqrt(), 1 / (s * s + p2).sqrt()
        centred = x - 0.5
        return 0.5 + c_skip * centred + c_out * self.net(c_in * centred, (s.log() / 4).flatten())


def build_denoiser(channels: int, denoiser_cfg: dict, seed: int) -> ConditionalDenoiser:
    """A freshly initialized ConditionalDenoiser; deepinv initializes DRUNet from the global RNG, so it runs
    inside a forked RNG seeded with ``seed`` (the caller's RNG state is untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ConditionalDenoiser(
            channels, denoiser_cfg["width"], denoiser_cfg["blocks"], denoiser_cfg["pixel_std"]
        )


def sample_sigma(n: int, denoiser_cfg: dict, generator: torch.Generator) -> torch.Tensor:
    """ln sigma ~ N(log_sigma_mean, log_sigma_std^2), clamped to [sigma_min, sigma_max]: EDM's training noise
    distribution (Karras et al. 2022, P_mean = -1.2, P_std = 1.2 for images in [-1, 1]; in [0, 1] units the mean
    moves by ln(1/2) to -1.89). It puts most training on the noise levels where images keep structure; at reference
    scale (2000 steps) it lifts the denoiser at sigma = 0.05 from 26.9 dB (log-uniform on [0.002, 80]) to 31.1 dB
    (noisy input 26.3 dB)."""
    z = torch.randn(n, generator=generator)
    sigma = torch.exp(denoiser_cfg["log_sigma_mean"] + denoiser_cfg["log_sigma_std"] * z)
    return sigma.clamp(denoiser_cfg["sigma_min"], denoiser_cfg["sigma_max"])


def denoising_loss(model: ConditionalDenoiser, x: torch.Tensor, sigma: torch.Tensor, noise: torch.Tensor):
    """EDM-weighted MSE: mean of (s^2 + p^2)/(s p)^2 * ||D(x + s n, s) - x||^2 / (C H W)."""
    s = sigma.view(-1, 1, 1, 1)
    p2 = model.pixel_std**2
    weight = (s * s + p2) / (s * s * p2)
    return (weight * (model(x + s * noise, sigma) - x).pow(2)).mean()


def train_denoiser(cfg: dict, crops_path: str, out: str, log_out: str) -> Path:
    """Train D(x, sigma) on ``crops_path`` with the EDM-weighted loss (cfg: seed, compute, inverse.denoiser) by
    ``aelpn.training.crops.train_on_crops``; writes the model file (kind denoiser) and the log (loss, lr, seconds)."""
    dcfg = cfg["inverse"]["denoiser"]

    def loss(model, xb, gen, device) -> Step:
        sigma = sample_sigma(xb.shape[0], dcfg, gen)
        noise = torch.randn(xb.shape, generator=gen)
        with autocast(cfg["compute"], device):
            return Step(denoising_loss(model, xb.to(device), sigma.to(device), noise.to(device)))

    return train_on_crops(cfg, "inverse.denoiser", "denoiser", "denoiser", "conditional denoiser training log",
                          crops_path, out, log_out,
                          lambda x: build_denoiser(x.shape[1], dcfg, derive_seed(cfg["seed"], "inverse", "denoiser", "init")),
                          loss, derive_seed(cfg["seed"], "inverse", "denoiser", "batches"),
                          fields(loss=Field("EDM-weighted denoising MSE")))


def denoiser_from_spec(spec: dict) -> ConditionalDenoiser:
    """A ConditionalDenoiser of the architecture ``spec`` (weights to be loaded; ``aelpn.modelfile`` kind)."""
    return ConditionalDenoiser(spec["channels"], spec["width"], spec["blocks"], spec["pixel_std"])


def training_record(path) -> dict:
    """The model file's training record with the keys the solvers report: train_seconds, train_device, steps."""
    extra = read_model_file(path)["extra"]
    return {"train_seconds": extra["train_seconds"], "train_device": extra["device"], "steps": extra["steps"]}


def load_denoiser(path: str, device="cpu") -> tuple[ConditionalDenoiser, dict]:
    """The trained denoiser in eval mode (``aelpn.load_model``) and its metadata (train_seconds, train_device,
    steps)."""
    return load_model(path, device=device), training_record(path)
