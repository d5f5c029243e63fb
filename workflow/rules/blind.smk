# Blind deblurring: the blind MMSE network trained on the blur family (from the conditional denoiser),
# then the MAP landscape J(theta), the alternating joint MAP, the blind MMSE estimate and the non-blind bounds
# on the evaluation crops, per replicate (results/runs/blind/seed{seed}.nc, combined along seed into
# results/metrics/blind.nc in replicates.smk); its two figures are rendered in figures.smk.


rule blind_train:
    input:
        crops=f"results/data/crops/{SPLIT['train']}.nc",
        denoiser="results/models/seed{seed}/inverse/denoiser.pt",
    output:
        model="results/models/seed{seed}/blind/network.pt",
        log="results/models/seed{seed}/blind/network_log.nc",
    params:
        cfg=lambda wildcards: job_config("train blind", seed=wildcards.seed),
    threads: 1
    resources:
        mem_mb=MEM_MB["blind_train"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/blind/seed{seed}/train.log",
    benchmark:
        "benchmarks/blind/seed{seed}/train.tsv"
    shell:
        "aelpn --threads {threads} train blind --config {params.cfg:q} --crops {input.crops} "
        "--denoiser {input.denoiser} --out {output.model} --train-log {output.log} > {log} 2>&1"


rule blind_run:
    input:
        crops=f"results/data/crops/{SPLIT['evaluate']}.nc",
        prior=expand("results/models/seed{{seed}}/{variant}/model.pt", variant=config["blind"]["variants"]),
        network="results/models/seed{seed}/blind/network.pt",
    output:
        "results/runs/blind/seed{seed}.nc",
    params:
        cfg=lambda wildcards: job_config("evaluate blind", seed=wildcards.seed),
    threads: 1
    resources:
        mem_mb=MEM_MB["blind_run"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/blind/seed{seed}/run.log",
    benchmark:
        "benchmarks/blind/seed{seed}/run.tsv"
    shell:
        "aelpn --threads {threads} evaluate blind --config {params.cfg:q} --crops {input.crops} --prior {input.prior} "
        "--network {input.network} --out {output} > {log} 2>&1"
