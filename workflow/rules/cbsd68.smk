# The standard denoising benchmark: every proximal network (exact patching at full size), the conditional denoiser
# and the noisy input on the CBSD68 images (docs/cbsd68.md).


rule cbsd68:
    input:
        images="results/data/BSDS500",
        models=expand("results/models/{variant}/model.pt", variant=VARIANTS),
        denoiser="results/models/inverse/denoiser.pt",
    output:
        "results/metrics/cbsd68.nc",
    params:
        cfg=job_config("evaluate cbsd68"),
    threads: 1
    resources:
        mem_mb=MEM_MB["cbsd68"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/sweeps/cbsd68.log",
    benchmark:
        "benchmarks/sweeps/cbsd68.tsv"
    shell:
        "aelpn --threads {threads} evaluate cbsd68 --config {params.cfg:q} --images {input.images} "
        "--denoiser {input.denoiser} --out {output} {input.models} > {log} 2>&1"


DATASETS.append("results/metrics/cbsd68.nc")
