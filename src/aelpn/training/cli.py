"""``aelpn train {proxnet,denoiser,unrolled,flow,vae}`` and ``aelpn combine training``."""

from __future__ import annotations

from aelpn.core.commands import add_job, add_output, training_outputs
from aelpn.models.names import VARIANTS

OUTPUTS = ("crops", "out", "train_log")


def register(verbs: dict, commands) -> None:
    train = verbs["train"]
    q = add_job(train, "proxnet", "train proxnet", "train one proximal network variant",
                "aelpn.training.proxnets:train", ("variant", "train", "val", "out", "train_log"))
    q.add_argument("--variant", required=True, choices=VARIANTS, help="proximal network variant (model.variants)")
    q.add_argument("--train", required=True, help="training crops (netCDF)")
    q.add_argument("--val", required=True, help="validation crops (netCDF)")
    add_output(q, "--out", "weights (.pt model file)")
    add_output(q, "--train-log", "training log (netCDF)")
    training_outputs(add_job(train, "denoiser", "train denoiser", "train the noise-conditional denoiser D(x, sigma)",
                             "aelpn.training.denoiser:train_denoiser", OUTPUTS))
    q = add_job(train, "unrolled", "train unrolled", "train the unrolled network of one problem",
                "aelpn.training.unrolled:train_unrolled", ("problem", "crops", "denoiser", "out", "train_log"))
    q.add_argument("--problem", required=True, help="inverse problem (a key of inverse.problems)")
    q.add_argument("--denoiser", required=True, help="trained conditional denoiser (initialization)")
    training_outputs(q)
    training_outputs(add_job(train, "flow", "train flow", "train the flow-matching model v(x_t, t)",
                             "aelpn.training.flow:train_flow", OUTPUTS))
    training_outputs(add_job(train, "vae", "train vae", "train the convolutional VAE", "aelpn.training.vae:train_vae",
                             OUTPUTS))
    q = add_job(verbs["combine"], "training", "combine training", "combine the training logs of every variant",
                "aelpn.training.proxnets:combine_logs", ("inputs", "out"))
    add_output(q, "--out", "combined netCDF file")
    q.add_argument("inputs", nargs="+", help="training logs, one per variant")
