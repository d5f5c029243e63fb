"""The netCDF training log: one value per optimizer step of each logged field (dim ``step`` = 1..n), CF
attributes and provenance; written atomically at every checkpoint and at the end of training, so a running
job's curves can be watched."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from aelpn.core import provenance
from aelpn.core.io import write_netcdf


@dataclass(frozen=True)
class Field:
    """One logged quantity: its CF long name and units, storage dtype and extra attributes (e.g. flags)."""

    long_name: str
    units: str = "1"
    dtype: str = "float64"
    attrs: dict = field(default_factory=dict)


def fields(**component: Field) -> dict[str, Field]:
    """The fields every training loop logs (loss, learning rate, seconds) around a component's own."""
    return {
        "loss": Field("training loss of the step's batch"),
        **component,
        "lr": Field("Adam learning rate"),
        "seconds": Field("wall time of the step", "s"),
    }


def write_log(log: dict[str, list], spec: dict[str, Field], path: str | Path, title: str, cfg: dict,
              device: str, attrs: dict) -> Path:
    """Write the log (a list per field of ``spec``) to ``path`` with the run's provenance and ``attrs``."""
    steps = np.arange(1, len(log["loss"]) + 1)
    ds = xr.Dataset({name: ("step", np.asarray(log[name], dtype=f.dtype)) for name, f in spec.items()},
                    coords={"step": steps})
    provenance.annotate(ds, {"step": ("optimizer step (1-based)", "1"),
                             **{name: (f.long_name, f.units) for name, f in spec.items()}})
    for name, f in spec.items():
        ds[name].attrs.update(f.attrs)
    ds.attrs.update(provenance.attrs(title, cfg, device))
    ds.attrs.update(attrs)
    return write_netcdf(ds, path)
