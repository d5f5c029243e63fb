#!/usr/bin/env bash
# Run by Snakemake inside the new environment, from the working directory (the repository root): installs
# aelpn with its workflow extra (papermill, seaborn for the figure rules); torch and torchvision come from conda.
set -euo pipefail
python -m pip install --no-input -e ".[workflow]"
