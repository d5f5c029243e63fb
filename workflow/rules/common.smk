# Shared helpers: config validation, job config slices, wildcard constraints, the figure list.
import json

from aelpn.config import select, validate

# Against workflow/schemas/config.schema.yaml; stops before any job with a message naming the key.
validate(config)

VARIANTS = config["model"]["variants"]
VARIANTS_1D = config["prox1d"]["variants"]
SPLITS = sorted(set(config["data"]["splits"].values()))
SPLIT = config["data"]["splits"]

# Every rule file appends the figures it renders, and the datasets no figure reads; `rule all` asks for all of them.
FIGURES = []
DATASETS = []


wildcard_constraints:
    variant="|".join(VARIANTS),
    variant1d="|".join(VARIANTS_1D),
    split="|".join(SPLITS),


def job_config(*sections):
    """The JSON config slice a job receives: changing another section does not rerun it."""
    return json.dumps(select(config, *sections), sort_keys=True)


def figure_outputs(name):
    """The PDF, PNG and executed notebook of one papermill figure."""
    return {
        "pdf": f"results/figures/{name}.pdf",
        "png": f"results/figures/{name}.png",
        "nb": f"results/notebooks/{name}.ipynb",
    }


PAPERMILL = "papermill --kernel python3 --cwd . --log-output"
