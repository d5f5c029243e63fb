"""The shipped configs and the job slices the tests build from them (one place instead of a copy per test file)."""

from __future__ import annotations

from pathlib import Path

import yaml

from aelpn.core.config import load, select
from aelpn.core.slices import REPLICATE_JOBS, replicate, sections

REPO = Path(__file__).resolve().parents[1]


SHIPPED = ("config.yaml", "reference.yaml", "quick.yaml", "smoke.yaml")


def config_path(name: str) -> Path:
    """Where a shipped config lives: ``config/<name>``, or ``tests/smoke.yaml`` for the test-only config."""
    return REPO / ("tests" if name == "smoke.yaml" else "config") / name


def shipped_config(name: str = "smoke.yaml") -> dict:
    """A fresh copy of the shipped config ``name`` (``config_path``)."""
    return yaml.safe_load(config_path(name).read_text())


def job_slice(cfg: dict, *sections: str, **overrides: dict) -> dict:
    """The slice of ``cfg`` a job receives (``aelpn.core.config.select``: ``seed`` and ``sections``), on the CPU when
    it has a ``compute`` section, each ``overrides[section]`` merged into that section; validated like a job's
    slice, so a test cannot run on a config the CLI would reject."""
    out = select(cfg, *sections)
    if "compute" in out:
        out["compute"] = dict(out["compute"], device="cpu")
    for section, values in overrides.items():
        out[section] = dict(out[section], **values)
    return load(out, partial=True)


def command_slice(cfg: dict, command: str) -> dict:
    """The slice of ``cfg`` the workflow gives the job ``aelpn <command>`` (its sections, ``aelpn.core.slices``); for
    a job of one replicate, that of the replicate whose training seed is the master seed."""
    out = select(cfg, *sections(command))
    return replicate(out, command, cfg["seed"]) if command in REPLICATE_JOBS else out
