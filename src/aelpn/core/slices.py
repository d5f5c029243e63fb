"""The config sections each job reads (its slice), declared once and keyed by the job's command (``aelpn <verb>
<target>``, e.g. ``"train proxnet"``). The CLI validates a job's config against its entry, so a slice without a
section the job reads is a one-line error naming the key; the workflow writes each job's slice file from the same
entry, so changing another section does not rerun the job. ``seed`` is in every slice."""

from __future__ import annotations

SLICES: dict[str, tuple[str, ...]] = {
    "data fetch": ("data",),
    "data crops": ("data",),
    "train proxnet": ("compute", "data", "model", "train"),
    "train prox1d": ("compute", "prox1d"),
    "train denoiser": ("compute", "inverse"),
    "train unrolled": ("compute", "inverse"),
    "train flow": ("compute", "inverse"),
    "train vae": ("compute", "inverse"),
    "train blind": ("compute", "blind"),
    "evaluate prox1d": ("compute", "prox1d"),
    "evaluate noise_sweep": ("compute", "noise_sweep", "figures"),
    "evaluate affine_sweep": ("compute", "affine_sweep"),
    "evaluate cbsd68": ("compute", "train", "cbsd68"),
    "evaluate inverse": ("compute", "model", "inverse"),
    "evaluate adaptivity": ("compute", "inverse"),
    "evaluate blind": ("train", "blind"),
    "evaluate jacobian": ("compute", "model", "jacobian"),
    "combine training": ("model", "train"),
    "combine noise_sweep": ("model", "noise_sweep"),
    "combine affine_sweep": ("model", "affine_sweep"),
    "combine inverse": ("model", "inverse"),
    "claims": ("train", "prox1d", "inverse", "blind", "claims"),
}


def sections(command: str) -> tuple[str, ...]:
    """The sections of the job ``aelpn <command>``, ``seed`` first."""
    return ("seed",) + SLICES[command]
