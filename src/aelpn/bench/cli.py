"""``aelpn bench``: the benchmarks of the fast paths, or (``--gpu-check``) the GPU check of the paper-scale paths."""

from __future__ import annotations

from aelpn.core.commands import add_output
from aelpn.core.config import load
from aelpn.models.names import VARIANTS


def _bench(a):
    quick, paper = load(a.quick), load(a.paper)
    if a.gpu_check:
        return _gpu_check(paper, a)
    if a.rehearsal:
        return _rehearsal(paper, a)
    from aelpn.bench.run import BenchSettings, run_bench

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
    from aelpn.data.crops import load_crops

    channels = 1 if paper["data"]["grayscale"] else 3
    crops = load_crops(a.crops)[0] if a.crops else bench_crops(a.images, a.gpu_size, a.gpu_crops, channels,
                                                                  paper["seed"])
    ds = gpu_check(paper, crops, a.gpu_steps, a.gpu_batch, variants=tuple(a.variants))
    write_netcdf(ds, a.gpu_out)
    print(gpu_table(ds))
    return 0


def _rehearsal(paper: dict, a) -> int:
    from aelpn.bench.rehearsal import Counts, rehearse, table, write_csv

    counts = Counts(steps=a.rehearsal_steps, images=a.rehearsal_images, iterations=a.rehearsal_iterations)
    rows = rehearse(paper, a.images, a.rehearsal, counts, a.margin, a.profile, a.threads, tuple(a.rehearsal_rules))
    write_csv(rows, a.rehearsal_out)
    print(table(rows))
    return int(any(r["status"] != "ok" for r in rows))


def register(verbs: dict, commands) -> None:
    q = commands.add_parser("bench", help="benchmarks of the fast paths against baselines (prints a table)")
    q.add_argument("--quick", default="config/quick.yaml", help="quick-scale config file")
    q.add_argument("--paper", default="config/config.yaml", help="paper-scale config file (its model widths)")
    add_output(q, "--out", "measurements (netCDF)", default="results/bench/bench.nc")
    q.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS,
                   help="variants whose training step is timed (also by --gpu-check)")
    q.add_argument("--images", default="../shared/data/BSDS500",
                   help="BSDS500 directory (images/train/*.jpg) whose training images give the real crops")
    q.add_argument("--models", default=None, metavar="DIR",
                   help="trained models DIR/{variant}/model.pt timed at quick width (e.g. results/models/seed0)")
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
    q.add_argument("--gpu-steps", type=int, default=500,
                   help="training steps per variant and choice (500: enough for a validation-PSNR effect)")
    q.add_argument("--gpu-batch", type=int, default=8, help="training batch of the GPU check")
    q.add_argument("--gpu-size", type=int, default=128, help="crop size of the GPU check (from --images)")
    q.add_argument("--gpu-crops", type=int, default=72, help="number of real crops drawn from --images")
    q.add_argument("--crops", default=None, help="crops netCDF ('aelpn data crops') to use instead of --images")
    add_output(q, "--gpu-out", "netCDF written by the GPU check", default="results/bench/gpu_check.nc")
    q.add_argument("--rehearsal", default=None, metavar="SCRATCH",
                   help="instead: the paper rehearsal, every paper-scale job at --paper's shapes with few steps and "
                        "images, one process each, in the directory SCRATCH (docs/benchmarks.md)")
    q.add_argument("--rehearsal-steps", type=int, default=20, help="training steps of each rehearsed training job")
    q.add_argument("--rehearsal-images", type=int, default=4, help="images of each rehearsed evaluation job")
    q.add_argument("--rehearsal-iterations", type=int, default=20, help="solver iterations of the rehearsed solves")
    q.add_argument("--rehearsal-rules", nargs="+", default=[], metavar="RULE",
                   help="rehearse only these rules, on the inputs an earlier rehearsal left in SCRATCH")
    q.add_argument("--margin", type=float, default=2.0,
                   help="factor from the measured runtime of a paper-scale job to its requested runtime")
    q.add_argument("--profile", default="workflow/profiles/slurm/config.yaml",
                   help="SLURM profile whose runtime requests are printed beside the derived ones")
    add_output(q, "--rehearsal-out", "rehearsal rows (CSV)", default="results/bench/rehearsal.csv")
    q.set_defaults(func=_bench)
