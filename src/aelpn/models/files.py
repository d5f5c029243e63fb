"""Model files: one tagged, versioned format for every learned network, a plain dict loadable with
``torch.load(path, weights_only=True)`` and written atomically:

    {"format": "aelpn-model", "version": 2, "kind": <kind>, "aelpn_version": ..., "spec": <rebuilds the
     module>, "state_dict": <CPU tensors>, "extra": <training record: steps, train_seconds, device, ...>}

``kind`` selects the builder that turns ``spec`` into a fresh module (KINDS); ``load_model`` dispatches on it.
Files of the earlier proximal-network format ``aelpn-model-v1`` are read as kind ``proxnet``."""

from __future__ import annotations

import importlib
from pathlib import Path

import torch

from aelpn import __version__
from aelpn.core import device as _device
from aelpn.core.io import save_torch

FORMAT = "aelpn-model"
VERSION = 2
LEGACY_V1 = "aelpn-model-v1"
# kind -> "module:function" building a fresh module from a spec (imported only when a file of that kind loads)
KINDS = {
    "proxnet": "aelpn.models.build:build_from_spec",
    "denoiser": "aelpn.models.denoiser:denoiser_from_spec",
    "unrolled": "aelpn.models.unrolled:unrolled_from_spec",
    "blind": "aelpn.blind.network:blind_from_spec",
    "flow": "aelpn.models.flow:flow_from_spec",
    "vae": "aelpn.models.vae:vae_from_spec",
}
_PLAIN = (str, int, float, bool, type(None), torch.Tensor)


class ModelFileError(ValueError):
    """A model file is missing, truncated, corrupt or of an unknown format; the message says what to do."""


def _check_plain(obj, where: str) -> None:
    """Raise if ``obj`` holds anything ``torch.load(weights_only=True)`` would refuse."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: dict key {k!r} is not a str")
            _check_plain(v, f"{where}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_plain(v, f"{where}[{i}]")
    elif not isinstance(obj, _PLAIN):
        raise TypeError(f"{where}: {type(obj).__name__} cannot be stored in a weights-only model file")


def save_model(model: torch.nn.Module, path: str | Path, kind: str = "proxnet", extra: dict | None = None) -> Path:
    """Write ``model`` (which carries its ``spec``) as a model file of ``kind`` atomically to ``path``;
    ``extra`` may hold only tensors, str, numbers, bools, None, lists and str-keyed dicts."""
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(KINDS)}")
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "aelpn_version": __version__,
        "spec": dict(model.spec),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": {} if extra is None else extra,
    }
    _check_plain(payload, "model file")
    return save_torch(payload, path)


def read_model_file(path: str | Path) -> dict:
    """The model file's dict (weights-only unpickling), v1 files upgraded to kind ``proxnet``. Raises
    ModelFileError with one line naming the file and what to do."""
    path = Path(path)
    redo = "delete it and rerun the step that writes it (snakemake retrains a missing model)"
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated or not a torch file, or refused by the weights-only unpickler
        raise ModelFileError(f"{path}: unreadable model file ({type(err).__name__}: truncated or corrupt); "
                             f"{redo}") from None
    if isinstance(payload, dict) and payload.get("format") == LEGACY_V1:
        payload = {**payload, "format": FORMAT, "version": 1, "kind": "proxnet"}
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not an aelpn model file (no '{FORMAT}' tag); {redo}")
    if payload["version"] > VERSION or payload["kind"] not in KINDS:
        raise ModelFileError(f"{path}: model file version {payload['version']}, kind {payload['kind']!r} is not "
                             f"known to aelpn {__version__}; update aelpn or {redo}")
    return payload


def build(kind: str, spec: dict) -> torch.nn.Module:
    """A fresh module of ``kind`` from its spec."""
    module, function = KINDS[kind].split(":")
    return getattr(importlib.import_module(module), function)(spec)


def load_model(path: str | Path, device: str | torch.device = "auto") -> torch.nn.Module:
    """Rebuild any learned network from its model file, load its weights (strictly), eval mode, on ``device``.
    The file's ``extra`` (training record) is available from ``read_model_file``."""
    payload = read_model_file(path)
    model = build(payload["kind"], payload["spec"])
    state = payload["state_dict"]
    dtypes = {v.dtype for v in state.values() if v.is_floating_point()}
    if len(dtypes) == 1:
        model.to(dtypes.pop())
    model.load_state_dict(state, strict=True)
    return model.to(_device.resolve(device)).eval()


def proximal_sigma(path) -> float:
    """The noise level sigma a proximal-network file is the prox at, D = prox_{sigma^2 R}: ``extra["sigma"]``,
    recorded when it was trained (``train.sigma``; ``prox1d.noise_sigma`` for the 1-D networks)."""
    payload = read_model_file(path)
    if payload["kind"] != "proxnet":
        raise ModelFileError(f"{path}: a model file of kind {payload['kind']!r}, not a proximal network")
    sigma = payload["extra"].get("sigma")
    if sigma is None:
        raise ModelFileError(f"{path}: the proximal-network file does not record the noise level it is the prox at; "
                             "retrain it, or save it with save_model(model, path, extra={'sigma': <its sigma>})")
    return float(sigma)


def training_record(path) -> dict:
    """The model file's training record with the keys the solvers report: train_seconds, train_device, steps."""
    extra = read_model_file(path)["extra"]
    return {"train_seconds": extra["train_seconds"], "train_device": extra["device"], "steps": extra["steps"]}

