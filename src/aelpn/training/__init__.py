"""Training: the one loop every learned component uses (``loop``), its resumable state (``state``), its
netCDF log (``log``), progress bars (``progress``) and the losses and schedules (``losses``)."""

from aelpn.training.log import Field, fields
from aelpn.training.loop import (Divergence, DivergenceError, NonFiniteLossError, Recipe, Record, Rollback, Run,
                                 Step, TrainingError, fit)
from aelpn.training.state import CheckpointError, checkpoint_path

__all__ = ["CheckpointError", "Divergence", "DivergenceError", "Field", "NonFiniteLossError", "Recipe", "Record",
           "Rollback", "Run", "Step", "TrainingError", "checkpoint_path", "fields", "fit"]
