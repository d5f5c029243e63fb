"""Configuration: the JSON schema in ``workflow/schemas/config.schema.yaml`` is the single source of
parameter names. The workflow validates the whole config at start; each CLI subcommand validates the
slice of it that its job receives (a partial config: only the top-level sections present are checked)."""

from __future__ import annotations

import copy
import hashlib
import json
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import jsonschema
import yaml

from aelpn.inverse.methods.registry import names


class ConfigError(ValueError):
    """A config value is missing, unknown, of the wrong type or out of range; the message names the key."""


@lru_cache(maxsize=1)
def schema() -> dict:
    """The config schema, read from the package (a link to workflow/schemas/config.schema.yaml)."""
    return yaml.safe_load(files("aelpn").joinpath("schema/config.schema.yaml").read_text())


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        parts.append(",".join(extra))
    elif error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        parts.append(",".join(missing))
    return ".".join(parts) or "<root>"


def validate(cfg: dict, partial: bool = False) -> dict:
    """Validate ``cfg`` against the schema and return it. With ``partial``, only the top-level sections
    present in ``cfg`` are required (a job's slice). Raises ConfigError naming the offending key."""
    if not isinstance(cfg, dict):
        raise ConfigError(f"config must be a mapping, got {type(cfg).__name__}")
    sch = schema()
    if partial:
        sch = dict(sch, required=[k for k in sch["required"] if k in cfg])
    validator = jsonschema.Draft202012Validator(sch)
    errors = sorted(validator.iter_errors(cfg), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        lines = []
        for err in errors:
            detail = err.message
            if err.validator in ("oneOf", "anyOf") and err.context:
                detail = min(err.context, key=lambda e: len(e.message)).message
            lines.append(f"config key '{_key_path(err)}': {detail}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines))
    if "inverse" in cfg:
        _check_inverse(cfg["inverse"])
    return cfg


def _check_inverse(icfg: dict) -> None:
    """The cross-key constraints of the inverse section: every algorithm is a registered method, every
    adaptivity pair names two different configured problems."""
    lines = [f"config key 'inverse.algorithms': unknown method '{a}' (registered: {', '.join(names())})"
             for a in icfg["algorithms"] if a not in names()]
    for i, pair in enumerate(icfg["adaptivity"]):
        for key in ("trained_on", "evaluated_on"):
            if pair[key] not in icfg["problems"]:
                lines.append(f"config key 'inverse.adaptivity.{i}.{key}': '{pair[key]}' is not a problem of "
                             f"inverse.problems ({', '.join(icfg['problems'])})")
        if pair["trained_on"] == pair["evaluated_on"]:
            lines.append(f"config key 'inverse.adaptivity.{i}': trained_on and evaluated_on are both "
                         f"'{pair['trained_on']}' (a network on its own problem is in inverse.nc)")
    if lines:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines))


def load(source: str | Path | dict, partial: bool = False) -> dict:
    """Load a config from a dict, a JSON string or a YAML/JSON file path, and validate it."""
    if isinstance(source, dict):
        cfg = copy.deepcopy(source)
    else:
        text = str(source)
        if text.lstrip().startswith("{"):
            cfg = json.loads(text)
        else:
            path = Path(text)
            if not path.is_file():
                raise ConfigError(f"config file not found: {path}")
            cfg = yaml.safe_load(path.read_text())
    return validate(cfg, partial=partial)


def select(cfg: dict, *sections: str) -> dict:
    """The slice of ``cfg`` a job needs: the named top-level sections (``seed`` is always included)."""
    keys = ("seed",) + tuple(s for s in sections if s != "seed")
    missing = [k for k in keys if k not in cfg]
    if missing:
        raise ConfigError(f"config key '{missing[0]}': missing")
    return {k: copy.deepcopy(cfg[k]) for k in keys}


def slice_hash(cfg: dict) -> str:
    """A short, order-independent hash of a config slice (recorded as provenance)."""
    blob = json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
