"""Training of one image model variant: Gaussian denoising of BSDS crops, L1 pre-training then proximal
matching (``aelpn.losses``), Adam, non-negativity projection after every step, seeded batches and noise,
periodic validation PSNR, atomic resumable checkpoints and a netCDF training log.

Resuming: the run's state is saved every ``train.checkpoint_every`` steps to ``<out dir>/checkpoint.pt``;
running the same command again continues from it and (on CPU) ends with exactly the weights of an
uninterrupted run. The checkpoint is removed once the final weights and log are written.

The training log (netCDF, one dim ``step`` = 1..steps_pretrain+steps_pm) holds loss, gamma (NaN during L1
pre-training), lr, phase (0 L1, 1 proximal matching), sigma, val_psnr (NaN at steps without validation) and
seconds (wall time of the step, validation included; their sum is the training cost, resumes included)."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from tqdm import tqdm

from aelpn import checkpoint, provenance
from aelpn.config import slice_hash
from aelpn.data import load_crops
from aelpn.device import autocast, configure, describe
from aelpn.io import file_digest, write_netcdf
from aelpn.losses import L1, PHASES, l1_loss, lpn_schedule, proximal_matching_loss
from aelpn.metrics import psnr
from aelpn.models import build_model, save_model
from aelpn.seeding import derive_seed, generator

LOG_FIELDS = ("loss", "gamma", "lr", "phase", "sigma", "val_psnr", "seconds")


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the last good checkpoint is kept."""


def _validation_set(cfg: dict, x_val: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``validate_images`` validation crops and their fixed noisy versions at ``train.sigma``
    (noise from a generator seeded by the master seed alone, so every variant sees the same inputs)."""
    x = x_val[: cfg["train"]["validate_images"]]
    noise = torch.randn(x.shape, generator=generator(cfg["seed"], "train", "validate"))
    return x, x + cfg["train"]["sigma"] * noise


def validate(model, x: torch.Tensor, y: torch.Tensor, batch_size: int, device: torch.device) -> float:
    """Mean denoising PSNR (dB, ``aelpn.metrics.psnr``: estimate clipped to [0, 1]) of ``y`` against ``x``."""
    values = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            estimate = model(y[i : i + batch_size].to(device)).float().cpu()
            values.append(psnr(estimate, x[i : i + batch_size]))
    return float(torch.cat(values).mean())


def _draw_batch(x_train: torch.Tensor, train_cfg: dict, gen: torch.Generator):
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


def _write_log(log: dict[str, list], cfg: dict, variant: str, device: torch.device, path: str | Path) -> None:
    steps = np.arange(1, len(log["loss"]) + 1)
    ds = xr.Dataset(
        {name: ("step", np.asarray(log[name], dtype=np.float64)) for name in LOG_FIELDS if name != "phase"},
        coords={"step": steps},
    )
    ds["phase"] = ("step", np.asarray(log["phase"], dtype=np.int8))
    provenance.annotate(ds, {
        "step": ("optimizer step (1-based)", "1"),
        "loss": ("training loss of the step's batch (L1 or proximal matching)", "1"),
        "gamma": ("proximal-matching gamma (NaN during L1 pre-training)", "1"),
        "lr": ("Adam learning rate", "1"),
        "phase": ("training phase", "1"),
        "sigma": ("training noise standard deviation", "1"),
        "val_psnr": ("mean validation PSNR after the step (NaN where not validated)", "dB"),
        "seconds": ("wall time of the step", "s"),
    })
    ds["phase"].attrs.update(flag_values=np.arange(len(PHASES), dtype=np.int8),
                             flag_meanings="l1_pretraining proximal_matching")
    ds.attrs.update(provenance.attrs(f"aelpn training log, variant {variant}", cfg, describe(device)))
    ds.attrs["variant"] = variant
    write_netcdf(ds, path)


def train(cfg: dict, variant: str, train_path: str | Path, val_path: str | Path, out: str | Path,
          log_out: str | Path) -> None:
    """Train ``variant`` on the crops in ``train_path`` (validating on ``val_path``) with the schedule of
    ``cfg['train']``; write the weights to ``out`` (``aelpn.models.save_model``) and the log to ``log_out``."""
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

    ckpt_path = checkpoint.checkpoint_path(out)
    train_digest = file_digest(train_path)
    fingerprint = f"{slice_hash(cfg)}-{variant}-{train_digest}-{file_digest(val_path)}"
    start, log = checkpoint.resume(ckpt_path, fingerprint, model, optimizer, gen, LOG_FIELDS, variant, total)
    saved_step = start or None
    print(f"training {variant}: {model.__class__.__name__}, {sum(p.numel() for p in model.parameters())} "
          f"parameters, {len(x_train)} crops {channels}x{height}x{width}, {total} steps on {describe(device)}",
          flush=True)

    bar = tqdm(range(start, total), initial=start, total=total, desc=f"train {variant}", file=sys.stderr,
               mininterval=1.0, dynamic_ncols=True)
    for step in bar:
        tic = time.perf_counter()
        setting = lpn_schedule(tcfg, step, n_entries)
        idx, sigma, noise = _draw_batch(x_train, tcfg, gen)
        x = x_train[idx.to(device)]
        y = x + sigma * noise.to(device)
        for group in optimizer.param_groups:
            group["lr"] = setting.lr
        optimizer.zero_grad(set_to_none=True)
        with autocast(cfg["compute"], device):
            pred = model(y)
        pred = pred.float()
        loss = l1_loss(pred, x) if setting.phase == L1 else proximal_matching_loss(pred, x, setting.gamma)
        if not torch.isfinite(loss):
            kept = "no checkpoint written yet" if saved_step is None else \
                f"kept the last good checkpoint {ckpt_path} (step {saved_step})"
            raise NonFiniteLossError(f"non-finite training loss ({loss.item()}) at step {step + 1} "
                                     f"({setting.phase}, variant {variant}); {kept}")
        loss.backward()
        optimizer.step()
        model.project_()

        done = step + 1
        val = math.nan
        if done % tcfg["validate_every"] == 0 or done == total:
            model.eval()
            val = validate(model, x_valid, y_valid, tcfg["batch_size"], device)
            model.train()
        for name, value in zip(LOG_FIELDS, (loss.item(), setting.gamma, setting.lr, PHASES.index(setting.phase),
                                            sigma, val, time.perf_counter() - tic)):
            log[name].append(value)
        bar.set_postfix(loss=f"{log['loss'][-1]:.4g}", gamma=f"{setting.gamma:.3g}", refresh=False)
        if not math.isnan(val):
            print(f"step {done}/{total} {setting.phase} loss {log['loss'][-1]:.5g} gamma {setting.gamma:.4g} "
                  f"lr {setting.lr:.3g} val_psnr {val:.3f} dB", flush=True)
        if done % tcfg["checkpoint_every"] == 0 and done < total:
            checkpoint.save(ckpt_path, fingerprint=fingerprint, step=done, model=model, optimizer=optimizer,
                            generator=gen, log=log)
            saved_step = done
            print(f"checkpoint {ckpt_path} at step {done}/{total}", flush=True)
    bar.close()

    model.eval()
    summary = {
        "variant": variant,
        "steps": total,
        "final_loss": log["loss"][-1],
        "final_val_psnr": log["val_psnr"][-1],
        "train_seconds": float(sum(log["seconds"])),
        "config_hash": slice_hash(cfg),
        "train_file_sha256_16": train_digest,
        "device": describe(device),
    }
    save_model(model, out, extra=summary)
    _write_log(log, cfg, variant, device, log_out)
    ckpt_path.unlink(missing_ok=True)
    print(f"wrote {out} and {log_out}: final loss {summary['final_loss']:.5g}, "
          f"val PSNR {summary['final_val_psnr']:.3f} dB", flush=True)
