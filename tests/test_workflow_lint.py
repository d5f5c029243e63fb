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
    assert os.access(deploy, os.X_OK) and "pip install --no-input -e \".[workflow]\"" in deploy.read_text()


def test_pyproject_bounds():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = {d.split(">")[0].split("<")[0].split("=")[0].strip(): d for d in project["dependencies"]}
    assert project["requires-python"] == ">=3.11"
    assert deps["deepinv"].startswith("deepinv>=0.5,<0.6")
    assert {"numpy", "pandas", "matplotlib"} <= set(deps) and "torchvision" not in deps


def test_the_library_installs_without_the_workflow():
    """``pip install .`` gives aelpn.load_model without Snakemake: the workflow tools are the [workflow] extra."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    workflow = " ".join(project["optional-dependencies"]["workflow"])
    for tool in ("snakemake", "snakemake-executor-plugin-slurm", "papermill", "seaborn", "ipykernel"):
        assert tool not in core and tool in workflow, tool


def test_every_rule_passes_the_slice_of_the_command_it_runs():
    """Each rule's ``job_config("<command>")`` names the ``aelpn <command>`` its shell runs, so the sections a job
    receives are those aelpn.core.slices declares for the command (the one table), and every command has a rule."""
    import re

    from aelpn.core.slices import SLICES
    from aelpn.sweeps import KINDS

    covered = set()
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        text = path.read_text()
        for block in re.split(r"\n(?=rule )", text):
            shell = re.search(r'"aelpn (?:--threads \{threads\} )?([a-z]+(?: [a-z0-9_{}.]+)?) --config', block)
            if not shell:
                continue
            config = re.search(r'job_config\(f?"([a-z0-9_ {}.]+)"', block) or re.search(r"cfg=([A-Z_]+),", block)
            assert config, (path.name, shell.group(1))
            command = config.group(1)
            if command.isupper():  # a module-level slice, e.g. BLIND_CFG = job_config("evaluate blind")
                command = re.search(rf'{command} = job_config\("([a-z0-9_ ]+)"\)', text).group(1)
            assert command == shell.group(1), (path.name, command, shell.group(1))
            covered |= ({command.replace("{wildcards.sweep}", kind) for kind in KINDS} if "{" in command
                        else {command})
    assert covered == set(SLICES)
