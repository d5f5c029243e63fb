# The standard denoising benchmark: every proximal network (exact patching at full size), the conditional denoiser
# and the noisy input on the CBSD68 images (docs/cbsd68.md), per replicate; combined along seed (replicates.smk).


rule cbsd68:
    input:
        images="results/data/BSDS500",
        models=expand("results/models/seed{{seed}}/{variant}/model.pt", variant=VARIANTS),
        denoiser="results/models/seed{seed}/inverse/denoiser.pt",
    output:
        "results/runs/cbsd68/seed{seed}.nc",
    params:
        cfg=lambda wildcards: job_config("evaluate cbsd68", seed=wildcards.seed),
    threads: 1
    resources:
        mem_mb=MEM_MB["cbsd68"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/sweeps/seed{seed}/cbsd68.log",
    benchmark:
        "benchmarks/sweeps/seed{seed}/cbsd68.tsv"
    shell:
        "aelpn --threads {threads} evaluate cbsd68 --config {params.cfg:q} --images {input.images} "
        "--denoiser {input.denoiser} --out {output} {input.models} > {log} 2>&1"


DATASETS.append("results/metrics/cbsd68.nc")
