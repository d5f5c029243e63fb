"""Resumable training state: the step reached, the training log so far, the divergence monitor, the recovery
state (learning-rate scale, rollbacks so far, seconds of discarded steps) and the state of every stateful object
of the run (model, optimizer, random generators, batch samplers), saved atomically and reloaded with
``torch.load(weights_only=True)``. A checkpoint of an older format is stale (training restarts from step 0).

Convention: the run writing ``<dir>/<name>.pt`` keeps its state in ``<dir>/<name>.checkpoint.pt`` and the one
before in ``<dir>/<name>.checkpoint.prev.pt``; a corrupt newest checkpoint falls back to the previous one."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from aelpn.core.io import save_torch

FORMAT = "aelpn-train-checkpoint-3"
FORMAT_PREFIX = "aelpn-train-checkpoint-"
NO_RECOVERY = {"lr_scale": 1.0, "lost_seconds": 0.0, "rollbacks": []}


class CheckpointError(RuntimeError):
    """A training checkpoint cannot be read and no usable previous one exists; the message says what to do."""


def checkpoint_path(out: str | Path) -> Path:
    """Where the training state of the run writing ``out`` lives: ``<out dir>/<out stem>.checkpoint.pt``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.checkpoint.pt")


def previous_path(path: str | Path) -> Path:
    """The checkpoint saved before ``path``: ``<name>.checkpoint.prev.pt``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev.pt")


def _state_of(obj):
    return obj.get_state() if isinstance(obj, torch.Generator) else obj.state_dict()


def save(path: str | Path, *, fingerprint: str, step: int, objects: dict, log: dict[str, list],
         monitor: dict, recovery: dict) -> Path:
    """Write the state after ``step`` completed optimizer steps atomically to ``path``, first moving the
    previous checkpoint to ``previous_path(path)``. ``fingerprint`` identifies the run (config slice, data,
    component) so that a stale checkpoint of another run is never resumed."""
    path = Path(path)
    state = {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "step": int(step),
        "objects": {name: _state_of(obj) for name, obj in objects.items()},
        "log": {k: list(v) for k, v in log.items()},
        "monitor": dict(monitor),
        "recovery": {**recovery, "rollbacks": [dict(r) for r in recovery["rollbacks"]]},
    }
    if path.is_file():
        os.replace(path, previous_path(path))
    return save_torch(state, path)


def _read(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, not a torch file, unpickling refused: all mean "unreadable"
        raise CheckpointError(f"{path}: unreadable training checkpoint ({type(err).__name__})") from None
    if isinstance(state, dict) and str(state.get("format", "")).startswith(FORMAT_PREFIX) and \
            state["format"] != FORMAT:
        return {**state, "fingerprint": None}  # an older format: stale, like another run's
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an aelpn training checkpoint of format {FORMAT!r}")
    return state


def _candidates(path: Path):
    """(file, state) for the newest checkpoint and then the previous one, where they exist; state is None for an
    unreadable file (with a warning)."""
    for candidate in (path, previous_path(path)):
        if not candidate.is_file():
            continue
        try:
            yield candidate, _read(candidate)
        except CheckpointError as err:
            print(f"warning: {err}; trying the previous checkpoint", flush=True)
            yield candidate, None


def load(path: str | Path, fingerprint: str) -> dict | None:
    """The saved state of the run ``fingerprint``: the newest readable one of ``path`` and its previous
    checkpoint (saying so when it falls back), None when there is none or it belongs to another run (a stale
    checkpoint, overwritten later). Raises CheckpointError when checkpoints exist but none can be read."""
    path = Path(path)
    unreadable = []
    for candidate, state in _candidates(path):
        if state is None:
            unreadable.append(candidate)
            continue
        if state["fingerprint"] != fingerprint:
            return None
        if candidate != path:
            print(f"resuming from the previous checkpoint {candidate}", flush=True)
        return state
    if unreadable:
        names = " and ".join(map(str, unreadable))
        raise CheckpointError(f"{names}: corrupt training checkpoint(s) and no usable previous one; delete "
                              f"them to restart this training from step 0")
    return None


def load_before(path: str | Path, fingerprint: str, step: int) -> dict | None:
    """The newest saved state of the run ``fingerprint`` (``path`` or its previous checkpoint) taken before
    ``step`` completed steps, None when there is none: what a rollback returns to when the weights after
    ``step`` steps gave a bad loss."""
    for _, state in _candidates(Path(path)):
        if state is not None and state["fingerprint"] == fingerprint and state["step"] < step:
            return state
    return None


def restore(state: dict, objects: dict) -> tuple[int, dict[str, list], dict, dict]:
    """Load a saved state into the live objects; returns (step, log, monitor state, recovery state)."""
    for name, obj in objects.items():
        saved = state["objects"][name]
        if isinstance(obj, torch.Generator):
            obj.set_state(saved)
        else:
            obj.load_state_dict(saved)
    recovery = state["recovery"]
    return (state["step"], {k: list(v) for k, v in state["log"].items()}, dict(state["monitor"]),
            {**recovery, "rollbacks": [dict(r) for r in recovery["rollbacks"]]})


def remove(path: str | Path) -> None:
    """Delete a finished run's checkpoint and its previous one."""
    path = Path(path)
    path.unlink(missing_ok=True)
    previous_path(path).unlink(missing_ok=True)
