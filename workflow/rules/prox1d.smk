# 1-D split-normal study (paper Fig. 1): train each 1-D variant, then evaluate all on a grid.


rule prox1d_train:
    output:
        model="results/models/prox1d/{variant1d}.pt",
        log="results/models/prox1d/{variant1d}_log.nc",
    params:
        cfg=job_config("train prox1d"),
    threads: 1
    resources:
        mem_mb=MEM_MB["prox1d_train"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/prox1d/train_{variant1d}.log",
    benchmark:
        "benchmarks/prox1d/train_{variant1d}.tsv"
    shell:
        "aelpn --threads {threads} train prox1d --config {params.cfg:q} --variant {wildcards.variant1d} "
        "--out {output.model} --train-log {output.log} > {log} 2>&1"


rule prox1d_evaluate:
    input:
        expand("results/models/prox1d/{variant1d}.pt", variant1d=VARIANTS_1D),
    output:
        "results/metrics/prox1d.nc",
    params:
        cfg=job_config("evaluate prox1d"),
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/prox1d/evaluate.log",
    benchmark:
        "benchmarks/prox1d/evaluate.tsv"
    localrule: True
    shell:
        "aelpn evaluate prox1d --config {params.cfg:q} --out {output} {input} > {log} 2>&1"
