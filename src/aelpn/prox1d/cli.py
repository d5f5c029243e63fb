"""``aelpn train prox1d`` and ``aelpn evaluate prox1d``."""

from __future__ import annotations

from aelpn.core.commands import add_job, job_config
from aelpn.models.names import VARIANTS_1D


def _train(a):
    cfg = job_config(a)
    from aelpn.prox1d.study import train_1d

    train_1d(cfg, a.variant, a.out, a.train_log)


def _evaluate(a):
    cfg = job_config(a)
    from aelpn.prox1d.study import evaluate_1d

    evaluate_1d(cfg, a.models, a.out)


def register(verbs: dict, commands) -> None:
    q = add_job(verbs["train"], "prox1d", "train prox1d", "train one 1-D variant of the split-normal study", _train)
    q.add_argument("--variant", required=True, choices=VARIANTS_1D, help="1-D variant (prox1d.variants)")
    q.add_argument("--out", required=True, help="weights (.pt model file)")
    q.add_argument("--train-log", required=True, help="training log (netCDF)")
    q = add_job(verbs["evaluate"], "prox1d", "evaluate prox1d", "learned vs true prox and log-prior on a grid",
                _evaluate)
    q.add_argument("--out", required=True, help="learned and true prox and regularizer (netCDF)")
    q.add_argument("models", nargs="+", help="1-D model files written by 'aelpn train prox1d'")
