"""Command-line interface: one verb per action (``aelpn train|evaluate|combine <target>``, ``aelpn claims``,
...). Each stage declares its own commands in its ``cli`` module; each command validates its config slice
(``aelpn.core.slices``) and calls exactly one library function; all logic lives in the library."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path

from aelpn import __version__
from aelpn.core.commands import add_job, add_output, check_outputs
from aelpn.core.config import ConfigError, load
from aelpn.core.malloc import keep_freed_memory

DESCRIPTION = """\
aelpn: the steps of the AE-LPN / PnP-vs-unrolled-vs-diffusion pipeline, one command per Snakemake job.

Start with Snakemake, from the repository root: it runs these commands in order, with the right inputs:
  snakemake --cores all --configfile config/quick.yaml    # every figure at quick scale on a CPU
  snakemake --cores all                                    # paper scale (config/config.yaml)
Call a command by hand to inspect results ('aelpn results show FILE'), check a config ('aelpn config validate
FILE') or rerun one job with the config slice the workflow wrote for it (results/configs/<command>/<hash>.json;
the job's log shows the command). User errors print one line and exit with status 2."""

# The verbs that group commands, and the stages' cli modules, each registering its commands under them.
VERBS = {
    "config": "configuration tools",
    "data": "BSDS500 download and crops",
    "train": "train a network (resumes from its checkpoint)",
    "evaluate": "run one evaluation job of a stage and write its netCDF file",
    "combine": "combine per-job netCDF files into one dataset, checking completeness against the config",
    "results": "inspect results",
}
STAGE_CLIS = ("aelpn.data.cli", "aelpn.training.cli", "aelpn.prox1d.cli", "aelpn.sweeps.cli", "aelpn.inverse.cli",
              "aelpn.blind.cli", "aelpn.claims.cli", "aelpn.bench.cli", "aelpn.report.cli")


def _config_validate(a):
    load(a.file)
    print(f"{a.file}: valid")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aelpn", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"aelpn {__version__}")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    commands = parser.add_subparsers(dest="verb", metavar="COMMAND")
    verbs = {verb: commands.add_parser(verb, help=text).add_subparsers(dest="target", required=True, metavar="TARGET")
             for verb, text in VERBS.items()}
    q = verbs["config"].add_parser("validate", help="validate a config file against the schema")
    q.add_argument("file", help="config file (YAML or JSON), e.g. config/quick.yaml")
    q.set_defaults(func=_config_validate)
    q = add_job(verbs["combine"], "replicates", "combine replicates",
                "combine one dataset's files of every replicate (seeds) along a leading dim seed",
                "aelpn.core.combine:combine_replicates", ("inputs", "out"))
    add_output(q, "--out", "combined netCDF file (results/metrics/<dataset>.nc)")
    q.add_argument("inputs", nargs="+", help="one file per training seed, each in its seed{s} folder "
                                             "(results/runs/<dataset>/seed{s}.nc)")
    for module in STAGE_CLIS:
        importlib.import_module(module).register(verbs, commands)
    return parser


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors that explain themselves: printed as one message, without a traceback."""
    from aelpn.bench.gpu import GPUCheckError
    from aelpn.core.combine import CombineError
    from aelpn.core.device import DeviceError
    from aelpn.core.io import DatasetError, OutputError
    from aelpn.data.errors import DataError
    from aelpn.models.files import ModelFileError
    from aelpn.report.results import ResultsError
    from aelpn.training import CheckpointError, TrainingError

    return (ConfigError, DataError, DatasetError, CombineError, DeviceError, ResultsError, ModelFileError,
            CheckpointError, TrainingError, GPUCheckError, OutputError)


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()  # before any tensor: large freed buffers are reused, not faulted in again
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.threads is not None and args.threads < 1:
        print(f"aelpn: --threads {args.threads}: expected a positive number of threads", file=sys.stderr)
        return 2
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    try:
        check_outputs(args)
        code = args.func(args)
    except ConfigError as err:
        print(f"aelpn: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        if isinstance(err, _user_errors()):
            print(f"aelpn: {type(err).__name__}: {err}", file=sys.stderr)
            return 2
        if isinstance(err, OSError) and _on_user_path(err, args):
            print(f"aelpn: {err.filename}: {err.strerror or type(err).__name__}", file=sys.stderr)
            return 2
        raise
    return code or 0


def _on_user_path(err: OSError, args: argparse.Namespace) -> bool:
    """Whether ``err`` concerns a path the user named on the command line (an input or output), a file inside it, a
    folder above it or its writer's temporary (``aelpn.core.io.atomic_path``): a user error, not a bug."""
    if not isinstance(err.filename, (str, bytes, os.PathLike)):
        return False
    named = [v for v in vars(args).values() if isinstance(v, str)]
    named += [x for v in vars(args).values() if isinstance(v, list) for x in v if isinstance(x, str)]
    failed = Path(os.fsdecode(err.filename)).absolute()
    for value in named:
        path = Path(value).absolute()
        if failed == path or path in failed.parents or failed in path.parents or (
                failed.parent == path.parent and failed.name.startswith(f".{path.name}.")):
            return True
    return False


if __name__ == "__main__":
    sys.exit(main())
