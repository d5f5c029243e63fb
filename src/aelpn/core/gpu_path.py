"""The GPU-path options of ``compute`` for the proximal networks' training step (``aelpn.training.proxnets``):

- ``channels_last``: the model's weights and every batch in channels-last memory format (NHWC strides), the
  layout cuDNN's tensor-core convolutions read without transposing. Values are unchanged; only the kernels that
  compute them may differ (sums taken in another order).
- ``compile``: the model the step calls goes through ``torch.compile``. Compilation happens at the first call;
  when it fails (no backend, e.g. no triton; an unsupported operation) the step prints one warning line naming
  the error and runs eager from then on (``CompiledOrEager``).

Both act on CUDA only. On the CPU each is a no-op with a one-line note, so a CPU run with them on is bitwise the
run with them off. CUDA graphs of the whole step are not built: the loop's rollback restores the optimizer by
``load_state_dict`` (new state tensors, so a captured graph would read stale addresses), the learning rate is a
Python float set every step (a graph needs Adam's ``capturable`` mode with a tensor learning rate), and the
divergence check reads every loss on the host (``loss.item()``), a synchronisation per step either way."""

from __future__ import annotations

import sys
from typing import Callable

import torch

OPTIONS = ("channels_last", "compile")


def acts(compute: dict, option: str, device: torch.device) -> bool:
    """Whether ``compute[option]`` changes anything: it is on and the device is CUDA."""
    return bool(compute[option]) and device.type == "cuda"


def cpu_note(compute: dict, device: torch.device) -> str | None:
    """The note printed when options are on but the device is not CUDA (None when there is nothing to say)."""
    ignored = [f"compute.{o}" for o in OPTIONS if compute[o] and device.type != "cuda"]
    if not ignored:
        return None
    return f"note: {', '.join(ignored)} act on CUDA only: ignored on {device.type} (the run is the run without them)"


def batch_layout(compute: dict, device: torch.device, x: torch.Tensor) -> torch.Tensor:
    """``x`` in channels-last memory format when ``compute.channels_last`` acts, else ``x`` itself."""
    return x.contiguous(memory_format=torch.channels_last) if acts(compute, "channels_last", device) else x


class CompiledOrEager:
    """``compile_fn(model)`` called in place of ``model``: the first call compiles; if it raises, one warning line
    (the error's type and first line) goes to stderr and this and every later call run ``model`` eagerly.
    ``compiled`` says which path the calls take; ``error`` holds the line of a fallback."""

    def __init__(self, model: torch.nn.Module, compile_fn: Callable = None):
        self.model = model
        self._compiled = (compile_fn or torch.compile)(model)
        self._tried = False
        self.error: str | None = None

    @property
    def compiled(self) -> bool:
        return self._compiled is not None

    def __call__(self, *args):
        if self._compiled is None:
            return self.model(*args)
        if self._tried:
            return self._compiled(*args)
        try:
            out = self._compiled(*args)
        except Exception as err:  # any compilation failure: the backend's errors have no common base class
            first = (str(err).strip().splitlines() or [""])[0]
            self.error = f"{type(err).__name__}: {first}"
            self._compiled = None
            print(f"warning: compute.compile: torch.compile failed ({self.error}); the training step runs eager",
                  file=sys.stderr, flush=True)
            return self.model(*args)
        self._tried = True
        return out


def step_model(compute: dict, model: torch.nn.Module, device: torch.device):
    """What the training step calls in place of ``model``: on CUDA, ``model`` moved to channels-last memory
    format (in place) when ``compute.channels_last`` is on, wrapped in ``CompiledOrEager`` when ``compute.compile``
    is on; elsewhere ``model`` itself, after printing ``cpu_note`` when an option is on."""
    note = cpu_note(compute, device)
    if note is not None:
        print(note, flush=True)
    if acts(compute, "channels_last", device):
        model.to(memory_format=torch.channels_last)
    return CompiledOrEager(model) if acts(compute, "compile", device) else model
