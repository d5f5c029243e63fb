"""Provenance attributes and CF conventions shared by every netCDF file the pipeline writes."""

from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch
import xarray as xr

from aelpn import __version__
from aelpn.core.config import slice_hash


def git_describe() -> str:
    """``git describe --always --dirty`` of the source tree, or 'unknown' outside a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=here, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def _version(package: str) -> str:
    """The installed version of ``package``, or 'not installed' (snakemake is an optional extra)."""
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def channel_labels(channels: int) -> list[str]:
    """Labels of the ``channel`` coordinate: R, G, B for colour images, gray for one channel."""
    return ["R", "G", "B"] if channels == 3 else ["gray"] if channels == 1 else [f"c{i}" for i in range(channels)]


def attrs(title: str, cfg: dict, device: str) -> dict:
    """Global attributes: CF conventions, the versions of aelpn (and its git state), Python, torch, deepinv, numpy,
    xarray and Snakemake, the config slice and its hash, the device; and ``training_seeds``, the JSON list of the
    slice's ``seeds`` where it has them: the one training seed of a replicate's file (``held_seed`` in
    aelpn.core.combine reads it), every training seed of a combination."""
    seeds = {"training_seeds": json.dumps(cfg["seeds"])} if "seeds" in cfg else {}
    return {
        "Conventions": "CF-1.10",
        "title": title,
        "source": f"aelpn {__version__}",
        "history": f"{_dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds')} created by aelpn",
        "aelpn_version": __version__,
        "git_describe": git_describe(),
        "config_hash": slice_hash(cfg),
        "config": json.dumps(cfg, sort_keys=True),
        "python_version": platform.python_version(),
        "torch_version": torch.__version__,
        "deepinv_version": _version("deepinv"),
        "numpy_version": _version("numpy"),
        "xarray_version": xr.__version__,
        "snakemake_version": _version("snakemake"),
        "device": str(device),
        **seeds,
    }


def annotate(ds: xr.Dataset, variables: dict[str, tuple[str, str]]) -> xr.Dataset:
    """Set CF ``long_name`` and ``units`` on variables or coordinates: ``{name: (long_name, units)}``."""
    for name, (long_name, units) in variables.items():
        ds[name].attrs.update(long_name=long_name, units=units)
    return ds
