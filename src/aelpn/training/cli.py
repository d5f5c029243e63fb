"""``aelpn train {proxnet,denoiser,unrolled,flow,vae}`` and ``aelpn combine training``."""

from __future__ import annotations

from aelpn.core.commands import add_job, job_config, training_outputs
from aelpn.models.names import VARIANTS


def _proxnet(a):
    cfg = job_config(a)
    from aelpn.training.proxnets import train

    train(cfg, a.variant, a.train, a.val, a.out, a.train_log)


def _denoiser(a):
    cfg = job_config(a)
    from aelpn.training.denoiser import train_denoiser

    train_denoiser(cfg, a.crops, a.out, a.train_log)


def _unrolled(a):
    cfg = job_config(a)
    from aelpn.training.unrolled import train_unrolled

    train_unrolled(cfg, a.problem, a.crops, a.denoiser, a.out, a.train_log)


def _flow(a):
    cfg = job_config(a)
    from aelpn.training.flow import train_flow

    train_flow(cfg, a.crops, a.out, a.train_log)


def _vae(a):
    cfg = job_config(a)
    from aelpn.training.vae import train_vae

    train_vae(cfg, a.crops, a.out, a.train_log)


def _combine_training(a):
    cfg = job_config(a)
    from aelpn.training.proxnets import combine_logs

    combine_logs(cfg, a.inputs, a.out)


def register(verbs: dict, commands) -> None:
    train = verbs["train"]
    q = add_job(train, "proxnet", "train proxnet", "train one proximal network variant", _proxnet)
    q.add_argument("--variant", required=True, choices=VARIANTS, help="proximal network variant (model.variants)")
    q.add_argument("--train", required=True, help="training crops (netCDF)")
    q.add_argument("--val", required=True, help="validation crops (netCDF)")
    q.add_argument("--out", required=True, help="weights (.pt model file)")
    q.add_argument("--train-log", required=True, help="training log (netCDF)")
    training_outputs(add_job(train, "denoiser", "train denoiser", "train the noise-conditional denoiser D(x, sigma)",
                             _denoiser))
    q = add_job(train, "unrolled", "train unrolled", "train the unrolled network of one problem", _unrolled)
    q.add_argument("--problem", required=True, help="inverse problem (a key of inverse.problems)")
    q.add_argument("--denoiser", required=True, help="trained conditional denoiser (initialization)")
    training_outputs(q)
    training_outputs(add_job(train, "flow", "train flow", "train the flow-matching model v(x_t, t)", _flow))
    training_outputs(add_job(train, "vae", "train vae", "train the convolutional VAE", _vae))
    q = add_job(verbs["combine"], "training", "combine training", "combine the training logs of every variant",
                _combine_training)
    q.add_argument("--out", required=True, help="combined netCDF file")
    q.add_argument("inputs", nargs="+", help="training logs, one per variant")
