"""The one training loop of every learned component (proximal networks, 1-D nets, conditional denoiser,
unrolled networks, flow-matching model, VAE, blind network): a component supplies a model, an optimizer, a
learning rate per step and a batch loss (which draws its batch from seeded generators); the loop runs
Adam steps with the component's recipe (``Recipe``, from its config section):

- a linear learning-rate warm-up over the first ``lr_warmup`` steps: lr_t = lr_at(t) * min(1, (t + 1) / lr_warmup);
- gradient-norm clipping: the gradient is rescaled to L2 norm ``grad_clip`` when above it (null: none);
- exact resume: every ``checkpoint_every`` steps (and at step 0) the model, optimizer, generators and samplers,
  the log, the divergence monitor and the recovery state are saved (``aelpn.training.state``); rerunning
  continues from there and ends with the weights of an uninterrupted run, bit for bit;
- spike recovery: a bad loss is a non-finite one (NaN, +inf, -inf) or, after ``divergence.warmup`` steps of the
  same stage (a component's loss regime, e.g. a proximal-matching gamma), one above ``divergence.factor`` times
  the running minimum of that stage's losses. On a bad loss the run rolls back to its last checkpoint taken
  before the weights that gave it (the newest, or the one before when the newest holds those weights) (model,
  optimizer, generators, log: the same batches are drawn again), multiplies every later learning rate by
  ``divergence.lr_factor``, records the event (``Rollback``: step, loss, new learning rate) in the training log
  and the model file, saves the rolled-back state and continues. After ``divergence.rollbacks`` rollbacks the
  next bad loss stops the run (NonFiniteLossError / DivergenceError, one line naming the step);
- the projection after every optimizer step (e.g. the non-negativity of input-convex weights);
- a progress bar (``aelpn.core.progress``), the netCDF log rewritten at every checkpoint and at the end,
  and the recorded training seconds (steps discarded by a rollback included) and device."""

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
    """Training stopped on a bad loss after its rollbacks; the last good checkpoint is kept."""


class NonFiniteLossError(TrainingError, FloatingPointError):
    """The training loss became NaN or infinite."""


class DivergenceError(TrainingError):
    """The training loss exploded while finite (see the module docstring for the criterion)."""


@dataclass(frozen=True)
class Divergence:
    """A bad finite loss: after ``warmup`` steps of a stage, above ``factor`` x the stage's running minimum. On a
    bad loss (finite or not) roll back at most ``rollbacks`` times, each multiplying the learning rate by
    ``lr_factor``."""

    factor: float
    warmup: int
    rollbacks: int
    lr_factor: float

    @classmethod
    def from_config(cls, section: dict) -> Divergence:
        d = section["divergence"]
        return cls(float(d["factor"]), int(d["warmup"]), int(d["rollbacks"]), float(d["lr_factor"]))


@dataclass(frozen=True)
class Recipe:
    """How a component's optimizer steps are taken: linear learning-rate warm-up over ``lr_warmup`` steps (0: none),
    gradient-norm clipping at ``grad_clip`` (None: none), and the divergence criterion with its recovery."""

    lr_warmup: int
    grad_clip: float | None
    divergence: Divergence

    @classmethod
    def from_config(cls, section: dict) -> Recipe:
        clip = section["grad_clip"]
        return cls(int(section["lr_warmup"]), None if clip is None else float(clip), Divergence.from_config(section))

    def warmup_factor(self, step: int) -> float:
        """min(1, (step + 1) / lr_warmup) at 0-based ``step``; 1 without warm-up."""
        return 1.0 if self.lr_warmup <= 0 else min(1.0, (step + 1) / self.lr_warmup)

    def attrs(self) -> dict:
        """The recipe as netCDF attributes of the training log (grad_clip 0 means none)."""
        d = self.divergence
        return {"lr_warmup": self.lr_warmup, "grad_clip": 0.0 if self.grad_clip is None else self.grad_clip,
                "divergence_factor": d.factor, "divergence_warmup": d.warmup, "max_rollbacks": d.rollbacks,
                "rollback_lr_factor": d.lr_factor}


@dataclass(frozen=True)
class Rollback:
    """One spike recovery: the bad loss at 1-based ``step``, the checkpoint step rolled back to, the learning-rate
    multiplier from then on (``lr_scale``) and the learning rate the spiking step is retried with (``lr``)."""

    step: int
    loss: float
    to_step: int
    lr_scale: float
    lr: float

    def as_dict(self) -> dict:
        return {"step": self.step, "loss": self.loss, "to_step": self.to_step, "lr_scale": self.lr_scale,
                "lr": self.lr}


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
    recipe: Recipe
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
    """The finished run: steps, last loss, total training seconds (resumes and discarded steps included), device,
    the log and the rollbacks."""

    steps: int
    final_loss: float
    train_seconds: float
    device: str
    log: dict[str, list]
    rollbacks: tuple[Rollback, ...] = ()

    def extra(self) -> dict:
        """The model file's record of the training cost and its rollbacks."""
        return {"steps": self.steps, "final_loss": self.final_loss, "train_seconds": self.train_seconds,
                "device": self.device, "rollbacks": [r.as_dict() for r in self.rollbacks]}


class _Monitor:
    def __init__(self, divergence: Divergence, saved: dict):
        self.divergence = divergence
        self.stage, self.minimum, self.count = saved.get("stage", None), saved.get("minimum", math.inf), \
            saved.get("count", 0)

    def state(self) -> dict:
        return {"stage": self.stage, "minimum": self.minimum, "count": self.count}

    def bad(self, run: Run, step: int, loss: float, stage: str) -> TrainingError | None:
        """The error a bad loss at 1-based ``step`` stops with (None for a good loss, which updates the minimum)."""
        if not math.isfinite(loss):
            return NonFiniteLossError(f"{run.label}: non-finite training loss ({loss}) at step {step}")
        if stage != self.stage:
            self.stage, self.minimum, self.count = stage, math.inf, 0
        self.count += 1
        if self.count > self.divergence.warmup and loss > self.divergence.factor * self.minimum:
            return DivergenceError(
                f"{run.label}: training diverged at step {step}: loss {loss:.4g} > {self.divergence.factor:g} x "
                f"its running minimum {self.minimum:.4g}")
        self.minimum = min(self.minimum, loss)
        return None


def _postfix(out: Step, loss: float) -> dict[str, str]:
    """What the progress bar shows: the stage, the step's finite float log values (so no gamma=nan during
    L1 pre-training) and the loss."""
    shown = {"stage": out.stage} if out.stage else {}
    shown.update({k: f"{v:.4g}" for k, v in out.log.items() if isinstance(v, float) and math.isfinite(v)})
    return {**shown, "loss": f"{loss:.4g}"}


def _stop_message(err: TrainingError, run: Run, rollbacks: int, saved_step: int, ckpt: Path) -> str:
    d = run.recipe.divergence
    after = (f"after {rollbacks} rollback(s), each multiplying the learning rate by {d.lr_factor:g}"
             if rollbacks else "with no rollback allowed")
    return (f"{err} {after}; lower the learning rate in config section '{run.section}' (or raise "
            f"'{run.section}.divergence.rollbacks'); kept the last good checkpoint {ckpt} (step {saved_step})")


def fit(run: Run, model: torch.nn.Module, optimizer: torch.optim.Optimizer, lr_at: Callable[[int], float],
        batch_loss: Callable[[int], Step], *, resumables: dict, project: Callable[[], None] | None = None,
        after_step: Callable[[int], dict] | None = None) -> Record:
    """Run optimizer steps ``start..run.steps-1`` (0-based; ``start`` from a checkpoint) on ``model``: per
    step set the learning rate lr_at(step) x the recipe's warm-up factor x the rollbacks' scale, take
    ``batch_loss(step)``, check it (a bad loss rolls back, see the module docstring), backpropagate, clip the
    gradient norm to the recipe's ``grad_clip`` (if set), step, ``project()`` (if set), then ``after_step(done)``
    may add log values (e.g. a validation PSNR). ``resumables`` names every other stateful object the batches
    depend on (torch.Generator, or anything with state_dict / load_state_dict). Writes the log to ``run.log_out``
    (at every checkpoint and at the end) and removes the checkpoints at the end; the caller saves the model."""
    recipe = run.recipe
    ckpt = state_mod.checkpoint_path(run.out)
    objects = {"model": model, "optimizer": optimizer, **resumables}
    saved = state_mod.load(ckpt, run.fingerprint)
    if saved is None:
        start, log, monitor_state, recovery = 0, {name: [] for name in run.fields}, {}, state_mod.NO_RECOVERY
        state_mod.save(ckpt, fingerprint=run.fingerprint, step=0, objects=objects, log=log, monitor={},
                       recovery=recovery)
    else:
        start, log, monitor_state, recovery = state_mod.restore(saved, objects)
        print(f"resuming {run.label} from {ckpt} at step {start}/{run.steps}", flush=True)
    monitor = _Monitor(recipe.divergence, monitor_state)
    rollbacks = [Rollback(**r) for r in recovery["rollbacks"]]
    lr_scale, lost_seconds, saved_step = recovery["lr_scale"], recovery["lost_seconds"], start

    def recovery_state() -> dict:
        return {"lr_scale": lr_scale, "lost_seconds": lost_seconds, "rollbacks": [r.as_dict() for r in rollbacks]}

    def write(done: int) -> None:
        seconds = float(sum(log["seconds"])) + lost_seconds
        write_log(log, run.fields, run.log_out, run.title, run.cfg, run.device,
                  {**run.log_attrs, **recipe.attrs(), "steps_done": done, "steps": run.steps,
                   "train_seconds": seconds, "train_device": run.device},
                  rollbacks=[r.as_dict() for r in rollbacks])

    bar = progress_bar(total=run.steps, initial=start, desc=run.label, dynamic_ncols=True)
    try:
        step = start
        while step < run.steps:
            tic = time.perf_counter()
            lr = float(lr_at(step)) * recipe.warmup_factor(step) * lr_scale
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            out = batch_loss(step)
            value = out.loss.item()
            err = monitor.bad(run, step + 1, value, out.stage)
            if err is not None:
                back = state_mod.load_before(ckpt, run.fingerprint, step)
                if len(rollbacks) >= recipe.divergence.rollbacks or back is None:
                    raise type(err)(_stop_message(err, run, len(rollbacks), saved_step, ckpt))
                lost_seconds += float(sum(log["seconds"][back["step"]:])) + time.perf_counter() - tic
                saved_step, log, monitor_state, _ = state_mod.restore(back, objects)
                monitor = _Monitor(recipe.divergence, monitor_state)
                lr_scale *= recipe.divergence.lr_factor
                retry_lr = float(lr_at(step)) * recipe.warmup_factor(step) * lr_scale
                rollbacks.append(Rollback(step + 1, value, saved_step, lr_scale, retry_lr))
                state_mod.save(ckpt, fingerprint=run.fingerprint, step=saved_step, objects=objects, log=log,
                               monitor=monitor.state(), recovery=recovery_state())
                write(saved_step)
                print(f"{err}; rolled back to step {saved_step} (rollback {len(rollbacks)} of at most "
                      f"{recipe.divergence.rollbacks}), learning rate x {lr_scale:g} from now on", flush=True)
                bar.reset(total=run.steps)
                bar.update(saved_step)
                step = saved_step
                continue
            out.loss.backward()
            if recipe.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
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
                               monitor=monitor.state(), recovery=recovery_state())
                write(done)
                saved_step = done
                print(f"checkpoint {ckpt} at step {done}/{run.steps}", flush=True)
            step = done
    finally:
        bar.close()
    write(run.steps)
    state_mod.remove(ckpt)
    return Record(run.steps, log["loss"][-1], float(sum(log["seconds"])) + lost_seconds, run.device, log,
                  tuple(rollbacks))
