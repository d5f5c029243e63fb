"""Configuration: the JSON schema in ``workflow/schemas/config.schema.yaml`` is the single source of
parameter names. The workflow validates the whole config at start; each CLI subcommand validates the
slice of it that its job receives (a partial config: only the top-level sections present are checked)."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import jsonschema
import yaml

from aelpn.core import pairs


class ConfigError(ValueError):
    """A config value is missing, unknown, of the wrong type or out of range; the message names the key."""


@lru_cache(maxsize=1)
def schema() -> dict:
    """The config schema, read from the package (workflow/schemas/config.schema.yaml links to it)."""
    return yaml.safe_load(files("aelpn").joinpath("schema/config.schema.yaml").read_text())


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        parts.append(",".join(extra))
    return ".".join(parts) or "<root>"


def _schema_lines(err: jsonschema.ValidationError) -> list[str]:
    """One line per problem; a missing-keys error becomes one line per missing key."""
    if err.validator == "required":
        prefix = "".join(f"{p}." for p in err.absolute_path)
        return [f"config key '{prefix}{k}': missing (required)" for k in err.validator_value if k not in err.instance]
    detail = err.message
    if err.validator == "enum":
        detail = f"unknown value {err.instance!r} (one of: {', '.join(map(str, err.validator_value))})"
    if err.validator in ("oneOf", "anyOf") and err.context:
        detail = min(err.context, key=lambda e: len(e.message)).message
    if isinstance(err.instance, str) and _FLOAT.match(err.instance) and "number" in str(err.schema.get("type", "")):
        detail += f"; write {float(err.instance):.1e} (Snakemake's YAML 1.1 reader takes {err.instance} for a string)"
    return [f"config key '{_key_path(err)}': {detail}"]


def _close_to_one_of(value: float, values) -> bool:
    return any(abs(value - v) <= 1e-9 * max(1.0, abs(v)) for v in values)


def cross_key_problems(cfg: dict) -> list[str]:
    """Constraints between keys that the schema cannot express, checked for the sections present (so that
    ``snakemake -n`` rejects them before any job runs); one line per violated constraint."""
    out = []
    has = cfg.keys().__contains__
    if has("data") and has("model") and cfg["data"]["crop_size"] % 2 ** cfg["model"]["depth"]:
        out.append(f"config key 'data.crop_size': {cfg['data']['crop_size']} is not a multiple of "
                   f"2**model.depth = {2 ** cfg['model']['depth']}; choose a multiple or lower model.depth")
    if has("train"):
        t = cfg["train"]
        if t["sigma_range"] is not None and not t["sigma_range"][0] < t["sigma_range"][1]:
            out.append(f"config key 'train.sigma_range': {t['sigma_range']} must be [min, max] with min < max")
        if t["steps_pm"] < t["pm_stages"]:
            out.append(f"config key 'train.steps_pm': {t['steps_pm']} steps cannot cover train.pm_stages = "
                       f"{t['pm_stages']} stages")
        if has("data"):
            n_val = cfg["data"]["max_images"].get(cfg["data"]["splits"]["validate"])
            if n_val is not None and t["validate_images"] > n_val:
                out.append(f"config key 'train.validate_images': {t['validate_images']} > the {n_val} validation "
                           f"crops of data.max_images.{cfg['data']['splits']['validate']}")
    if has("prox1d"):
        p = cfg["prox1d"]
        if len(p["steps"]) != len(p["lrs"]):
            out.append(f"config keys 'prox1d.steps' and 'prox1d.lrs' must have the same length, got "
                       f"{len(p['steps'])} and {len(p['lrs'])}")
        if p["average_steps"] > sum(p["steps"]):
            out.append(f"config key 'prox1d.average_steps': {p['average_steps']} > the {sum(p['steps'])} training "
                       f"steps of prox1d.steps {p['steps']}")
        if p["grid_max"] <= p["grid_min"]:
            out.append("config key 'prox1d.grid_max' must exceed 'prox1d.grid_min'")
    if has("figures") and has("noise_sweep"):
        sigmas = cfg["noise_sweep"]["sigmas"]
        missing = [s for s in cfg["figures"]["example_sigmas"] if not _close_to_one_of(s, sigmas)]
        if missing:
            out.append(f"config key 'figures.example_sigmas': {missing} not in noise_sweep.sigmas {sigmas}")
        images = cfg["noise_sweep"]["images"]
        if images is not None and cfg["figures"]["example_images"] > images:
            out.append(f"config key 'figures.example_images': {cfg['figures']['example_images']} > "
                       f"noise_sweep.images = {images}")
    if has("data"):
        n_test = cfg["data"]["max_images"].get(cfg["data"]["splits"]["evaluate"])
        for section in ("noise_sweep", "affine_sweep", "inverse", "blind"):
            images = cfg.get(section, {}).get("images")
            if n_test is not None and images is not None and images > n_test:
                out.append(f"config key '{section}.images': {images} > the {n_test} evaluation crops of "
                           f"data.max_images.{cfg['data']['splits']['evaluate']}")
    if has("blind"):
        out += _blind_problems(cfg)
    if has("inverse"):
        i = cfg["inverse"]
        if i["images"] is not None and i["examples"] > i["images"]:
            out.append(f"config key 'inverse.examples': {i['examples']} > inverse.images = {i['images']}")
        out += _generative_order(i)
        out += one_factor_pairs(i)
        if has("model") and i["variants"] is not None:
            missing = [v for v in i["variants"] if v not in cfg["model"]["variants"]]
            if missing:
                out.append(f"config key 'inverse.variants': {missing} not in model.variants {cfg['model']['variants']}")
    if has("data") and has("inverse") and "vae_admm" in cfg["inverse"]["algorithms"] \
            and cfg["data"]["crop_size"] % 4:
        out.append(f"config key 'data.crop_size': {cfg['data']['crop_size']} is not a multiple of 4, which the VAE "
                   f"of inverse.vae (for vae_admm) needs")
    return out


def one_factor_pairs(icfg: dict) -> list[str]:
    """The methods that a claim compares with one factor changed share every other setting
    (aelpn.core.pairs)."""
    return pairs.problems(icfg)


def _generative_order(icfg: dict) -> list[str]:
    """The time intervals of the flow prior run from low to high noise in training and downwards in solving."""
    out = []
    for key, low, high in (("flow", "t_min", "t_max"), ("flow_posterior", "t_min", "t_max"),
                           ("flow_admm", "t_end", "t_start")):
        section = icfg.get(key)
        if section is not None and section[low] >= section[high]:
            out.append(f"config key 'inverse.{key}.{low}': {section[low]} must be < {high} = {section[high]}")
    return out


def _blind_problems(cfg: dict) -> list[str]:
    """Cross-key constraints of the ``blind`` section."""
    b, out = cfg["blind"], []
    if not b["theta_min"] < b["theta_max"]:
        out.append(f"config key 'blind.theta_min': {b['theta_min']} must be below blind.theta_max = {b['theta_max']}")
    if b["images"] is not None and b["examples"] > b["images"]:
        out.append(f"config key 'blind.examples': {b['examples']} > blind.images = {b['images']}")
    low, high = b["theta_prior"]["low"], b["theta_prior"]["high"]
    if not low <= b["theta_min"] < b["theta_max"] <= high:
        out.append(f"config key 'blind.theta_prior': [{low}, {high}] must contain [blind.theta_min, blind.theta_max]"
                   f" = [{b['theta_min']}, {b['theta_max']}]")
    beyond = [t for t in b["alternating"]["inits"] if not low <= t <= high]
    if beyond:
        out.append(f"config key 'blind.alternating.inits': {beyond} lie outside blind.theta_prior = [{low}, {high}]")
    if "data" in cfg and b["kernel_size"] > cfg["data"]["crop_size"]:
        out.append(f"config key 'blind.kernel_size': {b['kernel_size']} > data.crop_size = {cfg['data']['crop_size']}")
    if "model" in cfg:
        missing = [v for v in b["variants"] if v not in cfg["model"]["variants"]]
        if missing:
            out.append(f"config key 'blind.variants': {missing} not in model.variants {cfg['model']['variants']}")
    return out


def validate(cfg: dict, partial: bool = False, needs: Iterable[str] = ()) -> dict:
    """Validate ``cfg`` against the schema, then its cross-key constraints (``cross_key_problems``), and return
    it. With ``partial``, only the top-level sections present in ``cfg`` and those in ``needs`` (the sections a
    job reads) are required (a job's slice). Raises ConfigError with one line per offending key."""
    if not isinstance(cfg, dict):
        raise ConfigError(f"config must be a mapping, got {type(cfg).__name__}")
    sch = schema()
    if partial:
        needs = set(needs)
        sch = dict(sch, required=[k for k in sch["required"] if k in cfg or k in needs])
    validator = jsonschema.Draft202012Validator(sch)
    errors = sorted(validator.iter_errors(cfg), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    # one line per problem, once: several schema rules (the root's required list, each conditional section's)
    # can report the same missing key
    lines = list(dict.fromkeys(line for err in errors for line in _schema_lines(err))) or cross_key_problems(cfg)
    if lines:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines))
    if "inverse" in cfg:
        _check_inverse(cfg["inverse"])
    return cfg


def _check_inverse(icfg: dict) -> None:
    """The cross-key constraint of the inverse section: every adaptivity pair names two different configured
    problems (the schema's enum keeps inverse.algorithms to registered methods)."""
    lines = []
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


def load(source: str | Path | dict, partial: bool = False, needs: Iterable[str] = ()) -> dict:
    """Load a config from a dict, a JSON string or a YAML/JSON file path, and validate it (``validate``: with
    ``partial``, the sections present and those in ``needs`` are required)."""
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
    return validate(cfg, partial=partial, needs=needs)


# A float as YAML 1.2 and JSON write it: YAML 1.1 (PyYAML) requires a dot and a signed exponent, so it reads
# ``lr: 1e-3`` as the string '1e-3'; this resolver reads it as the number 0.001 (and ``1e3`` as 1000.0).
_FLOAT = re.compile(r"""^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?$""")
_FLOAT_START = list("-+0123456789.")


class _ConfigLoader(yaml.SafeLoader):
    """The YAML loader of config files: floats written as ``1e-3`` are numbers, and a key given twice in one
    mapping is an error (PyYAML would keep the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(f"{self.name}: duplicate key '{key}' at line {key_node.start_mark.line + 1} "
                                  f"(first at line {seen[key] + 1}); keep one of them")
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


_ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, _FLOAT_START)
for _special in (r"^[-+]?\.(?:inf|Inf|INF)$", r"^\.(?:nan|NaN|NAN)$"):
    _ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(_special), list("-+."))


def read_yaml(path: Path, text: str):
    """The YAML document ``text`` of the config file ``path`` (``_ConfigLoader``)."""
    loader = _ConfigLoader(text)
    loader.name = str(path)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _read_file(path: Path) -> dict:
    """A YAML/JSON config file's mapping (a .json file is read as JSON: YAML 1.1 would read its 1e-06 as a string);
    a missing, binary or malformed file or a directory is a ConfigError naming it."""
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory; pass a YAML config file (e.g. config/quick.yaml)")
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
        cfg = json.loads(text) if path.suffix == ".json" else read_yaml(path, text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: broken JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None
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


def per_operator(section: dict, operator: str, method: str) -> dict:
    """A method's settings for problems with this operator (its config section's ``per_operator`` map)."""
    settings = section["per_operator"]
    if operator not in settings:
        raise ConfigError(f"config key 'inverse.{method}.per_operator': no settings for operator '{operator}' "
                          f"(have {sorted(settings)})")
    return settings[operator]


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
