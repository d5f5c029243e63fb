"""The netCDF training log: one value per optimizer step of each logged field (dim ``step`` = 1..n), the
spike-recovery rollbacks (dim ``rollback``: ``rollback_step``, ``rollback_loss``, ``rollback_to_step``,
``rollback_lr_scale``, ``rollback_lr``; empty when none happened), CF attributes and provenance; written
atomically at every checkpoint and at the end of training, so a running job's curves can be watched."""

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


ROLLBACK_FIELDS = {
    "step": ("step whose loss was bad (1-based)", "1", "int64"),
    "loss": ("the bad training loss", "1", "float64"),
    "to_step": ("checkpoint step rolled back to", "1", "int64"),
    "lr_scale": ("learning-rate multiplier from the rollback on", "1", "float64"),
    "lr": ("learning rate the bad step was retried with", "1", "float64"),
}


def write_log(log: dict[str, list], spec: dict[str, Field], path: str | Path, title: str, cfg: dict,
              device: str, attrs: dict, rollbacks: list[dict] = ()) -> Path:
    """Write the log (a list per field of ``spec``) to ``path`` with the run's provenance, ``attrs`` and the
    ``rollbacks`` (``aelpn.training.loop.Rollback.as_dict``) along dim ``rollback``."""
    steps = np.arange(1, len(log["loss"]) + 1)
    ds = xr.Dataset({name: ("step", np.asarray(log[name], dtype=f.dtype)) for name, f in spec.items()},
                    coords={"step": steps})
    provenance.annotate(ds, {"step": ("optimizer step (1-based)", "1"),
                             **{name: (f.long_name, f.units) for name, f in spec.items()}})
    for name, f in spec.items():
        ds[name].attrs.update(f.attrs)
    ds = ds.assign_coords(rollback=("rollback", np.arange(1, len(rollbacks) + 1),
                                    {"long_name": "rollback number (1-based)", "units": "1"}))
    for key, (long_name, units, dtype) in ROLLBACK_FIELDS.items():
        ds[f"rollback_{key}"] = ("rollback", np.asarray([r[key] for r in rollbacks], dtype=dtype),
                                 {"long_name": long_name, "units": units})
    ds.attrs.update(provenance.attrs(title, cfg, device))
    ds.attrs.update(attrs)
    ds.attrs["rollbacks"] = len(rollbacks)
    return write_netcdf(ds, path)
