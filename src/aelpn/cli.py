"""Command-line interface. Each subcommand parses its arguments, validates its config slice and calls
exactly one library function; all logic lives in the library."""

from __future__ import annotations

import argparse
import logging
import sys

from aelpn import __version__
from aelpn.core.config import ConfigError, load
from aelpn.inverse.methods.registry import names as method_names
from aelpn.models.names import VARIANTS, VARIANTS_1D

DESCRIPTION = """\
aelpn: the steps of the AE-LPN / PnP-vs-unrolled-vs-diffusion pipeline, one subcommand per Snakemake rule.

Start with Snakemake, from the repository root: it runs these commands in order, with the right inputs:
  snakemake --cores all --configfile config/quick.yaml    # every figure at quick scale on a CPU
  snakemake --cores all                                    # paper scale (config/config.yaml)
Call a subcommand by hand to inspect results ('aelpn results show FILE') or check a config
('aelpn config validate FILE'). User errors print one line and exit with status 2."""


# The config sections each job reads (its rule's config slice): a slice without one is a user error (exit 2 naming
# the key), not a KeyError deep in the stage.
DATA = ("seed", "data")
TRAIN = ("seed", "compute", "data", "model", "train")
PROX1D = ("seed", "compute", "prox1d")
SWEEP = {"noise_sweep": ("seed", "compute", "noise_sweep", "figures"), "affine_sweep": ("seed", "compute", "affine_sweep")}
COMBINE = {"training": ("seed", "model", "train"), "noise_sweep": ("seed", "model", "noise_sweep"),
           "affine_sweep": ("seed", "model", "affine_sweep")}
INVERSE_TRAINING = ("seed", "compute", "inverse")
INVERSE_JOB = ("seed", "compute", "model", "train", "inverse")
BLIND_TRAINING = ("seed", "compute", "blind")
BLIND_RUN = ("seed", "train", "blind")
JACOBIAN = ("seed", "compute", "model", "train", "jacobian")
CLAIMS = ("seed", "train", "prox1d", "inverse", "claims")


# Each command validates its config slice before importing the (torch-heavy) stage it runs.
def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        required=True,
        help="the job's config slice as a JSON string, or a YAML/JSON config file (validated against the schema)",
    )


def _cmd_config_validate(a):
    load(a.file)
    print(f"{a.file}: valid")


def _cmd_data_fetch(a):
    cfg = load(a.config, partial=True, needs=DATA)
    from aelpn.data import fetch

    fetch(cfg["data"], a.out)


def _cmd_data_crops(a):
    cfg = load(a.config, partial=True, needs=DATA)
    from aelpn.data import make_crops

    make_crops(a.images, a.split, cfg["data"], cfg["seed"], a.out)


def _cmd_train(a):
    cfg = load(a.config, partial=True, needs=TRAIN)
    from aelpn.training.proxnets import train

    train(cfg, a.variant, a.train, a.val, a.out, a.train_log)


def _cmd_prox1d_train(a):
    cfg = load(a.config, partial=True, needs=PROX1D)
    from aelpn.prox1d.study import train_1d

    train_1d(cfg, a.variant, a.out, a.train_log)


def _cmd_prox1d_evaluate(a):
    cfg = load(a.config, partial=True, needs=PROX1D)
    from aelpn.prox1d.study import evaluate_1d

    evaluate_1d(cfg, a.models, a.out)


def _cmd_sweep(a):
    cfg = load(a.config, partial=True, needs=SWEEP[a.kind])
    from aelpn.sweeps.evaluate import run_sweep

    run_sweep(a.kind, cfg, a.variant, a.model, a.crops, a.out)


def _cmd_combine(a):
    cfg = load(a.config, partial=True, needs=COMBINE[a.kind])
    if a.kind == "training":
        from aelpn.training.proxnets import combine_logs

        combine_logs(cfg, a.inputs, a.out)
    else:
        from aelpn.sweeps.combine import combine_sweep

        combine_sweep(a.kind, cfg, a.inputs, a.out)


def _cmd_results_show(a):
    from aelpn.results import parse_selection, show, table

    selection = parse_selection(a.sel)
    if a.csv:
        table(a.path, a.var, selection).to_csv(sys.stdout, index=False)
    else:
        print(show(a.path, a.var, selection))


def _cmd_inverse_denoiser(a):
    from aelpn.inverse.denoiser import train_denoiser

    train_denoiser(load(a.config, partial=True, needs=INVERSE_TRAINING), a.crops, a.out, a.train_log)


def _cmd_inverse_flow(a):
    from aelpn.inverse.flow import train_flow

    train_flow(load(a.config, partial=True, needs=INVERSE_TRAINING), a.crops, a.out, a.train_log)


def _cmd_inverse_vae(a):
    from aelpn.inverse.vae import train_vae

    train_vae(load(a.config, partial=True, needs=INVERSE_TRAINING), a.crops, a.out, a.train_log)


def _cmd_inverse_unrolled(a):
    from aelpn.inverse.unrolled import train_unrolled

    train_unrolled(load(a.config, partial=True, needs=INVERSE_TRAINING), a.problem, a.crops, a.denoiser, a.out, a.train_log)


def _cmd_inverse_run(a):
    from aelpn.inverse.run import run_job

    run_job(load(a.config, partial=True, needs=INVERSE_JOB), a.algorithm, a.problem, a.crops, a.prior, a.out)


def _cmd_inverse_combine(a):
    from aelpn.inverse.combine import combine_inverse

    combine_inverse(load(a.config, partial=True, needs=INVERSE_JOB), a.inputs, a.out)


def _cmd_inverse_adaptivity(a):
    from aelpn.inverse.adaptivity import evaluate_adaptivity

    evaluate_adaptivity(load(a.config, partial=True, needs=INVERSE_JOB), a.crops, a.unrolled, a.out)


def _cmd_blind_train(a):
    from aelpn.blind.training import train_blind

    train_blind(load(a.config, partial=True, needs=BLIND_TRAINING), a.crops, a.denoiser, a.out, a.train_log)


def _cmd_blind_run(a):
    from aelpn.blind.evaluate import run_blind

    run_blind(load(a.config, partial=True, needs=BLIND_RUN), a.crops, a.prior, a.network, a.out)


def _cmd_jacobian(a):
    cfg = load(a.config, partial=True, needs=JACOBIAN)
    from aelpn.jacobian import measure_jacobian

    measure_jacobian(cfg, a.models, a.crops, a.out)


def _cmd_claims(a):
    cfg = load(a.config, partial=True, needs=CLAIMS)
    from aelpn.claims import ClaimData, failed, run_claims

    data = ClaimData(noise_sweep=a.noise_sweep, affine_sweep=a.affine_sweep, jacobian=a.jacobian, prox1d=a.prox1d,
                     inverse=a.inverse, adaptivity=a.adaptivity, blind=a.blind)
    bad = failed(run_claims(cfg, data, a.out))
    if a.strict and bad:
        print(f"aelpn: claims not holding (--strict): {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


def _cmd_bench(a):
    quick, paper = load(a.quick), load(a.paper)
    if a.gpu_check:
        return _gpu_check(paper, a)
    from aelpn.bench import BenchSettings, run_bench

    settings = BenchSettings(variants=tuple(a.variants), images_dir=a.images, models_dir=a.models,
                             warmup_steps=a.warmup_steps, rounds=a.rounds, paper_size=a.paper_size,
                             paper_batch=a.paper_batch, regularizer_images=a.regularizer_images,
                             regularizer_model=a.regularizer_model, pnp_size=a.pnp_size,
                             pnp_iterations=a.pnp_iterations, workflow_scratch=a.workflow, repo=a.repo)
    print(run_bench(quick, paper, a.out, settings))


def _gpu_check(paper: dict, a) -> int:
    from aelpn.bench.crops import bench_crops
    from aelpn.bench.gpu import gpu_check, gpu_table
    from aelpn.core.io import write_netcdf
    from aelpn.data import load_crops

    channels = 1 if paper["data"]["grayscale"] else 3
    crops = load_crops(a.crops)[0] if a.crops else bench_crops(a.images, a.gpu_size, a.gpu_crops, channels,
                                                                  paper["seed"])
    ds = gpu_check(paper, crops, a.gpu_steps, a.gpu_batch)
    write_netcdf(ds, a.gpu_out)
    print(gpu_table(ds))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aelpn", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"aelpn {__version__}")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("config", help="configuration tools").add_subparsers(dest="action", required=True)
    q = p.add_parser("validate", help="validate a config file against the schema")
    q.add_argument("file", help="config file (YAML or JSON), e.g. config/quick.yaml")
    q.set_defaults(func=_cmd_config_validate)

    p = sub.add_parser("data", help="BSDS500 download and crops").add_subparsers(dest="action", required=True)
    q = p.add_parser("fetch", help="fetch, verify and safely extract BSDS500 into a directory")
    _config_arg(q)
    q.add_argument("--out", required=True, help="output directory (images/{train,val,test}/*.jpg)")
    q.set_defaults(func=_cmd_data_fetch)
    q = p.add_parser("crops", help="crop one split into a netCDF file")
    _config_arg(q)
    q.add_argument("--images", required=True, help="directory written by 'aelpn data fetch'")
    q.add_argument("--split", required=True, choices=["train", "val", "test"], help="BSDS500 split to crop")
    q.add_argument("--out", required=True, help="output crops (netCDF)")
    q.set_defaults(func=_cmd_data_crops)

    q = sub.add_parser("train", help="train one image model variant (resumes from its checkpoint)")
    _config_arg(q)
    q.add_argument("--variant", required=True, choices=VARIANTS, help="proximal network variant (model.variants)")
    q.add_argument("--train", required=True, help="training crops (netCDF)")
    q.add_argument("--val", required=True, help="validation crops (netCDF)")
    q.add_argument("--out", required=True, help="final weights (.pt)")
    q.add_argument("--train-log", required=True, help="training log (netCDF)")
    q.set_defaults(func=_cmd_train)

    p = sub.add_parser("prox1d", help="1-D split-normal study").add_subparsers(dest="action", required=True)
    q = p.add_parser("train", help="train one 1-D variant")
    _config_arg(q)
    q.add_argument("--variant", required=True, choices=VARIANTS_1D, help="1-D variant (prox1d.variants)")
    q.add_argument("--out", required=True, help="final weights (.pt)")
    q.add_argument("--train-log", required=True, help="training log (netCDF)")
    q.set_defaults(func=_cmd_prox1d_train)
    q = p.add_parser("evaluate", help="learned vs true prox and log-prior on a grid")
    _config_arg(q)
    q.add_argument("--out", required=True, help="learned and true prox and regularizer (netCDF)")
    q.add_argument("models", nargs="+", help="1-D model weights written by 'aelpn prox1d train'")
    q.set_defaults(func=_cmd_prox1d_evaluate)

    q = sub.add_parser("sweep", help="denoising sweep of one trained variant")
    q.add_argument("kind", choices=["noise_sweep", "affine_sweep"], help="which sweep (its config section)")
    _config_arg(q)
    q.add_argument("--variant", required=True, help="variant name recorded in the output (model.variants)")
    q.add_argument("--model", required=True, help="trained weights (model.pt)")
    q.add_argument("--crops", required=True, help="evaluation crops (netCDF)")
    q.add_argument("--out", required=True, help="per-image PSNR/SSIM of this variant (netCDF)")
    q.set_defaults(func=_cmd_sweep)

    q = sub.add_parser("combine", help="combine per-job netCDF files, checking completeness against the config")
    q.add_argument("--kind", required=True, choices=["training", "noise_sweep", "affine_sweep"],
                   help="what the inputs hold")
    _config_arg(q)
    q.add_argument("--out", required=True, help="combined netCDF file")
    q.add_argument("inputs", nargs="+", help="per-job netCDF files, one per variant")
    q.set_defaults(func=_cmd_combine)

    p = sub.add_parser("inverse", help="PnP vs unrolled vs diffusion").add_subparsers(dest="action", required=True)
    q = p.add_parser("denoiser", help="train the noise-conditional denoiser D(x, sigma)")
    _config_arg(q)
    q.add_argument("--crops", required=True, help="training crops (netCDF)")
    q.add_argument("--out", required=True, help="weights (.pt)")
    q.add_argument("--train-log", required=True, help="training log (netCDF)")
    q.set_defaults(func=_cmd_inverse_denoiser)
    q = p.add_parser("unrolled", help="train the unrolled network of one problem")
    _config_arg(q)
    q.add_argument("--problem", required=True, help="inverse problem (a key of inverse.problems)")
    q.add_argument("--crops", required=True, help="training crops (netCDF)")
    q.add_argument("--denoiser", required=True, help="trained conditional denoiser (initialization)")
    q.add_argument("--out", required=True, help="weights (.pt)")
    q.add_argument("--train-log", required=True, help="training log (netCDF)")
    q.set_defaults(func=_cmd_inverse_unrolled)
    for name, helptext, func in (("flow", "train the flow-matching model v(x_t, t)", _cmd_inverse_flow),
                                 ("vae", "train the convolutional VAE", _cmd_inverse_vae)):
        q = p.add_parser(name, help=helptext)
        _config_arg(q)
        q.add_argument("--crops", required=True, help="training crops (netCDF)")
        q.add_argument("--out", required=True, help="weights (.pt)")
        q.add_argument("--train-log", required=True, help="training log (netCDF)")
        q.set_defaults(func=func)
    q = p.add_parser("run", help="solve one problem with one algorithm on the evaluation crops")
    _config_arg(q)
    q.add_argument("--algorithm", required=True, choices=method_names(),
                   help="inverse-problem method (one of inverse.algorithms; the registry's names)")
    q.add_argument("--problem", required=True, help="inverse problem (a key of inverse.problems)")
    q.add_argument("--crops", required=True, help="evaluation crops (netCDF)")
    q.add_argument("--prior", nargs="+", required=True,
                   help="the learned prior of the method's kind: the proximal networks in model.variants order, "
                        "the conditional denoiser, the problem's unrolled network, the flow model or the VAE (.pt)")
    q.add_argument("--out", required=True, help="per-image metrics and traces (netCDF)")
    q.set_defaults(func=_cmd_inverse_run)
    q = p.add_parser("combine", help="combine the per-job files into one results file")
    _config_arg(q)
    q.add_argument("--out", required=True, help="combined results file (netCDF)")
    q.add_argument("inputs", nargs="+", help="per-job files written by 'aelpn inverse run'")
    q.set_defaults(func=_cmd_inverse_combine)
    q = p.add_parser("adaptivity", help="unrolled networks on the problems of inverse.adaptivity they were not trained on")
    _config_arg(q)
    q.add_argument("--crops", required=True, help="evaluation crops (netCDF)")
    q.add_argument("--out", required=True, help="results file (adaptivity.nc)")
    q.add_argument("unrolled", nargs="+", help="the unrolled networks ({problem}.pt) of every trained_on problem")
    q.set_defaults(func=_cmd_inverse_adaptivity)

    p = sub.add_parser("blind", help="blind deblurring: MAP landscape vs blind MMSE").add_subparsers(dest="action",
                                                                                                   required=True)
    q = p.add_parser("train", help="train the blind MMSE network on the blur family")
    _config_arg(q)
    q.add_argument("--crops", required=True, help="training crops (netCDF)")
    q.add_argument("--denoiser", required=True, help="trained conditional denoiser (initialization of the HQS)")
    q.add_argument("--out", required=True, help="weights (.pt)")
    q.add_argument("--train-log", required=True, help="training log (netCDF)")
    q.set_defaults(func=_cmd_blind_train)
    q = p.add_parser("run", help="J(theta) landscape, alternating MAP, blind MMSE and non-blind bounds (blind.nc)")
    _config_arg(q)
    q.add_argument("--crops", required=True, help="evaluation crops (netCDF)")
    q.add_argument("--prior", nargs="+", required=True,
                   help="the proximal networks of blind.variants, in that order (results/models/{variant}/model.pt)")
    q.add_argument("--network", required=True, help="trained blind network (.pt)")
    q.add_argument("--out", required=True, help="results file (blind.nc)")
    q.set_defaults(func=_cmd_blind_run)

    q = sub.add_parser("jacobian", help="Jacobian asymmetry of every trained variant on evaluation images (claim 5)")
    _config_arg(q)
    q.add_argument("--crops", required=True, help="evaluation crops (netCDF)")
    q.add_argument("--out", required=True, help="output netCDF (dims variant, image)")
    q.add_argument("models", nargs="+", help="model.pt of each variant, in model.variants order")
    q.set_defaults(func=_cmd_jacobian)

    q = sub.add_parser("claims", help="check the paper's and the notes' claims on the metrics datasets")
    _config_arg(q)
    for name in ("noise-sweep", "affine-sweep", "jacobian", "prox1d", "inverse", "adaptivity", "blind"):
        q.add_argument(f"--{name}", default=None,
                       help=f"{name.replace('-', '_')}.nc (absent: the claims that need it are 'not measured')")
    q.add_argument("--out", required=True, help="claims table (netCDF, dim claim)")
    q.add_argument("--strict", action="store_true", help="exit 1 when any claim fails or is not measured")
    q.set_defaults(func=_cmd_claims)

    q = sub.add_parser("bench", help="benchmarks of the fast paths against baselines (prints a table)")
    q.add_argument("--quick", default="config/quick.yaml", help="quick-scale config file")
    q.add_argument("--paper", default="config/config.yaml", help="paper-scale config file (its model widths)")
    q.add_argument("--out", default="results/bench/bench.nc", help="measurements (netCDF)")
    q.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS,
                   help="variants whose training step is timed")
    q.add_argument("--images", default="../shared/data/BSDS500",
                   help="BSDS500 directory (images/train/*.jpg) whose training images give the real crops")
    q.add_argument("--models", default=None, metavar="DIR",
                   help="trained models DIR/{variant}/model.pt timed at quick width (e.g. results/models)")
    q.add_argument("--warmup-steps", type=int, default=200,
                   help="Adam steps of L1 denoising before timing a model not loaded from --models")
    q.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds (median and quartiles)")
    q.add_argument("--paper-size", type=int, default=32, help="crop size of the paper-width training step")
    q.add_argument("--paper-batch", type=int, default=4, help="batch of the paper-width training step")
    q.add_argument("--regularizer-images", type=int, default=16, help="images of the regularizer benchmark")
    q.add_argument("--regularizer-model", default=None, help="trained model.pt (default: a fresh quick lpn)")
    q.add_argument("--pnp-size", type=int, default=128, help="image size of the PnP-ADMM deblurring problem")
    q.add_argument("--pnp-iterations", type=int, default=10, help="PnP-ADMM iterations timed")
    q.add_argument("--workflow", default=None, metavar="SCRATCH",
                   help="also time the quick run of every figure and a no-op rerun in this empty directory")
    q.add_argument("--repo", default=".", help="project root (Snakefile) for --workflow")
    q.add_argument("--gpu-check", action="store_true",
                   help="instead: the GPU check of the paper-scale paths on CUDA (non-zero exit on any failure)")
    q.add_argument("--gpu-steps", type=int, default=200, help="training steps per variant and precision")
    q.add_argument("--gpu-batch", type=int, default=8, help="training batch of the GPU check")
    q.add_argument("--gpu-size", type=int, default=128, help="crop size of the GPU check (from --images)")
    q.add_argument("--gpu-crops", type=int, default=72, help="number of real crops drawn from --images")
    q.add_argument("--crops", default=None, help="crops netCDF ('aelpn data crops') to use instead of --images")
    q.add_argument("--gpu-out", default="results/bench/gpu_check.nc", help="netCDF written by the GPU check")
    q.set_defaults(func=_cmd_bench)

    p = sub.add_parser("results", help="inspect results").add_subparsers(dest="action", required=True)
    q = p.add_parser("show", help="summary (mean and std over images per coordinate) of a results file")
    q.add_argument("path", help="a netCDF file under results/ (e.g. results/metrics/noise_sweep.nc)")
    q.add_argument("--var", action="append", default=[], metavar="NAME",
                   help="only this data variable (repeatable), e.g. --var psnr")
    q.add_argument("--sel", action="append", default=[], metavar="KEY=VALUE",
                   help="only this coordinate label (repeatable), e.g. --sel sigma=0.1 --sel variant=aelpn")
    q.add_argument("--csv", action="store_true",
                   help="print a CSV table instead: one row per coordinate, <var>_mean and <var>_std over images")
    q.set_defaults(func=_cmd_results_show)
    return parser


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors that explain themselves: printed as one message, without a traceback."""
    from aelpn.bench.gpu import GPUCheckError
    from aelpn.core.combine import CombineError
    from aelpn.core.device import DeviceError
    from aelpn.core.io import DatasetError
    from aelpn.data.errors import DataError
    from aelpn.modelfile import ModelFileError
    from aelpn.results import ResultsError
    from aelpn.training import CheckpointError, TrainingError

    return (ConfigError, DataError, DatasetError, CombineError, DeviceError, ResultsError, ModelFileError,
            CheckpointError, TrainingError, GPUCheckError)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    try:
        code = args.func(args)
    except ConfigError as err:
        print(f"aelpn: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        if isinstance(err, _user_errors()):
            print(f"aelpn: {type(err).__name__}: {err}", file=sys.stderr)
            return 2
        raise
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
