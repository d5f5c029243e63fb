"""Training of the flow-matching prior (``aelpn.models.flow``): the conditional flow-matching loss on the linear
path x_t = (1 - t) x_0 + t x_1, t uniform in [t_min, t_max]."""

from __future__ import annotations

from pathlib import Path

import torch

from aelpn.core.device import autocast
from aelpn.core.seeding import derive_seed
from aelpn.models.flow import FlowMatchingModel, build_flow
from aelpn.training.crops import train_on_crops
from aelpn.training.log import Field, fields
from aelpn.training.loop import Step


def flow_matching_loss(model: FlowMatchingModel, x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Conditional flow matching: mean of ||v(x_t, t) - (x_1 - x_0)||^2 / (C H W) with x_t = (1 - t) x_0 + t x_1,
    all in flow units."""
    tt = t.view(-1, *([1] * (x0.dim() - 1)))
    x_t = (1 - tt) * x0 + tt * x1
    return (model.velocity(x_t, t) - (x1 - x0)).pow(2).mean()


def train_flow(cfg: dict, crops_path: str, out: str, log_out: str) -> Path:
    """Train the flow model on ``crops_path`` with the flow-matching loss, t uniform in [t_min, t_max] (cfg: seed,
    compute, inverse.flow) by ``aelpn.training.crops.train_on_crops``; writes the model file (kind flow) and the
    log (loss, lr, seconds)."""
    fcfg = cfg["inverse"]["flow"]

    def loss(model, xb, gen, device) -> Step:
        x0 = 2 * xb - 1
        t = fcfg["t_min"] + (fcfg["t_max"] - fcfg["t_min"]) * torch.rand(x0.shape[0], generator=gen)
        x1 = torch.randn(x0.shape, generator=gen)
        with autocast(cfg["compute"], device):
            return Step(flow_matching_loss(model, x0.to(device), x1.to(device), t.to(device)))

    return train_on_crops(cfg, "inverse.flow", "flow", "flow", "flow-matching model training log", crops_path, out,
                          log_out, lambda x: build_flow(x.shape[1], fcfg, derive_seed(cfg["seed"], "inverse", "flow", "init")),
                          loss, derive_seed(cfg["seed"], "inverse", "flow", "batches"),
                          fields(loss=Field("flow-matching loss ||v - (x_1 - x_0)||^2 per entry")))

