"""``aelpn train blind`` and ``aelpn evaluate blind``."""

from __future__ import annotations

from aelpn.core.commands import add_job, job_config, training_outputs


def _train(a):
    cfg = job_config(a)
    from aelpn.blind.training import train_blind

    train_blind(cfg, a.crops, a.denoiser, a.out, a.train_log)


def _evaluate(a):
    cfg = job_config(a)
    from aelpn.blind.evaluate import run_blind

    run_blind(cfg, a.crops, a.prior, a.network, a.out)


def register(verbs: dict, commands) -> None:
    q = add_job(verbs["train"], "blind", "train blind", "train the blind MMSE network on the blur family", _train)
    q.add_argument("--denoiser", required=True, help="trained conditional denoiser (initialization of the HQS)")
    training_outputs(q)
    q = add_job(verbs["evaluate"], "blind", "evaluate blind",
                "J(theta) landscape, alternating MAP, blind MMSE and non-blind bounds (blind.nc)", _evaluate)
    q.add_argument("--crops", required=True, help="evaluation crops (netCDF)")
    q.add_argument("--prior", nargs="+", required=True,
                   help="the proximal networks of blind.variants, in that order (results/models/{variant}/model.pt)")
    q.add_argument("--network", required=True, help="trained blind network (.pt)")
    q.add_argument("--out", required=True, help="results file (blind.nc)")
