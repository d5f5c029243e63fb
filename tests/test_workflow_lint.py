"""Workflow conventions CI checks: `snakemake --lint` is clean, and the rules' conda environment agrees with
environment.yml and installs the package (whose pyproject.toml is the one list of Python dependencies)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import yaml

from workflow_utils import REPO


def test_snakemake_lint_is_clean():
    out = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]


def test_conda_environments_share_their_conda_packages_and_install_the_package():
    rules = yaml.safe_load((REPO / "workflow" / "envs" / "aelpn.yaml").read_text())
    user = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = lambda env: [d for d in env["dependencies"] if isinstance(d, str)]  # noqa: E731
    assert conda(rules) == conda(user)
    assert any(d.startswith("pytorch") and "cuda" in d for d in conda(rules))
    assert [d for d in user["dependencies"] if isinstance(d, dict)] == [{"pip": ["-e .[test]"]}]
    deploy = REPO / "workflow" / "envs" / "aelpn.post-deploy.sh"
    assert os.access(deploy, os.X_OK) and "pip install --no-input -e ." in deploy.read_text()


def test_pyproject_bounds():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = {d.split(">")[0].split("<")[0].split("=")[0].strip(): d for d in project["dependencies"]}
    assert project["requires-python"] == ">=3.11"
    assert deps["deepinv"].startswith("deepinv>=0.5,<0.6")
    assert {"numpy", "pandas", "matplotlib"} <= set(deps) and "torchvision" not in deps
