"""What every job command of the CLI shares: its ``--config`` option and the validated config slice it reads
(the sections ``aelpn.core.slices`` declares for it). A stage's ``cli`` module registers its commands with
``add_job``, naming the one library function each calls; the slice is validated before that function's
(torch-heavy) module is imported."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

from aelpn.core.config import load
from aelpn.core.slices import check_replicate, sections


def add_job(subparsers, name: str, command: str, help: str, call: str | Callable,
            arguments: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    """Add the job command ``name`` (its slice key ``command`` in ``aelpn.core.slices.SLICES``) to ``subparsers``.
    ``call`` is the library function it runs, ``"module:function"``, called as ``function(cfg, *arguments)`` with
    the validated slice and the named parsed arguments; or a handler ``(args) -> exit code`` for a command that
    does more than pass its arguments on."""
    p = subparsers.add_parser(name, help=help)
    p.add_argument("--config", required=True,
                   help="the job's config slice: a YAML/JSON file (the workflow writes results/configs/...) or a "
                        "JSON string, validated against the schema")
    if isinstance(call, str):
        p.set_defaults(func=_call_library, command=command, library=call, arguments=arguments)
    else:
        p.set_defaults(func=call, command=command)
    return p


def _call_library(args: argparse.Namespace) -> None:
    cfg = job_config(args)
    module, function = args.library.split(":")
    getattr(importlib.import_module(module), function)(cfg, *(getattr(args, name) for name in args.arguments))


def job_config(args: argparse.Namespace) -> dict:
    """The job's validated config: a slice without a section its command reads, or a job of one replicate given
    several training seeds (``aelpn.core.slices.check_replicate``), is a one-line ConfigError."""
    return check_replicate(load(args.config, partial=True, needs=sections(args.command)), args.command)


def add_output(p: argparse.ArgumentParser, flag: str, help: str, directory: bool = False, **kwargs) -> None:
    """Add the option ``flag`` naming a path the command writes (a file, or a ``directory``; required unless
    ``kwargs`` give a default). The CLI checks every such path (``check_outputs``) before the command runs."""
    kwargs.setdefault("required", "default" not in kwargs)
    action = p.add_argument(flag, help=help, **kwargs)
    p.set_defaults(outputs=(*(p.get_default("outputs") or ()), (action.dest, directory)))


def check_outputs(args: argparse.Namespace) -> None:
    """Raise OutputError (``aelpn.core.io.check_writable``) for the first output path of the command that cannot
    be written: before any input is read or anything computed."""
    from aelpn.core.io import check_writable

    for dest, directory in getattr(args, "outputs", ()):
        if getattr(args, dest) is not None:
            check_writable(getattr(args, dest), directory)


def training_outputs(p: argparse.ArgumentParser, data: str = "training crops (netCDF)") -> None:
    """The options of a training command: its crops, the weights and the training log it writes."""
    p.add_argument("--crops", required=True, help=data)
    add_output(p, "--out", "weights (.pt model file)")
    add_output(p, "--train-log", "training log (netCDF)")
