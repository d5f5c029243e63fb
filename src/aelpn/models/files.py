"""Model files: one tagged, versioned format for every learned network, a plain dict loadable with
``torch.load(path, weights_only=True)`` and written atomically:

    {"format": "aelpn-model", "version": 2, "kind": <kind>, "aelpn_version": ..., "spec": <rebuilds the
     module>, "state_dict": <CPU tensors>, "extra": <training record: steps, train_seconds, device, ...>}

``kind`` selects the builder that turns ``spec`` into a fresh module (KINDS); ``load_model`` dispatches on it.
Files of the earlier proximal-network format ``aelpn-model-v1`` are read as kind ``proxnet``."""

from __future__ import annotations

import importlib
import pickle
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
# What torch's weights-only unpickler says when it refuses an object it would have to run code to build.
# What torch's weights-only unpickler says when a file asks it to import or call Python objects (code it would
# have to run); any other unpickling error is a truncated or corrupt file.
UNTRUSTED = ("Unsupported global", "unrecognized function", "Unsupported class")
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
    except pickle.UnpicklingError as err:
        if any(marker in str(err) for marker in UNTRUSTED):  # an object it would have to run code to build
            raise ModelFileError(f"{path}: refused as untrusted content: it holds Python objects that would run code "
                                 "when loaded (nothing was run); use model files written by aelpn") from None
        raise ModelFileError(f"{path}: unreadable model file (UnpicklingError: truncated or corrupt); {redo}") from None
    except Exception as err:  # truncated or not a torch file
        raise ModelFileError(f"{path}: unreadable model file ({type(err).__name__}: truncated or corrupt); "
                             f"{redo}") from None
    if isinstance(payload, dict) and payload.get("format") == LEGACY_V1:
        payload = {**payload, "format": FORMAT, "version": 1, "kind": "proxnet"}
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not an aelpn model file (no '{FORMAT}' tag); {redo}")
    _check_fields(path, payload, redo)
    return payload


def _check_fields(path: Path, payload: dict, redo: str) -> None:
    """Raise ModelFileError naming the first field of a tagged model file that is missing or of the wrong type."""
    version = payload.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFileError(f"{path}: model file without an integer 'version' (got {version!r}); {redo}")
    kind = payload.get("kind")
    if kind is None:
        raise ModelFileError(f"{path}: model file without a 'kind' (one of {', '.join(KINDS)}); {redo}")
    if version > VERSION or kind not in KINDS:
        raise ModelFileError(f"{path}: model file version {version}, kind {kind!r} is not known to aelpn "
                             f"{__version__} (kinds: {', '.join(KINDS)}); update aelpn or {redo}")
    for field, expected in (("spec", dict), ("state_dict", dict), ("extra", dict)):
        if not isinstance(payload.get(field), expected):
            raise ModelFileError(f"{path}: model file without a '{field}' mapping; {redo}")


def build(kind: str, spec: dict) -> torch.nn.Module:
    """A fresh module of ``kind`` from its spec."""
    module, function = KINDS[kind].split(":")
    return getattr(importlib.import_module(module), function)(spec)


def load_model(path: str | Path, device: str | torch.device = "auto", kind: str | None = None) -> torch.nn.Module:
    """Rebuild any learned network from its model file, load its weights (strictly), eval mode, on ``device``;
    with ``kind``, a file of another kind is a ModelFileError. The file's ``extra`` (training record) is available
    from ``read_model_file``."""
    payload = read_model_file(path)
    if kind is not None and payload["kind"] != kind:
        raise ModelFileError(f"{path}: a {payload['kind']} model file, but a {kind} is expected here")
    try:
        model = build(payload["kind"], payload["spec"])
    except KeyError as err:
        raise ModelFileError(f"{path}: the spec of this {payload['kind']} model file lacks the key {err}") from None
    except (TypeError, ValueError) as err:
        raise ModelFileError(f"{path}: the spec of this {payload['kind']} model file does not describe a network "
                             f"({str(err).splitlines()[0]})") from None
    state = payload["state_dict"]
    _check_state(path, model, state)
    dtypes = {v.dtype for v in state.values() if v.is_floating_point()}
    if len(dtypes) == 1:
        model.to(dtypes.pop())
    model.load_state_dict(state, strict=True)
    return model.to(_device.resolve(device)).eval()


def _check_state(path, model: torch.nn.Module, state: dict) -> None:
    """Raise ModelFileError in one line unless ``state`` holds exactly the tensors of ``model``, of its shapes."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k} {tuple(state[k].shape)} instead of {tuple(v.shape)}" for k, v in expected.items()
              if k in state and (not isinstance(state[k], torch.Tensor) or state[k].shape != v.shape)]
    found = (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes))
    problems = [f"{label}: {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}" for label, names in found if names]
    if problems:
        raise ModelFileError(f"{path}: its weights do not fit the network its spec describes ({'; '.join(problems)}); "
                             "the file was altered or written by another program")


def check_image_model(path, shape: tuple[int, ...]) -> None:
    """Raise ModelFileError unless the image network in the model file ``path`` can take images of ``shape``
    (channels, height, width): a 1-D proximal network cannot; a network whose spec records ``channels`` needs that
    many; a proximal network, built for one ``image_size`` (its head's kernel covers the whole map), needs that
    size. The convolutional networks without an ``image_size`` take any size."""
    spec = read_model_file(path)["spec"]
    channels, height, width = (int(n) for n in shape)
    if spec.get("kind") == "1d":
        raise ModelFileError(f"{path}: a 1-D model (variant {spec.get('variant')!r}, of the prox1d study), not an "
                             "image model")
    if "channels" in spec and int(spec["channels"]) != channels:
        raise ModelFileError(f"{path}: a model of {spec['channels']}-channel images, given {channels}-channel crops "
                             "(data.grayscale differs from its training)")
    size = spec.get("image_size")
    if size is not None and (int(size), int(size)) != (height, width):
        raise ModelFileError(f"{path}: a model trained on {size}x{size} crops, given {height}x{width} crops; use "
                             f"crops of data.crop_size = {size} or retrain it")


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

