"""Every `snakemake` and `aelpn` command in README.md, docs/*.md and config/README.md works as written.

Commands come from fenced code blocks and inline code spans. Snakemake commands are read by Snakemake's own parser
(fast tier: every --configfile must be a config) and dry-run (``-n``, slow tier: about 4 s each) on the repository's
Snakefile in an empty directory, with the command's own ``--configfile`` (the smoke config where it names none).
``aelpn`` commands are parsed by the real parser (every verb and option must exist, a complete command
must parse); the read-only ones (``config validate``, ``results show``, ``--help``, bare ``aelpn``) run on a config
and small datasets written here.
"""

from __future__ import annotations

import argparse
import itertools
import re
import shlex
import shutil

import numpy as np
import pytest
import xarray as xr
import yaml
from snakemake.cli import get_argument_parser as snakemake_parser

from aelpn.cli import build_parser, main
from aelpn.core.io import write_netcdf
from workflow_utils import REPO, snakemake_args

DOCUMENTS = [REPO / "README.md", REPO / "config" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", flags=re.M | re.S)
COMMAND = re.compile(r"^(snakemake|aelpn)(\s|$)")
ALTERNATIVES = re.compile(r"^(?:\{([^{}]+)\}|(\w+(?:\|\w+)+))$")  # {a,b,c} or a|b
# Placeholders the documents use, and the example each stands for here (FILE depends on the command).
EXAMPLES = {"<GPUs>": "1", "<config>": "config/quick.yaml", "<verb>": "train", "<reference run>": "reference",
            "<hash>": "0123456789abcdef", "N": "1"}
PLACEHOLDER = re.compile(r"<[^<>]*>")
DATASET = "results/metrics/noise_sweep.nc"
SMOKE = "tests/smoke.yaml"
MY_CONFIG = REPO / "config" / "quick.yaml"  # the documents' edited config, my.yaml


def command_lines(text: str) -> list[str]:
    """Every line of a fenced block and every inline code span (which may wrap a line) that starts a command."""
    blocks = FENCE.findall(text)
    prose = FENCE.sub("", text)
    spans = [" ".join(s.split()) for s in re.findall(r"`([^`]+)`", prose) if "\n\n" not in s]
    lines = [line.strip() for block in blocks for line in block.splitlines()] + spans
    return [line for line in lines if COMMAND.match(line)]


def argv_of(line: str) -> list[list[str]]:
    """The argument vectors a documented line stands for: comment and output redirection dropped, placeholders
    replaced by examples, each listed alternative expanded."""
    words = shlex.split(PLACEHOLDER.sub(lambda m: EXAMPLES[m.group(0)], line), comments=True)
    if ">" in words:
        words = words[:words.index(">")]
    file_example = "my.yaml" if words[1:3] == ["config", "validate"] else DATASET
    words = [file_example if w == "FILE" else EXAMPLES.get(w, w) for w in words]
    choices = []
    for w in words:
        m = ALTERNATIVES.match(w)
        choices.append(re.split(r"[,|]", m.group(1) or m.group(2)) if m else [w])
    return [list(c) for c in itertools.product(*choices)]


def documented() -> dict[str, set[tuple[str, ...]]]:
    found = {"snakemake": set(), "aelpn": set()}
    for doc in DOCUMENTS:
        for line in command_lines(doc.read_text()):
            for argv in argv_of(line):
                found[argv[0]].add(tuple(argv))
    return {k: sorted(v) for k, v in found.items()}


COMMANDS = documented()


def _subparsers(parser: argparse.ArgumentParser) -> dict | None:
    action = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    return None if action is None else action.choices


def check_words(argv: list[str]) -> list[str]:
    """Each verb names a command and each option belongs to the parser of the command it follows; returns the
    words after the verbs."""
    parser = build_parser()
    rest, after_verbs = list(argv), []
    while rest:
        word = rest.pop(0)
        if word.startswith("-"):
            action = parser._option_string_actions.get(word.split("=")[0])
            assert action is not None, f"{' '.join(argv)}: unknown option {word}"
            after_verbs.append(word)
            if action.nargs != 0 and "=" not in word and rest and not rest[0].startswith("-"):
                after_verbs.append(rest.pop(0))
        elif (choices := _subparsers(parser)) is not None:
            assert word in choices, f"{' '.join(argv)}: {word!r} is not one of {sorted(choices)}"
            parser = choices[word]
        else:
            after_verbs.append(word)
    return after_verbs


def _dataset(path) -> None:
    rng = np.random.default_rng(0)
    ds = xr.Dataset({name: (("variant", "sigma", "image"), rng.uniform(20, 30, (2, 2, 3)))
                     for name in ("psnr", "ssim")},
                    coords={"variant": ["lpn", "aelpn"], "sigma": np.array([0.1, 0.2], np.float32),
                            "image": ["a", "b", "c"]})
    path.parent.mkdir(parents=True, exist_ok=True)
    write_netcdf(ds, path)


def _read_only(argv: list[str]) -> bool:
    return len(argv) == 1 or "--help" in argv or argv[1:3] in (["config", "validate"], ["results", "show"])


@pytest.mark.parametrize("argv", COMMANDS["aelpn"], ids=" ".join)
def test_documented_aelpn_command(argv, tmp_path, monkeypatch, capsys):
    """A command given in full parses; a read-only one runs (on a config and small datasets written here)."""
    argv = list(argv)
    after_verbs = check_words(argv[1:])
    if "…" in argv or not (after_verbs or len(argv) == 1):
        return
    if not _read_only(argv):
        build_parser().parse_args(argv[1:])
        return
    shutil.copy(MY_CONFIG, tmp_path / "my.yaml")
    for name in ("noise_sweep", "affine_sweep", "inverse", "claims"):
        _dataset(tmp_path / "results" / "metrics" / f"{name}.nc")
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv[1:])
    except SystemExit as stop:  # --help
        code = stop.code
    assert code == 0, capsys.readouterr().err
    assert capsys.readouterr().out.strip()


def dry_run_argv(argv: list[str], tmp_path) -> list[str]:
    """The documented command as a dry run: its own config (my.yaml: the copy in ``tmp_path``), else the smoke
    config; `--report FILE` (which needs the results of a run) left out, the rest of the command kept."""
    args = [tmp_path / "my.yaml" if w == "my.yaml" else w for w in argv[1:]]
    if "--report" in args:
        i = args.index("--report")
        del args[i:i + 2]
    if "--configfile" not in args:
        args += ["--configfile", SMOKE]
    return ["-n", *map(str, args)]


@pytest.mark.parametrize("argv", COMMANDS["snakemake"], ids=" ".join)
def test_documented_snakemake_command_reads_configs(argv, tmp_path):
    """Snakemake's own parser reads every --configfile of the command as a config (a target written after
    --configfile would be read as one) and every --profile as a directory."""
    shutil.copy(MY_CONFIG, tmp_path / "my.yaml")
    args = snakemake_parser().parse_args(dry_run_argv(list(argv), tmp_path))
    for path in args.configfile:
        assert (REPO / path).suffix in (".yaml", ".json"), f"{' '.join(argv)}: {path} read as a config file"
        assert isinstance(yaml.safe_load((REPO / path).read_text()), dict), path
    for profile in args.profile or []:
        assert (REPO / profile).is_dir(), profile


@pytest.mark.slow
@pytest.mark.parametrize("argv", COMMANDS["snakemake"], ids=" ".join)
def test_documented_snakemake_command_dry_runs(argv, tmp_path):
    if "conda" in argv and shutil.which("conda") is None:
        pytest.skip("needs conda")
    shutil.copy(MY_CONFIG, tmp_path / "my.yaml")
    out = snakemake_args(tmp_path / "work", *dry_run_argv(list(argv), tmp_path))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


def test_commands_are_found():
    """The extraction sees the commands the README shows (a regression in it would silently test nothing)."""
    assert ("snakemake", "--cores", "all", "results/figures/claims.png", "--configfile", "config/quick.yaml") \
        in COMMANDS["snakemake"]
    assert ("aelpn", "results", "show", "results/metrics/inverse.nc", "--var", "psnr", "--var", "ssim", "--csv") \
        in COMMANDS["aelpn"]
    assert len(COMMANDS["snakemake"]) >= 10 and len(COMMANDS["aelpn"]) >= 20
