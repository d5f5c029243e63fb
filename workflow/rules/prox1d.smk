# 1-D split-normal study (paper Fig. 1): per replicate, train each 1-D variant, then evaluate all on a grid; the
# replicates combined along seed (replicates.smk).


rule prox1d_train:
    output:
        model="results/models/seed{seed}/prox1d/{variant1d}.pt",
        log="results/models/seed{seed}/prox1d/{variant1d}_log.nc",
    params:
        cfg=lambda wildcards: job_config("train prox1d", seed=wildcards.seed),
    threads: 1
    resources:
        mem_mb=MEM_MB["prox1d_train"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/prox1d/seed{seed}/train_{variant1d}.log",
    benchmark:
        "benchmarks/prox1d/seed{seed}/train_{variant1d}.tsv"
    shell:
        "aelpn --threads {threads} train prox1d --config {params.cfg:q} --variant {wildcards.variant1d} "
        "--out {output.model} --train-log {output.log} > {log} 2>&1"


rule prox1d_evaluate:
    input:
        expand("results/models/seed{{seed}}/prox1d/{variant1d}.pt", variant1d=VARIANTS_1D),
    output:
        "results/runs/prox1d/seed{seed}.nc",
    params:
        cfg=lambda wildcards: job_config("evaluate prox1d", seed=wildcards.seed),
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/prox1d/seed{seed}/evaluate.log",
    benchmark:
        "benchmarks/prox1d/seed{seed}/evaluate.tsv"
    localrule: True
    shell:
        "aelpn evaluate prox1d --config {params.cfg:q} --out {output} {input} > {log} 2>&1"
