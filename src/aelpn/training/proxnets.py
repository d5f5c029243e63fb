"""Training of one image model variant: Gaussian denoising of BSDS crops, L1 pre-training then proximal
matching (``aelpn.training.losses``), Adam, non-negativity projection after every step, seeded batches and
noise, periodic validation PSNR; the loop, resume, stops and log are ``aelpn.training``'s.

The training log (netCDF, dim ``step`` = 1..steps_pretrain+steps_pm) holds loss, gamma (NaN during L1
pre-training), lr, phase (0 L1, 1 proximal matching), sigma, val_psnr (NaN at steps without validation) and
seconds (wall time of the step, validation included; their sum is the training cost, resumes included)."""

from __future__ import annotations

import math
from pathlib import Path
from collections.abc import Sequence
from typing import Callable

import numpy as np
import torch
import xarray as xr

from aelpn.core.combine import CombineError, combine_variants
from aelpn.core.config import slice_hash
from aelpn.core.device import autocast, configure, describe
from aelpn.core.gpu_path import batch_layout, step_model
from aelpn.core.io import file_digest, read_netcdf
from aelpn.core.seeding import derive_seed, generator
from aelpn.data import load_crops
from aelpn.core.metrics import psnr
from aelpn.models import build_model, save_model
from aelpn.training import Field, Recipe, Run, Step, fields, fit
from aelpn.training import losses
from aelpn.training.log import ROLLBACK_FIELDS
from aelpn.training.losses import L1, PHASES, lpn_schedule

# Training logs hold NaN by design: gamma during L1 pre-training, val_psnr at steps without validation.
LOG_NAN_OK = ("gamma", "val_psnr")
LOG_FIELDS = fields(
    gamma=Field("proximal-matching gamma (NaN during L1 pre-training)"),
    phase=Field("training phase", dtype="int8", attrs={"flag_values": np.arange(len(PHASES), dtype=np.int8),
                                                      "flag_meanings": "l1_pretraining proximal_matching"}),
    sigma=Field("training noise standard deviation"),
    val_psnr=Field("mean validation PSNR after the step (NaN where not validated)", "dB"),
)


def _validation_set(cfg: dict, x_val: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``validate_images`` validation crops and their fixed noisy versions at ``train.sigma``
    (noise from a generator seeded by the master seed alone, so every variant sees the same inputs)."""
    x = x_val[: cfg["train"]["validate_images"]]
    noise = torch.randn(x.shape, generator=generator(cfg["seed"], "train", "validate"))
    return x, x + cfg["train"]["sigma"] * noise


def validate(model, x: torch.Tensor, y: torch.Tensor, batch_size: int, device: torch.device) -> float:
    """Mean denoising PSNR (dB, ``aelpn.core.metrics.psnr``: estimate clipped to [0, 1]) of ``y`` against ``x``."""
    values = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            estimate = model(y[i : i + batch_size].to(device)).float().cpu()
            values.append(psnr(estimate, x[i : i + batch_size]))
    return float(torch.cat(values).mean())


def draw_batch(x_train: torch.Tensor, train_cfg: dict, gen: torch.Generator):
    """Batch indices uniformly with replacement, the batch's sigma (fixed, or U[sigma_range]) and the noise,
    all from ``gen`` (CPU) so the stream does not depend on the device."""
    idx = torch.randint(len(x_train), (train_cfg["batch_size"],), generator=gen)
    if train_cfg["sigma_range"] is None:
        sigma = float(train_cfg["sigma"])
    else:
        lo, hi = train_cfg["sigma_range"]
        sigma = lo + (hi - lo) * float(torch.rand((), generator=gen))
    noise = torch.randn((len(idx), *x_train.shape[1:]), generator=gen)
    return idx, sigma, noise


def image_batch_loss(forward, x_train: torch.Tensor, tcfg: dict, variant: str, gen: torch.Generator, compute: dict,
                     device: torch.device) -> Callable[[int], Step]:
    """The batch loss of an image proximal network at 0-based ``step``: a seeded batch of ``x_train`` (on
    ``device``) with Gaussian noise (``draw_batch``), in channels-last format when ``compute.channels_last`` acts
    (``aelpn.core.gpu_path.batch_layout``), f(y) = ``forward(y)`` (the model, or ``aelpn.core.gpu_path.step_model``
    of it) under ``compute.amp`` autocast, then the L1 loss in pre-training and proximal matching at the
    schedule's gamma afterwards (``lpn_schedule``)."""
    n_entries = x_train[0].numel()

    def batch_loss(step: int) -> Step:
        setting = lpn_schedule(tcfg, variant, step, n_entries)
        idx, sigma, noise = draw_batch(x_train, tcfg, gen)
        x = x_train[idx.to(device)]
        y = batch_layout(compute, device, x + sigma * noise.to(device))
        with autocast(compute, device):
            pred = forward(y)
        pred = pred.float()
        if setting.phase == L1:
            loss, stage = losses.l1_loss(pred, x), L1
        else:
            loss, stage = losses.proximal_matching_loss(pred, x, setting.gamma), f"pm gamma={setting.gamma:.4g}"
        return Step(loss, {"gamma": setting.gamma, "phase": PHASES.index(setting.phase), "sigma": sigma}, stage)

    return batch_loss


def train(cfg: dict, variant: str, train_path: str | Path, val_path: str | Path, out: str | Path,
          log_out: str | Path) -> None:
    """Train ``variant`` on the crops in ``train_path`` (validating on ``val_path``) with the schedule of
    ``cfg['train']``; write the weights to ``out`` (``aelpn.models.files``, kind proxnet) and the log to
    ``log_out``."""
    tcfg = cfg["train"]
    device = configure(cfg["compute"])
    x_train, _ = load_crops(train_path)
    x_val, _ = load_crops(val_path)
    if len(x_val) < tcfg["validate_images"]:
        raise ValueError(f"config key 'train.validate_images': {tcfg['validate_images']} > the "
                         f"{len(x_val)} crops in {val_path}")
    x_valid, y_valid = _validation_set(cfg, x_val)
    _, channels, height, width = x_train.shape
    if height != width:
        raise ValueError(f"{train_path}: crops must be square, got {height}x{width}")
    n_entries = channels * height * width
    total = tcfg["steps_pretrain"] + tcfg["steps_pm"]

    model = build_model(variant, cfg["model"], channels, height, seed=derive_seed(cfg["seed"], "train", variant))
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters())
    gen = generator(cfg["seed"], "train", variant, "batches")
    x_train = x_train.to(device)
    train_digest = file_digest(train_path)
    print(f"training {variant}: {model.__class__.__name__}, {sum(p.numel() for p in model.parameters())} "
          f"parameters, {len(x_train)} crops {channels}x{height}x{width}, {total} steps on {describe(device)}",
          flush=True)

    batch_loss = image_batch_loss(step_model(cfg["compute"], model, device), x_train, tcfg, variant, gen,
                                  cfg["compute"], device)

    def after_step(done: int) -> dict:
        if done % tcfg["validate_every"] and done != total:
            return {"val_psnr": math.nan}
        model.eval()
        val = validate(model, x_valid, y_valid, tcfg["batch_size"], device)
        model.train()
        setting = lpn_schedule(tcfg, variant, done - 1, n_entries)
        print(f"step {done}/{total} {setting.phase} gamma {setting.gamma:.4g} "
              f"lr {optimizer.param_groups[0]['lr']:.3g} val_psnr {val:.3f} dB", flush=True)
        return {"val_psnr": val}

    run = Run(label=f"train {variant}", section="train", steps=total, checkpoint_every=tcfg["checkpoint_every"],
              recipe=Recipe.from_config(tcfg), out=Path(out), log_out=Path(log_out),
              fingerprint=f"{slice_hash(cfg)}-{variant}-{train_digest}-{file_digest(val_path)}",
              fields=LOG_FIELDS, title=f"aelpn training log, variant {variant}", cfg=cfg,
              device=describe(device), log_attrs={"variant": variant})
    record = fit(run, model, optimizer, lambda step: lpn_schedule(tcfg, variant, step, n_entries).lr, batch_loss,
                 resumables={"generator": gen}, project=model.project_, after_step=after_step)
    model.eval()
    final_val = record.log["val_psnr"][-1]
    summary = {"variant": variant, "sigma": float(tcfg["sigma"]), **record.extra(), "final_val_psnr": final_val,
               "config_hash": slice_hash(cfg),
               "train_file_sha256_16": train_digest}
    save_model(model, out, "proxnet", extra=summary)
    print(f"wrote {out} and {log_out}: final loss {record.final_loss:.5g}, val PSNR {final_val:.3f} dB", flush=True)


def held_variant(path) -> str:
    """The variant a training log holds, by its own ``variant`` attribute; a log whose attribute disagrees with its
    place ``.../{variant}/train_log.nc``, or that has none, is a CombineError."""
    held = read_netcdf(path).attrs.get("variant")
    if held is None:
        raise CombineError(f"{path}: does not say which variant it holds (not a training log of 'aelpn train "
                           "proxnet')")
    placed = Path(path).parent.name
    if held != placed:
        raise CombineError(f"{path}: holds variant '{held}', but lies where the log of '{placed}' belongs "
                           "(.../{variant}/train_log.nc)")
    return held


def combine_logs(cfg: dict, inputs: Sequence[str | Path], out: str | Path) -> xr.Dataset:
    """Combine the training logs of the replicates and variants (``results/models/seed{s}/{variant}/train_log.nc``,
    each known by the training seed and variant it records, see aelpn.core.combine.held_seed and ``held_variant``)
    into ``out`` with dims (seed, variant, step), in the order of ``cfg["seeds"]`` and ``cfg["model"]["variants"]``;
    each log's rollback count is in the ``parts`` attribute, its rollbacks (dim ``rollback``, with or without the
    coordinate older logs lack) in its own log."""
    return combine_variants(inputs, cfg, "aelpn training logs of all variants", out, label=held_variant,
                            nan_ok=LOG_NAN_OK,
                            drop=["rollback", *(f"rollback_{key}" for key in ROLLBACK_FIELDS)])
