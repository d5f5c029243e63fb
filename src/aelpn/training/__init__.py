"""Training: the one loop every learned component uses (``loop``), its resumable state (``state``), its
netCDF log (``log``), the losses and schedules (``losses``), the loop over crops (``crops``) and one module per
trained network: the proximal networks (``proxnets``), the conditional denoiser (``denoiser``), the unrolled
networks (``unrolled``), the flow-matching model (``flow``) and the VAE (``vae``)."""

from aelpn.core.lazy import lazy_exports

_EXPORTS = {
    "Divergence": "aelpn.training.loop",
    "DivergenceError": "aelpn.training.loop",
    "NonFiniteLossError": "aelpn.training.loop",
    "Recipe": "aelpn.training.loop",
    "Record": "aelpn.training.loop",
    "Rollback": "aelpn.training.loop",
    "Run": "aelpn.training.loop",
    "Step": "aelpn.training.loop",
    "TrainingError": "aelpn.training.loop",
    "fit": "aelpn.training.loop",
    "Field": "aelpn.training.log",
    "fields": "aelpn.training.log",
    "CheckpointError": "aelpn.training.state",
    "checkpoint_path": "aelpn.training.state",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = list(_EXPORTS)
