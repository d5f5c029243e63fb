# Data stage: fetch and verify BSDS500, then one netCDF of crops per split. Both rules have a priority: the crops head
# every chain but the 1-D study's, so they run before the 1-D jobs fill the cores (the longest chain, crops ->
# denoiser -> unrolled networks -> inverse runs, then starts minutes earlier on a 2-core machine).


rule fetch_bsds500:
    output:
        directory("results/data/BSDS500"),
    params:
        cfg=job_config("data fetch"),
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/data/fetch_bsds500.log",
    benchmark:
        "benchmarks/data/fetch_bsds500.tsv"
    priority: 30
    localrule: True
    shell:
        "aelpn data fetch --config {params.cfg:q} --out {output} > {log} 2>&1"


rule crops:
    input:
        "results/data/BSDS500",
    output:
        "results/data/crops/{split}.nc",
    params:
        cfg=job_config("data crops"),
    resources:
        mem_mb=MEM_MB["crops"],
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/data/crops_{split}.log",
    benchmark:
        "benchmarks/data/crops_{split}.tsv"
    priority: 30
    shell:
        "aelpn data crops --config {params.cfg:q} --images {input} --split {wildcards.split} "
        "--out {output} > {log} 2>&1"


rule data:
    input:
        expand("results/data/crops/{split}.nc", split=SPLITS),
