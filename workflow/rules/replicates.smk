# The datasets one job writes whole for each replicate (results/runs/<dataset>/seed{seed}.nc: the 1-D study,
# adaptivity, blind, Jacobian, CBSD68), each combined into results/metrics/<dataset>.nc with a leading dim seed.


rule combine_replicates:
    input:
        expand("results/runs/{{dataset}}/seed{seed}.nc", seed=SEEDS),
    output:
        "results/metrics/{dataset}.nc",
    params:
        cfg=job_config("combine replicates"),
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/combine/{dataset}.log",
    benchmark:
        "benchmarks/combine/{dataset}.tsv"
    wildcard_constraints:
        dataset="prox1d|adaptivity|blind|jacobian|cbsd68",
    localrule: True
    shell:
        "aelpn combine replicates --config {params.cfg:q} --out {output} {input} > {log} 2>&1"
