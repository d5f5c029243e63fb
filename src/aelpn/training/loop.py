"""The one training loop of every learned component (proximal networks, 1-D nets, conditional denoiser,
unrolled networks, flow-matching model, VAE): a component supplies a model, an optimizer, a
learning rate per step and a batch loss (which draws its batch from seeded generators); the loop runs
Adam steps with

- exact resume: every ``checkpoint_every`` steps the model, optimizer, generators and samplers, the log and
  the divergence monitor are saved (``aelpn.training.state``); rerunning continues from there and ends with
  the weights of an uninterrupted run, bit for bit;
- a stop on a non-finite loss (NaN, +inf, -inf), naming the step (NonFiniteLossError);
- a stop on divergence with a finite loss (DivergenceError), criterion: after ``warmup`` steps of the same
  stage (a component's loss regime, e.g. a proximal-matching gamma), a loss above ``factor`` times the
  running minimum of that stage's losses;
- the projection after every optimizer step (e.g. the non-negativity of input-convex weights);
- a progress bar (``aelpn.core.progress``), the netCDF log rewritten at every checkpoint and at the end,
  and the recorded training seconds and device."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from aelpn.core.progress import progress_bar
from aelpn.training import state as state_mod
from aelpn.training.log import Field, write_log


class TrainingError(RuntimeError):
    """Training stopped on a bad loss; the last good checkpoint is kept."""


class NonFiniteLossError(TrainingError, FloatingPointError):
    """The training loss became NaN or infinite."""


class DivergenceError(TrainingError):
    """The training loss exploded while finite (see the module docstring for the criterion)."""


@dataclass(frozen=True)
class Divergence:
    """Stop when, after ``warmup`` steps of a stage, the loss exceeds ``factor`` x the stage's running minimum."""

    factor: float
    warmup: int

    @classmethod
    def from_config(cls, section: dict) -> Divergence:
        return cls(float(section["divergence"]["factor"]), int(section["divergence"]["warmup"]))


@dataclass
class Step:
    """What a component's batch loss returns: the loss to minimise, extra log values, and its stage (the
    divergence monitor compares losses within a stage only)."""

    loss: torch.Tensor
    log: dict[str, float] = field(default_factory=dict)
    stage: str = ""


@dataclass
class Run:
    """Where and how one training run is recorded: ``label`` names it in messages, ``section`` is its config
    section (named in error messages); ``out`` is the model file (the checkpoint lives beside it)."""

    label: str
    section: str
    steps: int
    checkpoint_every: int
    divergence: Divergence
    out: Path
    log_out: Path
    fingerprint: str
    fields: dict[str, Field]
    title: str
    cfg: dict
    device: str
    log_attrs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Record:
    """The finished run: steps, last loss, total training seconds (resumes included), device and the log."""

    steps: int
    final_loss: float
    train_seconds: float
    device: str
    log: dict[str, list]

    def extra(self) -> dict:
        """The model file's record of the training cost."""
        return {"steps": self.steps, "final_loss": self.final_loss, "train_seconds": self.train_seconds,
                "device": self.device}


class _Monitor:
    def __init__(self, divergence: Divergence, saved: dict):
        self.divergence = divergence
        self.stage, self.minimum, self.count = saved.get("stage", None), saved.get("minimum", math.inf), \
            saved.get("count", 0)

    def state(self) -> dict:
        return {"stage": self.stage, "minimum": self.minimum, "count": self.count}

    def check(self, run: Run, step: int, loss: float, stage: str, kept: str) -> None:
        if stage != self.stage:
            self.stage, self.minimum, self.count = stage, math.inf, 0
        self.count += 1
        if self.count > self.divergence.warmup and loss > self.divergence.factor * self.minimum:
            raise DivergenceError(
                f"{run.label}: training diverged at step {step}: loss {loss:.4g} > {self.divergence.factor:g} x "
                f"its running minimum {self.minimum:.4g}; lower the learning rate in config section "
                f"'{run.section}' (criterion: '{run.section}.divergence'); {kept}")
        self.minimum = min(self.minimum, loss)


def _postfix(out: Step, loss: float) -> dict[str, str]:
    """What the progress bar shows: the stage, the step's finite float log values (so no gamma=nan during
    L1 pre-training) and the loss."""
    shown = {"stage": out.stage} if out.stage else {}
    shown.update({k: f"{v:.4g}" for k, v in out.log.items() if isinstance(v, float) and math.isfinite(v)})
    return {**shown, "loss": f"{loss:.4g}"}


def fit(run: Run, model: torch.nn.Module, optimizer: torch.optim.Optimizer, lr_at: Callable[[int], float],
        batch_loss: Callable[[int], Step], *, resumables: dict, project: Callable[[], None] | None = None,
        grad_clip: float | None = None, after_step: Callable[[int], dict] | None = None) -> Record:
    """Run optimizer steps ``start..run.steps-1`` (0-based; ``start`` from a checkpoint) on ``model``: per
    step set the learning rate ``lr_at(step)``, take ``batch_loss(step)``, check it, backpropagate, clip the
    gradient norm to ``grad_clip`` (if set), step, ``project()`` (if set), then ``after_step(done)`` may add
    log values (e.g. a validation PSNR). ``resumables`` names every other stateful object the batches depend
    on (torch.Generator, or anything with state_dict / load_state_dict). Writes the log to ``run.log_out``
    (at every checkpoint and at the end) and removes the checkpoints at the end; the caller saves the model."""
    ckpt = state_mod.checkpoint_path(run.out)
    objects = {"model": model, "optimizer": optimizer, **resumables}
    saved = state_mod.load(ckpt, run.fingerprint)
    start, log, monitor_state = 0, {name: [] for name in run.fields}, {}
    if saved is not None:
        start, log, monitor_state = state_mod.restore(saved, objects)
        print(f"resuming {run.label} from {ckpt} at step {start}/{run.steps}", flush=True)
    monitor = _Monitor(run.divergence, monitor_state)
    saved_step = start or None

    def write(done: int) -> None:
        seconds = float(sum(log["seconds"]))
        write_log(log, run.fields, run.log_out, run.title, run.cfg, run.device,
                  {**run.log_attrs, "steps_done": done, "steps": run.steps, "train_seconds": seconds,
                   "train_device": run.device})

    bar = progress_bar(total=run.steps, initial=start, desc=run.label, dynamic_ncols=True)
    try:
        for step in range(start, run.steps):
            tic = time.perf_counter()
            lr = float(lr_at(step))
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            out = batch_loss(step)
            value = out.loss.item()
            kept = ("no checkpoint written yet" if saved_step is None
                    else f"kept the last good checkpoint {ckpt} (step {saved_step})")
            if not math.isfinite(value):
                raise NonFiniteLossError(f"{run.label}: non-finite training loss ({value}) at step {step + 1}; {kept}")
            monitor.check(run, step + 1, value, out.stage, kept)
            out.loss.backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            if project is not None:
                project()
            done = step + 1
            extra = after_step(done) if after_step is not None else {}
            values = {"loss": value, "lr": lr, **out.log, **extra, "seconds": time.perf_counter() - tic}
            for name in run.fields:
                log[name].append(values[name])
            bar.update(1)
            bar.set_postfix(_postfix(out, value), refresh=False)
            if done % run.checkpoint_every == 0 and done < run.steps:
                state_mod.save(ckpt, fingerprint=run.fingerprint, step=done, objects=objects, log=log,
                               monitor=monitor.state())
                write(done)
                saved_step = done
                print(f"checkpoint {ckpt} at step {done}/{run.steps}", flush=True)
    finally:
        bar.close()
    write(run.steps)
    state_mod.remove(ckpt)
    return Record(run.steps, log["loss"][-1], float(sum(log["seconds"])), run.device, log)
