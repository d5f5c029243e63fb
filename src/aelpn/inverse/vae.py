"""A small convolutional VAE on the crops (Kingma & Welling 2014) and the projection onto its range, the
z-update of ``vae_admm``.

Model: latent w of shape (k, H/4, W/4) with prior N(0, I); encoder q(w | x) = N(mu(x), diag exp(logvar(x)));
Gaussian decoder p(x | w) = N(Dec(w), s_d^2 I) with a fixed s_d = ``decoder_std``. Training minimises the
negative ELBO per pixel, (||x - Dec(w)||^2 / (2 s_d^2) + KL(q(w|x) || N(0, I))) / (C H W), w = mu + exp(logvar/2) e
(reparametrisation, e from a seeded generator).

Projection (MAP in latent space): P(v) = Dec(w*) with w* = argmin_w J(w), J(w) = ||Dec(w) - v||^2 + beta ||w||^2,
by ``steps`` gradient steps from w_0 = mu(v) with a per-image adaptive step (doubled after a step that does not
increase J, halved and the step refused otherwise), so J never increases."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from aelpn.core.device import autocast
from aelpn.core.seeding import derive_seed
from aelpn.inverse.denoiser import training_record
from aelpn.inverse.pnp import Solution, iterate
from aelpn.modelfile import load_model
from aelpn.training import Field, Step, fields
from aelpn.training.crops import train_on_crops


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


def negative_elbo(vae: ConvVAE, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Batch mean of (||x - Dec(w)||^2 / (2 s_d^2) + KL(N(mu, e^logvar) || N(0, I))) / (C H W), w = mu + e^(logvar/2)
    ``noise``."""
    mu, logvar = vae.encode(x)
    w = mu + (0.5 * logvar).exp() * noise
    rec = (x - vae.decode(w)).pow(2).flatten(1).sum(1) / (2 * vae.decoder_std**2)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).flatten(1).sum(1)
    return ((rec + kl) / x[0].numel()).mean()


def projection_objective(vae: ConvVAE, w: torch.Tensor, v: torch.Tensor, beta: float) -> torch.Tensor:
    """J(w) = ||Dec(w) - v||^2 + beta ||w||^2 per image, shape (B,)."""
    return (vae.decode(w) - v).pow(2).flatten(1).sum(1) + beta * w.pow(2).flatten(1).sum(1)


def latent_map(vae: ConvVAE, v: torch.Tensor, beta: float, steps: int, step_size: float) -> torch.Tensor:
    """w* ~ argmin_w J(w) by ``steps`` gradient steps from w_0 = mu(v), eta starting at ``step_size``: each image
    tries w - eta grad J and keeps it when J does not increase (then doubles its eta), else stays and halves its eta
    (adaptive backtracking: J never increases)."""
    with torch.enable_grad():
        w = vae.encode(v)[0].detach()
        eta = torch.full((w.shape[0],), float(step_size), dtype=w.dtype, device=w.device)
        shape = (-1,) + (1,) * (w.dim() - 1)
        wg = w.requires_grad_(True)
        value = projection_objective(vae, wg, v, beta)
        (grad,) = torch.autograd.grad(value.sum(), wg)
        w, value = w.detach(), value.detach()
        for _ in range(steps):
            trial = (w - eta.view(shape) * grad).requires_grad_(True)
            trial_value = projection_objective(vae, trial, v, beta)
            better = trial_value.detach() <= value
            (trial_grad,) = torch.autograd.grad(trial_value.sum(), trial)
            w = torch.where(better.view(shape), trial.detach(), w)
            grad = torch.where(better.view(shape), trial_grad, grad)
            value = torch.where(better, trial_value.detach(), value)
            eta = torch.where(better, 2 * eta, eta / 2)
    return w


def project(vae: ConvVAE, v: torch.Tensor, beta: float, steps: int, step_size: float) -> torch.Tensor:
    """The projection onto the VAE's range, P(v) = Dec(argmin_w ||Dec(w) - v||^2 + beta ||w||^2)."""
    with torch.no_grad():
        return vae.decode(latent_map(vae, v, beta, steps, step_size))


@torch.no_grad()
def vae_admm(data, vae: ConvVAE, lam: float, rho: float, iterations: int, steps: int, step_size: float,
             tol: float, x_true=None) -> Solution:
    """Scaled ADMM on f + lam R with R(z) = min {||w||^2 / 2 : Dec(w) = z} (the latent prior on the decoder's range):
    x = prox_{f/rho}(z - u); z = argmin_z lam R(z) + rho ||z - (x + u)||^2 / 2 = P(x + u) with beta = lam / rho;
    u = u + x - z."""
    beta = lam / rho
    z0 = data.init()

    def step(s, k):
        x = data.prox(s["z"] - s["u"], 1.0 / rho)
        z = project(vae, x + s["u"], beta, steps, step_size)
        return {"z": z, "u": s["u"] + x - z}

    return iterate(step, {"z": z0, "u": torch.zeros_like(z0)}, "z", iterations, tol, x_true, "vae-admm")


def build_vae(channels: int, vae_cfg: dict, seed: int) -> ConvVAE:
    """A freshly initialized ConvVAE, initialized inside a forked RNG seeded with ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ConvVAE(channels, vae_cfg["width"], vae_cfg["latent_channels"], vae_cfg["decoder_std"])


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


def vae_from_spec(spec: dict) -> ConvVAE:
    """A ConvVAE of the architecture ``spec`` (weights to be loaded; ``aelpn.modelfile`` kind)."""
    return ConvVAE(spec["channels"], spec["width"], spec["latent_channels"], spec["decoder_std"])


def load_vae(path: str, device="cpu") -> tuple[ConvVAE, dict]:
    """The trained VAE in eval mode and its metadata (train_seconds, train_device, steps)."""
    return load_model(path, device=device), training_record(path)
