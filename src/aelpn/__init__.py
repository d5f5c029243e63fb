"""aelpn: affine-equivariant learned proximal networks and a PnP / unrolled / diffusion comparison."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("aelpn")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"


def load_model(path, device="auto"):
    """Load any trained network (proximal network, 1-D net, conditional denoiser, unrolled network) from its
    model file (``aelpn.models.files``), ready for inference on ``device``."""
    from aelpn.models.files import load_model as _load

    return _load(path, device=device)


__all__ = ["__version__", "load_model"]
