# Shared helpers: config validation, job config slices, wildcard constraints, the figure and table lists,
# the inputs of inverse-problem jobs. Every rule runs in the one conda environment workflow/envs/aelpn.yaml.
import json
import os
import re
import sys
import tempfile

from aelpn.core.config import select, slice_hash, validate
from aelpn.core.slices import replicate, sections
from aelpn.inverse.jobs import proximal_variants
from aelpn.inverse.methods.registry import get as inverse_method

# Against workflow/schemas/config.schema.yaml; stops before any job with a message naming the key.
validate(config)

VARIANTS = config["model"]["variants"]
VARIANTS_1D = config["prox1d"]["variants"]
SPLITS = sorted(set(config["data"]["splits"].values()))
SPLIT = config["data"]["splits"]
# The replicates: every trained network and every dataset computed from one is a job per training seed, its files
# under a seed{seed} folder (results/models/seed{seed}/..., results/runs/.../seed{seed}..., logs/ and benchmarks/
# alike); the data stage is shared. Each combination puts the replicates along a leading dim seed.
SEEDS = config["seeds"]

# Weights from elsewhere: a results/models/seed{seed}/{variant}/model.pt without the train_log.nc a training run
# here writes is used as it is. Such a variant is never trained here, in any replicate: give its weights for every
# training seed (a replicate without them is a missing input). The train rule does not apply to it (so Snakemake
# treats it as an input file and never retrains it), and the training curves show only the variants trained here.
EXTERNAL_VARIANTS = [
    v
    for v in VARIANTS
    if any(os.path.exists(f"results/models/seed{s}/{v}/model.pt")
           and not os.path.exists(f"results/models/seed{s}/{v}/train_log.nc") for s in SEEDS)
]
TRAINED_VARIANTS = [v for v in VARIANTS if v not in EXTERNAL_VARIANTS]

# Peak memory (MB) of the heavy rules at paper scale on CPU, from the CPU paper rehearsal's peak RSS per rule with a
# margin (docs/benchmarks.md#paper-rehearsal; train 17744 MiB, jacobian ~4.8 GiB at jacobian.batch_size 4, cbsd68
# 4041 MiB, blind_train 4392 MiB): locally, `--resources mem_mb=<RAM>` then runs no more of them at once than fit.
# On a GPU node the activations live in GPU memory; the SLURM profiles set their own host requests per cluster.
# The jobs that train a network or run networks over the test set also declare one GPU (gpu=1). Locally,
# `--resources gpu=<GPUs>` then bounds how many share the machine's GPUs; the SLURM profiles send them to the GPU
# partition.
MEM_MB = {
    "crops": 4000,
    "train": 20000,
    "prox1d_train": 2000,
    "sweep": 8000,
    "inverse_denoiser": 8000,
    "inverse_unrolled": 8000,
    "inverse_flow": 8000,
    "inverse_vae": 8000,
    "inverse_run": 8000,
    "inverse_adaptivity": 8000,
    "blind_train": 5000,
    "blind_run": 4000,
    "jacobian": 6000,
    "cbsd68": 5000,
}

# Every rule file appends the figures and report tables it renders, and the datasets no figure reads; `rule all`
# asks for all of them.
FIGURES = []
TABLE_FILES = []
DATASETS = []


wildcard_constraints:
    variant="|".join(VARIANTS),
    variant1d="|".join(VARIANTS_1D),
    split="|".join(SPLITS),
    seed="|".join(str(s) for s in SEEDS),


def job_config(command, cfg=None, seed=None):
    """The config slice file of the job `aelpn <command>`: the sections aelpn.core.slices declares for it (or
    ``cfg``), for a job of one replicate those of the training seed ``seed`` (aelpn.core.slices.replicate), written
    once per content to results/configs/<command>/<hash>.json. Its path is the rule's param, so a change to another
    section leaves the job as it is; `aelpn <command> --config <file> ...` reruns it by hand."""
    cfg = select(config, *sections(command)) if cfg is None else cfg
    if seed is not None:
        cfg = replicate(cfg, command, int(seed))
    path = f"results/configs/{command.replace(' ', '_')}/{slice_hash(cfg)}.json"
    if not os.path.exists(path):  # every SLURM job parses this file too: each writes its own temporary, then renames
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".slice.", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(cfg, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, path)
    return path


def trained_variants_slice():
    """The slice of the training-log combination with model.variants = the variants trained here: its completeness
    check then covers exactly those (weights from elsewhere have no training log)."""
    cfg = select(config, *sections("combine training"))
    cfg["model"]["variants"] = TRAINED_VARIANTS
    return cfg


def figure_outputs(name):
    """The PDF, PNG and executed notebook of one papermill figure."""
    return {
        "pdf": f"results/figures/{name}.pdf",
        "png": f"results/figures/{name}.png",
        "nb": f"results/notebooks/{name}.ipynb",
    }



def inverse_prior_files(kind, problem, seed):
    """The learned prior files of a prior kind (aelpn.inverse.methods.base.PRIOR_KINDS) for a problem, in the
    replicate of training seed ``seed``."""
    return {
        "proximal_network": expand("results/models/seed{seed}/{variant}/model.pt", seed=seed,
                                   variant=proximal_variants(config)),
        "denoiser": [f"results/models/seed{seed}/inverse/denoiser.pt"],
        "unrolled": [f"results/models/seed{seed}/inverse/unrolled/{problem}.pt"],
        "flow": [f"results/models/seed{seed}/inverse/flow.pt"],
        "vae": [f"results/models/seed{seed}/inverse/vae.pt"],
        "handcrafted": [],
    }[kind]


def inverse_run_inputs(wildcards):
    """Evaluation crops plus the learned priors of the kind the method declares in the registry (none for a
    hand-crafted regulariser: its job still runs once per replicate, with the same results in each)."""
    return {
        "crops": f"results/data/crops/{SPLIT['evaluate']}.nc",
        "prior": inverse_prior_files(inverse_method(wildcards.algorithm).prior, wildcards.problem, wildcards.seed),
    }


def failed_jobs_summary(snakemake_logs):
    """The closing summary of a run with failed jobs: one line per failed job (rule, first output) and its log file,
    read from the error blocks of Snakemake's own log files (``onerror`` passes a list of them)."""
    paths = [snakemake_logs] if isinstance(snakemake_logs, str) else list(snakemake_logs or [])
    text = "\n\n".join(open(p, encoding="utf-8", errors="replace").read() for p in paths if os.path.isfile(p))
    failed = []
    for block in re.split(r"\n\s*\n", text):
        failure = re.search(r"Error in rul[e] (\S+):", block)
        if failure:
            error = block[failure.end():]
            output = re.search(r"^\s*output: ([^,\n]+)", error, re.M)
            logs = re.search(r"^\s*log: (.+?)(?: \(check log file.*)?$", error, re.M)
            failed.append(f"  {failure.group(1)}" + (f" ({output.group(1)})" if output else "")
                          + f": log {logs.group(1) if logs else '(none)'}")
    if not failed:
        return f"aelpn: the run failed; see {', '.join(paths) or 'the messages above'}"
    return "\n".join([f"aelpn: {len(failed)} failed job(s); every independent job ran (keep-going):", *failed])
