"""Training-step throughput of the production prox f (hand-written gradient of the potential) against the LPN
reference's method (f = grad psi by autograd through autograd), on the same weights at a trained state, the
same real crops and the same denormal flush (``aelpn.core.device.configure`` flushes on CPU; the reference gets the
same one line), so the ratio measures the implementation alone.

Trained state: early steps run on tiny initial weights and are not representative, so the weights are either
loaded from a trained ``model.pt`` of the same variant and shape or warmed up by ``warmup_steps`` Adam steps
of L1 denoising (the pre-training phase) on the crops before timing."""

from __future__ import annotations

import torch

from aelpn.bench.flops import training_step_flops
from aelpn.bench.timing import interleaved_times
from aelpn.models import build_model, load_model
from aelpn.models.autograd import autograd_prox
from aelpn.training.losses import l1_loss, proximal_matching_loss


def _timed_step(model, prox, optimizer, x, y):
    optimizer.zero_grad(set_to_none=True)
    proximal_matching_loss(prox(y), x, 0.5 * x[0].numel() ** 0.5).backward()
    optimizer.step()
    model.project_()


def warm_up(model, crops: torch.Tensor, batch: int, steps: int, lr: float, sigma: float, seed: int) -> None:
    """``steps`` Adam steps of L1 denoising at noise ``sigma`` on seeded batches of ``crops`` (in place)."""
    gen = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        idx = torch.randint(len(crops), (batch,), generator=gen)
        x = crops[idx].to(device)
        y = x + sigma * torch.randn(x.shape, generator=gen).to(device)
        optimizer.zero_grad(set_to_none=True)
        l1_loss(model(y), x).backward()
        optimizer.step()
        model.project_()


def trained_model(variant: str, model_cfg: dict, crops: torch.Tensor, batch: int, seed: int, device,
                  model_path: str | None, warmup_steps: int, lr: float, sigma: float):
    """The model whose steps are timed: ``model_path`` when given (it must hold ``variant`` at the crops'
    shape), else a fresh model warmed up on ``crops``. Returns (model in train mode, state label)."""
    channels, size = crops.shape[1], crops.shape[-1]
    if model_path is not None:
        model = load_model(model_path, device=device)
        if model.variant != variant or model.spec["image_size"] != size or model.spec["channels"] != channels:
            raise ValueError(f"{model_path}: holds {model.variant} at {model.spec['channels']}x"
                             f"{model.spec['image_size']}px, the benchmark needs {variant} at {channels}x{size}px")
        return model.train(), f"trained ({model_path})"
    model = build_model(variant, model_cfg, channels, size, seed=seed).to(device).train()
    warm_up(model, crops, batch, warmup_steps, lr, sigma, seed)
    return model, f"warmed up {warmup_steps} steps"


def training_throughput(model, crops: torch.Tensor, batch: int, rounds: int, calls: int, seed: int,
                        device: torch.device) -> dict:
    """Images per second (median over interleaved rounds, with quartiles) of both implementations on one
    seeded noisy batch of real crops, at the same weights (SGD with lr 0, so every round times the same
    state), and the analytic FLOPs. The denormal flush of ``configure`` applies to both."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    gen = torch.Generator().manual_seed(seed)
    x = crops[torch.randint(len(crops), (batch,), generator=gen)].to(device)
    y = x + 0.1 * torch.randn(x.shape, generator=gen).to(device)
    times = interleaved_times({
        "explicit": lambda: _timed_step(model, model, optimizer, x, y),
        "autograd": lambda: _timed_step(model, lambda v: autograd_prox(model, v), optimizer, x, y),
    }, rounds, calls, device)
    ours, ref = times["explicit"], times["autograd"]
    flops = training_step_flops(model.spec, batch)
    return {
        "training_images_per_s": batch / ours.median,
        "training_images_per_s_q1": batch / ours.q3,
        "training_images_per_s_q3": batch / ours.q1,
        "baseline_images_per_s": batch / ref.median,
        "baseline_images_per_s_q1": batch / ref.q3,
        "baseline_images_per_s_q3": batch / ref.q1,
        "training_speedup": ref.median / ours.median,
        "training_cpu_speedup": ref.cpu_median / ours.cpu_median,
        "training_step_gflop": flops / 1e9,
        "training_achieved_gflops": flops / ours.median / 1e9,
    }
