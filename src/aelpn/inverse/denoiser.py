"""The noise-conditional denoiser D(x, sigma) shared by continuation PnP, the unrolled networks, the
diffusion solvers and Langevin sampling (by Tweedie, (D(x, sigma) - x) / sigma^2 is the score of the
noisy prior), and its MSE training on the crops over a wide, log-uniform range of sigma."""

from __future__ import annotations

import math
from pathlib import Path

import deepinv as dinv
import torch

from aelpn.core.config import slice_hash
from aelpn.core.device import autocast, configure, describe
from aelpn.core.io import file_digest
from aelpn.core.seeding import derive_seed
from aelpn.modelfile import load_model, read_model_file, save_model
from aelpn.training import Divergence, Field, Run, Step, fields, fit


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


def sample_sigma(n: int, sigma_min: float, sigma_max: float, generator: torch.Generator) -> torch.Tensor:
    """sigma ~ log-uniform on [sigma_min, sigma_max]."""
    u = torch.rand(n, generator=generator)
    return torch.exp(math.log(sigma_min) + u * (math.log(sigma_max) - math.log(sigma_min)))


def denoising_loss(model: ConditionalDenoiser, x: torch.Tensor, sigma: torch.Tensor, noise: torch.Tensor):
    """EDM-weighted MSE: mean of (s^2 + p^2)/(s p)^2 * ||D(x + s n, s) - x||^2 / (C H W)."""
    s = sigma.view(-1, 1, 1, 1)
    p2 = model.pixel_std**2
    weight = (s * s + p2) / (s * s * p2)
    return (weight * (model(x + s * noise, sigma) - x).pow(2)).mean()


class ShuffledBatches:
    """Endless random batches of crops: each epoch a seeded permutation split into batches (a short last one
    skipped), each batch with random horizontal flips. Its position (permutation, offset) is resumable
    state, so a resumed run draws exactly the batches of an uninterrupted one."""

    def __init__(self, x: torch.Tensor, batch_size: int, generator: torch.Generator):
        self.x, self.batch_size, self.generator = x, batch_size, generator
        self.perm, self.offset = None, 0

    def state_dict(self) -> dict:
        return {"perm": self.perm, "offset": self.offset}

    def load_state_dict(self, state: dict) -> None:
        self.perm, self.offset = state["perm"], state["offset"]

    def next(self) -> torch.Tensor:
        while True:
            if self.perm is None or self.offset >= len(self.perm):
                self.perm, self.offset = torch.randperm(self.x.shape[0], generator=self.generator), 0
            idx = self.perm[self.offset : self.offset + self.batch_size]
            self.offset += self.batch_size
            if len(idx) >= min(self.batch_size, self.x.shape[0]):
                break
        flip = torch.rand(len(idx), generator=self.generator) < 0.5
        b = self.x[idx]
        return torch.where(flip.view(-1, 1, 1, 1), b.flip(-1), b)


def train_denoiser(cfg: dict, crops_path: str, out: str, log_out: str) -> Path:
    """Train D(x, sigma) with Adam on ``crops_path`` (cfg: seed, compute, inverse.denoiser) with the
    ``aelpn.training`` loop (resumable, stops on a bad loss, log rewritten at every checkpoint). Writes the
    model file (kind denoiser, with the training seconds and device) and the log (dim step: loss, lr, seconds)."""
    from aelpn.data import load_crops

    dcfg = cfg["inverse"]["denoiser"]
    device = configure(cfg["compute"])
    x, _ = load_crops(crops_path)
    gen = torch.Generator().manual_seed(derive_seed(cfg["seed"], "inverse", "denoiser", "batches"))
    model = build_denoiser(x.shape[1], dcfg, derive_seed(cfg["seed"], "inverse", "denoiser", "init")).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=dcfg["lr"])
    stream = ShuffledBatches(x, dcfg["batch_size"], gen)

    def batch_loss(step: int) -> Step:
        xb = stream.next()
        sigma = sample_sigma(xb.shape[0], dcfg["sigma_min"], dcfg["sigma_max"], gen)
        noise = torch.randn(xb.shape, generator=gen)
        with autocast(cfg["compute"], device):
            return Step(denoising_loss(model, xb.to(device), sigma.to(device), noise.to(device)))

    run = Run(label="denoiser", section="inverse.denoiser", steps=dcfg["steps"],
              checkpoint_every=dcfg["checkpoint_every"], divergence=Divergence.from_config(dcfg), out=Path(out),
              log_out=Path(log_out), fingerprint=f"denoiser-{slice_hash(cfg)}-{file_digest(crops_path)}",
              fields=fields(loss=Field("EDM-weighted denoising MSE")), title="conditional denoiser training log",
              cfg=cfg, device=describe(device))
    record = fit(run, model, opt, lambda step: dcfg["lr"], batch_loss, resumables={"generator": gen, "batches": stream})
    model.eval()
    return save_model(model, out, "denoiser", extra=record.extra())


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
