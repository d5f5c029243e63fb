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
    return cfg


def load(source: str | Path | dict, partial: bool = False) -> dict:
    """Load a config from a dict, a JSON string or a YAML/JSON file path, and validate it."""
    if isinstance(source, dict):
        cfg = copy.deepcopy(source)
    else:
        text = str(source)
        if text.lstrip().startswith("{"):
            try:
                cfg = json.loads(text)
            except json.JSONDecodeError as err:
                raise ConfigError(f"config JSON string: {err}; pass valid JSON or a config file") from None
        else:
            cfg = _read_file(Path(text))
    return validate(cfg, partial=partial)


def _read_file(path: Path) -> dict:
    """A YAML/JSON config file's mapping; a missing, binary or malformed file is a ConfigError naming it."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not a text file (byte {err.start} is not UTF-8); pass a YAML config file") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{path}: broken YAML{where}: {problem}; fix the file (or compare with "
                          "config/config.yaml)") from None
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: expected a mapping of config sections (seed, compute, data, ...), "
                          f"got {type(cfg).__name__}")
    return cfg


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
