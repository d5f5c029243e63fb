"""A small convolutional VAE on the crops (Kingma & Welling 2014): latent w of shape (k, H/4, W/4) with prior
N(0, I); encoder q(w | x) = N(mu(x), diag exp(logvar(x))); Gaussian decoder p(x | w) = N(Dec(w), s_d^2 I) with a
fixed s_d = ``decoder_std``. Trained by ``aelpn.training.vae`` (negative ELBO); the projection onto its range,
the z-update of its ADMM, is ``aelpn.solvers.vae_projection``."""

from __future__ import annotations

import torch
from torch import nn

from aelpn.models.files import load_model, training_record


class ConvVAE(nn.Module):
    """Encoder: conv 3x3 (w) - conv 4x4/2 (2w) - conv 4x4/2 (2w) - conv 3x3 (2k: mu, logvar), SiLU between;
    decoder mirrored with transposed convolutions, output 1/2 + conv(...) (images in [0, 1]). H and W must be
    multiples of 4."""

    def __init__(self, channels: int, width: int, latent_channels: int, decoder_std: float):
        super().__init__()
        self.spec = {"channels": channels, "width": width, "latent_channels": latent_channels,
                     "decoder_std": decoder_std}
        self.decoder_std = decoder_std
        w, k = width, latent_channels
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, w, 3, padding=1), nn.SiLU(),
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(2 * w, 2 * w, 4, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(2 * w, 2 * k, 3, padding=1))
        self.decoder = nn.Sequential(
            nn.Conv2d(k, 2 * w, 3, padding=1), nn.SiLU(),
            nn.ConvTranspose2d(2 * w, 2 * w, 4, stride=2, padding=1), nn.SiLU(),
            nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(w, channels, 3, padding=1))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(w | x)."""
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"the VAE needs image sides that are multiples of 4, got {tuple(x.shape[-2:])}")
        mu, logvar = self.encoder(x - 0.5).chunk(2, dim=1)
        return mu, logvar

    def decode(self, w: torch.Tensor) -> torch.Tensor:
        return 0.5 + self.decoder(w)


def build_vae(channels: int, vae_cfg: dict, seed: int) -> ConvVAE:
    """A freshly initialized ConvVAE, initialized inside a forked RNG seeded with ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ConvVAE(channels, vae_cfg["width"], vae_cfg["latent_channels"], vae_cfg["decoder_std"])


def vae_from_spec(spec: dict) -> ConvVAE:
    """A ConvVAE of the architecture ``spec`` (weights to be loaded; ``aelpn.models.files`` kind)."""
    return ConvVAE(spec["channels"], spec["width"], spec["latent_channels"], spec["decoder_std"])


def load_vae(path: str, device="cpu") -> tuple[ConvVAE, dict]:
    """The trained VAE in eval mode and its metadata (train_seconds, train_device, steps)."""
    return load_model(path, device=device, kind="vae"), training_record(path)
