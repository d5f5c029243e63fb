"""Package faces that import their heavy modules (torch, xarray) only when a name is first used, so that the
CLI parses its arguments, and the workflow builds its DAG, without importing them."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package`` that imports the module ``exports[name]`` on first use of ``name``."""

    def __getattr__(name: str):
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
