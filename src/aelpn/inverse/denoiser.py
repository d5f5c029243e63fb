"""The noise-conditional denoiser D(x, sigma) shared by continuation PnP, the unrolled networks, the
diffusion solvers and Langevin sampling (by Tweedie, (D(x, sigma) - x) / sigma^2 is the score of the
noisy prior), and its MSE training on the crops over a wide, log-uniform range of sigma."""

from __future__ import annotations

import math
import time
from pathlib import Path

import deepinv as dinv
import numpy as np
import torch
import xarray as xr
from torch import nn

from aelpn import checkpoint
from aelpn.config import slice_hash
from aelpn.device import autocast, configure, describe
from aelpn.io import file_digest, save_torch, write_netcdf
from aelpn.progress import progress_bar
from aelpn.provenance import annotate, attrs
from aelpn.seeding import derive_seed


class ConditionalDenoiser(nn.Module):
    """D(x, s) = m + c_skip (x - m) + c_out F(c_in (x - m), log(s)/4) with m = 1/2, c_skip = p^2/(s^2 + p^2),
    c_out = s p / sqrt(s^2 + p^2), c_in = 1/sqrt(s^2 + p^2) (EDM preconditioning, p = ``pixel_std``) and F an
    untrained deepinv DRUNet with widths (w, 2w, 4w, 8w); D(x, 0) = x and D tends to a learned mean as s grows."""

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


def batches(x: torch.Tensor, batch_size: int, generator: torch.Generator):
    """Endless random batches of crops with random horizontal flips."""
    while True:
        for idx in torch.randperm(x.shape[0], generator=generator).split(batch_size):
            if len(idx) < min(batch_size, x.shape[0]):
                continue
            b = x[idx]
            flip = torch.rand(len(idx), generator=generator) < 0.5
            yield torch.where(flip.view(-1, 1, 1, 1), b.flip(-1), b)


def train_denoiser(cfg: dict, crops_path: str, out: str, log_out: str) -> Path:
    """Train D(x, sigma) with Adam on ``crops_path`` (cfg: seed, compute, inverse.denoiser); resumes from
    ``out + '.ckpt'`` (written atomically every ``checkpoint_every`` steps). Writes the model and a log
    (dim step: loss) with the training seconds and device."""
    from aelpn.data import load_crops

    dcfg = cfg["inverse"]["denoiser"]
    device = configure(cfg["compute"])
    x, _ = load_crops(crops_path)
    gen = torch.Generator().manual_seed(derive_seed(cfg["seed"], "inverse", "denoiser", "batches"))
    model = build_denoiser(x.shape[1], dcfg, derive_seed(cfg["seed"], "inverse", "denoiser", "init")).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=dcfg["lr"])
    ckpt_path = Path(str(out) + ".ckpt")
    fingerprint = f"denoiser-{slice_hash(cfg)}-{file_digest(crops_path)}"
    step, log = checkpoint.resume(ckpt_path, fingerprint, model, opt, gen, ("loss", "seconds"), "denoiser",
                                  dcfg["steps"])
    stream = batches(x, dcfg["batch_size"], gen)
    bar = progress_bar(total=dcfg["steps"], initial=step, desc="denoiser", mininterval=5)
    while step < dcfg["steps"]:
        t0 = time.perf_counter()
        xb = next(stream)
        sigma = sample_sigma(xb.shape[0], dcfg["sigma_min"], dcfg["sigma_max"], gen)
        noise = torch.randn(xb.shape, generator=gen)
        with autocast(cfg["compute"], device):
            loss = denoising_loss(model, xb.to(device), sigma.to(device), noise.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        log["seconds"].append(time.perf_counter() - t0)
        log["loss"].append(loss.item())
        bar.update(1)
        if step % dcfg["checkpoint_every"] == 0 and step < dcfg["steps"]:
            checkpoint.save(ckpt_path, fingerprint=fingerprint, step=step, model=model, optimizer=opt,
                            generator=gen, log=log)
    bar.close()
    seconds, losses = float(sum(log["seconds"])), log["loss"]
    model.eval()
    save_torch({"spec": model.spec, "state_dict": model.state_dict(), "train_seconds": seconds,
                "train_device": describe(device), "steps": step}, out)
    log = xr.Dataset({"loss": ("step", np.asarray(losses, dtype=np.float64))},
                     coords={"step": np.arange(1, len(losses) + 1)})
    log = annotate(log, {"loss": ("EDM-weighted denoising MSE", "1"), "step": ("optimizer step", "1")})
    log.attrs.update(attrs("conditional denoiser training log", cfg, describe(device)),
                     train_seconds=seconds, train_device=describe(device))
    write_netcdf(log, log_out)
    ckpt_path.unlink(missing_ok=True)
    return Path(out)


def load_denoiser(path: str, device="cpu") -> tuple[ConditionalDenoiser, dict]:
    """The trained denoiser in eval mode and its metadata (train_seconds, train_device, steps)."""
    ck = torch.load(path, map_location=device, weights_only=True)
    spec = ck["spec"]
    model = ConditionalDenoiser(spec["channels"], spec["width"], spec["blocks"], spec["pixel_std"])
    model.load_state_dict(ck["state_dict"])
    meta = {k: ck[k] for k in ("train_seconds", "train_device", "steps")}
    return model.to(device).eval(), meta
