"""The noise-conditional denoiser D(x, sigma) shared by continuation PnP, the unrolled networks, the
diffusion solvers and Langevin sampling (by Tweedie, (D(x, sigma) - x) / sigma^2 is the score of the
noisy prior); trained by ``aelpn.training.denoiser``."""

from __future__ import annotations

import deepinv as dinv
import torch

from aelpn.models.files import load_model, training_record


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


def denoiser_from_spec(spec: dict) -> ConditionalDenoiser:
    """A ConditionalDenoiser of the architecture ``spec`` (weights to be loaded; ``aelpn.models.files`` kind)."""
    return ConditionalDenoiser(spec["channels"], spec["width"], spec["blocks"], spec["pixel_std"])


def load_denoiser(path: str, device="cpu") -> tuple[ConditionalDenoiser, dict]:
    """The trained denoiser in eval mode (``aelpn.load_model``) and its metadata (train_seconds, train_device,
    steps)."""
    return load_model(path, device=device, kind="denoiser"), training_record(path)
