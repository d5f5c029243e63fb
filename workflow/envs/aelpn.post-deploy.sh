#!/usr/bin/env bash
# Run by Snakemake inside the new environment, from the working directory (the repository root): installs
# aelpn and its pyproject.toml dependencies; torch and torchvision are already there from conda.
set -euo pipefail
python -m pip install --no-input -e .
