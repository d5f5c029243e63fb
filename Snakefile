# aelpn workflow: BSDS500 -> crops -> five proximal networks -> 1-D study, sweeps, inverse problems -> figures.
# Run from the repository root. Reduced scales replace (not merge into) this config:
#   snakemake --cores all --configfile config/quick.yaml --replace-workflow-config
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


rule all:
    default_target: True
    input:
        lambda wildcards: FIGURES + DATASETS,


include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/prox1d.smk"
include: "workflow/rules/sweeps.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/inverse.smk"
