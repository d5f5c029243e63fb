"""The config sections each job reads (its slice), declared once and keyed by the job's command (``aelpn <verb>
<target>``, e.g. ``"train proxnet"``). The CLI validates a job's config against its entry, so a slice without a
section the job reads is a one-line error naming the key; the workflow writes each job's slice file from the same
entry, so changing another section does not rerun the job. ``seed`` is in every slice.

Replicates: a job of one replicate (a training or evaluation job, ``REPLICATE_JOBS``) reads ``seeds`` narrowed to
its own training seed, ``[s]`` (``replicate``), and records it in its output (``aelpn.core.provenance``); a
training job's ``seed`` is that training seed too, so the training code draws with s where it drew with the master
seed. The combinations read every training seed; the data stage reads none (shared by every replicate)."""

from __future__ import annotations

from aelpn.core.config import ConfigError

SLICES: dict[str, tuple[str, ...]] = {
    "data fetch": ("data",),
    "data crops": ("data",),
    "train proxnet": ("seeds", "compute", "data", "model", "train"),
    "train prox1d": ("seeds", "compute", "prox1d"),
    "train denoiser": ("seeds", "compute", "inverse"),
    "train unrolled": ("seeds", "compute", "inverse"),
    "train flow": ("seeds", "compute", "inverse"),
    "train vae": ("seeds", "compute", "inverse"),
    "train blind": ("seeds", "compute", "blind"),
    "evaluate prox1d": ("seeds", "compute", "prox1d"),
    "evaluate noise_sweep": ("seeds", "compute", "noise_sweep", "figures"),
    "evaluate affine_sweep": ("seeds", "compute", "affine_sweep"),
    "evaluate cbsd68": ("seeds", "compute", "train", "cbsd68"),
    "evaluate inverse": ("seeds", "compute", "model", "inverse"),
    "evaluate adaptivity": ("seeds", "compute", "inverse"),
    "evaluate blind": ("seeds", "train", "blind"),
    "evaluate jacobian": ("seeds", "compute", "model", "jacobian"),
    "combine training": ("seeds", "model", "train"),
    "combine noise_sweep": ("seeds", "model", "noise_sweep"),
    "combine affine_sweep": ("seeds", "model", "affine_sweep"),
    "combine inverse": ("seeds", "model", "inverse"),
    "combine replicates": ("seeds",),
    "claims": ("train", "prox1d", "inverse", "blind", "claims"),
}

# The jobs of one replicate: every training job and every evaluation of trained networks.
REPLICATE_JOBS = tuple(c for c in SLICES if c.split()[0] in ("train", "evaluate"))


def sections(command: str) -> tuple[str, ...]:
    """The sections of the job ``aelpn <command>``, ``seed`` first."""
    return ("seed",) + SLICES[command]


def is_training(command: str) -> bool:
    """Whether ``command`` trains a network: its slice's ``seed`` is the replicate's training seed."""
    return command.split()[0] == "train"


def replicate(cfg: dict, command: str, training_seed: int) -> dict:
    """The slice ``cfg`` of the job ``command`` for the replicate of ``training_seed``: ``seeds`` narrowed to
    ``[training_seed]``, and for a training job ``seed`` = ``training_seed`` (the master seed otherwise)."""
    if command not in REPLICATE_JOBS:
        raise ValueError(f"'{command}' is not a job of one replicate ({', '.join(REPLICATE_JOBS)})")
    out = dict(cfg, seeds=[int(training_seed)])
    if is_training(command):
        out["seed"] = int(training_seed)
    return out


def check_replicate(cfg: dict, command: str) -> dict:
    """``cfg`` if it is a slice ``replicate`` could have written for ``command``; else a one-line ConfigError: a job
    of one replicate takes one training seed, and a training job's seed is that training seed."""
    if command not in REPLICATE_JOBS:
        return cfg
    if len(cfg["seeds"]) != 1:
        raise ConfigError(f"config key 'seeds': {cfg['seeds']} lists {len(cfg['seeds'])} training seeds; "
                          f"'aelpn {command}' is a job of one replicate: give its training seed alone, e.g. "
                          f"seeds: [{cfg['seeds'][0]}] (the workflow writes such slices to results/configs/)")
    if is_training(command) and cfg["seed"] != cfg["seeds"][0]:
        raise ConfigError(f"config key 'seed': {cfg['seed']} differs from the training seed seeds: {cfg['seeds']}; "
                          f"'aelpn {command}' trains with its slice's seed, so the two must be equal")
    return cfg
