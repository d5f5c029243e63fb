"""Resumable training state: model, optimizer and generator states, the step reached and the log so far,
saved atomically beside the final weights and reloaded with ``torch.load(weights_only=True)``."""

from __future__ import annotations

from pathlib import Path

import torch

from aelpn.io import save_torch

FORMAT = "aelpn-train-checkpoint-1"


def checkpoint_path(out: str | Path) -> Path:
    """Where the training state of the run writing ``out`` lives: ``<out dir>/checkpoint.pt``."""
    return Path(out).with_name("checkpoint.pt")


def resume(path: str | Path, fingerprint: str, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
           generator: torch.Generator, fields: tuple[str, ...], label: str,
           total: int) -> tuple[int, dict[str, list]]:
    """Restore the run ``fingerprint`` from ``path`` if it holds one (saying so), else a fresh start:
    returns (step, log) with ``log`` a list per name in ``fields``."""
    state = load(path, fingerprint)
    if state is None:
        return 0, {name: [] for name in fields}
    step, log = restore(state, model, optimizer, generator)
    print(f"resuming {label} from {path} at step {step}/{total}", flush=True)
    return step, log


def save(path: str | Path, *, fingerprint: str, step: int, model: torch.nn.Module,
         optimizer: torch.optim.Optimizer, generator: torch.Generator, log: dict[str, list]) -> Path:
    """Atomically write the state after ``step`` completed optimizer steps. ``fingerprint`` identifies the
    run (config slice, variant, data) so that a stale checkpoint of another run is never resumed."""
    state = {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "step": int(step),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generator": generator.get_state(),
        "log": {k: list(v) for k, v in log.items()},
    }
    return save_torch(state, path)


def load(path: str | Path, fingerprint: str) -> dict | None:
    """The saved state if ``path`` holds a checkpoint of the run ``fingerprint``, else None (no file, or a
    stale checkpoint of another config/variant/data, which must not be resumed and will be overwritten)."""
    path = Path(path)
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("format") != FORMAT:
        raise ValueError(f"{path}: not an aelpn training checkpoint (format {state.get('format')!r})")
    return state if state["fingerprint"] == fingerprint else None


def restore(state: dict, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
            generator: torch.Generator) -> tuple[int, dict[str, list]]:
    """Load a saved state into the live objects; returns (step, log)."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])
    return state["step"], {k: list(v) for k, v in state["log"].items()}
