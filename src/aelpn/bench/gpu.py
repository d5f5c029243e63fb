"""The GPU check (``aelpn bench --gpu-check``): the paper-scale code paths on one CUDA device in a few
minutes, with numbers a cluster profile can use.

- Training: ``steps`` steps of every variant at paper width on real crops, with the production step and loop
  (``aelpn.training.proxnets.image_batch_loss`` in ``aelpn.training.fit``: schedule, Adam, projection after every
  step) for each choice of ``CHOICES``: fp32, TF32 matmuls/convolutions (``compute.tf32``), bfloat16 autocast
  (``compute.amp``), then bf16 with channels-last memory (``compute.channels_last``) and with ``torch.compile``
  as well (``compute.compile``; ``aelpn.core.gpu_path``), each from the same seed and batches, so the loss and
  validation-PSNR differences against fp32 are what the choice causes. Reported: images/s, the achieved TFLOP/s
  against the analytic FLOP count of a step and as a share of the device's measured bf16 matrix-product peak
  (``aelpn.bench.peak``; target: the bf16 step at >= 40 %), the first step's seconds (compilation included),
  whether the step ran compiled (a compile that fell back to eager says so), peak device memory, the validation
  PSNR and its difference to fp32's.
- One denoising-sweep batch, one PnP-ADMM deblurring run and one DiffPIR run at the crops' size.
- Every result is checked to live on the device (a silent CPU fallback is an error), every loss and output to
  be finite; any CUDA error propagates. The CLI exits non-zero on any of them.
The same function runs on the CPU at tiny sizes in the tests (``require_cuda=False``)."""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from aelpn.core import metrics
from aelpn.bench.flops import training_step_flops
from aelpn.bench.machine import machine_attrs
from aelpn.bench.peak import peak_rates
from aelpn.bench.pnp import deblurring_problem
from aelpn.bench.timing import synchronize
from aelpn.core import provenance
from aelpn.core.device import autocast, configure, describe
from aelpn.core.gpu_path import CompiledOrEager, acts, step_model
from aelpn.inverse.priors import LearnedPrior
from aelpn.models.denoiser import build_denoiser
from aelpn.inverse.methods.registry import get
from aelpn.physics.problems import build_problem
from aelpn.models import VARIANTS, build_model
from aelpn.sweeps.evaluate import denoise
from aelpn.training import Recipe, Run, fit
from aelpn.training.losses import lpn_schedule
from aelpn.training.proxnets import LOG_FIELDS, image_batch_loss

_OFF = {"tf32": False, "amp": False, "channels_last": False, "compile": False}
# The compute settings the check compares, each against fp32 (every GPU-path option off).
CHOICES = {"fp32": _OFF, "tf32": {**_OFF, "tf32": True}, "amp": {**_OFF, "amp": True},
           "amp+channels_last": {**_OFF, "amp": True, "channels_last": True},
           "amp+channels_last+compile": {**_OFF, "amp": True, "channels_last": True, "compile": True}}
# The paper-width bf16 (amp) training step's share of the measured bf16 matrix-product peak.
BF16_PEAK_TARGET = 0.4


class GPUCheckError(RuntimeError):
    """The GPU path failed: no CUDA, a tensor that left the device, or a non-finite result."""


def _on_device(where: str, device: torch.device, *tensors: torch.Tensor) -> None:
    for t in tensors:
        if t.device.type != device.type:
            raise GPUCheckError(f"{where}: result on {t.device}, expected {device} (silent fallback)")
        if not torch.isfinite(t).all():
            raise GPUCheckError(f"{where}: non-finite values")


def _memory(device: torch.device) -> float:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else math.nan


def _reset_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def train_choice(variant: str, cfg: dict, crops: torch.Tensor, held_out: torch.Tensor, batch: int,
                 steps: int, choice: str, device: torch.device, workdir: Path) -> tuple[dict, torch.nn.Module]:
    """``steps`` production training steps of ``variant`` with the compute settings ``CHOICES[choice]``
    (``aelpn.core.gpu_path.step_model`` and ``aelpn.training.proxnets.image_batch_loss`` through
    ``aelpn.training.fit``: half L1 pre-training, half proximal matching, one checkpoint written and removed on
    the device); returns the figures and the model."""
    compute = {"device": device.type, **CHOICES[choice]}
    configure(compute)
    tcfg = {**cfg["train"], "batch_size": batch, "steps_pretrain": steps // 2, "steps_pm": steps - steps // 2,
            "pm_stages": 1, "checkpoint_every": steps // 2}
    model = build_model(variant, cfg["model"], crops.shape[1], crops.shape[-1], seed=cfg["seed"]).to(device).train()
    optimizer = torch.optim.Adam(model.parameters())
    gen = torch.Generator().manual_seed(cfg["seed"])
    n_entries = crops[0].numel()
    run = Run(label=f"gpu-check {variant} {choice}", section="train", steps=steps,
              checkpoint_every=tcfg["checkpoint_every"], recipe=Recipe.from_config(tcfg),
              out=workdir / f"{variant}_{choice}.pt", log_out=workdir / f"{variant}_{choice}_log.nc",
              fingerprint=f"gpu-check-{variant}-{choice}", fields=LOG_FIELDS, title="aelpn GPU check", cfg=cfg,
              device=describe(device))
    if acts(compute, "compile", device):
        torch._dynamo.reset()  # every variant compiles afresh, below dynamo's recompilation limit
    forward = step_model(compute, model, device)
    _reset_memory(device)
    record = fit(run, model, optimizer, lambda step: lpn_schedule(tcfg, variant, step, n_entries).lr,
                 image_batch_loss(forward, crops.to(device), tcfg, variant, gen, compute, device),
                 resumables={"generator": gen}, project=model.project_,
                 after_step=lambda done: {"val_psnr": math.nan})
    synchronize(device)
    _on_device(f"training {variant} ({choice})", device, *model.parameters())
    model.eval()
    sigma = cfg["train"]["sigma"]
    noise = torch.randn(held_out.shape, generator=torch.Generator().manual_seed(cfg["seed"] + 1))
    with torch.no_grad(), autocast(compute, device):
        estimate = model((held_out + sigma * noise).to(device)).float()
    _on_device(f"validation {variant} ({choice})", device, estimate)
    step_seconds = float(np.median(record.log["seconds"][min(10, steps // 4):]))
    flops = training_step_flops(model.spec, batch)
    return {
        "images_per_s": batch / step_seconds,
        "achieved_tflops": flops / step_seconds / 1e12,
        "step_tflop": flops / 1e12,
        "first_step_s": float(record.log["seconds"][0]),
        "compiled": float(isinstance(forward, CompiledOrEager) and forward.compiled),
        "final_loss": record.final_loss,
        "val_psnr": float(metrics.psnr(estimate.cpu(), held_out).mean()),
        "peak_memory_gib": _memory(device),
    }, model


def _timed(fn, device: torch.device):
    synchronize(device)
    _reset_memory(device)
    start = time.perf_counter()
    out = fn()
    synchronize(device)
    return out, time.perf_counter() - start, _memory(device)


def gpu_check(cfg: dict, crops: torch.Tensor, steps: int, batch: int, variants=VARIANTS,
              require_cuda: bool = True, peak_rounds: int = 5) -> xr.Dataset:
    """Run the check with the paper config ``cfg`` on ``crops`` (N, C, S, S); the last ``batch`` crops are held
    out for validation, the sweep batch and the inverse problems. The device's TF32 and bf16 matrix-product
    peaks are timed over ``peak_rounds`` rounds (NaN on the CPU)."""
    if require_cuda and not torch.cuda.is_available():
        raise GPUCheckError("torch cannot see a CUDA device (torch.cuda.is_available() is False): install a CUDA "
                            "build of torch and run on a GPU node")
    device = torch.device("cuda" if require_cuda else "cpu")
    train_crops, held_out = crops[:-batch], crops[-batch:]
    rows, models = {}, {}
    workdir = Path(tempfile.mkdtemp(prefix="aelpn-gpu-check-"))
    for variant in variants:
        for choice in CHOICES:
            rows[variant, choice], model = train_choice(variant, cfg, train_crops, held_out, batch, steps, choice,
                                                        device, workdir)
            models[variant] = model if choice == "fp32" else models[variant]
            print(f"gpu-check train {variant} {choice}: {rows[variant, choice]['images_per_s']:.1f} img/s, "
                  f"loss {rows[variant, choice]['final_loss']:.4g}, val PSNR {rows[variant, choice]['val_psnr']:.3f}"
                  " dB", flush=True)
    shutil.rmtree(workdir)
    configure({"device": device.type, **_OFF})
    fields = next(iter(rows.values()))
    ds = xr.Dataset({f: (("variant", "choice"), [[rows[v, c][f] for c in CHOICES] for v in variants])
                     for f in fields}, coords={"variant": list(variants), "choice": list(CHOICES)})
    ds["val_psnr_vs_fp32"] = ds["val_psnr"] - ds["val_psnr"].sel(choice="fp32")
    ds["val_psnr_vs_fp32"].attrs.update(long_name="validation PSNR minus fp32's (same seed and batches)", units="dB")
    ds["compiled"].attrs.update(long_name="1: the step ran torch.compile'd; 0: eager (not asked, not CUDA, or a "
                                          "compile that fell back)", units="1")
    rates = peak_rates(device, peak_rounds, 2, cfg["seed"])
    for name in ("gpu_tf32", "gpu_bf16"):
        ds[f"peak_{name}_tflops"] = rates.get(name, math.nan) / 1e12
        ds[f"peak_{name}_tflops"].attrs.update(long_name=f"measured {name[4:]} matrix-product peak (NaN: no GPU)",
                                               units="1e12 s-1")
    ds["bf16_peak_fraction"] = ds["achieved_tflops"] / ds["peak_gpu_bf16_tflops"]
    ds["bf16_peak_fraction"].attrs.update(long_name="achieved TFLOP/s / measured bf16 matrix-product peak",
                                          units="1", target=BF16_PEAK_TARGET)
    lpn = models[variants[0]]
    sigma = cfg["train"]["sigma"]
    noisy = (held_out + sigma * torch.randn(held_out.shape, generator=torch.Generator().manual_seed(2))).to(device)
    est, sec, mem = _timed(lambda: denoise(lpn, noisy, batch, device), device)
    _on_device("sweep batch", torch.device("cpu"), est)  # aelpn.sweeps.evaluate.denoise returns on the CPU by design
    ds["sweep_psnr"], ds["sweep_seconds"], ds["sweep_peak_memory_gib"] = (
        float(metrics.psnr(est, held_out).mean()), sec, mem)
    icfg = cfg["inverse"]
    name = deblurring_problem(icfg)
    problem = build_problem(name, icfg, tuple(held_out.shape[1:]))
    gen = torch.Generator().manual_seed(3)
    params = problem.sample_params(batch, gen)
    y = problem.measure(held_out, params, gen).to(device)
    data = problem.data_term(problem.physics(params, device=device), y)
    prox = LearnedPrior(variants[0], lpn, sigma, math.nan, describe(device))
    sol, sec, mem = _timed(lambda: get("pnp_admm").solve(data, prox, icfg["pnp_admm"], cfg["seed"], None), device)
    _on_device("PnP-ADMM", device, sol.x)
    ds["pnp_admm_psnr"], ds["pnp_admm_seconds"], ds["pnp_admm_peak_memory_gib"] = (
        float(metrics.psnr(sol.x.float().cpu(), held_out).mean()), sec, mem)
    denoiser = build_denoiser(held_out.shape[1], icfg["denoiser"], cfg["seed"]).to(device).eval()
    score = LearnedPrior("denoiser", denoiser, None, math.nan, describe(device))
    est, sec, mem = _timed(lambda: get("diffpir").solve(data, score, icfg["diffpir"], cfg["seed"], None), device)
    _on_device("DiffPIR", device, est.x)
    ds["diffpir_seconds"], ds["diffpir_peak_memory_gib"] = sec, mem
    ds.attrs.update(provenance.attrs("aelpn GPU check", {"model": cfg["model"], "train": cfg["train"],
                                                         "inverse": icfg}, describe(device)))
    ds.attrs.update(machine_attrs(device), steps=steps, batch=batch, image_size=int(crops.shape[-1]),
                    problem=name, untrained_denoiser="DiffPIR runs the untrained paper-size denoiser: "
                                                     "its time and memory count, not its PSNR")
    return ds


def gpu_table(ds: xr.Dataset) -> str:
    """Markdown table of the GPU check: per variant and choice, images/s, TFLOP/s and its share of the bf16 peak,
    first-step seconds (compilation included), whether the step ran compiled, peak GiB, final loss, validation PSNR
    and its difference to fp32's; then the target, met by a variant's best choice."""
    lines = [f"measured peaks: TF32 {float(ds['peak_gpu_tf32_tflops']):.1f}, bf16 "
             f"{float(ds['peak_gpu_bf16_tflops']):.1f} TFLOP/s (matrix products); {ds.attrs['steps']} steps per row\n",
             "| variant | choice | img/s | TFLOP/s | of bf16 peak | first step s | compiled | peak GiB | final loss | "
             "val PSNR (dB) | vs fp32 (dB) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for v in ds["variant"].values:
        for c in ds["choice"].values:
            r = ds.sel(variant=v, choice=c)
            lines.append(f"| {v} | {c} | {float(r['images_per_s']):.1f} | {float(r['achieved_tflops']):.2f} | "
                         f"{float(r['bf16_peak_fraction']):.0%} | {float(r['first_step_s']):.2f} | "
                         f"{'yes' if float(r['compiled']) else 'no'} | {float(r['peak_memory_gib']):.2f} | "
                         f"{float(r['final_loss']):.4g} | {float(r['val_psnr']):.2f} | "
                         f"{float(r['val_psnr_vs_fp32']):+.2f} |")
    best = ds["bf16_peak_fraction"].max("choice")
    met = {v: "not run" if math.isnan(float(best.sel(variant=v))) else
           "met" if float(best.sel(variant=v)) >= BF16_PEAK_TARGET else "not met" for v in ds["variant"].values}
    lines.append(f"\nbest choice's training step >= {BF16_PEAK_TARGET:.0%} of the bf16 peak: "
                 + ", ".join(f"{v} {m}" for v, m in met.items()))
    lines.append(f"\nsweep batch: {float(ds['sweep_seconds']):.3f} s, PSNR {float(ds['sweep_psnr']):.2f} dB; "
                 f"PnP-ADMM ({ds.attrs['problem']}): {float(ds['pnp_admm_seconds']):.2f} s, "
                 f"PSNR {float(ds['pnp_admm_psnr']):.2f} dB; DiffPIR: {float(ds['diffpir_seconds']):.2f} s; "
                 f"peak GiB sweep/PnP/DiffPIR {float(ds['sweep_peak_memory_gib']):.2f}/"
                 f"{float(ds['pnp_admm_peak_memory_gib']):.2f}/{float(ds['diffpir_peak_memory_gib']):.2f}")
    return "\n".join(lines)
