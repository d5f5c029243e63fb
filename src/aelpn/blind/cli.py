"""``aelpn train blind`` and ``aelpn evaluate blind``."""

from __future__ import annotations

from aelpn.core.commands import add_job, add_output, training_outputs


def register(verbs: dict, commands) -> None:
    q = add_job(verbs["train"], "blind", "train blind", "train the blind MMSE network on the blur family",
                "aelpn.blind.training:train_blind", ("crops", "denoiser", "out", "train_log"))
    q.add_argument("--denoiser", required=True, help="trained conditional denoiser (initialization of the HQS)")
    training_outputs(q)
    q = add_job(verbs["evaluate"], "blind", "evaluate blind",
                "J(theta) landscape, alternating MAP, blind MMSE and non-blind bounds (blind.nc)",
                "aelpn.blind.evaluate:run_blind", ("crops", "prior", "network", "out"))
    q.add_argument("--crops", required=True, help="evaluation crops (netCDF)")
    q.add_argument("--prior", nargs="+", required=True,
                   help="the proximal networks of blind.variants, in that order (results/models/seed{s}/{variant}/model.pt)")
    q.add_argument("--network", required=True, help="trained blind network (.pt)")
    add_output(q, "--out", "results file (blind.nc)")
