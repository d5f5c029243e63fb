"""Training a network on the crops: the setup every learned component of the inverse-problem and blind stages
shares (the conditional denoiser, the flow-matching model, the VAE, the unrolled networks, the blind network).
Each supplies only its network, its loss on one batch and its config section; the seeded batch stream, Adam, the
``aelpn.training`` loop (exact resume, stop on a bad loss, netCDF log, seconds and device) and the model file are
here, once."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from aelpn.core.config import slice_hash
from aelpn.core.device import configure, describe
from aelpn.core.io import file_digest
from aelpn.models.files import save_model
from aelpn.training.log import Field
from aelpn.training.loop import Recipe, Run, Step, fit


class ShuffledBatches:
    """Endless random batches of crops: each epoch a seeded permutation split into batches (a short last one
    skipped), each batch with random horizontal flips. Its position (permutation, offset) is resumable
    state, so a resumed run draws exactly the batches of an uninterrupted one."""

    def __init__(self, x: torch.Tensor, batch_size: int, generator: torch.Generator):
        self.x, self.batch_size, self.generator = x, batch_size, generator
        self.perm, self.offset = None, 0

    def state_dict(self) -> dict:
        return {"perm": self.perm, "offset": self.offset}

    def load_state_dict(self, state: dict) -> None:
        self.perm, self.offset = state["perm"], state["offset"]

    def next(self) -> torch.Tensor:
        while True:
            if self.perm is None or self.offset >= len(self.perm):
                self.perm, self.offset = torch.randperm(self.x.shape[0], generator=self.generator), 0
            idx = self.perm[self.offset : self.offset + self.batch_size]
            self.offset += self.batch_size
            if len(idx) >= min(self.batch_size, self.x.shape[0]):
                break
        flip = torch.rand(len(idx), generator=self.generator) < 0.5
        b = self.x[idx]
        return torch.where(flip.view(-1, 1, 1, 1), b.flip(-1), b)


def train_on_crops(cfg: dict, section: str, kind: str, label: str, title: str, crops_path, out, log_out,
                   build: Callable[[torch.Tensor], torch.nn.Module],
                   loss: Callable[[torch.nn.Module, torch.Tensor, torch.Generator, torch.device], Step],
                   batch_seed: int, fields: dict[str, Field], depends_on=(), extra: dict | None = None,
                   log_attrs: dict | None = None) -> Path:
    """Train ``build(crops)`` (moved to the ``compute`` device) with Adam at the config section ``section``'s lr
    (a dotted key of ``cfg``: steps, batch_size, lr, lr_warmup, grad_clip, checkpoint_every, divergence; the
    ``aelpn.training.Recipe``) for its steps, each step's loss
    ``loss(model, batch, generator, device)`` on a batch of ``ShuffledBatches`` drawn with the generator seeded by
    ``batch_seed`` (also the generator of every other random draw of the loss, so both resume exactly). The run's
    fingerprint is ``kind``, ``label``, the config slice and the digests of the crops and of ``depends_on`` files. Writes the
    model file (``kind``, with the training record and ``extra``) and the log; returns the model file's path."""
    from aelpn.data import load_crops

    sec = cfg
    for key in section.split("."):
        sec = sec[key]
    device = configure(cfg["compute"])
    x, _ = load_crops(crops_path)
    model = build(x).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=sec["lr"])
    gen = torch.Generator().manual_seed(batch_seed)
    stream = ShuffledBatches(x, sec["batch_size"], gen)
    digests = [file_digest(p) for p in (crops_path, *depends_on)]
    run = Run(label=label, section=section, steps=sec["steps"], checkpoint_every=sec["checkpoint_every"],
              recipe=Recipe.from_config(sec), out=Path(out), log_out=Path(log_out),
              fingerprint="-".join([kind, label, slice_hash(cfg), *digests]), fields=fields, title=title, cfg=cfg,
              device=describe(device), log_attrs=log_attrs or {})
    record = fit(run, model, optimizer, lambda step: sec["lr"], lambda step: loss(model, stream.next(), gen, device),
                 resumables={"generator": gen, "batches": stream})
    model.eval()
    return save_model(model, out, kind, extra={**(extra or {}), **record.extra()})
