# PnP vs unrolled vs diffusion on inverse problems (issue 5): a conditional denoiser, one unrolled network
# per problem, one job per (algorithm, problem) on the evaluation crops, their combination, four figures.
from aelpn.inverse.jobs import PRIOR_ALGORITHMS, jobs as inverse_jobs

INVERSE = config["inverse"]
INVERSE_JOBS = inverse_jobs(INVERSE)
INVERSE_CFG = job_config("compute", "model", "train", "inverse")


wildcard_constraints:
    problem="|".join(INVERSE["problems"]),
    algorithm="|".join(INVERSE["algorithms"]),


rule inverse_denoiser:
    input:
        f"results/data/crops/{SPLIT['train']}.nc",
    output:
        model="results/models/inverse/denoiser.pt",
        log="results/models/inverse/denoiser_log.nc",
    params:
        cfg=job_config("compute", "inverse"),
    threads: 2
    log:
        "logs/inverse/denoiser.log",
    benchmark:
        "benchmarks/inverse/denoiser.tsv"
    shell:
        "aelpn --threads {threads} inverse denoiser --config {params.cfg:q} --crops {input} "
        "--out {output.model} --train-log {output.log} > {log} 2>&1"


rule inverse_unrolled:
    input:
        crops=f"results/data/crops/{SPLIT['train']}.nc",
        denoiser="results/models/inverse/denoiser.pt",
    output:
        model="results/models/inverse/unrolled/{problem}.pt",
        log="results/models/inverse/unrolled/{problem}_log.nc",
    params:
        cfg=job_config("compute", "inverse"),
    threads: 2
    log:
        "logs/inverse/unrolled_{problem}.log",
    benchmark:
        "benchmarks/inverse/unrolled_{problem}.tsv"
    shell:
        "aelpn --threads {threads} inverse unrolled --config {params.cfg:q} --problem {wildcards.problem} "
        "--crops {input.crops} --denoiser {input.denoiser} --out {output.model} --train-log {output.log} > {log} 2>&1"


def inverse_run_inputs(wildcards):
    """Evaluation crops plus the learned components the algorithm uses."""
    inputs = {"crops": f"results/data/crops/{SPLIT['evaluate']}.nc"}
    if wildcards.algorithm in PRIOR_ALGORITHMS:
        inputs["models"] = expand("results/models/{variant}/model.pt", variant=VARIANTS)
    elif wildcards.algorithm == "unrolled":
        inputs["unrolled"] = f"results/models/inverse/unrolled/{wildcards.problem}.pt"
    else:
        inputs["denoiser"] = "results/models/inverse/denoiser.pt"
    return inputs


def inverse_run_args(wildcards, input):
    """The CLI options naming the learned components."""
    if "models" in input.keys():
        return "--models " + " ".join(input.models)
    if "unrolled" in input.keys():
        return f"--unrolled {input.unrolled}"
    return f"--denoiser {input.denoiser}"


rule inverse_run:
    input:
        unpack(inverse_run_inputs),
    output:
        "results/runs/inverse/{problem}/{algorithm}.nc",
    params:
        cfg=INVERSE_CFG,
        components=inverse_run_args,
    threads: 1
    log:
        "logs/inverse/{problem}_{algorithm}.log",
    benchmark:
        "benchmarks/inverse/{problem}_{algorithm}.tsv"
    shell:
        "aelpn --threads {threads} inverse run --config {params.cfg:q} --algorithm {wildcards.algorithm} "
        "--problem {wildcards.problem} --crops {input.crops} {params.components} --out {output} > {log} 2>&1"


rule inverse_combine:
    input:
        [f"results/runs/inverse/{problem}/{algorithm}.nc" for algorithm, problem in INVERSE_JOBS],
    output:
        "results/metrics/inverse.nc",
    params:
        cfg=INVERSE_CFG,
    log:
        "logs/inverse/combine.log",
    benchmark:
        "benchmarks/inverse/combine.tsv"
    localrule: True
    shell:
        "aelpn inverse combine --config {params.cfg:q} --out {output} {input} > {log} 2>&1"


for _figure in ("inverse_table", "inverse_grid", "inverse_iterations", "inverse_uncertainty"):

    rule:
        name:
            f"figure_{_figure}"
        input:
            nc="results/metrics/inverse.nc",
            nb=workflow.source_path(f"../notebooks/{_figure}.ipynb"),
        output:
            pdf=figure_outputs(_figure)["pdf"],
            png=report(
                figure_outputs(_figure)["png"],
                caption=f"../report/{_figure}.rst",
                category="Figures",
            ),
            nb=figure_outputs(_figure)["nb"],
        params:
            extra=json.dumps({"dpi": config["figures"]["dpi"]}, sort_keys=True),
        log:
            f"logs/figures/{_figure}.log",
        benchmark:
            f"benchmarks/figures/{_figure}.tsv"
        localrule: True
        shell:
            "MPLBACKEND=Agg " + PAPERMILL + " {input.nb} {output.nb} -p metrics_path {input.nc} "
            "-p out_pdf {output.pdf} -p out_png {output.png} -y {params.extra:q} > {log} 2>&1"

    FIGURES.extend([figure_outputs(_figure)["pdf"], figure_outputs(_figure)["png"]])
