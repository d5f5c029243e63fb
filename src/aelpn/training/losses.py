"""Training losses and the learning-rate / gamma schedule of LPN training (L1 pre-training, then
proximal matching in stages of halving gamma), with learning rates per model variant."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

L1 = "l1"
PM = "pm"
PHASES = (L1, PM)


def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over every entry: mean |f(y) - x|."""
    return (pred - target).abs().mean()


def proximal_matching_loss(pred: torch.Tensor, target: torch.Tensor, gamma: float) -> torch.Tensor:
    """Proximal matching, LPN code form: mean over the batch of 1 - exp(-||f(y) - x||^2 / gamma^2),
    with ||.|| the Euclidean norm of each sample over all its non-batch entries."""
    sq_dist = (pred - target).flatten(1).pow(2).sum(dim=1)
    return (1.0 - torch.exp(-sq_dist / gamma**2)).mean()


@dataclass(frozen=True)
class StepSetting:
    """What one optimizer step uses: its phase (l1 or pm), learning rate and gamma (NaN in the L1 phase)."""

    phase: str
    lr: float
    gamma: float


def lpn_schedule(train_cfg: dict, variant: str, step: int, n_entries: int) -> StepSetting:
    """Setting of 0-based ``step`` for ``variant``: L1 at lr_pretrain[variant] for steps_pretrain steps, then
    proximal matching at lr_pm[variant] in pm_stages equal stages s with
    gamma_s = gamma_min * sqrt(n_entries) * 2**(pm_stages - 1 - s)."""
    total = train_cfg["steps_pretrain"] + train_cfg["steps_pm"]
    if not 0 <= step < total:
        raise ValueError(f"step {step} outside the schedule of {total} steps")
    if step < train_cfg["steps_pretrain"]:
        return StepSetting(L1, float(train_cfg["lr_pretrain"][variant]), math.nan)
    stages = train_cfg["pm_stages"]
    stage = min((step - train_cfg["steps_pretrain"]) * stages // train_cfg["steps_pm"], stages - 1)
    gamma = train_cfg["gamma_min"] * math.sqrt(n_entries) * 2.0 ** (stages - 1 - stage)
    return StepSetting(PM, float(train_cfg["lr_pm"][variant]), gamma)
