"""Model checkpoints: a plain dict of tensors, strings, numbers, lists and dicts, loadable with
``torch.load(path, weights_only=True)`` and written atomically."""

from __future__ import annotations

from pathlib import Path

import torch

from aelpn import __version__
from aelpn import device as _device
from aelpn.io import save_torch
from aelpn.models.base import ProxNet
from aelpn.models.build import build_from_spec

FORMAT = "aelpn-model-v1"
_PLAIN = (str, int, float, bool, type(None), torch.Tensor)


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
        raise TypeError(f"{where}: {type(obj).__name__} cannot be stored in a weights-only checkpoint")


def save_model(model: ProxNet, path: str | Path, extra: dict | None = None) -> Path:
    """Write {format, aelpn_version, spec, state_dict, extra} atomically to ``path`` (tensors moved to CPU);
    ``extra`` (e.g. step, loss) may hold only tensors, str, numbers, bools, None, lists and str-keyed dicts."""
    payload = {
        "format": FORMAT,
        "aelpn_version": __version__,
        "spec": dict(model.spec),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": {} if extra is None else extra,
    }
    _check_plain(payload, "checkpoint")
    return save_torch(payload, path)


def load_checkpoint(path: str | Path) -> dict:
    """The raw checkpoint dict (weights-only unpickling)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not an aelpn model checkpoint (expected format {FORMAT!r})")
    return payload


def load_model(path: str | Path, device: str | torch.device = "auto") -> ProxNet:
    """Rebuild the model from the checkpoint's spec, load its weights, eval mode, on ``device``."""
    payload = load_checkpoint(path)
    model = build_from_spec(payload["spec"])
    state = payload["state_dict"]
    dtypes = {v.dtype for v in state.values() if v.is_floating_point()}
    if len(dtypes) == 1:
        model.to(dtypes.pop())
    model.load_state_dict(state, strict=True)
    return model.to(_device.resolve(device)).eval()
