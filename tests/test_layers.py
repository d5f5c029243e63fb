"""The package's layers: each package imports only the ones below it, so a reader (and the import system) meets
no cycle. core < data, physics < solvers < models < training < the stages; report (presentation) reads core and
the model names. The stages (prox1d, sweeps, inverse, blind, claims, bench) may use each other's library code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import aelpn

PACKAGE = Path(aelpn.__file__).resolve().parent  # the package under test (a scratch copy when mutating)
BELOW = {
    "core": set(),
    "data": {"core"},
    "physics": {"core"},
    "solvers": {"core", "physics"},
    "models": {"core", "physics", "solvers"},
    "training": {"core", "data", "physics", "solvers", "models"},
    "report": {"core", "models"},
}
STAGES = {"prox1d", "sweeps", "inverse", "blind", "claims", "bench"}


def imported_packages(package: str) -> set[str]:
    """The aelpn packages that any module of ``package`` imports (at module level or inside a function)."""
    found = set()
    for path in (PACKAGE / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = ([node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                       else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            found |= {m.split(".")[1] for m in modules if m.startswith("aelpn.")}
    return found - {package}


@pytest.mark.parametrize("package", sorted(BELOW))
def test_a_package_imports_only_the_layers_below_it(package):
    assert imported_packages(package) <= BELOW[package], imported_packages(package) - BELOW[package]


def test_every_package_has_a_layer():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(BELOW) | STAGES


def test_importing_core_imports_no_other_package():
    """``import aelpn.core`` and every module in it loads no other aelpn package (the config no longer imports the
    inverse method registry: the schema's enum lists the methods)."""
    modules = sorted(f"aelpn.core.{p.stem}" for p in (PACKAGE / "core").glob("*.py") if p.stem != "__init__")
    code = (f"import sys; import {', '.join(modules)}; "
            "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('aelpn.')}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['core']"
