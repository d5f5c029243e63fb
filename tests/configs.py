"""The shipped configs and the job slices the tests build from them (one place instead of a copy per test file)."""

from __future__ import annotations

from pathlib import Path

import yaml

from aelpn.core.config import load, select

REPO = Path(__file__).resolve().parents[1]


def shipped_config(name: str = "smoke.yaml") -> dict:
    """A fresh copy of ``config/<name>``."""
    return yaml.safe_load((REPO / "config" / name).read_text())


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
