# PnP vs unrolled vs diffusion on inverse problems, per replicate: a conditional denoiser, one unrolled network
# per problem, the generative priors (flow-matching model, VAE), one job per (algorithm, problem) on the
# evaluation crops (the hand-crafted tv_admm and wavelet_admm, which use no trained component, run in every
# replicate too, with the same results), their combination over the replicates (its four figures are in
# figures.smk, its table in tables.smk), the cross-operator evaluation of the unrolled networks. The methods and
# the prior kinds they need come from the method registry (aelpn.inverse.methods.registry). The denoiser and the unrolled networks head the longest
# chain of jobs (every diffusion, Langevin and unrolled run waits for them), so they get one thread each and a
# priority: on a 2-core machine they train beside the proximal networks.
from aelpn.inverse.jobs import adaptivity_pairs, jobs as inverse_jobs

INVERSE = config["inverse"]
INVERSE_JOBS = inverse_jobs(INVERSE)


wildcard_constraints:
    problem="|".join(INVERSE["problems"]),
    algorithm="|".join(INVERSE["algorithms"]),


rule inverse_denoiser:
    input:
        f"results/data/crops/{SPLIT['train']}.nc",
    output:
        model="results/models/seed{seed}/inverse/denoiser.pt",
        log="results/models/seed{seed}/inverse/denoiser_log.nc",
    params:
        cfg=lambda wildcards: job_config("train denoiser", seed=wildcards.seed),
    threads: 1
    priority: 20
    resources:
        mem_mb=MEM_MB["inverse_denoiser"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/inverse/seed{seed}/denoiser.log",
    benchmark:
        "benchmarks/inverse/seed{seed}/denoiser.tsv"
    shell:
        "aelpn --threads {threads} train denoiser --config {params.cfg:q} --crops {input} "
        "--out {output.model} --train-log {output.log} > {log} 2>&1"


rule inverse_unrolled:
    input:
        crops=f"results/data/crops/{SPLIT['train']}.nc",
        denoiser="results/models/seed{seed}/inverse/denoiser.pt",
    output:
        model="results/models/seed{seed}/inverse/unrolled/{problem}.pt",
        log="results/models/seed{seed}/inverse/unrolled/{problem}_log.nc",
    params:
        cfg=lambda wildcards: job_config("train unrolled", seed=wildcards.seed),
    threads: 1
    priority: 10
    resources:
        mem_mb=MEM_MB["inverse_unrolled"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/inverse/seed{seed}/unrolled_{problem}.log",
    benchmark:
        "benchmarks/inverse/seed{seed}/unrolled_{problem}.tsv"
    shell:
        "aelpn --threads {threads} train unrolled --config {params.cfg:q} --problem {wildcards.problem} "
        "--crops {input.crops} --denoiser {input.denoiser} --out {output.model} --train-log {output.log} > {log} 2>&1"


rule inverse_flow:
    input:
        f"results/data/crops/{SPLIT['train']}.nc",
    output:
        model="results/models/seed{seed}/inverse/flow.pt",
        log="results/models/seed{seed}/inverse/flow_log.nc",
    params:
        cfg=lambda wildcards: job_config("train flow", seed=wildcards.seed),
    threads: 1
    resources:
        mem_mb=MEM_MB["inverse_flow"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/inverse/seed{seed}/flow.log",
    benchmark:
        "benchmarks/inverse/seed{seed}/flow.tsv"
    shell:
        "aelpn --threads {threads} train flow --config {params.cfg:q} --crops {input} "
        "--out {output.model} --train-log {output.log} > {log} 2>&1"


rule inverse_vae:
    input:
        f"results/data/crops/{SPLIT['train']}.nc",
    output:
        model="results/models/seed{seed}/inverse/vae.pt",
        log="results/models/seed{seed}/inverse/vae_log.nc",
    params:
        cfg=lambda wildcards: job_config("train vae", seed=wildcards.seed),
    threads: 1
    resources:
        mem_mb=MEM_MB["inverse_vae"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/inverse/seed{seed}/vae.log",
    benchmark:
        "benchmarks/inverse/seed{seed}/vae.tsv"
    shell:
        "aelpn --threads {threads} train vae --config {params.cfg:q} --crops {input} "
        "--out {output.model} --train-log {output.log} > {log} 2>&1"


rule inverse_run:
    input:
        unpack(inverse_run_inputs),
    output:
        "results/runs/inverse/seed{seed}/{problem}/{algorithm}.nc",
    params:
        cfg=lambda wildcards: job_config("evaluate inverse", seed=wildcards.seed),
    threads: 1
    resources:
        mem_mb=MEM_MB["inverse_run"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/inverse/seed{seed}/{problem}_{algorithm}.log",
    benchmark:
        "benchmarks/inverse/seed{seed}/{problem}_{algorithm}.tsv"
    shell:
        "aelpn --threads {threads} evaluate inverse --config {params.cfg:q} --algorithm {wildcards.algorithm} "
        "--problem {wildcards.problem} --crops {input.crops} --prior {input.prior} --out {output} > {log} 2>&1"


rule inverse_combine:
    input:
        [f"results/runs/inverse/seed{seed}/{problem}/{algorithm}.nc" for seed in SEEDS
         for algorithm, problem in INVERSE_JOBS],
    output:
        "results/metrics/inverse.nc",
    params:
        cfg=job_config("combine inverse"),
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/inverse/combine.log",
    benchmark:
        "benchmarks/inverse/combine.tsv"
    localrule: True
    shell:
        "aelpn combine inverse --config {params.cfg:q} --out {output} {input} > {log} 2>&1"


rule inverse_adaptivity:
    input:
        crops=f"results/data/crops/{SPLIT['evaluate']}.nc",
        unrolled=expand("results/models/seed{{seed}}/inverse/unrolled/{problem}.pt",
                        problem=sorted({a for a, _ in adaptivity_pairs(INVERSE)})),
    output:
        "results/runs/adaptivity/seed{seed}.nc",
    params:
        cfg=lambda wildcards: job_config("evaluate adaptivity", seed=wildcards.seed),
    threads: 1
    resources:
        mem_mb=MEM_MB["inverse_adaptivity"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/inverse/seed{seed}/adaptivity.log",
    benchmark:
        "benchmarks/inverse/seed{seed}/adaptivity.tsv"
    shell:
        "aelpn --threads {threads} evaluate adaptivity --config {params.cfg:q} --crops {input.crops} "
        "--out {output} {input.unrolled} > {log} 2>&1"


if adaptivity_pairs(INVERSE):
    DATASETS.append("results/metrics/adaptivity.nc")
