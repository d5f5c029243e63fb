"""``aelpn train prox1d`` and ``aelpn evaluate prox1d``."""

from __future__ import annotations

from aelpn.core.commands import add_job, add_output
from aelpn.models.names import VARIANTS_1D


def register(verbs: dict, commands) -> None:
    q = add_job(verbs["train"], "prox1d", "train prox1d", "train one 1-D variant of the split-normal study",
                "aelpn.prox1d.study:train_1d", ("variant", "out", "train_log"))
    q.add_argument("--variant", required=True, choices=VARIANTS_1D, help="1-D variant (prox1d.variants)")
    add_output(q, "--out", "weights (.pt model file)")
    add_output(q, "--train-log", "training log (netCDF)")
    q = add_job(verbs["evaluate"], "prox1d", "evaluate prox1d", "learned vs true prox and log-prior on a grid",
                "aelpn.prox1d.study:evaluate_1d", ("models", "out"))
    add_output(q, "--out", "learned and true prox and regularizer (netCDF)")
    q.add_argument("models", nargs="+", help="1-D model files written by 'aelpn train prox1d'")
