"""Training-step throughput: loss(f(y)).backward() + Adam step + projection with the production f (explicit
gradient, denormals flushed to zero as ``aelpn.device.configure`` does on CPU) against the LPN reference's
autograd double backward of the same network and weights, as a plain script runs it (denormals kept)."""

from __future__ import annotations

import torch

from aelpn.bench.baseline import autograd_prox
from aelpn.bench.flops import training_step_flops
from aelpn.bench.timing import best_times
from aelpn.training.losses import proximal_matching_loss
from aelpn.models import build_model


def _step(model, prox, optimizer, x, y, flush_denormal):
    torch.set_flush_denormal(flush_denormal)
    optimizer.zero_grad(set_to_none=True)
    proximal_matching_loss(prox(y), x, 0.5 * x[0].numel() ** 0.5).backward()
    optimizer.step()
    model.project_()


def training_throughput(variant: str, model_cfg: dict, channels: int, size: int, batch: int, rounds: int,
                        calls: int, seed: int, device: torch.device) -> dict:
    """Images per second (best round) of both implementations on seeded images, and the analytic FLOPs."""
    model = build_model(variant, model_cfg, channels, size, seed=seed).to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: every round times the same weights
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, channels, size, size, generator=gen).to(device)
    y = x + 0.1 * torch.randn(x.shape, generator=gen).to(device)
    times = best_times({
        "explicit": lambda: _step(model, model, optimizer, x, y, True),
        "autograd": lambda: _step(model, lambda v: autograd_prox(model, v), optimizer, x, y, False),
    }, rounds, calls)
    torch.set_flush_denormal(device.type == "cpu")
    flops = training_step_flops(model.spec, batch)
    return {
        "training_images_per_s": batch / times["explicit"][0],
        "baseline_images_per_s": batch / times["autograd"][0],
        "training_speedup": times["autograd"][0] / times["explicit"][0],
        "training_cpu_speedup": times["autograd"][1] / times["explicit"][1],
        "training_step_gflop": flops / 1e9,
        "training_achieved_gflops": flops / times["explicit"][0] / 1e9,
    }
