# Denoising sweeps: noise level (paper Fig. 2) and affine brightness changes (paper Fig. 4), one job per replicate
# and variant. The noise sweep also stores the example images of the figures (figures.example_images/example_sigmas).


rule sweep:
    input:
        model="results/models/seed{seed}/{variant}/model.pt",
        crops=f"results/data/crops/{SPLIT['evaluate']}.nc",
    output:
        "results/runs/{sweep}/seed{seed}/{variant}.nc",
    params:
        cfg=lambda wildcards: job_config(f"evaluate {wildcards.sweep}", seed=wildcards.seed),
    threads: 1
    resources:
        mem_mb=MEM_MB["sweep"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/sweeps/seed{seed}/{sweep}_{variant}.log",
    benchmark:
        "benchmarks/sweeps/seed{seed}/{sweep}_{variant}.tsv"
    wildcard_constraints:
        sweep="noise_sweep|affine_sweep",
    shell:
        "aelpn --threads {threads} evaluate {wildcards.sweep} --config {params.cfg:q} --variant {wildcards.variant} "
        "--model {input.model} --crops {input.crops} --out {output} > {log} 2>&1"


rule combine_sweep:
    input:
        expand("results/runs/{{sweep}}/seed{seed}/{variant}.nc", seed=SEEDS, variant=VARIANTS),
    output:
        "results/metrics/{sweep}.nc",
    params:
        cfg=lambda wildcards: job_config(f"combine {wildcards.sweep}"),
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/sweeps/combine_{sweep}.log",
    benchmark:
        "benchmarks/sweeps/combine_{sweep}.tsv"
    wildcard_constraints:
        sweep="noise_sweep|affine_sweep",
    localrule: True
    shell:
        "aelpn combine {wildcards.sweep} --config {params.cfg:q} --out {output} {input} > {log} 2>&1"
