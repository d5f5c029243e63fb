"""Provenance attributes and CF conventions shared by every netCDF file the pipeline writes."""

from __future__ import annotations

import datetime as _dt
import json
import subprocess
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


def _deepinv_version() -> str:
    try:
        from importlib.metadata import version

        return version("deepinv")
    except Exception:  # deepinv not installed
        return "not installed"


def attrs(title: str, cfg: dict, device: str) -> dict:
    """Global attributes: CF conventions, package/git/torch/deepinv versions, config slice and its hash, device."""
    return {
        "Conventions": "CF-1.10",
        "title": title,
        "source": f"aelpn {__version__}",
        "history": f"{_dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds')} created by aelpn",
        "aelpn_version": __version__,
        "git_describe": git_describe(),
        "config_hash": slice_hash(cfg),
        "config": json.dumps(cfg, sort_keys=True),
        "torch_version": torch.__version__,
        "deepinv_version": _deepinv_version(),
        "device": str(device),
    }


def annotate(ds: xr.Dataset, variables: dict[str, tuple[str, str]]) -> xr.Dataset:
    """Set CF ``long_name`` and ``units`` on variables or coordinates: ``{name: (long_name, units)}``."""
    for name, (long_name, units) in variables.items():
        ds[name].attrs.update(long_name=long_name, units=units)
    return ds
