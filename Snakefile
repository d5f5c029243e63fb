# aelpn workflow: BSDS500 -> crops -> five proximal networks -> 1-D study, sweeps, inverse problems -> figures,
# every trained network and what is computed from it once per replicate (config key seeds: the training seeds).
# Run from the repository root. Reduced scales replace (not merge into) the paper config:
#   snakemake --cores all --configfile config/quick.yaml
from snakemake.utils import min_version

min_version("9.0")


# The paper config applies only when no --configfile was given, so a reduced config is never deep-merged into it
# (with or without --replace-workflow-config). SLURM jobs receive the same --configfile list and decide alike.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


report: "workflow/report/workflow.rst"


rule all:
    default_target: True
    input:
        lambda wildcards: FIGURES + TABLE_FILES + DATASETS,


include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/prox1d.smk"
include: "workflow/rules/sweeps.smk"
include: "workflow/rules/cbsd68.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/inverse.smk"
include: "workflow/rules/blind.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/replicates.smk"


onerror:
    print(failed_jobs_summary(log), file=sys.stderr)
